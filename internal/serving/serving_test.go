package serving

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/blob/local"
	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/model"
	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/recipe/knn"
	"github.com/attune-dev/attune/internal/recipe/mf"
	"github.com/attune-dev/attune/internal/recipe/popularity"
	"github.com/attune-dev/attune/internal/records"
	"github.com/attune-dev/attune/internal/schema"
	"github.com/attune-dev/attune/internal/store"
)

const (
	groupARN     = "arn:aws:personalize:us-east-1:000000000000:dataset-group/g"
	interactions = "arn:aws:personalize:us-east-1:000000000000:dataset/g/INTERACTIONS"
	itemsDataset = "arn:aws:personalize:us-east-1:000000000000:dataset/g/ITEMS"
	campaignUP   = "arn:aws:personalize:us-east-1:000000000000:campaign/up"
)

// chunks is an in-memory corpus.ChunkScanner.
type chunks struct {
	mu  sync.Mutex
	all []store.Chunk
}

func (c *chunks) add(dataset string, fields []schema.Field, rows [][]schema.Value) {
	b := records.NewBuilder(fields)
	for _, r := range rows {
		b.Append(r)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all = append(c.all, store.Chunk{Seq: int64(len(c.all) + 1), Dataset: dataset, Source: store.Bulk, Rows: len(rows), Data: b.Encode()})
}

func (c *chunks) ScanChunks(ctx context.Context, dataset string, source store.Source, after int64, fn func(store.Chunk) error) error {
	c.mu.Lock()
	all := slices.Clone(c.all)
	c.mu.Unlock()
	for _, ch := range all {
		if ch.Dataset == dataset && ch.Seq > after && (source == "" || ch.Source == source) {
			if err := fn(ch); err != nil {
				return err
			}
		}
	}
	return nil
}

var (
	interactionFields = []schema.Field{{Name: "USER_ID", Type: schema.String}, {Name: "ITEM_ID", Type: schema.String},
		{Name: "EVENT_TYPE", Type: schema.String}, {Name: "TIMESTAMP", Type: schema.Long}}
	itemFields = []schema.Field{{Name: "ITEM_ID", Type: schema.String}, {Name: "CATEGORY", Type: schema.String, Categorical: true}}
)

func str(s string) schema.Value { return schema.Value{Str: s} }

// fixture is two clusters of 12 items (a*, b*) and 40 users who each view
// 8 items of one cluster: users 0-19 like a, 20-39 like b.
type fixture struct {
	sc     *chunks
	bucket *local.Bucket
	reg    *recipe.Registry
	data   *recipe.Data
}

func recipeRegistry() *recipe.Registry {
	return recipe.NewRegistry(mf.NewUserPersonalizationV2(), mf.NewPersonalizedRanking(), knn.NewSims(), popularity.NewPopularityCount())
}

func newBucket(dir string) (*local.Bucket, error) { return local.New(dir) }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	b, err := newBucket(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{sc: &chunks{}, bucket: b, reg: recipeRegistry()}
	var rows, itemRows [][]schema.Value
	for c, cat := range []string{"a", "b"} {
		for i := range 12 {
			itemRows = append(itemRows, []schema.Value{str(fmt.Sprintf("%s%02d", cat, i)), str(strings.ToUpper(cat) + " things")})
		}
		for u := range 20 {
			user := fmt.Sprintf("u%02d", c*20+u)
			for k := range 8 {
				item := fmt.Sprintf("%s%02d", cat, (u+k*5)%12)
				rows = append(rows, []schema.Value{str(user), str(item), str("VIEWED"), {Int: int64(1000 + u*100 + k)}})
			}
		}
	}
	f.sc.add(interactions, interactionFields, rows)
	f.sc.add(itemsDataset, itemFields, itemRows)
	f.loadData(t)
	return f
}

// loadData reads the interactions the fixture trains on.
func (f *fixture) loadData(t testing.TB) {
	t.Helper()
	in, _, err := corpus.LoadInteractions(context.Background(), f.sc, interactions, corpus.NoFilter)
	if err != nil {
		t.Fatal(err)
	}
	f.data = &recipe.Data{Interactions: in}
}

// train fits a recipe and writes its artifact, returning the key.
func (f *fixture) train(t testing.TB, name, version string, params recipe.Params) string {
	t.Helper()
	r, _ := f.reg.Get(name)
	m, err := r.Fit(context.Background(), f.data, params, recipe.FitOptions{Seed: 1, Now: time.Unix(5000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	va := "arn:aws:personalize:us-east-1:000000000000:solution/s/" + version
	key := model.Key(va)
	if err := model.Write(context.Background(), f.bucket, key, model.Meta{Recipe: name, RecipeType: r.Type(), SolutionVersionARN: va, Params: params}, m); err != nil {
		t.Fatal(err)
	}
	return key
}

func (f *fixture) service(t testing.TB) *Service {
	t.Helper()
	var n atomic.Int64
	return New(f.sc, f.bucket, f.reg, Options{NewID: func() string { return fmt.Sprint(n.Add(1)) }},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func deploy(t testing.TB, s *Service, campaign, key string, metadata bool) {
	t.Helper()
	if err := s.Deploy(context.Background(), Deployment{Campaign: campaign, Group: groupARN, SolutionVersion: key, ArtifactKey: key,
		Filter: corpus.NoFilter, Metadata: metadata}); err != nil {
		t.Fatal(err)
	}
}

func share(items []Item, prefix string) float64 {
	n := 0
	for _, it := range items {
		if strings.HasPrefix(it.ID, prefix) {
			n++
		}
	}
	return float64(n) / float64(max(len(items), 1))
}

func TestRecommendPersonalExcludesSeenWithSoftmaxScores(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	deploy(t, s, campaignUP, f.train(t, "aws-user-personalization-v2", "v1",
		recipe.Params{"hidden_dimension": "8", recipe.ExcludeInteractedItems: "true"}), true)
	res, err := s.Recommend(t.Context(), Request{Campaign: campaignUP, UserID: "u03", NumResults: 4, MetadataColumns: []string{"CATEGORY"}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for k := range 8 {
		seen[fmt.Sprintf("a%02d", (3+k*5)%12)] = true
	}
	sum := 0.0
	for _, it := range res.Items {
		if seen[it.ID] {
			t.Errorf("Recommend(u03) returned %s, which u03 viewed", it.ID)
		}
		if it.Score == nil {
			t.Fatalf("Recommend(u03) item %s has no score", it.ID)
		}
		sum += *it.Score
		if want := strings.ToUpper(it.ID[:1]) + " things"; it.Metadata["CATEGORY"] != want {
			t.Errorf("metadata of %s = %v, want CATEGORY %q", it.ID, it.Metadata, want)
		}
	}
	if len(res.Items) != 4 || math.Abs(sum-1) > 1e-9 || res.RecommendationID != "RID-1" {
		t.Errorf("Recommend(u03) = %d items, score sum %v, id %q; want 4, 1, RID-1", len(res.Items), sum, res.RecommendationID)
	}
	if sh := share(res.Items, "a"); sh < 0.75 {
		t.Errorf("Recommend(u03) a-share %.2f, want ≥ 0.75 for an a-user", sh)
	}
}

func TestObserveChangesTheNextAnswer(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	deploy(t, s, campaignUP, f.train(t, "aws-user-personalization-v2", "v1", recipe.Params{"hidden_dimension": "8"}), false)
	ctx := t.Context()
	ask := func(user string) []Item {
		t.Helper()
		res, err := s.Recommend(ctx, Request{Campaign: campaignUP, UserID: user, NumResults: 6})
		if err != nil {
			t.Fatal(err)
		}
		return res.Items
	}
	cold := ask("newcomer")
	ev := func(user, session, item string, at int64) corpus.Event {
		return corpus.Event{User: user, Session: session, Item: item, Type: "VIEWED", Time: at, Value: float32(math.NaN())}
	}
	s.Observe(corpus.Update{Group: groupARN, Events: []corpus.Event{ev("newcomer", "s1", "b01", 6000), ev("newcomer", "s1", "b02", 6001), ev("newcomer", "s1", "b03", 6002)}})
	warm := ask("newcomer")
	if sh := share(warm, "b"); sh < 0.8 || slices.Equal(ids(warm), ids(cold)) {
		t.Errorf("after 3 b-views: %v (b-share %.2f), before: %v; want a changed, b-dominated answer", ids(warm), sh, ids(cold))
	}
	for _, it := range warm {
		if it.ID == "b01" || it.ID == "b02" || it.ID == "b03" {
			t.Errorf("observed item %s recommended back", it.ID)
		}
	}

	// An anonymous session is served by its sessionId, and joins the user
	// who later signs in with it.
	s.Observe(corpus.Update{Group: groupARN, Events: []corpus.Event{ev("", "anon-7", "a04", 6100), ev("", "anon-7", "a05", 6101), ev("", "anon-7", "a06", 6102)}})
	if sh := share(ask("anon-7"), "a"); sh < 0.8 {
		t.Errorf("anonymous session with a-views: a-share %.2f, want ≥ 0.8", sh)
	}
	s.Observe(corpus.Update{Group: groupARN, Events: []corpus.Event{ev("signed-in", "anon-7", "a07", 6103)}})
	if sh := share(ask("signed-in"), "a"); sh < 0.8 {
		t.Errorf("user who signed in from an a-session: a-share %.2f, want ≥ 0.8", sh)
	}
	// Events of another group change nothing here.
	s.Observe(corpus.Update{Group: "arn:aws:personalize:us-east-1:000000000000:dataset-group/other", Events: []corpus.Event{ev("u00", "", "b00", 7000)}})
}

func ids(items []Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

func TestObserveItemsChangedReloadsMetadata(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deploy(t, s, campaignUP, f.train(t, "aws-popularity-count", "p1", nil), true)
	f.sc.add(itemsDataset, itemFields, [][]schema.Value{{str("a00"), str("Renamed")}})
	s.Observe(corpus.Update{Group: groupARN, ItemsChanged: true})
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := s.Rank(t.Context(), Request{Campaign: campaignUP, UserID: "u01", InputList: []string{"a00"}, MetadataColumns: []string{"CATEGORY"}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Items[0].Metadata["CATEGORY"] == "Renamed" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metadata of a00 still %v 5s after ItemsChanged", res.Items[0].Metadata)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRankAndRelatedItems(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	const rank, sims = "arn:aws:personalize:us-east-1:000000000000:campaign/rank", "arn:aws:personalize:us-east-1:000000000000:campaign/sims"
	deploy(t, s, rank, f.train(t, "aws-personalized-ranking", "r1", recipe.Params{"hidden_dimension": "8"}), false)
	deploy(t, s, sims, f.train(t, "aws-sims", "s1", nil), false)
	res, err := s.Rank(t.Context(), Request{Campaign: rank, UserID: "u25", InputList: []string{"a01", "zzz", "b01", "a02", "b02", "a01"}})
	if err != nil {
		t.Fatal(err)
	}
	got := ids(res.Items)
	if len(got) != 5 || got[4] != "zzz" || res.Items[4].Score != nil || share(res.Items[:2], "b") != 1 {
		t.Errorf("Rank(u25) = %v, want the two b items first, each item once, zzz last without score", got)
	}
	rel, err := s.Recommend(t.Context(), Request{Campaign: sims, ItemID: "b05", NumResults: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range rel.Items {
		if it.ID == "b05" || it.Score != nil {
			t.Errorf("related to b05: %s with score %v; want other items without score", it.ID, it.Score)
		}
	}
	if sh := share(rel.Items, "b"); sh < 0.8 {
		t.Errorf("related to b05: %v, want mostly b items", ids(rel.Items))
	}
}

func TestRequestErrors(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	up := f.train(t, "aws-user-personalization-v2", "v1", recipe.Params{"hidden_dimension": "8"})
	deploy(t, s, campaignUP, up, false)
	const withMeta, rank, loading = "arn:aws:personalize:us-east-1:000000000000:campaign/meta", "arn:aws:personalize:us-east-1:000000000000:campaign/rank",
		"arn:aws:personalize:us-east-1:000000000000:campaign/loading"
	deploy(t, s, withMeta, up, true)
	deploy(t, s, rank, f.train(t, "aws-personalized-ranking", "r1", recipe.Params{"hidden_dimension": "8"}), false)
	s.Expect(loading)
	long := make([]string, 501)
	for i := range long {
		long[i] = fmt.Sprint("i", i)
	}
	cases := []struct {
		name string
		rank bool
		req  Request
		want errs.Kind
	}{
		{"unknown campaign", false, Request{Campaign: "arn:aws:personalize:us-east-1:000000000000:campaign/nope", UserID: "u"}, errs.NotFound},
		{"campaign still loading", false, Request{Campaign: loading, UserID: "u"}, errs.Unavailable},
		{"no userId for personalization", false, Request{Campaign: campaignUP}, errs.Invalid},
		{"negative numResults", false, Request{Campaign: campaignUP, UserID: "u", NumResults: -1}, errs.Invalid},
		{"numResults over 500", false, Request{Campaign: campaignUP, UserID: "u", NumResults: 501}, errs.Invalid},
		{"numResults over 50 with metadata", false, Request{Campaign: withMeta, UserID: "u", NumResults: 51, MetadataColumns: []string{"CATEGORY"}}, errs.Invalid},
		{"metadata not enabled", false, Request{Campaign: campaignUP, UserID: "u", MetadataColumns: []string{"CATEGORY"}}, errs.Invalid},
		{"unknown metadata column", false, Request{Campaign: withMeta, UserID: "u", MetadataColumns: []string{"COLOUR"}}, errs.Invalid},
		{"recommendations from a ranking campaign", false, Request{Campaign: rank, UserID: "u"}, errs.Invalid},
		{"empty input list", true, Request{Campaign: rank, UserID: "u"}, errs.Invalid},
		{"input list over 500", true, Request{Campaign: rank, UserID: "u", InputList: long}, errs.Invalid},
		{"ranking without userId", true, Request{Campaign: rank, InputList: []string{"a01"}}, errs.Invalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.rank {
				_, err = s.Rank(t.Context(), tc.req)
			} else {
				_, err = s.Recommend(t.Context(), tc.req)
			}
			if got := errs.KindOf(err); err == nil || got != tc.want {
				t.Errorf("request %+v: error %v (kind %v), want kind %v", tc.req, err, got, tc.want)
			}
		})
	}
	// A failed recommender is never loaded: the message must say recommender
	// (not campaign) and where to look.
	_, err := s.Recommend(t.Context(), Request{Campaign: "arn:aws:personalize:us-east-1:000000000000:recommender/failed", UserID: "u"})
	if errs.KindOf(err) != errs.NotFound || !strings.Contains(errs.Message(err), "recommender") || strings.Contains(errs.Message(err), "campaign") {
		t.Errorf("Recommend(failed recommender) = %v, want NotFound naming the recommender, not a campaign", err)
	}
	// As in Personalize, items the user had are not left out by default:
	// the default numResults (25) gets the whole 24-item catalogue.
	res, err := s.Recommend(t.Context(), Request{Campaign: campaignUP, UserID: "u01"})
	if err != nil || len(res.Items) != min(DefaultResults, 24) {
		t.Errorf("default numResults: %d items, %v; want the whole catalogue (24)", len(res.Items), err)
	}
}

// TestRecommendExcludeInteractedItems: exclude_interacted_items "true"
// leaves out the user's 8 items (16 of 24 remain); the default ("false",
// as in Personalize) returns all 24, the user's own items among them.
func TestRecommendExcludeInteractedItems(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	deploy(t, s, campaignUP, f.train(t, "aws-user-personalization-v2", "v1", recipe.Params{"hidden_dimension": "8"}), false)
	const excl = "arn:aws:personalize:us-east-1:000000000000:campaign/excl"
	deploy(t, s, excl, f.train(t, "aws-user-personalization-v2", "v2",
		recipe.Params{"hidden_dimension": "8", recipe.ExcludeInteractedItems: "TRUE"}), false)
	seen := map[string]bool{}
	for k := range 8 {
		seen[fmt.Sprintf("a%02d", (3+k*5)%12)] = true
	}
	for _, tc := range []struct {
		campaign string
		want     int
		withSeen bool
	}{{campaignUP, 24, true}, {excl, 16, false}} {
		res, err := s.Recommend(t.Context(), Request{Campaign: tc.campaign, UserID: "u03", NumResults: 30})
		if err != nil {
			t.Fatal(err)
		}
		had := 0
		for _, it := range res.Items {
			if seen[it.ID] {
				had++
			}
		}
		if len(res.Items) != tc.want || (had > 0) != tc.withSeen {
			t.Errorf("%s: %d items, %d of them u03's; want %d items, user's items included %v", tc.campaign, len(res.Items), had, tc.want, tc.withSeen)
		}
	}
}

// TestDeploySwapsWithoutFailedRequests redeploys a campaign while
// goroutines keep asking it: no request may fail, and afterwards the new
// version answers.
// TestUnknownCampaignWhileStarting checks that a server that has not yet
// been told which campaigns to load (a restarted replica) answers an
// unknown campaign with Unavailable, which clients retry, and NotFound once
// it knows.
func TestUnknownCampaignWhileStarting(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	req := Request{Campaign: "arn:aws:personalize:us-east-1:000000000000:campaign/later", UserID: "u"}
	if _, err := s.Recommend(t.Context(), req); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("Recommend before Expect = %v, want Unavailable", err)
	}
	s.Expect() // the campaign runner's startup listing: nothing to load
	if _, err := s.Recommend(t.Context(), req); errs.KindOf(err) != errs.NotFound {
		t.Errorf("Recommend after Expect = %v, want NotFound", err)
	}
}

func TestDeploySwapsWithoutFailedRequests(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	s.Expect() // the campaign runner's startup listing
	v1 := f.train(t, "aws-user-personalization-v2", "v1", recipe.Params{"hidden_dimension": "8"})
	v2 := f.train(t, "aws-popularity-count", "v2", nil)
	deploy(t, s, campaignUP, v1, false)
	var stop atomic.Bool
	var calls, failed atomic.Int64
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				if _, err := s.Recommend(context.Background(), Request{Campaign: campaignUP, UserID: fmt.Sprintf("u%02d", (g*10+i)%40)}); err != nil {
					failed.Add(1)
				}
				calls.Add(1)
			}
		}()
	}
	for i := range 6 {
		key := v2
		if i%2 == 1 {
			key = v1
		}
		deploy(t, s, campaignUP, key, false)
	}
	stop.Store(true)
	wg.Wait()
	if failed.Load() != 0 || calls.Load() == 0 {
		t.Errorf("%d of %d requests failed during redeploys", failed.Load(), calls.Load())
	}
	if got := s.Deployed(campaignUP); got != v1 {
		t.Errorf("Deployed = %s, want %s", got, v1)
	}
	s.Undeploy(campaignUP)
	if _, err := s.Recommend(t.Context(), Request{Campaign: campaignUP, UserID: "u01"}); errs.KindOf(err) != errs.NotFound {
		t.Errorf("after Undeploy: %v, want NotFound", err)
	}
}

func TestBuildHistoriesKeepsNewestInTimeOrder(t *testing.T) {
	in := &recipe.Interactions{UserIDs: []string{"x", "y"}, ItemIDs: []string{"i0", "i1", "i2", "i3"}, EventTypes: []string{"V"},
		User: []int32{0, 1, 0, 0, 0}, Item: []int32{3, 0, 1, 2, 0}, Time: []int64{40, 5, 10, 30, 20},
		Event: []uint16{0, 0, 0, 0, 0}, Value: []float32{nan32, nan32, nan32, nan32, nan32}}
	h := buildHistories(in, 3)
	cases := []struct {
		user      string
		wantItems []int32
		wantTimes []int64
	}{
		{"x", []int32{0, 2, 3}, []int64{20, 30, 40}},
		{"y", []int32{0}, []int64{5}},
		{"z", nil, nil},
	}
	for _, tc := range cases {
		got := h.user(nil, tc.user)
		var items []int32
		var times []int64
		for _, e := range got {
			items, times = append(items, e.item), append(times, e.time)
		}
		if !slices.Equal(items, tc.wantItems) || !slices.Equal(times, tc.wantTimes) {
			t.Errorf("user(%s) = items %v times %v, want %v %v", tc.user, items, times, tc.wantItems, tc.wantTimes)
		}
	}
}
