package serving

import (
	"math"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/recipe"
)

// loadTimes is a Metrics that keeps every model load time.
type loadTimes []time.Duration

func (l *loadTimes) ModelLoaded(d time.Duration) { *l = append(*l, d) }

func TestLiveUsersAndModelLoads(t *testing.T) {
	f := newFixture(t)
	var loads loadTimes
	s := New(f.sc, f.bucket, f.reg, Options{Metrics: &loads}, f.service(t).log)
	if got := s.LiveUsers(); len(got) != 0 {
		t.Errorf("LiveUsers() before any deploy = %v, want none", got)
	}
	key := f.train(t, "aws-popularity-count", "v1", recipe.Params{})
	deploy(t, s, "c1", key, false)
	deploy(t, s, "c2", key, false)
	s.Expect("c3") // expected but not loaded, so not reported
	// The fixture's 40 users, in one state the group's campaigns share.
	want := map[string]int{"c1": 40, "c2": 40}
	if got := s.LiveUsers(); len(got) != 2 || got["c1"] != want["c1"] || got["c2"] != want["c2"] {
		t.Errorf("LiveUsers() = %v, want %v", got, want)
	}
	s.Observe(corpus.Update{Group: groupARN, Events: []corpus.Event{{User: "newcomer", Item: "a01", Type: "VIEWED", Time: 9000, Value: float32(math.NaN())}}})
	if got := s.LiveUsers(); got["c1"] != 41 || got["c2"] != 41 {
		t.Errorf("LiveUsers() after a new user's event = %v, want 41 for both campaigns", got)
	}
	if len(loads) != 2 {
		t.Errorf("ModelLoaded called %d times, want 2 (one per deploy)", len(loads))
	}
}
