package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/records"
	"github.com/attune-dev/attune/internal/schema"
	"github.com/attune-dev/attune/internal/store"
)

// Fan-out: in a cluster every api replica serves from live state of its
// own, so what one replica's writer commits must reach the others. After a
// commit (and after its requests are acknowledged) the writer hands the
// committed chunks, with the Seqs the store gave them, to a publisher
// goroutine that sends them over the bus; every replica applies the chunks
// of the others to serving. The store is the truth and the bus only the
// fast path:
//
//   - each replica keeps, per dataset, the Seq through which it has applied
//     every Put chunk, plus the Seqs above it that it applied already (from
//     the bus, or its own commits), so a chunk is applied at most once
//     however often and in whatever order it arrives;
//   - every FanoutOptions.Poll it reads the Put chunks above that mark from
//     the store, applies those it has not seen (a message lost, a publisher
//     killed between commit and publish, the bus down) and moves the mark:
//     Put chunks become visible in Seq order in both backends, so a scan
//     that reached Seq n has seen every Put chunk up to n;
//   - a replica starts following at the store's LatestSeq when the fan-out
//     is enabled: what was committed before, serving reads from the store
//     when it loads a group; it reports caught up (CaughtUp, for /readyz)
//     once one poll has read every dataset to its end.
//
// The same messages carry a heartbeat of each replica, from which every
// replica counts the live replicas and takes its share of the per-tracker
// rate limits (SetRateShare).

// Publisher sends a message to every replica of the cluster (this one may
// get it back). Delivery may be late, repeated, out of order or missing:
// the store poll makes up for it. Publish may block until the bus has
// accepted the message; it is called from one goroutine at a time.
type Publisher interface {
	Publish(ctx context.Context, msg []byte) error
}

// FanoutOptions configure EnableFanout. Zero values mean the defaults.
type FanoutOptions struct {
	// Replica names this replica in its messages, so it can tell its own
	// from the others'; it must differ between replicas (a random id).
	Replica string
	// Poll is how often the store is read for chunks no message brought,
	// and heartbeats are sent; 0 means 1s.
	Poll time.Duration
	// MaxInline is the largest chunk (encoded bytes) sent in a message;
	// larger ones are announced by Seq and read from the store. 0 means
	// 256 KiB (NATS refuses messages over 1 MiB by default).
	MaxInline int
	// Queue is the number of commits that may wait for the publisher;
	// beyond it they are not published (the others' poll finds them).
	// 0 means 1024.
	Queue int
}

// fanMessage is what replicas send each other (JSON; Data is base64).
type fanMessage struct {
	Replica string     `json:"replica"`
	Chunks  []fanChunk `json:"chunks,omitempty"`
	Forget  *fanForget `json:"forget,omitempty"`
	// Trackers says the sender created, activated or deleted an event
	// tracker: re-read the tracker index (trackers.go).
	Trackers bool `json:"trackers,omitempty"`
}

// fanForget is a data deletion job's users and sessions, which every
// replica drops from its session links and live state.
type fanForget struct {
	Group    string   `json:"group"`
	Users    []string `json:"users,omitempty"`
	Sessions []string `json:"sessions,omitempty"`
}

// forgetter is what serving offers to drop deleted users from memory
// (serving.Service.Forget); the Observer may implement it.
type forgetter interface {
	Forget(groupARN string, users, sessions map[string]struct{})
}

// fanChunk is one committed Put chunk. Data is nil when the chunk was too
// large to send, and the receiver reads it from the store.
type fanChunk struct {
	Seq     int64  `json:"seq"`
	Dataset string `json:"dataset"`
	Data    []byte `json:"data,omitempty"`
}

// fanout is the state of EnableFanout.
type fanout struct {
	pub  Publisher
	opts FanoutOptions
	out  chan fanMessage
	// ready is set once a poll has read every dataset to its end.
	ready atomic.Bool
	// commit is held for reading by the writer from before a commit until
	// its chunks are claimed, so that the poll can wait for this replica's
	// own commits instead of taking a chunk just written here for one it
	// missed (and applying it twice).
	commit sync.RWMutex

	// mu guards the fields below.
	mu       sync.Mutex
	start    int64                // LatestSeq when following began
	marks    map[string]*seqMark  // dataset ARN -> what was applied
	seen     map[string]time.Time // replica -> last heard from
	lastLive int                  // the last count while the bus carried our heartbeats
	lastErr  error                // of the last poll, for CaughtUp
}

// seqMark is what a replica applied of one dataset's Put chunks: every
// chunk through Seq through, and the Seqs in above.
type seqMark struct {
	through int64
	above   map[int64]struct{}
	// late are the Seqs above through that the last poll found unapplied:
	// a message gets one poll interval to bring a chunk before the next
	// poll reads it from the store.
	late map[int64]struct{}
}

