// Package serving answers Personalize's runtime calls (GetRecommendations,
// GetPersonalizedRanking) from memory: each deployed campaign's model,
// the item metadata of its dataset group and every user's recent history
// are loaded once and swapped in behind atomic pointers, so a request never
// queries the store and a redeploy never fails a request. Live events
// (Observe) extend the in-memory histories, so the next answer reflects
// them without retraining.
//
// It meets training only through model artifacts in a blob.Bucket and the
// dataset records in the store; it must not import train, dataset,
// campaign or any concrete backend, nor net/http.
package serving

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/model"
	"github.com/attune-dev/attune/internal/recipe"
)

var nan32 = float32(math.NaN())

// Options configure serving.
type Options struct {
	// MaxHistory is how many of each user's newest interactions are kept in
	// memory and fed to models; 0 means 500. The user-personalization
	// models read at most 2000.
	MaxHistory int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewID returns a fresh recommendationId suffix; nil means a random UUID.
	NewID func() string
	// Filters resolves filterArn and promotion filters; nil means no
	// filter exists, so requests naming one get errs.NotFound.
	Filters FilterSource
	// ExactScoring turns off the approximate item index that models
	// supporting one (recipe.Indexer) build at load for catalogues of
	// IndexMinItems items or more (0: recipe.DefaultIndexMinItems), then
	// scanning IndexShare of the items per request (0:
	// recipe.DefaultIndexShare). Offline evaluation never uses the index.
	ExactScoring  bool
	IndexMinItems int
	IndexShare    float64
	// Metrics receives model load times (stats.go); nil records nothing.
	Metrics Metrics
	// MaxLiveUsers caps the users and anonymous sessions whose recent
	// history each dataset group keeps in memory; the least recently used
	// beyond it are moved to a spill file in SpillDir and brought back by
	// their next request or event. 0 means no cap.
	MaxLiveUsers int
	// SpillDir is the folder of the spill files; "" means the system's
	// temporary folder.
	SpillDir string
	// StoreTimeout bounds the store reads a request may make (resolving
	// a filter on its first use, its dataset schemas); a request that
	// runs out answers errs.Busy. 0 means 5s.
	StoreTimeout time.Duration
}

// DefaultOptions returns the defaults documented on Options.
func DefaultOptions() Options { return Options{MaxHistory: 500} }

// decoder finds the recipe that decodes an artifact (a *recipe.Registry).
type decoder interface {
	Get(name string) (recipe.Recipe, bool)
}

// Deployment says what a campaign (or any other deployed model: a
// recommender, a batch job) serves.
type Deployment struct {
	// Campaign is the key requests use (Request.Campaign): a campaign ARN,
	// or any other unique string such as a recommender or batch job ARN.
	Campaign        string
	Group           string // dataset group ARN
	SolutionVersion string
	ArtifactKey     string
	// Filter is the solution's training filter (eventType,
	// eventValueThreshold): history outside it is not fed to the model,
	// which never learnt from such interactions.
	Filter corpus.Filter
	// Exploration is the campaign's itemExplorationConfig; nil means none.
	Exploration *recipe.Exploration
	// Metadata is enableMetadataWithRecommendations: whether requests may
	// ask for metadataColumns.
	Metadata bool
	// ExcludeEventTypes are event types (compared case-insensitively)
	// whose items are never recommended to the user who had them, e.g.
	// "Purchase" for a use case that must not sell the same thing twice.
	// Nil means none.
	ExcludeEventTypes []string
}

// Service holds the loaded campaigns. Its methods are safe for concurrent use.
type Service struct {
	sc      corpus.ChunkScanner
	bucket  blob.Bucket
	reg     decoder
	opts    Options
	log     *slog.Logger
	reloads chan *group

	// table maps campaign ARN to its loaded state; readers load it without
	// a lock, writers copy it under mu.
	table atomic.Pointer[map[string]*slot]
	// expected is set by the first Expect: until then the campaigns to
	// load at startup are not known, and an unknown campaign may be one.
	expected atomic.Bool

	// mu guards the fields below and serialises writers of table.
	mu     sync.Mutex
	groups map[string]*group
}

// slot is one campaign's entry: the loaded model, or nil while the first
// load is still running.
type slot struct {
	cur atomic.Pointer[loaded]
}

