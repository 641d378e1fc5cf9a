package serving

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/filter"
	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/schema"
)

const (
	usersDataset = "arn:aws:personalize:us-east-1:000000000000:dataset/g/USERS"
	filterPrefix = "arn:aws:personalize:us-east-1:000000000000:filter/"
	otherGroup   = "arn:aws:personalize:us-east-1:000000000000:dataset-group/other"
)

var userFields = []schema.Field{{Name: "USER_ID", Type: schema.String}, {Name: "TIER", Type: schema.String, Categorical: true}}

// fakeFilters is an in-memory FilterSource: filter name -> expression, all
// ACTIVE in groupARN except those whose name starts with "other".
type fakeFilters map[string]string

func (ff fakeFilters) Resolve(_ context.Context, a string) (string, *filter.Filter, error) {
	name := strings.TrimPrefix(a, filterPrefix)
	expr, ok := ff[name]
	if !ok {
		return "", nil, errs.E(errs.NotFound, "Could not find filter %s", a)
	}
	f, err := filter.Parse(expr)
	if err != nil {
		return "", nil, err
	}
	if strings.HasPrefix(name, "other") {
		return otherGroup, f, nil
	}
	return groupARN, f, nil
}

func (fakeFilters) Schemas(context.Context, string) (filter.Schemas, error) {
	return filter.Schemas{Items: itemFields, Users: userFields}, nil
}

var testFilters = fakeFilters{
	"category":     `INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)`,
	"no-purchased": `EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchased")`,
	"same-cat":     `INCLUDE ItemID WHERE Items.CATEGORY IN (CurrentItem.CATEGORY)`,
	"basic-no-a":   `EXCLUDE ItemID WHERE Items.CATEGORY IN ("A things") IF CurrentUser.TIER = "basic"`,
	"only-a":       `INCLUDE ItemID WHERE Items.CATEGORY IN ("A things")`,
	"only-b":       `INCLUDE ItemID WHERE Items.CATEGORY IN ("B things")`,
	"only-a00":     `INCLUDE ItemID WHERE Items.CATEGORY IN ("Solo")`,
	"segments":     `INCLUDE UserID WHERE Users.TIER IN ("basic")`,
	"other-group":  `EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")`,
}

func filterARN(name string) string { return filterPrefix + name }

// filteredService is the fixture with a Users dataset (u00 basic, u01
// premium) and the test filters.
func filteredService(t testing.TB, f *fixture) *Service {
	t.Helper()
	f.sc.add(usersDataset, userFields, [][]schema.Value{{str("u00"), str("basic")}, {str("u01"), str("premium|beta")}})
	var n atomic.Int64
	return New(f.sc, f.bucket, f.reg, Options{NewID: func() string { return fmt.Sprint(n.Add(1)) }, Filters: testFilters},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func prefixes(items []Item) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteByte(it.ID[0])
	}
	return b.String()
}

