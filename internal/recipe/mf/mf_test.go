package mf

import (
	"bytes"
	"context"
	"math"
	"slices"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/recipe/recipetest"
)

const clusters = 4

func fit(t *testing.T, r Recipe, data *recipe.Data, p recipe.Params) *Model {
	t.Helper()
	m, err := r.Fit(context.Background(), data, p, recipe.FitOptions{Seed: 7})
	if err != nil {
		t.Fatalf("%s.Fit(%v): %v", r.Name(), p, err)
	}
	return m.(*Model)
}

// userHistory returns user u's training events as a query history.
func userHistory(in *recipe.Interactions, u int32) []recipe.Event {
	var h []recipe.Event
	for i, x := range in.User {
		if x == u {
			h = append(h, recipe.Event{Item: in.Item[i], Time: in.Time[i], Event: in.Event[i]})
		}
	}
	return h
}

func cosine(a, b []float32) float64 {
	return float64(recipe.Dot(a, b)) / math.Sqrt(float64(recipe.Dot(a, a))*float64(recipe.Dot(b, b)))
}

// TestFoldInMatchesTrainedVector is the fold-in property: folding in a
// training user's own history gives back their trained vector, exactly (to
// float error) with exact solves and closely with warm-started CG.
func TestFoldInMatchesTrainedVector(t *testing.T) {
	data := recipetest.Clustered(1, 60, 80, clusters, 12)
	in := data.Interactions
	tests := []struct {
		name   string
		r      Recipe
		params recipe.Params
		minCos float64
	}{
		{"exact", NewIALS(), recipe.Params{"cg_steps": "0", "hidden_dimension": "8", "epochs": "5"}, 0.99999},
		{"cg", NewIALS(), recipe.Params{"hidden_dimension": "8", "epochs": "30"}, 0.99},
		{"recency and events", NewUserPersonalization(), recipe.Params{"cg_steps": "0", "hidden_dimension": "8",
			"epochs": "5", "recency_half_life_days": "0.01", "event_weights": "PURCHASED=3", "cold_item_max_interactions": "0"}, 0.99999},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := fit(t, tc.r, data, tc.params)
			for u := int32(0); u < int32(len(in.UserIDs)); u++ {
				got := m.FoldIn(userHistory(in, u))
				if c := cosine(got, m.UserVector(u)); c < tc.minCos {
					t.Fatalf("user %d: cosine(fold-in, trained) = %.6f, want ≥ %g", u, c, tc.minCos)
				}
			}
		})
	}
}

// TestLossFalls checks that more ALS epochs do not increase the training
// objective.
func TestLossFalls(t *testing.T) {
	data := recipetest.Clustered(2, 50, 60, clusters, 10)
	in := data.Interactions
	byUser := recipe.BuildCSR(len(in.UserIDs), in.User, in.Item, func(int) float32 { return 1 })
	byItem := byUser.Transpose(len(in.ItemIDs))
	prev := math.Inf(1)
	for _, epochs := range []int{1, 2, 4, 8} {
		o := ALSOptions{Factors: 6, Epochs: epochs, Reg: 1, Alpha: 4, CGSteps: 0, Workers: 2, Seed: 1}
		f, err := TrainALS(context.Background(), byUser, byItem, o)
		if err != nil {
			t.Fatal(err)
		}
		loss := objective(byUser, f, o)
		if loss > prev*(1+1e-6) {
			t.Errorf("loss after %d epochs = %g, above %g", epochs, loss, prev)
		}
		prev = loss
	}
}

func objective(byUser *recipe.CSR, f *Factors, o ALSOptions) float64 {
	k := f.K
	ni := len(f.Items) / k
	var loss float64
	for u := 0; u < byUser.Rows(); u++ {
		idx, val := byUser.Row(u)
		obs := map[int32]float32{}
		for p, i := range idx {
			obs[i] = val[p]
		}
		for i := 0; i < ni; i++ {
			pred := float64(recipe.Dot(f.Users[u*k:(u+1)*k], f.Items[i*k:(i+1)*k]))
			c, p := 1.0, 0.0
			if w, ok := obs[int32(i)]; ok {
				c, p = 1+o.Alpha*float64(w), 1
			}
			loss += c * (p - pred) * (p - pred)
		}
	}
	for _, x := range append(slices.Clone(f.Users), f.Items...) {
		loss += o.Reg * float64(x) * float64(x)
	}
	return loss
}

