package serving

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"testing"

	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/recipe"
)

// named is an event by names, to compare histories whose index tables
// differ.
type named struct {
	item, event string
	time        int64
}

func namedHistory(h *histories, id string) []named {
	var out []named
	for _, e := range h.user(nil, id) {
		out = append(out, named{h.itemName(e.item), h.eventName(e.event), e.time})
	}
	return out
}

// liveStream is events of n new users (3 each, one user a batch) mixed
// with events of the fixture's users, anonymous sessions and sign-ins.
func liveStream(n int) []corpus.Update {
	var out []corpus.Update
	ev := func(user, session, item string, at int64) corpus.Event {
		return corpus.Event{User: user, Session: session, Item: item, Type: "VIEWED", Time: at, Value: float32(math.NaN())}
	}
	for i := range n {
		at := int64(10000 + 10*i)
		u := corpus.Update{Group: groupARN, Events: []corpus.Event{
			ev(fmt.Sprintf("new%04d", i), "", fmt.Sprintf("a%02d", i%12), at),
			ev(fmt.Sprintf("new%04d", i), "", fmt.Sprintf("b%02d", i%12), at+1),
			ev(fmt.Sprintf("new%04d", i), "", "live-item", at+2),
		}}
		switch i % 7 {
		case 1: // a bulk user comes back
			u.Events = append(u.Events, ev(fmt.Sprintf("u%02d", i%40), "", "b05", at+3))
		case 2: // an earlier new user comes back, maybe after eviction
			u.Events = append(u.Events, ev(fmt.Sprintf("new%04d", i/2), "", "a07", at+4))
		case 3: // an anonymous session
			u.Events = append(u.Events, ev("", fmt.Sprintf("sess%04d", i), "a03", at+5))
		case 4: // that session signs in, maybe after it was evicted
			u.Events = append(u.Events, ev(fmt.Sprintf("signed%04d", i), fmt.Sprintf("sess%04d", i-1), "a04", at+6))
		}
		out = append(out, u)
	}
	return out
}

// TestLiveUsersStayUnderCap: under a stream of new users the capped
// histories never hold more than the cap, and every user's history, read
// back from the spill file when evicted, equals the uncapped one's.
func TestLiveUsersStayUnderCap(t *testing.T) {
	f := newFixture(t)
	const maxLive = 10
	for _, tc := range []struct {
		name     string
		maxLive  int
		minSpill bool // compact the spill file whenever it is wasteful
	}{{"cap 10", maxLive, false}, {"cap 10, compacting", maxLive, true}, {"cap 1", 1, false}} {
		t.Run(tc.name, func(t *testing.T) {
			capped, full := buildHistories(f.data.Interactions, 5), buildHistories(f.data.Interactions, 5)
			if err := capped.capLive(tc.maxLive, t.TempDir()); err != nil {
				t.Fatal(err)
			}
			if tc.minSpill {
				capped.spill.minCompact = 0
			}
			if n := capped.liveUsers(); n != tc.maxLive {
				t.Fatalf("after capLive(%d) of 40 users: %d live, want %d", tc.maxLive, n, tc.maxLive)
			}
			if n := len(capped.ptr) - 1; n != tc.maxLive {
				t.Errorf("after capLive(%d): %d bulk rows kept, want %d", tc.maxLive, n, tc.maxLive)
			}
			stream := liveStream(300)
			users, userIDs := map[string]bool{}, map[string]bool{}
			for i := range 40 {
				users[fmt.Sprintf("u%02d", i)], userIDs[fmt.Sprintf("u%02d", i)] = true, true
			}
			for i, u := range stream {
				capped.observe(u.Events)
				full.observe(u.Events)
				for _, e := range u.Events {
					users[e.User], users[e.Session], userIDs[e.User] = true, true, true
				}
				if n := capped.liveUsers(); n > tc.maxLive {
					t.Fatalf("after update %d: %d live users, cap %d", i, n, tc.maxLive)
				}
				if i%50 == 0 {
					// Reads bring evicted users back, evicting others.
					for id := range users {
						if id != "" && !slices.Equal(namedHistory(capped, id), namedHistory(full, id)) {
							t.Fatalf("after update %d: history of %s = %v, uncapped %v", i, id, namedHistory(capped, id), namedHistory(full, id))
						}
					}
				}
			}
			for id := range users {
				if id == "" {
					continue
				}
				got, want := namedHistory(capped, id), namedHistory(full, id)
				if !slices.Equal(got, want) {
					t.Errorf("history of %s = %v, uncapped %v", id, got, want)
				}
				if userIDs[id] && len(want) > 0 && !capped.hasUser(id) {
					t.Errorf("hasUser(%s) = false with %d events", id, len(want))
				}
				if n := capped.liveUsers(); n > tc.maxLive {
					t.Fatalf("after reading %s: %d live users, cap %d", id, n, tc.maxLive)
				}
			}
			if capped.spillErrors != 0 {
				t.Errorf("%d spill errors", capped.spillErrors)
			}
			// Forgetting an evicted user removes their spilled events too.
			capped.forget(map[string]struct{}{"new0001": {}, "u01": {}}, nil)
			for _, id := range []string{"new0001", "u01"} {
				if got := namedHistory(capped, id); got != nil || capped.hasUser(id) {
					t.Errorf("forgotten %s still has %v", id, got)
				}
			}
		})
	}
}