func TestFiltersOnTheHotPath(t *testing.T) {
	f := newFixture(t)
	s := filteredService(t, f)
	const pop, sims = "arn:aws:personalize:us-east-1:000000000000:campaign/pop", "arn:aws:personalize:us-east-1:000000000000:campaign/sims"
	deploy(t, s, campaignUP, f.train(t, "aws-user-personalization-v2", "v1", recipe.Params{"hidden_dimension": "8"}), false)
	deploy(t, s, pop, f.train(t, "aws-popularity-count", "p1", nil), false)
	deploy(t, s, sims, f.train(t, "aws-sims", "s1", nil), false)
	// u05 (an a-user) buys b07 live: the purchase must count at once.
	s.Observe(corpus.Update{Group: groupARN, Events: []corpus.Event{{User: "u05", Item: "b07", Type: "PURCHASED", Time: 9000, Value: float32(math.NaN())}}})

	tests := []struct {
		name string
		req  Request
		// check inspects the answer; want is the expected item-id prefix
		// string (one letter per item) when not "".
		want  string
		check func(t *testing.T, items []Item)
	}{
		{name: "parameter picks the category an a-user would not get", req: Request{Campaign: campaignUP, UserID: "u00", NumResults: 6,
			FilterARN: filterARN("category"), FilterValues: map[string]string{"CATEGORY": `"B things"`}}, want: "bbbbbb"},
		{name: "several parameter values", req: Request{Campaign: pop, NumResults: 24,
			FilterARN: filterARN("category"), FilterValues: map[string]string{"CATEGORY": `"B things","A things"`}},
			check: func(t *testing.T, items []Item) {
				if len(items) != 24 {
					t.Errorf("got %d items, want all 24", len(items))
				}
			}},
		{name: "live purchase excluded at once", req: Request{Campaign: pop, UserID: "u05", NumResults: 24, FilterARN: filterARN("no-purchased")},
			check: func(t *testing.T, items []Item) {
				if slices.Contains(ids(items), "b07") || len(items) != 23 {
					t.Errorf("got %v; want the 23 items other than the purchased b07", ids(items))
				}
			}},
		{name: "another user is not affected", req: Request{Campaign: pop, UserID: "u06", NumResults: 24, FilterARN: filterARN("no-purchased")},
			check: func(t *testing.T, items []Item) {
				if !slices.Contains(ids(items), "b07") {
					t.Errorf("got %v; want b07, which only u05 bought", ids(items))
				}
			}},
		{name: "CurrentItem of a related-items request", req: Request{Campaign: pop, ItemID: "a03", NumResults: 10, FilterARN: filterARN("same-cat")}, want: "aaaaaaaaaa"},
		{name: "IF CurrentUser holds", req: Request{Campaign: pop, UserID: "u00", NumResults: 12, FilterARN: filterARN("basic-no-a")}, want: strings.Repeat("b", 12)},
		{name: "IF CurrentUser does not hold", req: Request{Campaign: pop, UserID: "u01", NumResults: 24, FilterARN: filterARN("basic-no-a")},
			check: func(t *testing.T, items []Item) {
				if share(items, "a") != 0.5 {
					t.Errorf("got %v; want the a items too for a premium user", ids(items))
				}
			}},
		{name: "backfill with popular items that pass", req: Request{Campaign: sims, ItemID: "b05", NumResults: 5, FilterARN: filterARN("only-a")},
			check: func(t *testing.T, items []Item) {
				if prefixes(items) != "aaaaa" {
					t.Errorf("got %v, want 5 a items", ids(items))
				}
				for _, it := range items {
					if it.Score != nil || !slices.Equal(it.Reason, []string{ReasonPopular}) {
						t.Errorf("%s: score %v reason %v; want popular backfill without score", it.ID, it.Score, it.Reason)
					}
				}
			}},
		{name: "fewer when too few pass", req: Request{Campaign: pop, NumResults: 5, FilterARN: filterARN("only-a00")}, want: ""},
		{name: "personal scores stay a softmax over the scored items", req: Request{Campaign: campaignUP, UserID: "u25", NumResults: 5, FilterARN: filterARN("only-a")},
			check: func(t *testing.T, items []Item) {
				sum := 0.0
				for _, it := range items {
					if it.ID[0] != 'a' {
						t.Errorf("%s passed an a-only filter", it.ID)
					}
					if it.Score != nil {
						sum += *it.Score
					}
				}
				if len(items) != 5 || math.Abs(sum-1) > 1e-9 {
					t.Errorf("got %d items with score sum %v, want 5 and 1", len(items), sum)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.Recommend(t.Context(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, res.Items)
			} else if got := prefixes(res.Items); got != tc.want {
				t.Errorf("Recommend = %v, want prefixes %q", ids(res.Items), tc.want)
			}
		})
	}

	t.Run("ranking drops what the filter removes", func(t *testing.T) {
		res, err := s.Rank(t.Context(), Request{Campaign: campaignUP, UserID: "u05", InputList: []string{"a01", "b07", "b01", "zzz"}, FilterARN: filterARN("no-purchased")})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(res.Items); len(got) != 3 || slices.Contains(got, "b07") || got[2] != "zzz" {
			t.Errorf("Rank = %v, want a01 and b01 ranked, then zzz, without b07", got)
		}
	})
}

func TestFilterErrors(t *testing.T) {
	f := newFixture(t)
	s := filteredService(t, f)
	deploy(t, s, campaignUP, f.train(t, "aws-user-personalization-v2", "v1", recipe.Params{"hidden_dimension": "8"}), false)
	promo := func(p Promotion) []Promotion { return []Promotion{p} }
	tests := []struct {
		name string
		req  Request
		kind errs.Kind
		msg  string
	}{
		{"unknown filter", Request{FilterARN: filterARN("nope")}, errs.NotFound, ""},
		{"filter of another group", Request{FilterARN: filterARN("other-group")}, errs.Invalid, "dataset group"},
		{"user filter", Request{FilterARN: filterARN("segments")}, errs.Invalid, "UserID"},
		{"missing INCLUDE parameter", Request{FilterARN: filterARN("category")}, errs.Invalid, "CATEGORY"},
		{"unquoted garbage", Request{FilterARN: filterARN("category"), FilterValues: map[string]string{"CATEGORY": `"B`}}, errs.Invalid, "filterValues[CATEGORY]"},
		{"bad parameter name", Request{FilterARN: filterARN("category"), FilterValues: map[string]string{"CAT-EGORY": `"B"`}}, errs.Invalid, "CAT-EGORY"},
		{"bad context key", Request{Context: map[string]string{"DEVICE TYPE": "x"}}, errs.Invalid, "context"},
		{"long context value", Request{Context: map[string]string{"DEVICE": strings.Repeat("x", 1001)}}, errs.Invalid, "context"},
		{"two promotions", Request{Promotions: []Promotion{{Name: "p", Percent: 10, FilterARN: filterARN("only-a")}, {Name: "q", Percent: 10, FilterARN: filterARN("only-a")}}}, errs.Invalid, "promotions"},
		{"promotion share 0", Request{Promotions: promo(Promotion{Name: "p", Percent: 0, FilterARN: filterARN("only-a")})}, errs.Invalid, "percentPromotedItems"},
		{"promotion without name", Request{Promotions: promo(Promotion{Percent: 10, FilterARN: filterARN("only-a")})}, errs.Invalid, "name"},
		{"promotion filter unknown", Request{Promotions: promo(Promotion{Name: "p", Percent: 10, FilterARN: filterARN("nope")})}, errs.NotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Campaign, tc.req.UserID = campaignUP, "u01"
			_, err := s.Recommend(t.Context(), tc.req)
			if errs.KindOf(err) != tc.kind || !strings.Contains(errs.Message(err), tc.msg) {
				t.Errorf("Recommend = %v (%v), want %v mentioning %q", err, errs.KindOf(err), tc.kind, tc.msg)
			}
		})
	}
}