// TestRecommendsOwnCluster checks the recipes learn the fixture's structure,
// including for a user unseen at training (fold-in from history only).
func TestRecommendsOwnCluster(t *testing.T) {
	data := recipetest.Clustered(3, 80, 100, clusters, 15)
	in := data.Interactions
	for _, r := range []Recipe{NewIALS(), NewUserPersonalization(), NewUserPersonalizationV2()} {
		t.Run(r.Name(), func(t *testing.T) {
			m := fit(t, r, data, recipe.Params{"hidden_dimension": "8"})
			for _, u := range []int32{0, 1, 2, 3, -1} {
				q := recipe.Query{User: u, Item: -1}
				cluster := int32(0)
				if u >= 0 {
					cluster = u % clusters
					q.History = userHistory(in, u)
				} else {
					// A new user who viewed three items of cluster 2.
					cluster = 2
					q.History = []recipe.Event{{Item: 2}, {Item: 6}, {Item: 10}}
				}
				seen := map[int32]bool{}
				for _, e := range q.History {
					seen[e.Item] = true
				}
				q.Exclude = func(it int32) bool { return seen[it] }
				recs := m.Recommend(q, 10)
				hits := 0
				for _, s := range recs {
					if s.Item%clusters == cluster {
						hits++
					}
					if seen[s.Item] {
						t.Errorf("user %d: excluded item %d recommended", u, s.Item)
					}
				}
				if len(recs) != 10 || hits < 8 {
					t.Errorf("user %d: %d of %d recommendations from cluster %d, want ≥ 8 of 10", u, hits, len(recs), cluster)
				}
			}
		})
	}
}

func TestRankingScoresExactlyCandidates(t *testing.T) {
	data := recipetest.Clustered(4, 40, 40, clusters, 10)
	m := fit(t, NewPersonalizedRanking(), data, recipe.Params{"hidden_dimension": "8"})
	cands := []int32{5, 1, 39, 2, 100, -1, 8}
	q := recipe.Query{User: 1, History: userHistory(data.Interactions, 1), Item: -1, Candidates: cands}
	recs := m.Recommend(q, len(cands))
	var got []int32
	for _, s := range recs {
		got = append(got, s.Item)
	}
	slices.Sort(got)
	if !slices.Equal(got, []int32{1, 2, 5, 8, 39}) {
		t.Fatalf("ranked items = %v, want the 5 valid candidates", got)
	}
	// User 1 is in cluster 1: items 1, 5 and 39 (cluster 3) - 1 and 5 first.
	if top := recs[0].Item % clusters; top != 1 {
		t.Errorf("top ranked item %d is from cluster %d, want 1", recs[0].Item, top)
	}
}

func TestColdItemsGetMetadataVectors(t *testing.T) {
	data := recipetest.Clustered(5, 60, 60, clusters, 10)
	// Add item 60 with no interactions, in cluster 0's genre.
	in := data.Interactions
	in.ItemIDs = append(in.ItemIDs, "new")
	g := data.Items.Categorical["GENRE"]
	data.Items.Categorical["GENRE"] = append(g, []string{"g0"})
	data.Items.Created = append(data.Items.Created, 0)
	m := fit(t, NewUserPersonalization(), data, recipe.Params{"hidden_dimension": "8", "ease_weight": "0", "sequence_weight": "0"})
	// Cluster 0's users should score the new item above other clusters' users.
	k := m.k
	v := m.itemF[60*k : 61*k]
	if recipe.Dot(v, v) == 0 {
		t.Fatal("cold item has a zero vector")
	}
	var own, other float64
	for u := int32(0); u < 40; u++ {
		s := float64(recipe.Dot(m.UserVector(u), v))
		if u%clusters == 0 {
			own += s / 10
		} else {
			other += s / 30
		}
	}
	if own <= other {
		t.Errorf("mean score of cold item: own cluster %g, others %g; want own higher", own, other)
	}
}