// TestEvictedUserGetsSameRecommendations: a service capped at 5 live users
// answers every user, evicted and reloaded ones included, as an uncapped
// one does, and holds no more than 5.
func TestEvictedUserGetsSameRecommendations(t *testing.T) {
	f := newFixture(t)
	key := f.train(t, "aws-user-personalization-v2", "v1", recipe.Params{"hidden_dimension": "8"})
	svc := func(maxLive int) *Service {
		s := New(f.sc, f.bucket, f.reg, Options{NewID: func() string { return "x" }, MaxLiveUsers: maxLive, SpillDir: t.TempDir()},
			slog.New(slog.NewTextHandler(io.Discard, nil)))
		deploy(t, s, campaignUP, key, false)
		return s
	}
	capped, full := svc(5), svc(0)
	for _, u := range liveStream(60) {
		capped.Observe(u)
		full.Observe(u)
	}
	ask := func(s *Service, user string) []Item {
		t.Helper()
		res, err := s.Recommend(context.Background(), Request{Campaign: campaignUP, UserID: user, NumResults: 8})
		if err != nil {
			t.Fatal(err)
		}
		return res.Items
	}
	users := []string{"u03", "u25", "new0000", "new0003", "new0059", "signed0004", "sess0003", "sess0010", "stranger"}
	for _, user := range users {
		got, want := ask(capped, user), ask(full, user)
		if !slices.EqualFunc(got, want, func(a, b Item) bool { return a.ID == b.ID && *a.Score == *b.Score }) {
			t.Errorf("Recommend(%s) capped = %v, uncapped %v", user, ids(got), ids(want))
		}
	}
	capped.mu.Lock()
	g := capped.groups[groupARN]
	capped.mu.Unlock()
	if n := g.hist.Load().liveUsers(); n > 5 {
		t.Errorf("capped service holds %d live users, cap 5", n)
	}
}

// TestSpillFileCompacts: records stay readable across compaction, and
// compaction shrinks the file to the live records.
func TestSpillFileCompacts(t *testing.T) {
	s := newSpillFile(t.TempDir())
	s.minCompact = 0
	evs := func(i int) []hevent {
		return []hevent{{item: int32(i), event: uint16(i % 3), time: int64(i) * 1000, value: float32(i) / 2}, {item: 1, time: -5, value: nan32}}
	}
	for i := range 100 {
		if err := s.put(fmt.Sprint("u\x00", i), evs(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 60 { // garbage: 60 taken
		if _, found, err := s.take(nil, fmt.Sprint("u\x00", i)); err != nil || !found {
			t.Fatalf("take(%d) = %v, %v", i, found, err)
		}
	}
	before := s.end
	if err := s.compactIfWasteful(); err != nil {
		t.Fatal(err)
	}
	if s.end >= before || s.end != s.live {
		t.Errorf("after compaction: %d bytes (live %d), before %d", s.end, s.live, before)
	}
	for i := range 100 {
		got, found, err := s.take(nil, fmt.Sprint("u\x00", i))
		if err != nil || found != (i >= 60) {
			t.Fatalf("take(%d) after compaction = found %v, %v", i, found, err)
		}
		if found && !slices.EqualFunc(got, evs(i), func(a, b hevent) bool {
			return a.item == b.item && a.event == b.event && a.time == b.time && math.Float32bits(a.value) == math.Float32bits(b.value)
		}) {
			t.Errorf("take(%d) = %v, want %v", i, got, evs(i))
		}
	}
}

// FuzzDecodeSpill: a corrupt record is an error, never a panic, and a
// decoded record encodes back to itself.
func FuzzDecodeSpill(f *testing.F) {
	s := newSpillFile(f.TempDir())
	_ = s.put("u\x00someone", []hevent{{item: 3, event: 1, time: 99, value: 1.5}})
	f.Add(s.buf)
	f.Add([]byte{})
	f.Add([]byte{0x80})
	f.Add([]byte{1, 'x', 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		key, evs, err := decodeSpill(b)
		if err != nil {
			return
		}
		s2 := newSpillFile(t.TempDir())
		if err := s2.put(key, evs); err != nil {
			t.Fatal(err)
		}
		k2, evs2, err := decodeSpill(s2.buf)
		if err != nil || k2 != key || len(evs2) != len(evs) {
			t.Fatalf("round trip of %q: %q %d events, %v", b, k2, len(evs2), err)
		}
	})
}

// TestCappedHistoriesConcurrentReads: requests reading (and so bringing
// back) users while events stream in keep the cap and see whole
// histories; run with -race.
func TestCappedHistoriesConcurrentReads(t *testing.T) {
	f := newFixture(t)
	h := buildHistories(f.data.Interactions, 5)
	if err := h.capLive(8, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	stream := liveStream(400)
	done := make(chan struct{})
	errc := make(chan error, 4)
	for r := range 4 {
		go func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					errc <- nil
					return
				default:
				}
				id := fmt.Sprintf("u%02d", (i*7+r)%40)
				if i%2 == 1 {
					id = fmt.Sprintf("new%04d", (i*13+r)%400)
				}
				for _, e := range h.user(nil, id) {
					if e.time == 0 {
						errc <- fmt.Errorf("user(%s) returned an event without a time", id)
						return
					}
				}
			}
		}()
	}
	for _, u := range stream {
		h.observe(u.Events)
	}
	close(done)
	for range 4 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	if n := h.liveUsers(); n > 8 {
		t.Errorf("%d live users after concurrent reads and events, cap 8", n)
	}
	if got := namedHistory(h, "u03"); len(got) != 5 {
		t.Errorf("u03 has %d events after the run, want its 5 newest", len(got))
	}
}