// EnableFanout makes the service publish what it commits through p and
// follow the store from its latest Seq; call it before Run, and hand every
// message the bus delivers to Receive. Errors: the store's, reading
// LatestSeq.
func (s *Service) EnableFanout(ctx context.Context, p Publisher, o FanoutOptions) error {
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.MaxInline <= 0 {
		o.MaxInline = 256 << 10
	}
	if o.Queue <= 0 {
		o.Queue = 1024
	}
	start, err := s.st.LatestSeq(ctx)
	if err != nil {
		return fmt.Errorf("events: start following the store: %w", err)
	}
	s.fan = &fanout{pub: p, opts: o, out: make(chan fanMessage, o.Queue), start: start,
		marks: map[string]*seqMark{}, seen: map[string]time.Time{}}
	return nil
}

// CaughtUp returns nil once this replica has applied every chunk committed
// anywhere in the cluster up to its last poll, or when fan-out is off;
// otherwise why not yet (for /readyz).
func (s *Service) CaughtUp() error {
	f := s.fan
	if f == nil || f.ready.Load() {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lastErr != nil {
		return fmt.Errorf("catching up with the events of other replicas: %w", f.lastErr)
	}
	return errors.New("catching up with the events of other replicas")
}

// Replicas returns the number of replicas heard from within three polls,
// this one included (1 when fan-out is off). While this replica does not
// hear its own heartbeats either (the bus is down or cut off from it), it
// returns the last count from before: silence then says nothing about the
// others, and counting them gone would let every replica take the whole
// rate limit.
func (s *Service) Replicas() int {
	f := s.fan
	if f == nil {
		return 1
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.liveLocked(s.now())
}

func (f *fanout) liveLocked(now time.Time) int {
	// Own heartbeats are missed sooner (two polls) than others are given
	// up (three), so that a bus that goes silent freezes the count before
	// the others' silence would lower it.
	if at, ok := f.seen[f.opts.Replica]; ok && now.Sub(at) > 2*f.opts.Poll && f.lastLive > 0 {
		return f.lastLive
	}
	n := 1
	for r, at := range f.seen {
		if r != f.opts.Replica && now.Sub(at) <= 3*f.opts.Poll {
			n++
		}
	}
	f.lastLive = n
	return n
}

// claim marks a chunk as applied and reports whether it was not already.
func (f *fanout) claim(dataset string, seq int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.markLocked(dataset)
	if seq <= m.through {
		return false
	}
	if _, ok := m.above[seq]; ok {
		return false
	}
	m.above[seq] = struct{}{}
	return true
}

// unapplied returns those of seqs (ascending) not applied yet, and
// whether any of them was already late at the previous poll.
func (f *fanout) unapplied(dataset string, seqs []int64) (pending []int64, due bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.markLocked(dataset)
	for _, seq := range seqs {
		if _, ok := m.above[seq]; ok || seq <= m.through {
			continue
		}
		pending = append(pending, seq)
		if _, ok := m.late[seq]; ok {
			due = true
		}
	}
	return pending, due
}

// markLate records the Seqs a poll found unapplied.
func (f *fanout) markLate(dataset string, seqs []int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.markLocked(dataset)
	m.late = make(map[int64]struct{}, len(seqs))
	for _, seq := range seqs {
		m.late[seq] = struct{}{}
	}
}

func (f *fanout) markLocked(dataset string) *seqMark {
	m := f.marks[dataset]
	if m == nil {
		m = &seqMark{through: f.start, above: map[int64]struct{}{}}
		f.marks[dataset] = m
	}
	return m
}

// through returns the Seq through which every Put chunk of dataset was
// applied.
func (f *fanout) through(dataset string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m := f.marks[dataset]; m != nil {
		return m.through
	}
	return f.start
}

// advance records that a scan saw every Put chunk of dataset through seq.
func (f *fanout) advance(dataset string, seq int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.marks[dataset]
	if m == nil || seq <= m.through {
		return
	}
	m.through = seq
	for s := range m.above {
		if s <= seq {
			delete(m.above, s)
		}
	}
	for s := range m.late {
		if s <= seq {
			delete(m.late, s)
		}
	}
}

// committed is called by the writer after a commit: the chunks are applied
// here already (the writer observed them), and are queued for the others.
func (f *fanout) committed(chunks []store.Chunk, seqs []int64) {
	msg := fanMessage{Replica: f.opts.Replica, Chunks: make([]fanChunk, len(chunks))}
	for i, c := range chunks {
		f.claim(c.Dataset, seqs[i])
		msg.Chunks[i] = fanChunk{Seq: seqs[i], Dataset: c.Dataset}
		if len(c.Data) <= f.opts.MaxInline {
			msg.Chunks[i].Data = c.Data
		}
	}
	select {
	case f.out <- msg:
	default:
		// The publisher is behind (the bus is slow or down): the others'
		// poll reads these chunks from the store.
	}
}

// runFanout publishes queued commits and heartbeats, and polls the store,
// until ctx is done.
func (s *Service) runFanout(ctx context.Context) {
	f := s.fan
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case msg := <-f.out:
				s.publish(ctx, msg)
			}
		}
	})
	tick := time.NewTicker(f.opts.Poll)
	defer tick.Stop()
	for {
		err := s.poll(ctx)
		f.mu.Lock()
		f.lastErr = err
		f.mu.Unlock()
		if err == nil {
			f.ready.Store(true)
		} else if ctx.Err() == nil {
			s.log.WarnContext(ctx, "events fan-out: read the store", "err", err)
		}
		s.publish(ctx, fanMessage{Replica: f.opts.Replica}) // heartbeat
		s.SetRateShare(1 / float64(s.Replicas()))
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-tick.C:
		}
	}
}

