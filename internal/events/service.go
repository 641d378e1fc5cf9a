// Package events is Attune's real-time ingestion: event trackers, and the
// PutEvents / PutUsers / PutItems path that validates records against the
// dataset group's schemas, batches concurrent requests through one
// group-commit writer into the store, acknowledges them only once durable,
// and then hands them to serving. Overload is answered with errs.Busy
// (a bounded queue and a per-tracker token bucket) instead of growing memory.
//
// It reads dataset groups, datasets and schemas through the store with typed
// views of its own, and must not import dataset, train, serving, campaign,
// net/http or any concrete backend.
package events

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/ratelimit"
	"github.com/attune-dev/attune/internal/store"
)

// Storage is what the service needs from the store: resources for trackers
// and the dataset views, the durable session → user map with AppendLinked
// for the group commit, and ScanChunks, ChunkSeqs and LatestSeq to follow
// what other replicas commit (fanout.go).
type Storage interface {
	store.Resources
	store.Sessions
	ScanChunks(ctx context.Context, dataset string, source store.Source, after int64, fn func(store.Chunk) error) error
	ChunkSeqs(ctx context.Context, dataset string, source store.Source, after int64, limit int) ([]int64, error)
	LatestSeq(ctx context.Context) (int64, error)
}

// Observer receives what the events API changed, right after it is durable
// and before the requests that carried it are acknowledged. Observe is called
// from the single writer goroutine, so it must be quick and must not call
// back into the Service.
type Observer interface {
	Observe(corpus.Update)
}

// Options configure the service. Zero values mean the defaults of DefaultOptions.
type Options struct {
	Scope arn.Scope
	// QueueSize is the number of requests that may wait for the writer; when
	// it is full, requests fail with errs.Busy. 0 means 4096.
	QueueSize int
	// MaxBatchRows caps the rows written by one commit; 0 means 8192.
	MaxBatchRows int
	// BatchWindow is how long the writer waits for more requests after the
	// first one before committing. 0 (the default) commits whatever is queued
	// at once: requests that arrive during a commit's fsync form the next
	// batch, so batching grows with load without adding latency when idle.
	BatchWindow time.Duration
	// RateLimit is the sustained number of events per second that one event
	// tracker may send; 0 means unlimited.
	RateLimit float64
	// RateBurst is the number of events a tracker may send at once above
	// RateLimit; 0 means max(10, RateLimit).
	RateBurst int
	// SchemaTTL is how long a dataset's schema is cached before it is read
	// again (so UpdateDataset takes effect within it); 0 means 1s.
	SchemaTTL time.Duration
	// MaxSessions caps the anonymous-session → user links cached in memory
	// (the store keeps them all); the oldest are forgotten first. 0 means
	// 1,000,000.
	MaxSessions int
	// Poll is how often pending event trackers are looked for besides being
	// kicked by a create, and, with fan-out, how often the tracker index is
	// re-read in case a notice of another replica's change was lost; 0
	// means 1s.
	Poll time.Duration
	// MaxRecentEventIDs caps the client-given event ids remembered so that
	// a retried PutEvents is not counted twice in serving's live state
	// (about 40 bytes each); the oldest are forgotten first. Training skips
	// repeated ids over all stored events regardless. 0 means 262,144.
	MaxRecentEventIDs int
	// StoreTimeout bounds the store work of one Put* call: its lookups,
	// and the wait for its group commit (the commit itself runs under the
	// same deadline). A call that runs out answers errs.Busy instead of
	// hanging on a slow store. 0 means 5s.
	StoreTimeout time.Duration
	// Metrics receives counts of ingested and rejected events and the
	// effect lag (metrics.go); nil records nothing.
	Metrics Metrics
}

// DefaultOptions returns the defaults described on Options.
func DefaultOptions() Options {
	return Options{Scope: arn.Scope{Region: "us-east-1", Account: "000000000000"}, QueueSize: 4096, MaxBatchRows: 8192,
		SchemaTTL: time.Second, MaxSessions: 1_000_000, Poll: time.Second, MaxRecentEventIDs: 1 << 18, StoreTimeout: 5 * time.Second}
}