func TestPromotionsReasonsAndExplanations(t *testing.T) {
	f := newFixture(t)
	s := filteredService(t, f)
	deploy(t, s, campaignUP, f.train(t, "aws-user-personalization-v2", "v1", recipe.Params{"hidden_dimension": "8"}), false)
	res, err := s.Recommend(t.Context(), Request{Campaign: campaignUP, UserID: "u03", NumResults: 10,
		FilterARN:  filterARN("only-a"), // applies to the regular items only
		Promotions: []Promotion{{Name: "b-week", Percent: 25, FilterARN: filterARN("only-b")}},
		Context:    map[string]string{"DEVICE": "mobile"}})
	if err != nil {
		t.Fatal(err)
	}
	var promoted []string
	for _, it := range res.Items {
		isPromo := it.PromotionName == "b-week"
		if isPromo != (it.ID[0] == 'b') || isPromo != slices.Contains(it.Reason, ReasonPromoted) {
			t.Errorf("%s: promotionName %q reason %v; want exactly the b items promoted", it.ID, it.PromotionName, it.Reason)
		}
		if isPromo {
			promoted = append(promoted, it.ID)
		}
	}
	// u03 saw 8 of the 12 a items, so 4 regular a items remain, then popular ones cannot help either.
	if len(promoted) != 3 || res.Context["DEVICE"] != "mobile" {
		t.Errorf("Recommend = %v with %d promoted, context %v; want ceil(25%% of 10) = 3 promoted and the context kept", ids(res.Items), len(promoted), res.Context)
	}
	explained := 0
	for _, it := range res.Items {
		for _, b := range it.Because {
			if b.EventType != "VIEWED" || b.ItemID[0] != 'a' || b.Contribution <= 0 || b.Contribution > 1 {
				t.Errorf("%s because %+v; want one of u03's VIEWED a items with a share in (0,1]", it.ID, b)
			}
		}
		if len(it.Because) > 0 {
			explained++
		}
	}
	if explained == 0 {
		t.Errorf("no item of %v is explained", ids(res.Items))
	}
}

