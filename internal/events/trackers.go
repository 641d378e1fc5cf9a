package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/google/uuid"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/resource"
)

// Statuses of an event tracker (the spaces are part of the wire format).
const (
	StatusCreatePending = "CREATE PENDING"
	StatusActive        = "ACTIVE"
)

// Tracker is an event tracker; Meta.Parent is the dataset group ARN, so that
// deleting the group sees it as a child.
type Tracker struct {
	resource.Meta
	AccountID  string
	TrackingID string
	GroupARN   string
	Tags       map[string]string
}

// Views of the dataset package's resources, decoded from the JSON bodies it
// stores (field names are its Go field names; renaming them there is a
// storage migration that must update these views too).
type (
	groupView struct {
		resource.Meta
	}
	datasetView struct {
		resource.Meta
		GroupARN  string
		Type      string // INTERACTIONS, ITEMS, USERS, ...
		SchemaARN string
	}
	schemaView struct {
		resource.Meta
		Text string
	}
)

var (
	trackers     = resource.Kind[Tracker, *Tracker]{Name: arn.EventTracker}
	groupViews   = resource.Kind[groupView, *groupView]{Name: arn.DatasetGroup}
	datasetViews = resource.Kind[datasetView, *datasetView]{Name: arn.Dataset}
	schemaViews  = resource.Kind[schemaView, *schemaView]{Name: arn.Schema}
)

// CreateTracker creates the event tracker of a dataset group. The group must
// be ACTIVE (errs.InUse otherwise) and may have only one tracker
// (errs.AlreadyExists); the tracker starts CREATE PENDING and Run makes it
// ACTIVE.
func (s *Service) CreateTracker(ctx context.Context, name, groupARN string, tags map[string]string) (*Tracker, error) {
	if err := arn.CheckName("name", name); err != nil {
		return nil, err
	}
	if _, err := arn.Expect("datasetGroupArn", groupARN, arn.DatasetGroup, 1); err != nil {
		return nil, err
	}
	g, err := groupViews.Get(ctx, s.st, groupARN)
	if err != nil {
		return nil, err
	}
	if !resource.Usable(g.Status) {
		return nil, errs.E(errs.InUse, "Dataset group %s is %s, not ACTIVE", groupARN, g.Status)
	}
	// The one-per-group and unique-name checks and the create must not
	// interleave with another create.
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := trackers.All(ctx, s.st, "")
	if err != nil {
		return nil, err
	}
	for _, t := range all {
		if t.GroupARN == groupARN {
			return nil, errs.E(errs.AlreadyExists, "Dataset group %s already has event tracker %s; a dataset group can have only one", groupARN, t.ARN)
		}
		if t.Name == name {
			return nil, errs.E(errs.AlreadyExists, "An event tracker named %s already exists (%s)", name, t.ARN)
		}
	}
	var id [4]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("event tracker id: %w", err)
	}
	t := &Tracker{AccountID: s.opts.Scope.Account, TrackingID: uuid.NewString(), GroupARN: groupARN, Tags: tags}
	now := s.now()
	t.Meta = resource.Meta{ARN: s.opts.Scope.Build(arn.EventTracker, hex.EncodeToString(id[:])), Name: name,
		Parent: groupARN, Status: StatusCreatePending, Created: now, Updated: now}
	if err := trackers.Create(ctx, s.st, t); err != nil {
		return nil, err
	}
	if s.loaded {
		s.byTracking[t.TrackingID] = t
	}
	s.trackerGen++
	s.wake()
	s.trackersChanged()
	return t, nil
}

// Tracker returns an event tracker.
func (s *Service) Tracker(ctx context.Context, trackerARN string) (*Tracker, error) {
	if _, err := arn.Expect("eventTrackerArn", trackerARN, arn.EventTracker, 1); err != nil {
		return nil, err
	}
	return trackers.Get(ctx, s.st, trackerARN)
}

// Trackers lists event trackers of a group ("" = all), newest first.
func (s *Service) Trackers(ctx context.Context, groupARN, token string, limit int) ([]*Tracker, string, error) {
	if groupARN != "" {
		if _, err := arn.Expect("datasetGroupArn", groupARN, arn.DatasetGroup, 1); err != nil {
			return nil, "", err
		}
	}
	return trackers.List(ctx, s.st, groupARN, token, limit)
}