// Service implements event trackers and the events API. All methods are
// safe for concurrent use; Run must be running for Put* calls to complete.
type Service struct {
	st   Storage
	obs  Observer
	opts Options
	now  func() time.Time
	log  *slog.Logger
	kick chan struct{}
	// fan publishes commits to the other replicas and applies theirs
	// (fanout.go); nil on a single node.
	fan *fanout
	// limits is the per-tracker token bucket (keyed by tracker ARN).
	limits *ratelimit.Keyed

	queue chan *request
	// recent is used by the writer goroutine only.
	recent *recentEvents
	// qmu guards closed; senders hold it for reading while they enqueue, so
	// that once Run sets closed under the write lock no request can slip
	// into the queue after the final drain.
	qmu    sync.RWMutex
	closed bool

	// mu guards the fields below.
	mu         sync.Mutex
	loaded     bool                    // byTracking holds every stored tracker
	byTracking map[string]*Tracker     // trackingId -> tracker
	trackerGen uint64                  // counts changes to byTracking made here
	layouts    map[string]cachedLayout // dataset ARN -> layout
	sessions   *sessionMap
}

// New returns a service over st. obs may be nil (nothing observes the
// events). Call Run to start the writer and the tracker lifecycle.
func New(st Storage, obs Observer, opts Options, now func() time.Time, log *slog.Logger) *Service {
	d := DefaultOptions()
	if opts.Scope.Region == "" {
		opts.Scope = d.Scope
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = d.QueueSize
	}
	if opts.MaxBatchRows <= 0 {
		opts.MaxBatchRows = d.MaxBatchRows
	}
	if opts.SchemaTTL <= 0 {
		opts.SchemaTTL = d.SchemaTTL
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = d.MaxSessions
	}
	if opts.Poll <= 0 {
		opts.Poll = d.Poll
	}
	if opts.MaxRecentEventIDs <= 0 {
		opts.MaxRecentEventIDs = d.MaxRecentEventIDs
	}
	if opts.StoreTimeout <= 0 {
		opts.StoreTimeout = d.StoreTimeout
	}
	if opts.Metrics == nil {
		opts.Metrics = noMetrics{}
	}
	if opts.RateBurst <= 0 {
		opts.RateBurst = max(10, int(opts.RateLimit))
	}
	return &Service{st: st, obs: obs, opts: opts, now: now, log: log, kick: make(chan struct{}, 1),
		queue: make(chan *request, opts.QueueSize), byTracking: map[string]*Tracker{},
		limits:  ratelimit.New(ratelimit.Options{Rate: opts.RateLimit, Burst: opts.RateBurst, Now: now}),
		layouts: map[string]cachedLayout{}, sessions: newSessionMap(opts.MaxSessions), recent: newRecentEvents(opts.MaxRecentEventIDs)}
}

// Run activates pending event trackers and runs the group-commit writer
// until ctx is done. It then stops accepting requests, commits every request
// already queued (so nothing accepted is dropped), and returns.
func (s *Service) Run(ctx context.Context) error {
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		s.writeLoop(ctx)
	}()
	fanDone := make(chan struct{})
	go func() {
		defer close(fanDone)
		if s.fan != nil {
			s.runFanout(ctx)
		}
	}()
	tick := time.NewTicker(s.opts.Poll)
	defer tick.Stop()
	for {
		if err := s.activatePending(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "activate pending event trackers", "err", err)
		}
		if s.fan != nil {
			if err := s.reloadTrackers(ctx); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "events: re-read event trackers", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			<-writerDone
			<-fanDone
			return nil
		case <-s.kick:
		case <-tick.C:
		}
	}
}

func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// ForgetUsers drops the anonymous-session links of users a data deletion
// job removed from a dataset group, from the store and the cache, so later
// anonymous events of those sessions are no longer stored as theirs; with
// fan-out it tells the other replicas to drop them (and the users' live
// state) too.
func (s *Service) ForgetUsers(ctx context.Context, groupARN string, users, sessions map[string]struct{}) error {
	s.sessions.forget(groupARN, users, sessions)
	keys := func(m map[string]struct{}) []string {
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		return out
	}
	if err := s.st.UnlinkSessions(ctx, groupARN, keys(users), keys(sessions)); err != nil {
		return fmt.Errorf("events: forget the sessions of deleted users: %w", err)
	}
	if s.fan != nil {
		s.fan.forgotten(groupARN, keys(users), keys(sessions))
	}
	return nil
}