func TestPlacePromotedIsDeterministicAndKeepsOrder(t *testing.T) {
	promo := []pick{{item: 100, promo: true}, {item: 101, promo: true}, {item: 102, promo: true}}
	var regular []pick
	for i := range 7 {
		regular = append(regular, pick{item: int32(i)})
	}
	first := placePromoted("RID-x", promo, regular)
	if !slices.Equal(first, placePromoted("RID-x", promo, regular)) {
		t.Fatal("placePromoted differs for the same recommendationId")
	}
	spread := map[string]bool{}
	for i := range 20 {
		got := placePromoted(fmt.Sprintf("RID-%d", i), promo, regular)
		var p, r []int32
		var key strings.Builder
		for pos, x := range got {
			if x.promo {
				p = append(p, x.item)
				fmt.Fprint(&key, pos, ",")
			} else {
				r = append(r, x.item)
			}
		}
		if !slices.Equal(p, []int32{100, 101, 102}) || !slices.Equal(r, []int32{0, 1, 2, 3, 4, 5, 6}) {
			t.Errorf("placePromoted(RID-%d) = %v; both lists must keep their order", i, got)
		}
		spread[key.String()] = true
	}
	if len(spread) < 5 {
		t.Errorf("20 ids gave only %d distinct placements; want them pseudo-random", len(spread))
	}
}

func TestExcludeEventTypesAndUsersReload(t *testing.T) {
	f := newFixture(t)
	s := filteredService(t, f)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	const rec = "arn:aws:personalize:us-east-1:000000000000:recommender/best-sellers" // any key deploys
	if err := s.Deploy(t.Context(), Deployment{Campaign: rec, Group: groupARN, SolutionVersion: "v", ArtifactKey: f.train(t, "aws-popularity-count", "p1", nil),
		Filter: corpus.NoFilter, ExcludeEventTypes: []string{"Purchased"}}); err != nil {
		t.Fatal(err)
	}
	s.Observe(corpus.Update{Group: groupARN, Events: []corpus.Event{{User: "u01", Item: "a02", Type: "PURCHASED", Time: 9000, Value: float32(math.NaN())}}})
	res, err := s.Recommend(t.Context(), Request{Campaign: rec, UserID: "u01", NumResults: 24})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(res.Items); slices.Contains(got, "a02") || len(got) != 23 {
		t.Errorf("Recommend(u01) = %v, want everything but the purchased a02", got)
	}

	// u01 becomes basic: the IF CurrentUser filter must follow the reloaded Users catalogue.
	ask := func() float64 {
		res, err := s.Recommend(t.Context(), Request{Campaign: rec, UserID: "u01", NumResults: 23, FilterARN: filterARN("basic-no-a")})
		if err != nil {
			t.Fatal(err)
		}
		return share(res.Items, "a")
	}
	if sh := ask(); sh == 0 {
		t.Fatalf("premium u01 got no a items")
	}
	f.sc.add(usersDataset, userFields, [][]schema.Value{{str("u01"), str("basic")}})
	s.Observe(corpus.Update{Group: groupARN, UsersChanged: true})
	deadline := time.Now().Add(5 * time.Second)
	for ask() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("u01 still gets a items 5s after becoming basic")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFillBackfillsPopularPassingItems checks serving's own backfill, which
// runs when a model has too few items left: popular items in order, none
// twice, none excluded, marked popular and unscored.
func TestFillBackfillsPopularPassingItems(t *testing.T) {
	l := &loaded{items: []string{"x0", "x1", "x2", "x3", "x4", "x5"}, g: &group{}}
	odd := func(it int32) bool { return it%2 == 1 }
	tests := []struct {
		name string
		have []pick
		want int
		out  []int32
	}{
		{"empty", nil, 2, []int32{0, 2}},
		{"keeps the model's items first", []pick{{item: 4, scored: true}}, 3, []int32{4, 0, 2}},
		{"fewer when too few pass", nil, 5, []int32{0, 2, 4}},
		{"already full", []pick{{item: 1}, {item: 3}}, 2, []int32{1, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := l.fill(slices.Clone(tc.have), tc.want, odd)
			var items []int32
			for i, p := range got {
				items = append(items, p.item)
				if i >= len(tc.have) && (!p.popular || p.scored) {
					t.Errorf("backfilled %+v, want popular and unscored", p)
				}
			}
			if !slices.Equal(items, tc.out) {
				t.Errorf("fill(%v, %d) = %v, want %v", tc.have, tc.want, items, tc.out)
			}
		})
	}
}