func (s *Service) publish(ctx context.Context, msg fanMessage) {
	b, err := json.Marshal(msg)
	if err == nil {
		pctx, cancel := context.WithTimeout(ctx, s.fan.opts.Poll)
		err = s.fan.pub.Publish(pctx, b)
		cancel()
	}
	if err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "events fan-out: publish", "chunks", len(msg.Chunks), "err", err)
	}
}

// Receive applies a message of another replica to serving: chunks this
// replica has not applied yet, each once. Errors: a message that does not
// decode (it is dropped; the poll applies its chunks), or the store's when
// a chunk too large for the message cannot be read.
func (s *Service) Receive(ctx context.Context, msg []byte) error {
	f := s.fan
	if f == nil {
		return nil
	}
	var m fanMessage
	if err := json.Unmarshal(msg, &m); err != nil {
		return fmt.Errorf("events fan-out: message does not decode: %w", err)
	}
	f.mu.Lock()
	f.seen[m.Replica] = s.now()
	f.mu.Unlock()
	if m.Replica == f.opts.Replica {
		return nil
	}
	if m.Trackers {
		if err := s.reloadTrackers(ctx); err != nil {
			return err
		}
	}
	if fg := m.Forget; fg != nil {
		users, sessions := setOf(fg.Users), setOf(fg.Sessions)
		s.sessions.forget(fg.Group, users, sessions)
		if fo, ok := s.obs.(forgetter); ok {
			fo.Forget(fg.Group, users, sessions)
		}
	}
	for _, c := range m.Chunks {
		if !f.claim(c.Dataset, c.Seq) {
			continue
		}
		data := c.Data
		if data == nil {
			err := s.st.ScanChunks(ctx, c.Dataset, store.Put, c.Seq-1, func(sc store.Chunk) error {
				if sc.Seq == c.Seq {
					data = sc.Data
				}
				return errStopScan
			})
			if err != nil && !errors.Is(err, errStopScan) {
				return fmt.Errorf("events fan-out: read chunk %d: %w", c.Seq, err)
			}
		}
		if err := s.applyChunk(c.Dataset, data); err != nil {
			return err
		}
	}
	return nil
}

var errStopScan = errors.New("stop scan")

func setOf(keys []string) map[string]struct{} {
	m := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		m[k] = struct{}{}
	}
	return m
}

// forgetBatch is how many users or sessions one message names, which
// keeps messages of large deletion jobs under NATS's 1 MiB default.
const forgetBatch = 4096

// forgotten tells the other replicas about users a data deletion job on
// this one removed, in messages of at most forgetBatch ids. It waits up to
// Poll for room in the publisher's queue. A message lost (the bus down)
// leaves the users' live events in another replica's memory until it
// reloads the group or restarts; their stored records and links are gone
// already.
func (f *fanout) forgotten(group string, users, sessions []string) {
	send := func(fg *fanForget) {
		select {
		case f.out <- fanMessage{Replica: f.opts.Replica, Forget: fg}:
		case <-time.After(f.opts.Poll):
		}
	}
	for len(users) > 0 {
		n := min(len(users), forgetBatch)
		send(&fanForget{Group: group, Users: users[:n]})
		users = users[n:]
	}
	for len(sessions) > 0 {
		n := min(len(sessions), forgetBatch)
		send(&fanForget{Group: group, Sessions: sessions[:n]})
		sessions = sessions[n:]
	}
}

// pollBatch is how many chunk Seqs one look at a dataset lists.
const pollBatch = 1000

