package eval

import (
	"cmp"
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
)

// popRecipe is a test-only popularity recipe: items by training count,
// ties by lower index, at most "limit" of them (hyperparameter, default all).
// It records the FitOptions it was given.
type popRecipe struct {
	name string
	typ  recipe.Type
	seen *recipe.FitOptions
}

func (p popRecipe) Name() string                           { return cmp.Or(p.name, "test-popularity") }
func (p popRecipe) Type() recipe.Type                      { return cmp.Or(p.typ, recipe.PopularItems) }
func (popRecipe) Description() string                      { return "test popularity" }
func (popRecipe) Hyperparameters() []recipe.Hyperparameter { return nil }
func (popRecipe) Decode(io.Reader) (recipe.Model, error)   { return nil, errors.New("not encodable") }
func (p popRecipe) Fit(ctx context.Context, data *recipe.Data, params recipe.Params, opts recipe.FitOptions) (recipe.Model, error) {
	if p.seen != nil {
		*p.seen = opts
	}
	limit := 1 << 30
	if s, ok := params["limit"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, errs.E(errs.Invalid, "limit %q is not a positive integer", s)
		}
		limit = n
	}
	d := data.Interactions
	counts := make([]int, len(d.ItemIDs))
	for _, it := range d.Item {
		counts[it]++
	}
	order := make([]int32, len(counts))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(counts[b], counts[a]) })
	return popModel{order: order, limit: limit, d: d}, nil
}

type popModel struct {
	order []int32
	limit int
	d     *recipe.Interactions
}

func (m popModel) Recommend(q recipe.Query, n int) []recipe.Scored {
	var out []recipe.Scored
	for _, it := range m.order {
		if len(out) == min(n, m.limit) {
			break
		}
		if q.Exclude == nil || !q.Exclude(it) {
			out = append(out, recipe.Scored{Item: it, Score: float32(-len(out))})
		}
	}
	return out
}
func (m popModel) Items() []string      { return m.d.ItemIDs }
func (m popModel) Users() []string      { return m.d.UserIDs }
func (popModel) Encode(io.Writer) error { return errors.New("not encodable") }

func readFiles(t *testing.T, train, test string) (*recipe.Interactions, *recipe.Interactions) {
	t.Helper()
	tr, err := ReadInteractionsCSV(strings.NewReader(train))
	if err != nil {
		t.Fatal(err)
	}
	te, err := ReadInteractionsCSVOnto(strings.NewReader(test), tr)
	if err != nil {
		t.Fatal(err)
	}
	return tr, te
}

