package events

import (
	"context"
	"math"
	"time"

	"github.com/google/uuid"

	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/resource"
	"github.com/attune-dev/attune/internal/schema"
	"github.com/attune-dev/attune/internal/store"
)

// PutEventsInput is a PutEvents call.
type PutEventsInput struct {
	TrackingID, SessionID string
	UserID                string // "" for an anonymous session
	Events                []Event
}

// PutEvents validates events against the tracker's Interactions schema and
// returns once they are durably stored (or with the reason they are not).
// Errors: errs.Invalid for bad input (naming eventList[i].member), an
// inactive tracker or a group without an Interactions dataset; errs.NotFound
// for an unknown trackingId; errs.Busy when the tracker is over its rate
// limit or the write queue is full; errs.Unavailable when shutting down.
//
// An anonymous event (no userId) of a session that an earlier call tied to
// a user, on any replica, is stored and observed as that user's: the link
// is stored with the events that make it.
func (s *Service) PutEvents(ctx context.Context, in PutEventsInput) (err error) {
	defer s.countEvents(len(in.Events), &err)
	arrived := s.now()
	return s.bounded(ctx, func(ctx context.Context) error { return s.putEvents(ctx, in, arrived) })
}

func (s *Service) putEvents(ctx context.Context, in PutEventsInput, arrived time.Time) error {
	var p problems
	checkLen(&p, "trackingId", in.TrackingID, 256, false)
	checkLen(&p, "sessionId", in.SessionID, 256, false)
	checkLen(&p, "userId", in.UserID, 256, true)
	switch n := len(in.Events); {
	case n == 0:
		p.add("eventList must have 1 to 10 events, got none")
	case n > 10:
		p.add("eventList has %d events; at most 10 are allowed", n)
	}
	if err := p.err(); err != nil {
		return err
	}
	t, err := s.byTrackingID(ctx, in.TrackingID)
	if err != nil {
		return err
	}
	if !resource.Usable(t.Status) {
		return errs.E(errs.Invalid, "Event tracker %s is %s, not ACTIVE", t.ARN, t.Status)
	}
	if err := s.allow(t.ARN, len(in.Events)); err != nil {
		return err
	}
	l, status, err := s.interactionsOf(ctx, t.GroupARN)
	if err != nil {
		return err
	}
	if !resource.Usable(status) {
		return errs.E(errs.Invalid, "Interactions dataset %s is %s, not ACTIVE", l.datasetARN, status)
	}
	user := in.UserID
	if user == "" {
		if user, err = s.sessionUser(ctx, t.GroupARN, in.SessionID); err != nil {
			return err
		}
	}
	r := &request{layout: l, rows: make([][]schema.Value, len(in.Events)), update: corpus.Update{Group: t.GroupARN}, arrived: arrived}
	if in.UserID != "" && s.sessions.user(t.GroupARN, in.SessionID) != in.UserID {
		r.link = &store.SessionLink{Group: t.GroupARN, Session: in.SessionID, User: in.UserID}
	}
	if s.obs != nil {
		r.update.Events = make([]corpus.Event, len(in.Events))
		r.eventIDs = make([]string, len(in.Events))
	}
	for i := range in.Events {
		ev := &in.Events[i]
		row, _ := l.eventRow(i, ev, user, in.SessionID, uuid.NewString, &p)
		r.rows[i] = row
		if row != nil && s.obs != nil {
			r.update.Events[i] = observed(l, row, user, in.SessionID)
			r.eventIDs[i] = ev.EventID
		}
	}
	if err := p.err(); err != nil {
		return err
	}
	return s.submit(ctx, r)
}

// observed is the serving view of a stored event row.
func observed(l *layout, row []schema.Value, user, session string) corpus.Event {
	e := corpus.Event{User: user, Session: session, Value: float32(math.NaN())}
	if l.item >= 0 {
		e.Item = row[l.item].Str
	}
	if l.eventType >= 0 {
		e.Type = row[l.eventType].Str
	}
	if l.ts >= 0 {
		e.Time = row[l.ts].Int
	}
	if l.eventValue >= 0 && !row[l.eventValue].Null {
		e.Value = float32(row[l.eventValue].Float)
	}
	if l.impression >= 0 && !row[l.impression].Null {
		e.Impression = splitPipe(row[l.impression].Str)
	}
	if l.recID >= 0 {
		e.RecommendationID = row[l.recID].Str
	}
	return e
}

func splitPipe(s string) []string {
	var out []string
	for s != "" {
		i := 0
		for i < len(s) && s[i] != '|' {
			i++
		}
		out = append(out, s[:i])
		if i == len(s) {
			break
		}
		s = s[i+1:]
	}
	return out
}

// PutItems stores items (rows of an Items dataset) once durable. Errors:
// errs.Invalid for bad input (naming items[i].member) or a dataset of
// another type; errs.NotFound for a missing dataset; errs.InUse when the
// dataset is not ACTIVE; errs.Busy and errs.Unavailable as PutEvents.
func (s *Service) PutItems(ctx context.Context, datasetARN string, items []Entity) error {
	return s.putEntities(ctx, schema.Items, "items", "itemId", datasetARN, items, 32000)
}

// PutUsers stores users (rows of a Users dataset) once durable; errors as PutItems.
func (s *Service) PutUsers(ctx context.Context, datasetARN string, users []Entity) error {
	return s.putEntities(ctx, schema.Users, "users", "userId", datasetARN, users, 24000)
}

func (s *Service) putEntities(ctx context.Context, typ schema.DatasetType, list, idMember, datasetARN string, es []Entity, limit int) error {
	return s.bounded(ctx, func(ctx context.Context) error {
		return s.putEntitiesBounded(ctx, typ, list, idMember, datasetARN, es, limit)
	})
}

func (s *Service) putEntitiesBounded(ctx context.Context, typ schema.DatasetType, list, idMember, datasetARN string, es []Entity, limit int) error {
	var p problems
	switch n := len(es); {
	case n == 0:
		p.add("%s must have 1 to 10 entries, got none", list)
	case n > 10:
		p.add("%s has %d entries; at most 10 are allowed", list, n)
	}
	if err := p.err(); err != nil {
		return err
	}
	l, status, err := s.layoutOf(ctx, datasetARN)
	if err != nil {
		return err
	}
	if l.typ != typ {
		return errs.E(errs.Invalid, "datasetArn %s is a %s dataset; this operation writes to a %s dataset", datasetARN, typeWord(l.typ), typeWord(typ))
	}
	if !resource.Usable(status) {
		return errs.E(errs.InUse, "Dataset %s is %s, not ACTIVE", datasetARN, status)
	}
	r := &request{layout: l, rows: make([][]schema.Value, len(es)), update: corpus.Update{Group: l.groupARN,
		ItemsChanged: typ == schema.Items, UsersChanged: typ == schema.Users}}
	for i := range es {
		r.rows[i] = l.entityRow(list, idMember, i, &es[i], limit, &p)
	}
	if err := p.err(); err != nil {
		return err
	}
	return s.submit(ctx, r)
}
