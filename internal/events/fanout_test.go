package events_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/events"
)

// memBus delivers every published message to every replica at once, or
// drops it while drop is set: the bus as fan-out sees it.
type memBus struct {
	mu    sync.Mutex
	subs  []*events.Service
	drop  atomic.Bool
	twice atomic.Bool // deliver every message twice
}

func (b *memBus) Publish(ctx context.Context, msg []byte) error {
	if b.drop.Load() {
		return nil
	}
	b.mu.Lock()
	subs := append([]*events.Service(nil), b.subs...)
	b.mu.Unlock()
	for range 1 + btoi(b.twice.Load()) {
		for _, s := range subs {
			if err := s.Receive(ctx, msg); err != nil {
				return err
			}
		}
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// replicas is a fixture's service (replica A) and a second one over the
// same store (replica B), both publishing on one memBus.
type replicas struct {
	f      *fixture
	bus    *memBus
	b      *events.Service
	bObs   *recorder
	aStart time.Time
}

func newReplicas(t *testing.T, opts events.Options, fo events.FanoutOptions) *replicas {
	t.Helper()
	f := newFixture(t, opts, false)
	bus := &memBus{}
	r := &replicas{f: f, bus: bus, bObs: &recorder{}}
	r.b = events.New(f.st, r.bObs, opts, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for i, s := range []*events.Service{f.svc, r.b} {
		o := fo
		o.Replica = fmt.Sprint("replica-", i)
		if err := s.EnableFanout(t.Context(), bus, o); err != nil {
			t.Fatal(err)
		}
		bus.subs = append(bus.subs, s)
	}
	f.start(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.b.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "tracker ACTIVE", func() bool {
		trs, _, err := f.svc.Trackers(t.Context(), f.group, "", 1)
		return err == nil && len(trs) == 1 && trs[0].Status == "ACTIVE"
	})
	return r
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 10s", what)
		}
	}
}

func (r *replicas) put(t *testing.T, user, session, item string) {
	t.Helper()
	err := r.f.svc.PutEvents(t.Context(), events.PutEventsInput{TrackingID: r.f.tracking, SessionID: session, UserID: user,
		Events: []events.Event{event(item)}})
	if err != nil {
		t.Fatal(err)
	}
}

// itemsOf lists the items of observed events, in order.
func itemsOf(evs []corpus.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Item)
	}
	return out
}

// TestFanoutDeliversOnce checks that events committed on replica A reach
// replica B's serving through the bus, each once even when the bus
// delivers twice, with what A observed.
func TestFanoutDeliversOnce(t *testing.T) {
	r := newReplicas(t, events.Options{}, events.FanoutOptions{Poll: time.Hour})
	r.put(t, "u1", "s1", "i1")
	r.bus.twice.Store(true)
	r.put(t, "", "s2", "i2")
	r.put(t, "", "s1", "i3") // s1 is u1's
	waitFor(t, "3 events on B", func() bool { return len(r.bObs.events()) >= 3 })
	time.Sleep(20 * time.Millisecond)
	got, want := r.bObs.events(), r.f.obs.events()
	if len(got) != 3 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("B observed %+v,\nwant what A observed: %+v", got, want)
	}
	if got[2].User != "u1" || got[1].User != "" || got[1].Session != "s2" {
		t.Errorf("B observed users %q %q, sessions %q; want the session's user u1, then anonymous s2", got[2].User, got[1].User, got[1].Session)
	}
	if n := len(r.f.obs.events()); n != 3 {
		t.Errorf("A observed %d events, want 3 (its own messages come back and must not count)", n)
	}
}

// TestFanoutFillsGapsFromStore checks that chunks whose message was lost,
// or too large to send, reach B from the store at its next poll, and that
// B reports caught up only after a poll.
func TestFanoutFillsGapsFromStore(t *testing.T) {
	r := newReplicas(t, events.Options{}, events.FanoutOptions{Poll: 50 * time.Millisecond, MaxInline: 1})
	waitFor(t, "B caught up", func() bool { return r.b.CaughtUp() == nil })
	r.bus.drop.Store(true)
	r.put(t, "u1", "s1", "lost")
	waitFor(t, "the lost event on B", func() bool { return len(r.bObs.events()) == 1 })
	r.bus.drop.Store(false)
	r.put(t, "u1", "s1", "large") // announced by Seq only (MaxInline 1 byte)
	waitFor(t, "the large chunk's event on B", func() bool { return len(r.bObs.events()) == 2 })
	time.Sleep(150 * time.Millisecond) // three more polls: nothing applied twice
	if got := itemsOf(r.bObs.events()); fmt.Sprint(got) != "[lost large]" {
		t.Errorf("B observed %v, want [lost large] each once", got)
	}
}

