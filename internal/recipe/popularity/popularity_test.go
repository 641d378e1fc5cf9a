package popularity

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/recipe/recipetest"
)

// TestPopularityOrderEqualsCounts is the property test: the ranking is the
// distinct-user count, descending, for random data with repeated events.
func TestPopularityOrderEqualsCounts(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0))
		in := recipetest.PowerLaw(seed, 30, 25, 400)
		// Repeat some events: repeats must not count twice.
		for i := 0; i < 50; i++ {
			j := rng.IntN(in.Len())
			in.User = append(in.User, in.User[j])
			in.Item = append(in.Item, in.Item[j])
			in.Time = append(in.Time, in.Time[j])
			in.Event = append(in.Event, 0)
		}
		distinct := map[[2]int32]bool{}
		want := make([]int, len(in.ItemIDs))
		for i := range in.User {
			k := [2]int32{in.User[i], in.Item[i]}
			if !distinct[k] {
				distinct[k] = true
				want[in.Item[i]]++
			}
		}
		m, err := NewPopularityCount().Fit(context.Background(), &recipe.Data{Interactions: in}, nil, recipe.FitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		recs := m.Recommend(recipe.Query{User: -1, Item: -1}, len(in.ItemIDs))
		if len(recs) != len(in.ItemIDs) {
			t.Fatalf("Recommend returned %d items, want %d", len(recs), len(in.ItemIDs))
		}
		for p, s := range recs {
			if int(s.Score) != want[s.Item] {
				t.Errorf("seed %d: item %d score %g, want count %d", seed, s.Item, s.Score, want[s.Item])
			}
			if p > 0 && want[recs[p-1].Item] < want[s.Item] {
				t.Errorf("seed %d: position %d count %d above %d", seed, p, want[recs[p-1].Item], want[s.Item])
			}
		}
	}
}

func fixture() *recipe.Interactions {
	// Item 0: steady (3 per window), item 1: rising (1 -> 5), item 2: falling.
	in := &recipe.Interactions{UserIDs: []string{"a", "b", "c", "d", "e"}, ItemIDs: []string{"steady", "rising", "falling"}, EventTypes: []string{""}}
	add := func(item int32, t int64, n int) {
		for i := 0; i < n; i++ {
			in.User = append(in.User, int32(i%5))
			in.Item = append(in.Item, item)
			in.Time = append(in.Time, t+int64(i))
			in.Event = append(in.Event, 0)
		}
	}
	const h = 3600
	add(0, 10*h, 3)
	add(0, 12*h, 3)
	add(1, 10*h, 1)
	add(1, 12*h, 5)
	add(2, 10*h, 5)
	add(2, 12*h, 1)
	return in
}

func TestTrendingNow(t *testing.T) {
	in := fixture()
	m, err := NewTrendingNow().Fit(context.Background(), &recipe.Data{Interactions: in}, recipe.Params{"trend_discovery_frequency": "2h"}, recipe.FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	recs := m.Recommend(recipe.Query{User: -1, Item: -1}, 3)
	got := []int32{recs[0].Item, recs[1].Item, recs[2].Item}
	if !slices.Equal(got, []int32{1, 0, 2}) {
		t.Errorf("trending order = %v, want [1 0 2] (rising, steady, falling)", got)
	}
	// A training clock before the last window sees only the first one: no
	// growth to detect against an empty previous window, so volume decides.
	m, err = NewTrendingNow().Fit(context.Background(), &recipe.Data{Interactions: in}, recipe.Params{"trend_discovery_frequency": "1h"},
		recipe.FitOptions{Now: time.Unix(11*3600, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if recs := m.Recommend(recipe.Query{}, 1); recs[0].Item != 2 {
		t.Errorf("trending at 11h = item %d, want 2 (busiest then)", recs[0].Item)
	}
}

func TestParseWindow(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"30 min", 30 * time.Minute}, {"1h", time.Hour}, {"3h", 3 * time.Hour}, {"1 day", 24 * time.Hour},
		{"6h", 6 * time.Hour}, {"2 days", 48 * time.Hour}, {"1.5 hours", 90 * time.Minute},
		{"", 0}, {"h", 0}, {"3 weeks", 0}, {"-1h", 0}, {"10 sec", 0},
	}
	for _, tc := range tests {
		got, err := ParseWindow(tc.in)
		if tc.want == 0 {
			if errs.KindOf(err) != errs.Invalid {
				t.Errorf("ParseWindow(%q) error = %v, want Invalid", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseWindow(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestFitErrors(t *testing.T) {
	data := &recipe.Data{Interactions: fixture()}
	tests := []struct {
		name   string
		r      recipe.Recipe
		params recipe.Params
		data   *recipe.Data
	}{
		{"unknown param", NewPopularityCount(), recipe.Params{"x": "1"}, data},
		{"bad window", NewTrendingNow(), recipe.Params{"trend_discovery_frequency": "soon"}, data},
		{"no data", NewPopularityCount(), nil, &recipe.Data{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.r.Fit(context.Background(), tc.data, tc.params, recipe.FitOptions{}); errs.KindOf(err) != errs.Invalid {
				t.Errorf("Fit error = %v, want Invalid", err)
			}
		})
	}
}

func TestRoundTripAndFilters(t *testing.T) {
	for _, r := range []recipe.Recipe{NewPopularityCount(), NewTrendingNow()} {
		t.Run(r.Name(), func(t *testing.T) {
			m, err := r.Fit(context.Background(), &recipe.Data{Interactions: fixture()}, nil, recipe.FitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := m.Encode(&buf); err != nil {
				t.Fatal(err)
			}
			m2, err := r.Decode(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			q := recipe.Query{Exclude: func(it int32) bool { return it == 0 }}
			if a, b := m.Recommend(q, 5), m2.Recommend(q, 5); !slices.Equal(a, b) || len(a) != 2 {
				t.Errorf("Recommend before/after round trip = %v / %v, want the same 2 items", a, b)
			}
			q = recipe.Query{Candidates: []int32{2, 0}}
			if got := m2.Recommend(q, 5); len(got) != 2 {
				t.Errorf("Recommend with candidates = %v, want both candidates", got)
			}
			if _, err := r.Decode(bytes.NewReader(buf.Bytes()[:buf.Len()-2])); errs.KindOf(err) != errs.Invalid {
				t.Errorf("Decode(truncated) error = %v, want Invalid", err)
			}
		})
	}
}