// New returns a serving service reading records through sc and artifacts
// from bucket. Call Run to process item-catalogue reloads.
func New(sc corpus.ChunkScanner, bucket blob.Bucket, reg decoder, opts Options, log *slog.Logger) *Service {
	if opts.MaxHistory <= 0 {
		opts.MaxHistory = DefaultOptions().MaxHistory
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.StoreTimeout <= 0 {
		opts.StoreTimeout = 5 * time.Second
	}
	if opts.Metrics == nil {
		opts.Metrics = noMetrics{}
	}
	s := &Service{sc: sc, bucket: bucket, reg: reg, opts: opts, log: log, reloads: make(chan *group, 64), groups: map[string]*group{}}
	empty := map[string]*slot{}
	s.table.Store(&empty)
	return s
}

// group is the state campaigns of one dataset group share: histories and
// the item catalogue.
type group struct {
	arn          string
	interactions string // dataset ARNs
	items        string
	usersDS      string
	hist         atomic.Pointer[histories]
	catalog      atomic.Pointer[corpus.Entities] // items
	users        atomic.Pointer[corpus.Entities]
	// itemsStale and usersStale say a catalogue changed since it was
	// loaded, histStale that deleted users call for rebuilding everything,
	// bulkStale that an interactions import calls for reading the
	// histories again at the next deploy; queued that the group waits in
	// Service.reloads.
	itemsStale, usersStale, histStale, bulkStale, queued atomic.Bool
	// loadMu serialises deploys reading the group from the store.
	loadMu sync.Mutex
	// deploying counts deploys of the group in progress; guarded by
	// Service.mu.
	deploying int
	// forgotten holds users a data deletion job removed (see Forget); nil
	// when none.
	forgotten atomic.Pointer[map[string]struct{}]

	// mu guards the fields below; Observe holds it while appending so that
	// a history being rebuilt also receives the events.
	mu      sync.Mutex
	loading int
	pending []corpus.Event
}

func (s *Service) groupFor(groupARN string) (*group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.groups[groupARN]; g != nil {
		return g, nil
	}
	p, err := arn.Expect("datasetGroupArn", groupARN, arn.DatasetGroup, 1)
	if err != nil {
		return nil, err
	}
	sc := arn.Scope{Region: p.Region, Account: p.Account}
	g := &group{arn: groupARN, interactions: sc.Build(arn.Dataset, p.Parts[0], "INTERACTIONS"), items: sc.Build(arn.Dataset, p.Parts[0], "ITEMS"),
		usersDS: sc.Build(arn.Dataset, p.Parts[0], "USERS")}
	s.groups[groupARN] = g
	return g, nil
}

// Expect marks campaigns as about to load, so that requests for them get
// errs.Unavailable (which clients retry) rather than errs.NotFound while a
// restarted server is still loading models. Before the first call every
// unknown campaign is answered so: a replica that has just started does
// not know yet which campaigns exist.
func (s *Service) Expect(campaigns ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.cloneTableLocked()
	for _, c := range campaigns {
		if next[c] == nil {
			next[c] = &slot{}
		}
	}
	s.table.Store(&next)
	s.expected.Store(true)
}

func (s *Service) cloneTableLocked() map[string]*slot {
	cur := *s.table.Load()
	next := make(map[string]*slot, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	return next
}

// Deploy loads d's model and, unless another deployment of the group
// already holds them, the group's histories and catalogues, then swaps the
// deployment in atomically: until it returns, requests keep being answered
// by the campaign's previous deployment, if any. Errors: errs.Invalid for
// an unreadable artifact, or the underlying store or bucket error.
func (s *Service) Deploy(ctx context.Context, d Deployment) error {
	start := s.opts.Now()
	meta, m, err := model.Read(ctx, s.bucket, d.ArtifactKey, s.reg)
	if err != nil {
		return fmt.Errorf("deploy %s: %w", d.Campaign, err)
	}
	if ix, ok := m.(recipe.Indexer); ok && !s.opts.ExactScoring {
		// Built before the swap, so requests keep the old model meanwhile.
		m = ix.WithIndex(recipe.IndexOptions{MinItems: s.opts.IndexMinItems, Share: s.opts.IndexShare, Seed: 1})
	}
	g, err := s.acquireGroup(d.Group)
	if err != nil {
		return err
	}
	defer s.releaseGroup(g)
	if err := s.prepareGroup(ctx, g); err != nil {
		return fmt.Errorf("deploy %s: %w", d.Campaign, err)
	}
	l := newLoaded(d, meta, m, g, s.opts.Now())
	s.mu.Lock()
	next := s.cloneTableLocked()
	sl := next[d.Campaign]
	if sl == nil {
		sl = &slot{}
		next[d.Campaign] = sl
	}
	sl.cur.Store(l)
	s.table.Store(&next)
	s.mu.Unlock()
	s.opts.Metrics.ModelLoaded(s.opts.Now().Sub(start))
	h := g.hist.Load()
	s.log.InfoContext(ctx, "campaign loaded", "campaign", d.Campaign, "solutionVersion", d.SolutionVersion, "recipe", meta.Recipe,
		"items", len(l.items), "users", len(l.userIndex), "historyRows", len(h.ptr)-1, "historyEvents", len(h.items),
		"historyMiB", h.bytes()>>20, "liveUsers", h.liveUsers(), "seconds", s.opts.Now().Sub(start).Seconds())
	return nil
}

// refreshGroup rebuilds the group's histories and catalogue from the store
// (so FULL imports since the last load are seen as the new truth) and swaps
// them in. Events observed while it reads are replayed onto the new
// histories; an event committed before the scan reached it is then counted
// twice until the next load, which only nudges its weight.
func (s *Service) refreshGroup(ctx context.Context, g *group) error {
	g.mu.Lock()
	g.loading++
	g.mu.Unlock()
	done := func() {
		g.loading--
		if g.loading == 0 {
			g.pending = nil
		}
	}
	h, _, err := loadHistories(ctx, s.sc, g.interactions, s.opts.MaxHistory)
	if err == nil {
		err = h.capLive(s.opts.MaxLiveUsers, s.opts.SpillDir)
	}
	if err != nil {
		g.mu.Lock()
		done()
		g.mu.Unlock()
		return err
	}
	cat, err := corpus.LoadEntities(ctx, s.sc, g.items, "ITEM_ID")
	var users *corpus.Entities
	if err == nil {
		// The Users catalogue serves filters (Users.FIELD, IF CurrentUser).
		users, err = corpus.LoadEntities(ctx, s.sc, g.usersDS, "USER_ID")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		done()
		return err
	}
	h.observe(g.pending)
	done()
	g.hist.Store(h)
	g.catalog.Store(cat)
	g.users.Store(users)
	return nil
}

// Undeploy forgets a campaign; later requests for it get errs.NotFound.
// The group's live state goes with its last deployment.
func (s *Service) Undeploy(campaign string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.cloneTableLocked()
	old := next[campaign]
	delete(next, campaign)
	s.table.Store(&next)
	if old != nil {
		if l := old.cur.Load(); l != nil {
			s.dropUnusedLocked(l.g)
		}
	}
}

// Deployed returns the solution version a campaign serves, or "" when it
// serves none (not deployed or still loading).
func (s *Service) Deployed(campaign string) string {
	if sl := (*s.table.Load())[campaign]; sl != nil {
		if l := sl.cur.Load(); l != nil {
			return l.d.SolutionVersion
		}
	}
	return ""
}

// Observe appends live events to the histories of every campaign of the
// update's dataset group, so the next request reflects them (filters on
// Interactions included), and schedules a reload of the item or user
// catalogue when items or users changed; filter catalogues are rebuilt
// from the reloaded ones at the next filtered request. It does no I/O and
// returns quickly; groups with no loaded campaign are ignored (their
// histories are read from the store when a campaign loads).
func (s *Service) Observe(u corpus.Update) {
	s.mu.Lock()
	g := s.groups[u.Group]
	s.mu.Unlock()
	if g == nil {
		return
	}
	if len(u.Events) > 0 {
		g.mu.Lock()
		if h := g.hist.Load(); h != nil {
			h.observe(u.Events)
		}
		if g.loading > 0 {
			g.pending = append(g.pending, u.Events...)
		}
		g.mu.Unlock()
	}
	if u.ItemsChanged {
		g.itemsStale.Store(true)
	}
	if u.UsersChanged {
		g.usersStale.Store(true)
	}
	if u.ItemsChanged || u.UsersChanged {
		s.queueReload(g)
	}
}

// Run reloads item and user catalogues that Observe marked as changed,
// until ctx is done. It returns nil on cancellation.
func (s *Service) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case g := <-s.reloads:
			g.queued.Store(false)
			s.mu.Lock()
			dropped := s.groups[g.arn] != g
			s.mu.Unlock()
			if dropped {
				continue // no deployment serves it any more
			}
			if g.histStale.Swap(false) && g.hist.Load() != nil {
				// A group no campaign loaded has nothing to rebuild.
				g.itemsStale.Store(false)
				g.usersStale.Store(false)
				g.loadMu.Lock()
				err := s.refreshGroup(ctx, g)
				g.loadMu.Unlock()
				if err != nil && ctx.Err() == nil {
					s.log.ErrorContext(ctx, "reload group after a data deletion", "group", g.arn, "err", err)
				}
				continue // refreshGroup reloaded both catalogues too
			}
			for _, c := range []struct {
				stale   *atomic.Bool
				dataset string
				idField string
				catalog *atomic.Pointer[corpus.Entities]
			}{{&g.itemsStale, g.items, "ITEM_ID", &g.catalog}, {&g.usersStale, g.usersDS, "USER_ID", &g.users}} {
				if !c.stale.Swap(false) {
					continue
				}
				cat, err := corpus.LoadEntities(ctx, s.sc, c.dataset, c.idField)
				if err != nil {
					if ctx.Err() == nil {
						s.log.ErrorContext(ctx, "reload catalogue", "group", g.arn, "dataset", c.dataset, "err", err)
					}
					continue
				}
				c.catalog.Store(cat)
			}
		}
	}
}

