package serving

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/model"
	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/recipe/popularity"
)

// TestTrendingFollowsPutEvents: a trending-now campaign finds trending
// items again once per trend window from streamed events, without a new
// solution version, as Personalize does; within a window it is unchanged.
func TestTrendingFollowsPutEvents(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	reg := recipe.NewRegistry(popularity.NewTrendingNow())
	r, _ := reg.Get("aws-trending-now")
	params := recipe.Params{"trend_discovery_frequency": "30 minutes"}
	m, err := r.Fit(ctx, f.data, params, recipe.FitOptions{Now: time.Unix(5000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	va := "arn:aws:personalize:us-east-1:000000000000:solution/trend/v1"
	key := model.Key(va)
	if err := model.Write(ctx, f.bucket, key, model.Meta{Recipe: r.Name(), RecipeType: r.Type(), SolutionVersionARN: va, Params: params}, m); err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	clock.Store(time.Unix(1_000_000, 0).UnixNano())
	s := New(f.sc, f.bucket, reg, Options{Now: func() time.Time { return time.Unix(0, clock.Load()) }},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	const campaign = "arn:aws:personalize:us-east-1:000000000000:campaign/trend"
	deploy(t, s, campaign, key, false)
	top := func() []string {
		t.Helper()
		res, err := s.Recommend(ctx, Request{Campaign: campaign, NumResults: 24})
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(res.Items))
		for i, it := range res.Items {
			ids[i] = it.ID
		}
		return ids
	}
	before := top()
	rising := before[len(before)-1] // the least trending item so far
	var evs []corpus.Event
	for i := range 30 {
		evs = append(evs, corpus.Event{User: fmt.Sprintf("u%02d", i), Session: "s", Item: rising, Type: "VIEWED", Time: 10_000 + int64(i), Value: nan32})
	}
	s.Observe(corpus.Update{Group: groupARN, Events: evs})
	if got := top(); got[0] != before[0] {
		t.Errorf("within the trend window: top item = %s, want %s unchanged", got[0], before[0])
	}
	clock.Add(int64(30 * time.Minute))
	if got := top(); got[0] != rising {
		t.Errorf("after a trend window: top item = %s, want %s (30 new events, nothing else recent)", got[0], rising)
	}
}
