package knn

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

func fit(t *testing.T, r recipe.Recipe, data *recipe.Data, p recipe.Params) recipe.Model {
	t.Helper()
	m, err := r.Fit(context.Background(), data, p, recipe.FitOptions{Seed: 1})
	if err != nil {
		t.Fatalf("%s.Fit(%v): %v", r.Name(), p, err)
	}
	return m
}

func sameCluster(recs []recipe.Scored, c int32) int {
	n := 0
	for _, s := range recs {
		if s.Item%clusters == c {
			n++
		}
	}
	return n
}

func TestEASERecommendsOwnCluster(t *testing.T) {
	data := recipetest.Clustered(1, 80, 60, clusters, 12)
	m := fit(t, NewEASE(), data, recipe.Params{"regularization": "10"})
	for u := int32(0); u < 8; u++ {
		// Known user without a query history: the training items are used.
		recs := m.Recommend(recipe.Query{User: u, Item: -1}, 10)
		if got := sameCluster(recs, u%clusters); got < 8 {
			t.Errorf("user %d: %d of 10 from own cluster, want ≥ 8", u, got)
		}
	}
	recs := m.Recommend(recipe.Query{User: -1, Item: -1, History: []recipe.Event{{Item: 3}, {Item: 7}}}, 10)
	if got := sameCluster(recs, 3); got < 8 {
		t.Errorf("new user: %d of 10 from cluster 3, want ≥ 8", got)
	}
	if _, err := NewEASE().Fit(context.Background(), data, recipe.Params{"ease_max_items": "10"}, recipe.FitOptions{}); errs.KindOf(err) != errs.Invalid {
		t.Errorf("Fit over ease_max_items error = %v, want Invalid", err)
	}
}

// TestCosineIsSymmetric is the kNN property: with popularity_discount_factor
// 1 the similarity is cosine, so sim(i,j) = sim(j,i) whenever both lists
// hold the pair.
func TestCosineIsSymmetric(t *testing.T) {
	data := recipetest.Clustered(2, 60, 40, clusters, 8)
	m := fit(t, NewSims(), data, recipe.Params{"popularity_discount_factor": "1", "min_cointeraction_count": "0",
		"neighbors": "1000", "max_user_history_length_percentile": "1"}).(*SimsModel)
	checked := 0
	for i := int32(0); i < 40; i++ {
		idx, val := m.Neighbors(i)
		for p, j := range idx {
			jdx, jval := m.Neighbors(j)
			q := slices.Index(jdx, i)
			if q < 0 {
				t.Fatalf("pair (%d,%d) is one-sided", i, j)
			}
			if math.Abs(float64(val[p]-jval[q])) > 1e-6 {
				t.Errorf("sim(%d,%d) = %g, sim(%d,%d) = %g", i, j, val[p], j, i, jval[q])
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no pairs")
	}
}

func TestSimsRelatedItems(t *testing.T) {
	data := recipetest.Clustered(3, 100, 60, clusters, 12)
	for _, r := range []recipe.Recipe{NewSims(), NewSimilarItems()} {
		t.Run(r.Name(), func(t *testing.T) {
			m := fit(t, r, data, nil)
			for _, anchor := range []int32{0, 5, 10} {
				recs := m.Recommend(recipe.Query{User: -1, Item: anchor}, 10)
				if len(recs) != 10 || sameCluster(recs, anchor%clusters) < 8 {
					t.Errorf("anchor %d: %v, want ≥ 8 of 10 from cluster %d", anchor, recs, anchor%clusters)
				}
				for _, s := range recs {
					if s.Item == anchor {
						t.Errorf("anchor %d recommended for itself", anchor)
					}
				}
			}
			// An unknown anchor gets the popular items.
			recs := m.Recommend(recipe.Query{User: -1, Item: -1}, 5)
			want := m.(*SimsModel).Popular()[:5]
			for p, s := range recs {
				if s.Item != want[p] {
					t.Errorf("unknown anchor: %v, want popular %v", recs, want)
					break
				}
			}
		})
	}
}

func TestSimilarItemsColdItem(t *testing.T) {
	data := recipetest.Clustered(4, 60, 40, clusters, 10)
	in := data.Interactions
	in.ItemIDs = append(in.ItemIDs, "cold")
	data.Items.Categorical["GENRE"] = append(data.Items.Categorical["GENRE"], []string{"g2"})
	data.Items.Created = append(data.Items.Created, 0)
	cold := int32(len(in.ItemIDs) - 1)
	m := fit(t, NewSimilarItems(), data, nil)
	recs := m.Recommend(recipe.Query{User: -1, Item: cold}, 8)
	if sameCluster(recs, 2) != 8 {
		t.Errorf("cold item neighbours %v, want 8 items of genre g2 (cluster 2)", recs)
	}
	// Plain SIMS has nothing for it but popular items.
	sims := fit(t, NewSims(), data, nil).(*SimsModel)
	if idx, _ := sims.Neighbors(cold); len(idx) != 0 {
		t.Errorf("aws-sims gave the cold item neighbours %v", idx)
	}
}

func TestRoundTrip(t *testing.T) {
	data := recipetest.Clustered(5, 40, 30, clusters, 8)
	for _, r := range []recipe.Recipe{NewEASE(), NewSims(), NewSimilarItems()} {
		t.Run(r.Name(), func(t *testing.T) {
			m := fit(t, r, data, nil)
			var a bytes.Buffer
			if err := m.Encode(&a); err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := fit(t, r, data, nil).Encode(&b); err != nil || !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatalf("refit gave different bytes (err %v)", err)
			}
			m2, err := r.Decode(bytes.NewReader(a.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			q := recipe.Query{User: 3, Item: 4, History: []recipe.Event{{Item: 4}}}
			if x, y := m.Recommend(q, 10), m2.Recommend(q, 10); !slices.Equal(x, y) {
				t.Errorf("Recommend after round trip = %v, want %v", y, x)
			}
			if _, err := r.Decode(bytes.NewReader(a.Bytes()[:a.Len()-1])); errs.KindOf(err) != errs.Invalid {
				t.Errorf("Decode(truncated) error = %v, want Invalid", err)
			}
		})
	}
}

func TestFitValidates(t *testing.T) {
	data := recipetest.Clustered(6, 10, 10, 2, 3)
	tests := []struct {
		name   string
		r      recipe.Recipe
		params recipe.Params
	}{
		{"discount range", NewSims(), recipe.Params{"popularity_discount_factor": "1.5"}},
		{"cointeraction range", NewSims(), recipe.Params{"min_cointeraction_count": "11"}},
		{"sims has no metadata weight", NewSims(), recipe.Params{"metadata_weight": "1"}},
		{"ease unknown", NewEASE(), recipe.Params{"lambda": "1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.r.Fit(context.Background(), data, tc.params, recipe.FitOptions{}); errs.KindOf(err) != errs.Invalid {
				t.Errorf("Fit(%v) error = %v, want Invalid", tc.params, err)
			}
		})
	}
}
