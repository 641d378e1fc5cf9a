package serving

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/attune-dev/attune/internal/recipe"
)

// TestApproximateIndexOption checks the wiring of the approximate item
// index: built at deploy from IndexMinItems items, never with ExactScoring,
// and (scanning the whole catalogue here) giving the exact answers.
func TestApproximateIndexOption(t *testing.T) {
	f := newFixture(t)
	key := f.train(t, "aws-user-personalization-v2", "v1", recipe.Params{"hidden_dimension": "8"})
	answers := func(opts Options) (indexed bool, out [][]string) {
		s := New(f.sc, f.bucket, f.reg, opts, slog.New(slog.NewTextHandler(io.Discard, nil)))
		deploy(t, s, campaignUP, key, false)
		l, err := s.lookup(campaignUP)
		if err != nil {
			t.Fatal(err)
		}
		ix, ok := l.m.(interface{ Indexed() bool })
		for u := range 40 {
			res, err := s.Recommend(t.Context(), Request{Campaign: campaignUP, UserID: fmt.Sprintf("u%02d", u), NumResults: 5})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, it := range res.Items {
				ids = append(ids, it.ID)
			}
			out = append(out, ids)
		}
		return ok && ix.Indexed(), out
	}
	exactIx, exact := answers(Options{ExactScoring: true, IndexMinItems: 10})
	defIx, _ := answers(Options{})
	fullIx, full := answers(Options{IndexMinItems: 10, IndexShare: 0.999})
	if exactIx || defIx || !fullIx {
		t.Errorf("indexed with ExactScoring %v, by default on 24 items %v, from 10 items %v; want false, false, true", exactIx, defIx, fullIx)
	}
	for u := range exact {
		if !slices.Equal(full[u], exact[u]) {
			t.Errorf("user u%02d: indexed (whole catalogue) %v, exact %v", u, full[u], exact[u])
		}
	}
}