// isRecommender reports whether a deployment key is a recommender's ARN
// (campaigns and recommenders share the deployment table).
func isRecommender(key string) bool {
	p, err := arn.Parse("recommenderArn", key)
	return err == nil && p.Type == arn.Recommender
}

// lookup returns a campaign's (or recommender's) loaded state.
func (s *Service) lookup(campaign string) (*loaded, error) {
	sl := (*s.table.Load())[campaign]
	if sl == nil {
		if isRecommender(campaign) {
			// Recommenders are served under their own ARN; one that failed
			// or is not ACTIVE yet is not loaded.
			return nil, errs.E(errs.NotFound, "Could not find an ACTIVE recommender %s; DescribeRecommender shows its status and any failureReason", campaign)
		}
		if !s.expected.Load() {
			return nil, errs.E(errs.Unavailable, "Campaign %s cannot be served yet: the server is starting; retry shortly", campaign)
		}
		return nil, errs.E(errs.NotFound, "Could not find campaign %s", campaign)
	}
	l := sl.cur.Load()
	if l == nil {
		if isRecommender(campaign) {
			return nil, errs.E(errs.Unavailable, "Recommender %s is still loading its model; retry shortly", campaign)
		}
		return nil, errs.E(errs.Unavailable, "Campaign %s is still loading its model; retry shortly", campaign)
	}
	return l, nil
}

