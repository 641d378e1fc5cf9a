package ratelimit

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// TestTake walks one key through a burst, waits, refills and refunds with a
// fake clock.
func TestTake(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	k := New(Options{Rate: 2, Burst: 4, Now: c.now})
	steps := []struct {
		name    string
		advance time.Duration
		key     string
		n       int
		refund  int
		want    time.Duration
	}{
		{"burst", 0, "a", 4, 0, 0},
		{"empty: half a second per token", 0, "a", 1, 0, 500 * time.Millisecond},
		{"a refused take took nothing", 0, "a", 2, 0, time.Second},
		{"other key has its own bucket", 0, "b", 4, 0, 0},
		{"refilled one", 500 * time.Millisecond, "a", 1, 0, 0},
		{"more than the burst never fits", 0, "a", 5, 0, math.MaxInt64},
		{"refund gives tokens back", 0, "a", 2, 2, 0},
		{"refund is capped at the burst", 10 * time.Second, "a", 4, 3, 0},
		{"so the full burst left it empty", 0, "a", 1, 0, 500 * time.Millisecond},
	}
	for _, s := range steps {
		c.advance(s.advance)
		if s.refund > 0 {
			k.Refund(s.key, s.refund)
		}
		if got := k.Take(s.key, s.n); got != s.want {
			t.Fatalf("%s: Take(%q, %d) = %v, want %v", s.name, s.key, s.n, got, s.want)
		}
	}
}

func TestUnlimited(t *testing.T) {
	k := New(Options{})
	for i := range 1000 {
		if w := k.Take("x", 10); w != 0 {
			t.Fatalf("Take %d = %v, want 0 (no rate means unlimited)", i, w)
		}
	}
	if !k.Unlimited() || k.Len() != 0 {
		t.Errorf("Unlimited() = %v, Len() = %d; want true, 0 (no buckets kept)", k.Unlimited(), k.Len())
	}
}

// TestSetRate checks that a new share applies to buckets already made and
// to new ones.
func TestSetRate(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	k := New(Options{Rate: 100, Burst: 100, Now: c.now})
	k.Take("old", 1)
	k.SetRate(10, 10)
	if r, b := k.Rate(); r != 10 || b != 10 {
		t.Fatalf("Rate() = %v, %d, want 10, 10", r, b)
	}
	for _, key := range []string{"old", "new"} {
		c.advance(10 * time.Second)
		taken := 0
		for k.Take(key, 1) == 0 {
			taken++
		}
		if taken != 10 {
			t.Errorf("%s: took %d at once after SetRate(10, 10), want the burst of 10", key, taken)
		}
		c.advance(time.Second)
		taken = 0
		for k.Take(key, 1) == 0 {
			taken++
		}
		if taken != 10 {
			t.Errorf("%s: took %d after 1s at 10/s, want 10", key, taken)
		}
	}
	k.SetRate(0, 0)
	if !k.Unlimited() || k.Take("old", 1000) != 0 {
		t.Errorf("SetRate(0, 0) did not lift the limit")
	}
}

// TestPrune checks the limiter forgets refilled keys once it holds MaxKeys,
// and never grows past MaxKeys even when none has refilled.
func TestPrune(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	const maxKeys = 1000
	k := New(Options{Rate: 1, Burst: 2, MaxKeys: maxKeys, Now: c.now})
	for i := range maxKeys {
		k.Take(fmt.Sprintf("10.0.%d.%d", i/256, i%256), 1)
	}
	c.advance(5 * time.Second)
	k.Take("203.0.113.9", 1)
	if k.Len() != 1 {
		t.Errorf("keys after prune = %d, want 1", k.Len())
	}
	for i := range maxKeys + 10 {
		k.Take(fmt.Sprintf("10.1.%d.%d", i/256, i%256), 1)
	}
	if k.Len() > maxKeys {
		t.Errorf("keys = %d, want at most %d", k.Len(), maxKeys)
	}
	k.Forget("10.1.0.1")
	if w := k.Take("10.1.0.1", 2); w != 0 {
		t.Errorf("Take after Forget = %v, want 0 (a full bucket)", w)
	}
}

// TestConcurrentTakes checks that parallel takers never get more than the
// burst plus what the rate refilled.
func TestConcurrentTakes(t *testing.T) {
	start := time.Now()
	k := New(Options{Rate: 1000, Burst: 50})
	var mu sync.Mutex
	taken := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for time.Since(start) < 200*time.Millisecond {
				if k.Take("t", 1) == 0 {
					mu.Lock()
					taken++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	limit := 50 + int(1000*time.Since(start).Seconds())
	if taken > limit {
		t.Errorf("took %d tokens in %v, want at most %d", taken, time.Since(start), limit)
	}
}