// poll applies every Put chunk of every dataset above its mark that no
// message brought, and moves the marks.
func (s *Service) poll(ctx context.Context) error {
	for token := ""; ; {
		page, next, err := s.st.ListResources(ctx, store.ListQuery{Kind: arn.Dataset, PageToken: token})
		if err != nil {
			return err
		}
		for _, d := range page {
			if err := s.follow(ctx, d.ARN); err != nil {
				return fmt.Errorf("dataset %s: %w", d.ARN, err)
			}
		}
		if next == "" {
			return nil
		}
		token = next
	}
}

// follow brings a dataset's mark up to its newest Put chunk. It lists the
// Seqs above the mark (no data); chunks no message has brought by the next
// poll are read from the store. Following thus costs an index scan per
// dataset and poll while the bus delivers everything.
func (s *Service) follow(ctx context.Context, dataset string) error {
	for {
		seqs, err := s.st.ChunkSeqs(ctx, dataset, store.Put, s.fan.through(dataset), pollBatch)
		if err != nil || len(seqs) == 0 {
			return err
		}
		last := seqs[len(seqs)-1]
		pending, due := s.fan.unapplied(dataset, seqs)
		if due {
			// Some may be this replica's own commits, not claimed yet: wait
			// for the commits in flight before taking any for missed.
			s.fan.commit.Lock()
			s.fan.commit.Unlock() //nolint:staticcheck // a barrier
			pending, due = s.fan.unapplied(dataset, seqs)
		}
		switch {
		case len(pending) == 0:
			s.fan.advance(dataset, last)
		case !due:
			// Give their messages until the next poll.
			s.fan.markLate(dataset, pending)
			s.fan.advance(dataset, pending[0]-1)
			return nil
		default:
			err := s.st.ScanChunks(ctx, dataset, store.Put, pending[0]-1, func(c store.Chunk) error {
				if c.Seq > last {
					return errStopScan
				}
				if s.fan.claim(dataset, c.Seq) {
					return s.applyChunk(dataset, c.Data)
				}
				return nil
			})
			if err != nil && !errors.Is(err, errStopScan) {
				return err
			}
			s.fan.advance(dataset, last)
		}
		if len(seqs) < pollBatch {
			return nil
		}
	}
}

// applyChunk hands a committed Put chunk of a dataset to serving as an
// Update: interactions as live events, items and users as a catalogue
// change.
func (s *Service) applyChunk(datasetARN string, data []byte) error {
	if s.obs == nil {
		return nil
	}
	p, err := arn.Expect("datasetArn", datasetARN, arn.Dataset, 2)
	if err != nil {
		return fmt.Errorf("events fan-out: %w", err)
	}
	u := corpus.Update{Group: arn.Scope{Region: p.Region, Account: p.Account}.Build(arn.DatasetGroup, p.Parts[0])}
	switch schema.DatasetType(p.Parts[1]) {
	case schema.Items:
		u.ItemsChanged = true
	case schema.Users:
		u.UsersChanged = true
	case schema.Interactions:
		b, err := records.Decode(data)
		if err != nil {
			return fmt.Errorf("events fan-out: chunk of %s: %w", datasetARN, err)
		}
		u.Events = eventsOf(b)
	default:
		return nil
	}
	s.obs.Observe(u)
	return nil
}

// eventsOf is the serving view of a stored interactions chunk, as observed
// builds it for the rows of a request.
func eventsOf(b *records.Batch) []corpus.Event {
	col := func(name string) *records.Column { return b.Column(name) }
	user, session, item, typ := col("USER_ID"), col(SessionIDColumn), col("ITEM_ID"), col("EVENT_TYPE")
	ts, value, impression, recID := col("TIMESTAMP"), col("EVENT_VALUE"), col("IMPRESSION"), col("RECOMMENDATION_ID")
	str := func(c *records.Column, r int) string {
		if c == nil || c.IsNull(r) {
			return ""
		}
		// Live events outlive the batch: do not pin its dictionary.
		return strings.Clone(c.Value(r).Str)
	}
	out := make([]corpus.Event, b.Rows)
	for r := range out {
		e := corpus.Event{User: str(user, r), Session: str(session, r), Item: str(item, r), Type: str(typ, r),
			RecommendationID: str(recID, r), Value: float32(math.NaN())}
		if ts != nil && !ts.IsNull(r) {
			e.Time = ts.Value(r).Int
		}
		if value != nil && !value.IsNull(r) {
			e.Value = float32(value.Value(r).Float)
		}
		if im := str(impression, r); im != "" {
			e.Impression = splitPipe(im)
		}
		out[r] = e
	}
	return out
}