// loaded is one deployment in memory. It is immutable except for the
// history mapping cache.
type loaded struct {
	d         Deployment
	meta      model.Meta
	m         recipe.Model
	items     []string
	itemIndex map[string]int32
	userIndex map[string]int32
	g         *group
	mp        atomic.Pointer[mapping]
	pop       atomic.Pointer[popOrder]
	fenv      atomic.Pointer[filterEnv]
	novel     atomic.Pointer[novelSet]
	fenvMu    sync.Mutex // serialises building fenv

	// refreshEvery is how often a recipe.Refresher model is re-evaluated
	// (0: never); refreshAt is when next, in unix nanoseconds.
	refreshEvery time.Duration
	refreshAt    atomic.Int64
	refreshMu    sync.Mutex // held by the one request re-evaluating
}

func newLoaded(d Deployment, meta model.Meta, m recipe.Model, g *group, now time.Time) *loaded {
	l := &loaded{d: d, meta: meta, m: m, items: m.Items(), g: g}
	if r, ok := m.(recipe.Refresher); ok {
		l.refreshEvery = r.RefreshInterval(meta.Params)
		l.refreshAt.Store(now.Add(l.refreshEvery).UnixNano())
	}
	l.itemIndex = make(map[string]int32, len(l.items))
	for i, id := range l.items {
		l.itemIndex[id] = int32(i)
	}
	users := m.Users()
	l.userIndex = make(map[string]int32, len(users))
	h, cat := g.hist.Load(), g.users.Load()
	for i, id := range users {
		// A model keeps factors of every user it was trained on; use them
		// only for users the group still has records of, so that users
		// deleted since training (a data deletion job, also before a
		// restart) are unknown users to it.
		if h != nil && !h.hasUser(id) && (cat == nil || !cat.Has(id)) {
			continue
		}
		l.userIndex[id] = int32(i)
	}
	return l
}