// TestFanoutPollReadsOnlyMissing checks that the store poll reads chunk
// data only for chunks no message brought.
func TestFanoutPollReadsOnlyMissing(t *testing.T) {
	r := newReplicas(t, events.Options{}, events.FanoutOptions{Poll: 10 * time.Millisecond})
	for i := range 5 {
		r.put(t, "u1", "s1", fmt.Sprint("i", i))
	}
	waitFor(t, "5 events on B", func() bool { return len(r.bObs.events()) == 5 })
	time.Sleep(50 * time.Millisecond) // several polls of both replicas
	if n := r.f.st.scans.Load(); n != 0 {
		t.Errorf("the polls read chunk data %d times, want 0: every chunk came by message", n)
	}
	r.bus.drop.Store(true)
	r.put(t, "u1", "s1", "lost")
	waitFor(t, "the lost event on B", func() bool { return len(r.bObs.events()) == 6 })
	if n := r.f.st.scans.Load(); n == 0 {
		t.Errorf("B has the lost event, but no poll read chunk data")
	}
}

// forgetRecorder is a recorder that also takes Forget, as serving does.
type forgetRecorder struct {
	recorder
	forgot atomic.Pointer[map[string]struct{}]
}

func (r *forgetRecorder) Forget(group string, users, sessions map[string]struct{}) {
	r.forgot.Store(&users)
}

// TestFanoutForgetsDeletedUsers checks that a data deletion's ForgetUsers
// on A reaches B: B drops its cached session link (a later anonymous event
// of the session is no longer the deleted user's) and tells its serving.
func TestFanoutForgetsDeletedUsers(t *testing.T) {
	f := newFixture(t, events.Options{}, false)
	bus := &memBus{}
	bObs := &forgetRecorder{}
	b := events.New(f.st, bObs, events.Options{}, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for i, s := range []*events.Service{f.svc, b} {
		if err := s.EnableFanout(t.Context(), bus, events.FanoutOptions{Replica: fmt.Sprint(i), Poll: time.Hour}); err != nil {
			t.Fatal(err)
		}
		bus.subs = append(bus.subs, s)
	}
	f.start(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "tracker ACTIVE", func() bool {
		trs, _, err := f.svc.Trackers(t.Context(), f.group, "", 1)
		return err == nil && len(trs) == 1 && trs[0].Status == "ACTIVE"
	})
	put := func(svc *events.Service, user, item string) {
		t.Helper()
		if err := svc.PutEvents(t.Context(), events.PutEventsInput{TrackingID: f.tracking, SessionID: "s1", UserID: user, Events: []events.Event{event(item)}}); err != nil {
			t.Fatal(err)
		}
	}
	put(f.svc, "doomed", "i1")
	put(b, "", "i2") // B reads the link from the store and caches it
	if ev := bObs.events(); ev[len(ev)-1].User != "doomed" {
		t.Fatalf("anonymous event on B observed as %q, want doomed", ev[len(ev)-1].User)
	}
	if err := f.svc.ForgetUsers(t.Context(), f.group, map[string]struct{}{"doomed": {}}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B's serving told", func() bool {
		m := bObs.forgot.Load()
		_, ok := (*nilSafe(m))["doomed"]
		return ok
	})
	put(b, "", "i3")
	if ev := bObs.events(); ev[len(ev)-1].User != "" {
		t.Errorf("anonymous event on B after the deletion on A observed as %q, want anonymous", ev[len(ev)-1].User)
	}
}

func nilSafe(m *map[string]struct{}) *map[string]struct{} {
	if m == nil {
		return &map[string]struct{}{}
	}
	return m
}