func TestExploration(t *testing.T) {
	data := recipetest.Clustered(6, 60, 60, clusters, 10)
	in := data.Interactions
	_, newest := recipe.TimeRange(in)
	// Items 0..3 are brand new; everything else is old.
	for i := range data.Items.Created {
		data.Items.Created[i] = newest - 400*86400
	}
	for i := 0; i < 4; i++ {
		data.Items.Created[i] = newest - 86400
	}
	m := fit(t, NewUserPersonalization(), data, recipe.Params{"hidden_dimension": "8"})
	q := recipe.Query{User: 1, History: userHistory(in, 1), Item: -1}
	countNew := func(recs []recipe.Scored) int {
		n := 0
		for _, s := range recs {
			if s.Item < 4 {
				n++
			}
		}
		return n
	}
	base := m.Recommend(q, 10)
	q.Exploration = &recipe.Exploration{Weight: 0.3}
	explored := m.Recommend(q, 10)
	if countNew(explored) != 3 || len(explored) != 10 {
		t.Errorf("with exploration 0.3: %d new items of %d, want 3 of 10 (without: %d)", countNew(explored), len(explored), countNew(base))
	}
	for _, s := range explored {
		if s.Explored != (s.Item < 4) {
			t.Errorf("item %d Explored = %v, want true exactly for the new items 0..3", s.Item, s.Explored)
		}
	}
	// The top slot stays exploitative: the best established item.
	for _, s := range base {
		if s.Item >= 4 {
			if explored[0] != s {
				t.Errorf("explored top item = %v, want the best established item %v", explored[0], s)
			}
			break
		}
	}
}

func TestDeterministicAndRoundTrip(t *testing.T) {
	data := recipetest.Clustered(8, 50, 50, clusters, 10)
	for _, r := range []Recipe{NewIALS(), NewUserPersonalization(), NewPersonalizedRankingV2()} {
		t.Run(r.Name(), func(t *testing.T) {
			p := recipe.Params{"hidden_dimension": "8", "workers": "1"}
			var a, b bytes.Buffer
			if err := fit(t, r, data, p).Encode(&a); err != nil {
				t.Fatal(err)
			}
			p["workers"] = "3" // parallelism must not change the result
			m := fit(t, r, data, p)
			if err := m.Encode(&b); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatal("same seed gave different model bytes")
			}
			m2, err := r.Decode(bytes.NewReader(b.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			var c bytes.Buffer
			if err := m2.Encode(&c); err != nil || !bytes.Equal(b.Bytes(), c.Bytes()) {
				t.Fatalf("re-encoding a decoded model changed its bytes (err %v)", err)
			}
			q := recipe.Query{User: 2, History: userHistory(data.Interactions, 2), Item: -1}
			if x, y := m.Recommend(q, 10), m2.Recommend(q, 10); !slices.Equal(x, y) {
				t.Errorf("Recommend after round trip = %v, want %v", y, x)
			}
			if _, err := r.Decode(bytes.NewReader(b.Bytes()[:b.Len()/2])); errs.KindOf(err) != errs.Invalid {
				t.Errorf("Decode(truncated) error = %v, want Invalid", err)
			}
		})
	}
}

func TestFitValidates(t *testing.T) {
	data := recipetest.Clustered(9, 10, 10, 2, 3)
	tests := []struct {
		name   string
		r      Recipe
		params recipe.Params
	}{
		{"unknown", NewUserPersonalization(), recipe.Params{"bptt": "32"}},
		{"plain has no recency", NewIALS(), recipe.Params{"recency_mask": "true"}},
		{"v2 has no exploration", NewUserPersonalizationV2(), recipe.Params{"exploration_weight": "0.1"}},
		{"dimension range", NewUserPersonalization(), recipe.Params{"hidden_dimension": "1000"}},
		{"event weights", NewUserPersonalization(), recipe.Params{"event_weights": "PURCHASED"}},
		{"percentiles", NewUserPersonalization(), recipe.Params{"min_user_history_length_percentile": "0.9", "max_user_history_length_percentile": "0.5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.r.Fit(context.Background(), data, tc.params, recipe.FitOptions{})
			if errs.KindOf(err) != errs.Invalid {
				t.Errorf("Fit(%v) error = %v, want Invalid", tc.params, err)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewIALS().Fit(ctx, data, nil, recipe.FitOptions{}); err == nil {
		t.Error("Fit with a cancelled context succeeded")
	}
}

func TestUnknownUserWithoutHistoryGetsPopular(t *testing.T) {
	data := recipetest.Clustered(10, 30, 30, 3, 5)
	m := fit(t, NewUserPersonalization(), data, recipe.Params{"hidden_dimension": "4"})
	recs := m.Recommend(recipe.Query{User: -1, Item: -1, History: []recipe.Event{{Item: -1}}}, 3)
	if len(recs) != 3 || recs[0].Item != m.popular[0] {
		t.Errorf("Recommend(unknown) = %v, want the 3 most popular starting %d", recs, m.popular[0])
	}
}