// mapping translates one histories' item and event indexes to the model's.
type mapping struct {
	h      *histories
	items  []int32  // history item -> model item, -1 when unknown to the model
	events []int32  // history event type -> model event index, -1 when the solution filtered it out
	names  []string // history event type -> EVENT_TYPE
}

// mappingFor returns the (cached) mapping of h.
func (l *loaded) mappingFor(h *histories) *mapping {
	if mp := l.mp.Load(); mp != nil && mp.h == h {
		return mp
	}
	items, events := h.snapshot()
	mp := &mapping{h: h, items: make([]int32, len(items)), events: make([]int32, len(events)), names: events}
	for i, id := range items {
		mp.items[i] = -1
		if j, ok := l.itemIndex[id]; ok {
			mp.items[i] = j
		}
	}
	// The model indexes event types in first-seen order of the data it
	// trained on: with an eventType filter that is the one type; otherwise
	// the history's own first-seen order, which is the same scan.
	for i, name := range events {
		switch {
		case l.d.Filter.EventType == "":
			mp.events[i] = int32(i)
		case strings.EqualFold(name, l.d.Filter.EventType):
			mp.events[i] = 0
		default:
			mp.events[i] = -1
		}
	}
	l.mp.Store(mp)
	return mp
}

// userEvents is one user's recent interactions in the group's history
// indexes, with the tables to read them.
type userEvents struct {
	raw []hevent // oldest first
	h   *histories
	mp  *mapping
}

// events returns the user's recent interactions, or nil when there are none.
func (l *loaded) events(userID string) *userEvents {
	h := l.g.hist.Load()
	if h == nil || userID == "" {
		return nil
	}
	raw := h.user(make([]hevent, 0, 64), userID)
	if len(raw) == 0 {
		return nil
	}
	return &userEvents{raw: raw, h: h, mp: l.mappingFor(h)}
}

// modelItem returns the model's index of a history item, or -1.
func (u *userEvents) modelItem(l *loaded, hi int32) int32 {
	if int(hi) < len(u.mp.items) {
		return u.mp.items[hi]
	}
	if j, ok := l.itemIndex[u.h.itemName(hi)]; ok {
		return j // an item first seen live, after the mapping was built
	}
	return -1
}

// eventName returns the EVENT_TYPE of a history event-type index.
func (u *userEvents) eventName(ei uint16) string {
	if int(ei) < len(u.mp.names) {
		return u.mp.names[ei]
	}
	return u.h.eventName(ei)
}

// history returns the user's recent history in the model's indexes,
// dropping interactions the solution's filter excludes, and the model
// items the user interacted with at all.
func (l *loaded) history(userID string) (hist []recipe.Event, seen []int32) {
	return l.modelHistory(l.events(userID))
}

// modelHistory is history for events already read.
func (l *loaded) modelHistory(u *userEvents) (hist []recipe.Event, seen []int32) {
	if u == nil {
		return nil, nil
	}
	raw, mp := u.raw, u.mp
	minValue := l.d.Filter.MinEventValue
	hist = make([]recipe.Event, 0, len(raw))
	seen = make([]int32, 0, len(raw))
	for _, e := range raw {
		it := u.modelItem(l, e.item)
		if it >= 0 {
			seen = append(seen, it)
		}
		ev := int32(e.event)
		if int(e.event) < len(mp.events) {
			ev = mp.events[e.event]
		} else if l.d.Filter.EventType != "" {
			ev = -1 // a type first seen live cannot be the filtered type, which training saw
		}
		if ev < 0 || (!math.IsNaN(minValue) && !(float64(e.value) >= minValue)) {
			continue
		}
		hist = append(hist, recipe.Event{Item: it, Time: e.time, Event: uint16(ev)})
	}
	return hist, seen
}