func TestEvaluateHandComputed(t *testing.T) {
	// Counts: a 3, b 2, c d e f 1 → with limit 3 each user gets the 3 most
	// popular items they have not seen.
	train, test := readFiles(t,
		"USER_ID,ITEM_ID,TIMESTAMP\nu1,a,10\nu1,b,11\nu2,a,12\nu2,c,13\nu3,a,14\nu3,b,15\nu3,d,16\nu4,e,17\nu4,f,18\n",
		"USER_ID,ITEM_ID\nu1,c\nu2,d\nu2,e\nu5,b\nu5,zz\n")
	ts := NewTestSet(train, nil, test)
	var seen recipe.FitOptions
	t0 := time.Unix(1000, 0)
	ticks := 0
	clock := func() time.Time { ticks++; return t0.Add(time.Duration(ticks) * 1500 * time.Millisecond) }

	res, err := Evaluate(t.Context(), popRecipe{seen: &seen}, recipe.Params{"limit": "3"},
		&recipe.Data{Interactions: train}, ts, Options{Seed: 9, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	// u1 gets [c d e]: hit at 1. u2 gets [b d e]: hits at 2, 3.
	// u5 (unknown) gets [a b c]: hit at 2, one of its 2 targets unknown.
	ndcgU2 := (1/1.584962500721156 + 0.5) / (1 + 1/1.584962500721156)
	ndcgU5 := (1 / 1.584962500721156) / (1 + 1/1.584962500721156)
	ndcg := (1 + ndcgU2 + ndcgU5) / 3
	want := map[string]float64{
		KeyCoverage: 5.0 / 6, KeyMRR: (1 + 0.5 + 0.5) / 3, KeyTrainSeconds: 1.5,
		PrecisionKey(5): (0.2 + 0.4 + 0.2) / 3, PrecisionKey(10): (0.1 + 0.2 + 0.1) / 3,
		PrecisionKey(20): (0.05 + 0.1 + 0.05) / 3, PrecisionKey(25): (0.04 + 0.08 + 0.04) / 3,
		RecallKey(5): 2.5 / 3, RecallKey(10): 2.5 / 3, RecallKey(20): 2.5 / 3, RecallKey(25): 2.5 / 3,
		NDCGKey(5): ndcg, NDCGKey(10): ndcg, NDCGKey(20): ndcg, NDCGKey(25): ndcg,
	}
	if len(res.Metrics) != len(want) {
		t.Errorf("Evaluate returned %d metrics, want %d: %v", len(res.Metrics), len(want), res.Metrics)
	}
	for k, w := range want {
		if g, ok := res.Metrics[k]; !ok || !near(g, w, 1e-9) {
			t.Errorf("Evaluate metric %s = %v, want %v", k, g, w)
		}
	}
	if res.Users != 3 {
		t.Errorf("Evaluate scored %d users, want 3", res.Users)
	}
	if seen.Seed != 9 || !seen.Now.Equal(time.Unix(18, 0)) {
		t.Errorf("Fit got Seed %d, Now %v; want 9 and the latest training time 18", seen.Seed, seen.Now.Unix())
	}
}

func TestEvaluateFitError(t *testing.T) {
	train, test := readFiles(t, "USER_ID,ITEM_ID\nu1,a\n", "USER_ID,ITEM_ID\nu1,b\n")
	_, err := Evaluate(t.Context(), popRecipe{}, recipe.Params{"limit": "x"}, &recipe.Data{Interactions: train},
		NewTestSet(train, nil, test), Options{})
	if !errs.Is(err, errs.Invalid) {
		t.Errorf("Evaluate with a bad hyperparameter: error = %v, want Invalid", err)
	}
}

// oracle knows each test user's targets, found by the user's history.
type oracle map[string][]int32

func historyKey(h []recipe.Event) string {
	var b strings.Builder
	for _, e := range h {
		b.WriteString(strconv.Itoa(int(e.Item)) + ",")
	}
	return b.String()
}

func (o oracle) Recommend(q recipe.Query, n int) []recipe.Scored {
	var out []recipe.Scored
	for _, it := range o[historyKey(q.History)] {
		out = append(out, recipe.Scored{Item: it})
	}
	return out[:min(n, len(out))]
}

func TestEvaluateModelPerfectOnPersonalizeSplit(t *testing.T) {
	counts := make([]int, 50)
	for i := range counts {
		counts[i] = 5 + i%17
	}
	d := usersWith(counts, false)
	test := PersonalizeSplit(d, 7).TestSet()
	o := oracle{}
	for _, tu := range test.Users {
		o[historyKey(tu.History)] = tu.Relevant
	}
	res, err := EvaluateModel(t.Context(), o, test, ModeUser, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Users != 5 {
		t.Errorf("scored %d users, want 5 (10%% of 50)", res.Users)
	}
	for _, k := range []string{KeyMRR, NDCGKey(5), NDCGKey(25), RecallKey(25)} {
		if res.Metrics[k] != 1 {
			t.Errorf("perfect ranker: %s = %v, want 1", k, res.Metrics[k])
		}
	}
}

// recorder returns fixed items and records the queries it got, and which
// of the items 0..9 each query excluded.
type recorder struct {
	items    []int32
	queries  []recipe.Query
	excluded [][]int32
}

func (r *recorder) Recommend(q recipe.Query, n int) []recipe.Scored {
	r.queries = append(r.queries, q)
	var ex []int32
	for it := int32(-1); it < 10; it++ {
		if q.Exclude(it) {
			ex = append(ex, it)
		}
	}
	r.excluded = append(r.excluded, ex)
	var out []recipe.Scored
	for _, it := range r.items {
		out = append(out, recipe.Scored{Item: it})
	}
	return out
}

func TestEvaluateModelQueries(t *testing.T) {
	test := TestSet{Catalog: 10, Users: []TestUser{
		{ID: "a", User: 3, History: []recipe.Event{{Item: 4, Time: 50}, {Item: 2, Time: 90}, {Item: -1, Time: 95}}, Relevant: []int32{5}},
		{ID: "b", User: -1, Relevant: []int32{1}},
	}}
	tests := []struct {
		name        string
		mode        Mode
		wantItem    []int32 // Query.Item per user
		wantQueries int
		mrr         float64
	}{
		// The model returns 4 (seen by a: dropped even though the model
		// ignored Exclude), then 5, then 1: a hits at 1, b at 3.
		{"user mode", ModeUser, []int32{-1, -1}, 2, (1 + 1.0/3) / 2},
		// The anchor is a's latest known item; b has none and is not asked.
		{"next item", ModeNextItem, []int32{2}, 1, 1.0 / 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{items: []int32{4, 5, 1}}
			res, err := EvaluateModel(t.Context(), r, test, tc.mode, 60)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.queries) != tc.wantQueries {
				t.Fatalf("got %d queries, want %d", len(r.queries), tc.wantQueries)
			}
			for i, q := range r.queries {
				if q.Item != tc.wantItem[i] {
					t.Errorf("query %d: Item = %d, want %d", i, q.Item, tc.wantItem[i])
				}
			}
			q := r.queries[0]
			if q.User != 3 || q.Now != 95 || len(q.History) != 3 {
				t.Errorf("query for a: User %d Now %d |History| %d, want 3, 95, 3", q.User, q.Now, len(q.History))
			}
			if !slices.Equal(r.excluded[0], []int32{2, 4}) {
				t.Errorf("query for a excluded %v, want [2 4]", r.excluded[0])
			}
			if len(r.excluded) > 1 && len(r.excluded[1]) != 0 {
				t.Errorf("query for b excluded %v, want none (a's exclusions must not leak)", r.excluded[1])
			}
			if !near(res.Metrics[KeyMRR], tc.mrr, 1e-12) {
				t.Errorf("MRR = %v, want %v", res.Metrics[KeyMRR], tc.mrr)
			}
		})
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := EvaluateModel(ctx, &recorder{}, test, ModeUser, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("EvaluateModel on a cancelled context: error = %v, want context.Canceled", err)
	}
}

func TestModeFor(t *testing.T) {
	for typ, want := range map[recipe.Type]Mode{
		recipe.RelatedItems: ModeNextItem, recipe.UserPersonalization: ModeUser, recipe.PopularItems: ModeUser,
	} {
		if got := ModeFor(typ); got != want {
			t.Errorf("ModeFor(%s) = %d, want %d", typ, got, want)
		}
	}
}