// DeleteTracker deletes an event tracker; the group's datasets and the
// events already stored are kept. Its trackingId stops working at once.
func (s *Service) DeleteTracker(ctx context.Context, trackerARN string) error {
	t, err := s.Tracker(ctx, trackerARN)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := trackers.Delete(ctx, s.st, t.ARN); err != nil {
		return err
	}
	delete(s.byTracking, t.TrackingID)
	s.trackerGen++
	s.limits.Forget(t.ARN)
	s.trackersChanged()
	return nil
}

// activatePending moves CREATE PENDING trackers to ACTIVE: a tracker needs
// no work beyond what CreateTracker checked, but clients poll for the
// lifecycle as they do with Personalize.
func (s *Service) activatePending(ctx context.Context) error {
	pending, err := trackers.All(ctx, s.st, "", StatusCreatePending)
	if err != nil {
		return err
	}
	for _, p := range pending {
		t, err := trackers.Update(ctx, s.st, p.ARN, s.now, func(t *Tracker) error {
			t.Status = StatusActive
			return nil
		})
		if err != nil {
			if errs.KindOf(err) == errs.NotFound {
				continue // deleted meanwhile
			}
			return err
		}
		s.mu.Lock()
		if s.loaded {
			s.byTracking[t.TrackingID] = t
		}
		s.trackerGen++
		s.mu.Unlock()
		s.trackersChanged()
	}
	return nil
}

// In a cluster (fan-out enabled) other replicas create, activate and delete
// event trackers too. A change here is announced on the bus, and every
// replica that hears it re-reads its trackingId index at once; Run also
// re-reads it every Options.Poll, so a lost notice only delays the change
// (a tracker deleted on one replica is refused by the others within a poll).

// trackersChanged tells the other replicas to re-read their tracker index.
// It never blocks: with the publisher behind, their poll finds the change.
func (s *Service) trackersChanged() {
	f := s.fan
	if f == nil {
		return
	}
	select {
	case f.out <- fanMessage{Replica: f.opts.Replica, Trackers: true}:
	default:
	}
}

// reloadTrackers replaces the trackingId index with the store's trackers.
// A change made on this replica while the store was read wins: the index is
// left as it is and the next notice or poll reloads it.
func (s *Service) reloadTrackers(ctx context.Context) error {
	s.mu.Lock()
	gen := s.trackerGen
	s.mu.Unlock()
	all, err := trackers.All(ctx, s.st, "")
	if err != nil {
		return fmt.Errorf("reload event trackers: %w", err)
	}
	idx := make(map[string]*Tracker, len(all))
	for _, t := range all {
		idx[t.TrackingID] = t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.trackerGen != gen {
		return nil
	}
	for id, t := range s.byTracking {
		if _, ok := idx[id]; !ok {
			s.limits.Forget(t.ARN)
		}
	}
	s.byTracking, s.loaded = idx, true
	return nil
}

// byTrackingID returns the tracker with this trackingId, loading the index
// from the store on first use. Unknown ids are errs.NotFound.
func (s *Service) byTrackingID(ctx context.Context, trackingID string) (*Tracker, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.loaded {
		all, err := trackers.All(ctx, s.st, "")
		if err != nil {
			return nil, fmt.Errorf("load event trackers: %w", err)
		}
		for _, t := range all {
			s.byTracking[t.TrackingID] = t
		}
		s.loaded = true
	}
	t, ok := s.byTracking[trackingID]
	if !ok {
		return nil, errs.E(errs.NotFound, "Could not find an event tracker with trackingId %s", trackingID)
	}
	return t, nil
}

// dataset checks a dataset ARN's shape and returns its stored view.
func (s *Service) dataset(ctx context.Context, datasetARN string) (*datasetView, error) {
	if _, err := arn.Expect("datasetArn", datasetARN, arn.Dataset, 2); err != nil {
		return nil, err
	}
	d, err := datasetViews.Get(ctx, s.st, datasetARN)
	if err != nil {
		return nil, err
	}
	return d, nil
}