// TestFanoutPutItems checks that PutItems on A marks B's item catalogue
// stale.
func TestFanoutPutItems(t *testing.T) {
	r := newReplicas(t, events.Options{}, events.FanoutOptions{Poll: time.Hour})
	err := r.f.svc.PutItems(t.Context(), r.f.datasets["Items"], []events.Entity{{ID: "new-item", Properties: ptr(`{"genres":"Horror","price":9.5}`)}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "an items update on B", func() bool {
		r.bObs.mu.Lock()
		defer r.bObs.mu.Unlock()
		for _, u := range r.bObs.updates {
			if u.ItemsChanged && u.Group == r.f.group {
				return true
			}
		}
		return false
	})
}

// TestFanoutSharesRateLimit checks that two replicas that hear each other
// each take half of a tracker's rate limit.
func TestFanoutSharesRateLimit(t *testing.T) {
	// Polls (and heartbeats) of 100 ms: a replica starved for three of them
	// would rightly be counted gone.
	r := newReplicas(t, events.Options{RateLimit: 100, RateBurst: 100}, events.FanoutOptions{Poll: 100 * time.Millisecond})
	waitFor(t, "two replicas", func() bool { return r.f.svc.Replicas() == 2 && r.b.Replicas() == 2 })
	time.Sleep(250 * time.Millisecond) // the share is set after the count
	accepted := 0
	for range 20 {
		err := r.f.svc.PutEvents(t.Context(), events.PutEventsInput{TrackingID: r.f.tracking, SessionID: "s",
			Events: []events.Event{event("a"), event("b"), event("c"), event("d"), event("e"), event("f"), event("g"), event("h"), event("i"), event("j")}})
		if err == nil {
			accepted += 10
		} else if errs.KindOf(err) != errs.Busy {
			t.Fatal(err)
		}
	}
	// The burst is 50 events on each replica now, plus what 50/s refills
	// while the calls run.
	if accepted < 50 || accepted > 70 {
		t.Errorf("replica A accepted %d events of a burst, want about 50 (half of 100)", accepted)
	}
	// The bus goes silent: neither replica hears anything, its own
	// heartbeats included, so both keep counting two.
	r.bus.drop.Store(true)
	time.Sleep(500 * time.Millisecond) // over three polls
	if a, b := r.f.svc.Replicas(), r.b.Replicas(); a != 2 || b != 2 {
		t.Errorf("with the bus silent Replicas() = %d and %d, want 2 and 2 (the last count)", a, b)
	}
}

// TestFanoutTrackerChanges checks that a tracker deleted on replica A is
// refused on B and one created on A is accepted on B: at once through the
// bus's notice, and within Options.Poll when the notice is lost.
func TestFanoutTrackerChanges(t *testing.T) {
	for _, tc := range []struct {
		name string
		poll time.Duration // events.Options.Poll: B's re-read of the index
		drop bool          // the bus loses every message
		max  time.Duration
	}{
		{"notice", time.Hour, false, time.Second},
		{"poll", 100 * time.Millisecond, true, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReplicas(t, events.Options{Poll: tc.poll}, events.FanoutOptions{Poll: time.Hour})
			ctx, f := t.Context(), r.f
			if _, err := r.b.TrackerByTrackingID(ctx, f.tracking); err != nil {
				t.Fatalf("B: A's tracker: %v", err)
			}
			r.bus.drop.Store(tc.drop)
			within := func(what string, cond func() bool) {
				t.Helper()
				start := time.Now()
				for !cond() {
					if time.Since(start) > tc.max {
						t.Fatalf("%s: not after %v", what, tc.max)
					}
					time.Sleep(time.Millisecond)
				}
				t.Logf("%s after %v", what, time.Since(start))
			}
			trs, _, err := f.svc.Trackers(ctx, f.group, "", 1)
			if err != nil || len(trs) != 1 {
				t.Fatal(trs, err)
			}
			if err := f.svc.DeleteTracker(ctx, trs[0].ARN); err != nil {
				t.Fatal(err)
			}
			within("deleted tracker refused on B", func() bool {
				_, err := r.b.TrackerByTrackingID(ctx, f.tracking)
				return errs.KindOf(err) == errs.NotFound
			})
			err = r.b.PutEvents(ctx, events.PutEventsInput{TrackingID: f.tracking, SessionID: "s", UserID: "u",
				Events: []events.Event{event("i1")}})
			if errs.KindOf(err) != errs.NotFound {
				t.Fatalf("PutEvents on B with the deleted tracker: %v, want NotFound", err)
			}
			nt, err := f.svc.CreateTracker(ctx, "again", f.group, nil)
			if err != nil {
				t.Fatal(err)
			}
			within("new tracker accepted on B", func() bool {
				_, err := r.b.TrackerByTrackingID(ctx, nt.TrackingID)
				return err == nil
			})
		})
	}
}
