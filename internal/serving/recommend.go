package serving

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/filter"
	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/schema"
)

// Runtime limits (personalize-api.md §8).
const (
	DefaultResults     = 25
	MaxResults         = 500
	MaxResultsMetadata = 50
	MaxMetadataColumns = 10
	MaxInputList       = 500
)

// Request is a GetRecommendations or GetPersonalizedRanking call.
type Request struct {
	// Campaign is the Deployment key: a campaign ARN, or the ARN of
	// whatever else was deployed (a recommender, a batch job).
	Campaign string
	UserID   string
	ItemID   string // anchor of RELATED_ITEMS; CurrentItem of filters
	// NumResults is the number of items wanted; 0 means DefaultResults.
	NumResults int
	// InputList is GetPersonalizedRanking's candidate list.
	InputList []string
	// MetadataColumns are Items dataset columns to return with each item.
	MetadataColumns []string
	// FilterARN is filterArn ("" for none): an ACTIVE ItemID filter of
	// the deployment's dataset group. FilterValues binds its $PARAMETERs,
	// each a string of comma-separated, double-quoted values.
	FilterARN    string
	FilterValues map[string]string
	// Promotions (at most MaxPromotions) reserve a share of a
	// GetRecommendations list for items of another filter.
	Promotions []Promotion
	// Context is the request's context map, validated, logged at debug,
	// returned in Result and handed to the model in recipe.Query; no
	// Attune model uses it yet.
	Context map[string]string
}

// Personalize's reason strings (PredictedItem.reason).
const (
	ReasonPromoted    = "Promoted item"
	ReasonExploration = "Exploration"
	ReasonPopular     = "Popular item"
)

// Item is one recommended or ranked item.
type Item struct {
	ID string
	// Score is set for personalized recipes: a softmax over the model-
	// scored items of the list, so those scores sum to 1 and compare
	// across items of one answer. Related-items and popularity recipes
	// give none, as Personalize, nor do popular backfill items.
	Score    *float64
	Metadata map[string]string
	// PromotionName is the promotion that placed the item, or "".
	PromotionName string
	// Reason holds Personalize's reasons (ReasonPromoted, ...); nil when
	// the item is there for its score alone.
	Reason []string
	// Because is Attune's explanation of a personal recommendation: the
	// user's own recent interactions that contributed most to the item's
	// score, largest first. Nil when the model cannot explain it.
	Because []Because
}

// Because is one history item behind a recommendation.
type Because struct {
	ItemID string
	// ItemName is the item's title from the Items dataset's name-like
	// column (see nameColumn), or "" when it has none.
	ItemName  string
	EventType string // of the user's latest interaction with ItemID
	// Contribution is the item's share of the positive contributions
	// to the recommended item's score, in (0, 1].
	Contribution float64
}

// Result is an answer.
type Result struct {
	Items            []Item
	RecommendationID string
	// Context is the request's context, recorded with the answer.
	Context map[string]string
}

// explainTop and explainHistory bound explanations: the top 3 history
// items, taken from the newest 100 interactions ("because you recently
// viewed"), which also keeps their cost to a few dot products per item.
const (
	explainTop     = 3
	explainHistory = 100
)

func (s *Service) newRecommendationID() string {
	if s.opts.NewID != nil {
		return "RID-" + s.opts.NewID()
	}
	return "RID-" + uuid.NewString()
}

// pick is an item chosen for an answer and why.
type pick struct {
	item     int32
	score    float32
	scored   bool // the model scored it (not serving's popular backfill)
	popular  bool // a popular item: the model's fallback or serving's backfill
	explored bool
	promo    bool
}

// Recommend answers GetRecommendations. By recipe type:
//   - USER_PERSONALIZATION: userId is required; as in Personalize, items
//     the user already interacted with may be recommended, unless the
//     solution set the hyperparameter exclude_interacted_items to "true"
//     (then those within the kept recent history are left out); a user
//     unknown at training is folded in from stored and live events, and
//     one with no events gets popular items.
//   - POPULAR_ITEMS: userId optional; nothing is excluded.
//   - RELATED_ITEMS: itemId is required; an unknown item gets popular items.
//
// Whatever the type, items the user had one of the deployment's
// ExcludeEventTypes with are left out. A filter removes items from the
// model's ranking; when too few remain, popular items that pass it fill
// the list with the reason "Popular item" (from the model's own popularity
// fallback, which keeps its score, or else from serving's, which has none). A promotion's share of the list
// is filled first, with the model's best items that pass the promotion's
// filter (not the request's: Personalize applies that to the other items
// only), at positions drawn from the recommendationId, in their order.
//
// Errors: errs.NotFound for an unknown campaign or filter, errs.Unavailable
// while it loads, errs.Invalid for bad input (naming the member), a filter
// of another dataset group or not ACTIVE, or a campaign whose recipe does
// not serve GetRecommendations.
func (s *Service) Recommend(ctx context.Context, r Request) (*Result, error) {
	l, err := s.lookup(r.Campaign)
	if err != nil {
		return nil, err
	}
	l = s.refreshed(ctx, r.Campaign, l)
	n, err := checkCount(r.NumResults, len(r.MetadataColumns) > 0)
	if err != nil {
		return nil, err
	}
	if err := l.checkMetadata(r.MetadataColumns); err != nil {
		return nil, err
	}
	if err := checkContext(r.Context); err != nil {
		return nil, err
	}
	if err := checkPromotions(r.Promotions); err != nil {
		return nil, err
	}
	needEvents := r.FilterARN != "" || len(r.Promotions) > 0 || len(l.d.ExcludeEventTypes) > 0
	q := recipe.Query{User: -1, Item: -1, Context: r.Context}
	personal := false
	var u *userEvents
	var seen []int32
	switch l.meta.RecipeType {
	case recipe.UserPersonalization:
		if r.UserID == "" {
			return nil, errs.E(errs.Invalid, "userId is required: campaign %s uses a USER_PERSONALIZATION recipe (%s)", r.Campaign, l.meta.Recipe)
		}
		personal = true
		u = l.events(r.UserID)
		q.History, seen = l.modelHistory(u)
		if !recipe.ExcludesInteracted(l.meta.Params) {
			seen = nil
		}
		q.User = l.user(r.UserID)
		q.Exploration = l.d.Exploration
	case recipe.PopularItems:
		q.User = l.user(r.UserID)
	case recipe.RelatedItems:
		if r.ItemID == "" {
			return nil, errs.E(errs.Invalid, "itemId is required: campaign %s uses a RELATED_ITEMS recipe (%s)", r.Campaign, l.meta.Recipe)
		}
		if it, ok := l.itemIndex[r.ItemID]; ok {
			q.Item = it
		}
	default:
		return nil, errs.E(errs.Invalid, "campaign %s uses a %s recipe (%s): call GetPersonalizedRanking, not GetRecommendations",
			r.Campaign, l.meta.RecipeType, l.meta.Recipe)
	}
	if u == nil && needEvents {
		u = l.events(r.UserID)
	}
	excluded := newSortedSet(append(seen, l.excludedByEvents(u)...))
	var fc filter.Context
	if r.FilterARN != "" || len(r.Promotions) > 0 {
		fc = l.filterContext(r.UserID, r.ItemID, u)
	}
	var allowed func(int32) bool
	if r.FilterARN != "" {
		c, err := s.compileFilter(ctx, l, "filterArn", r.FilterARN, r.FilterValues)
		if err != nil {
			return nil, err
		}
		allowed = c.Allowed(fc)
	}
	id := s.newRecommendationID()

	var promoted []pick
	var promoName string
	if len(r.Promotions) == 1 {
		p := r.Promotions[0]
		c, err := s.compileFilter(ctx, l, "promotions[0].filterArn", p.FilterARN, p.FilterValues)
		if err != nil {
			return nil, err
		}
		pass := c.Allowed(fc)
		qp := q
		qp.Exploration = nil // promoted slots are the promotion's, not discovery's
		qp.Exclude = func(it int32) bool { return excluded.has(it) || !pass(it) }
		want := min((n*p.Percent+99)/100, n)
		promoted = l.fill(l.choose(qp, want), want, qp.Exclude)
		for i := range promoted {
			promoted[i].promo = true
		}
		promoName = p.Name
	}
	qr := q
	var taken sortedSet
	for _, p := range promoted {
		taken = append(taken, p.item)
	}
	taken = newSortedSet(taken)
	if len(excluded) > 0 || allowed != nil || len(taken) > 0 {
		qr.Exclude = func(it int32) bool {
			return excluded.has(it) || (allowed != nil && !allowed(it)) || taken.has(it)
		}
	}
	want := n - len(promoted)
	regular := l.choose(qr, want)
	if allowed != nil && len(regular) < want {
		regular = l.fill(regular, want, qr.Exclude)
	}
	picks := placePromoted(id, promoted, regular)

	items := make([]Item, len(picks))
	for i, p := range picks {
		items[i].ID = l.items[p.item]
		if p.promo {
			items[i].PromotionName = promoName
			items[i].Reason = append(items[i].Reason, ReasonPromoted)
		}
		if p.explored {
			items[i].Reason = append(items[i].Reason, ReasonExploration)
		}
		if p.popular {
			items[i].Reason = append(items[i].Reason, ReasonPopular)
		}
	}
	if personal {
		softmax(items, picks)
		l.explain(items, picks, q, u)
		if allowed == nil && len(promoted) == 0 {
			items = l.exploreNew(items, u, n)
		}
	}
	l.attachMetadata(items, r.MetadataColumns)
	s.logContext(ctx, r, id)
	return &Result{Items: items, RecommendationID: id, Context: r.Context}, nil
}

// choose asks the model for up to want items.
func (l *loaded) choose(q recipe.Query, want int) []pick {
	if want <= 0 {
		return nil
	}
	scored := l.m.Recommend(q, want)
	out := make([]pick, len(scored))
	for i, sc := range scored {
		out[i] = pick{item: sc.Item, score: sc.Score, scored: true, explored: sc.Explored, popular: sc.Popular}
	}
	return out
}

// fill appends popular items that exclude does not drop until dst holds
// want items. The popularity order is the group's bulk interaction count.
func (l *loaded) fill(dst []pick, want int, exclude func(int32) bool) []pick {
	if len(dst) >= want {
		return dst
	}
	have := make([]int32, 0, len(dst))
	for _, p := range dst {
		have = append(have, p.item)
	}
	haveSet := newSortedSet(have)
	for _, it := range l.popularOrder() {
		if len(dst) >= want {
			break
		}
		if haveSet.has(it) || (exclude != nil && exclude(it)) {
			continue
		}
		dst = append(dst, pick{item: it, popular: true})
	}
	return dst
}

// popOrder is the backfill order of one histories snapshot.
type popOrder struct {
	h     *histories
	order []int32 // model item indexes, most interactions first
}

// popularOrder returns the model's items by the number of kept bulk
// interactions in the group, computed once per loaded history.
func (l *loaded) popularOrder() []int32 {
	h := l.g.hist.Load()
	if p := l.pop.Load(); p != nil && p.h == h {
		return p.order
	}
	counts := make([]int32, len(l.items))
	if h != nil {
		mp := l.mappingFor(h)
		for hi, c := range h.counts() {
			if hi < len(mp.items) && mp.items[hi] >= 0 {
				counts[mp.items[hi]] += c
			}
		}
	}
	order := make([]int32, len(l.items))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(counts[b], counts[a]) })
	l.pop.Store(&popOrder{h: h, order: order})
	return order
}

// placePromoted interleaves promoted items into the regular ones at
// positions drawn from a generator seeded by the recommendationId, so an
// answer can be reproduced from its id; both keep their own order.
func placePromoted(id string, promoted, regular []pick) []pick {
	if len(promoted) == 0 {
		return regular
	}
	total := len(promoted) + len(regular)
	h := fnv.New64a()
	h.Write([]byte(id))
	rng := rand.New(rand.NewPCG(h.Sum64(), 0x5eed))
	slots := rng.Perm(total)[:len(promoted)]
	slices.Sort(slots)
	out := make([]pick, 0, total)
	pi, ri := 0, 0
	for pos := range total {
		if pi < len(slots) && slots[pi] == pos {
			out = append(out, promoted[pi])
			pi++
			continue
		}
		out = append(out, regular[ri])
		ri++
	}
	return out
}

func checkPromotions(ps []Promotion) error {
	if len(ps) > MaxPromotions {
		return errs.E(errs.Invalid, "promotions: at most %d promotion, got %d", MaxPromotions, len(ps))
	}
	for i, p := range ps {
		if err := arn.CheckName(fmt.Sprintf("promotions[%d].name", i), p.Name); err != nil {
			return err
		}
		if p.Percent < 1 || p.Percent > 100 {
			return errs.E(errs.Invalid, "promotions[%d].percentPromotedItems must be from 1 to 100, got %d", i, p.Percent)
		}
		if p.FilterARN == "" {
			return errs.E(errs.Invalid, "promotions[%d].filterArn is required", i)
		}
		if _, err := arn.Expect(fmt.Sprintf("promotions[%d].filterArn", i), p.FilterARN, arn.Filter, 1); err != nil {
			return err
		}
	}
	return nil
}

// sortedSet is a small sorted set of item indexes.
type sortedSet []int32

// sortedSet sorts and deduplicates s in place.
func newSortedSet(s []int32) sortedSet {
	slices.Sort(s)
	return slices.Compact(s)
}

func (s sortedSet) has(it int32) bool {
	_, found := slices.BinarySearch(s, it)
	return found
}

// explain sets Because on personal items from the model's Explainer, when
// it has one, with the event type of the user's latest interaction with
// each contributing item.
func (l *loaded) explain(items []Item, picks []pick, q recipe.Query, u *userEvents) {
	ex, ok := l.m.(recipe.Explainer)
	if !ok || len(q.History) == 0 || u == nil {
		return
	}
	if len(q.History) > explainHistory {
		q.History = q.History[len(q.History)-explainHistory:]
	}
	last := make(map[int32]string, len(q.History))
	for _, e := range u.raw {
		if it := u.modelItem(l, e.item); it >= 0 {
			last[it] = u.eventName(e.event)
		}
	}
	cat := l.g.catalog.Load()
	name := nameColumn(cat)
	each := make([][]recipe.Contribution, len(picks))
	if bx, ok := ex.(recipe.BatchExplainer); ok {
		ids := make([]int32, len(picks))
		for i, p := range picks {
			ids[i] = p.item
		}
		each = bx.ExplainEach(q, ids, explainTop)
	} else {
		for i, p := range picks {
			each[i] = ex.Explain(q, p.item, explainTop)
		}
	}
	for i := range picks {
		for _, c := range each[i] {
			b := Because{ItemID: l.items[c.Item], EventType: last[c.Item], Contribution: float64(c.Weight)}
			if name != "" {
				b.ItemName = cat.Metadata(b.ItemID, []string{name})[name]
			}
			items[i].Because = append(items[i].Because, b)
		}
	}
}

// nameColumn picks the Items column that names an item, for readable
// explanations: ITEM_NAME, TITLE or NAME, else the first string column
// whose name ends in _NAME or _TITLE (e.g. the demo's SERVICE_NAME);
// "" when there is none.
func nameColumn(cat *corpus.Entities) string {
	if cat == nil {
		return ""
	}
	for _, want := range []string{"ITEM_NAME", "TITLE", "NAME"} {
		for _, f := range cat.Fields {
			if f.Type == schema.String && strings.EqualFold(f.Name, want) {
				return f.Name
			}
		}
	}
	for _, f := range cat.Fields {
		up := strings.ToUpper(f.Name)
		if f.Type == schema.String && (strings.HasSuffix(up, "_NAME") || strings.HasSuffix(up, "_TITLE")) {
			return f.Name
		}
	}
	return ""
}

func (s *Service) logContext(ctx context.Context, r Request, id string) {
	if len(r.Context) > 0 {
		s.log.DebugContext(ctx, "recommendation context", "campaign", r.Campaign, "recommendationId", id, "userId", r.UserID, "context", r.Context)
	}
}

// Rank answers GetPersonalizedRanking: the input list ordered for the user,
// with items unknown to the model appended at the end, in input order and
// without a score. Besides PERSONALIZED_RANKING campaigns, Attune also ranks
// with USER_PERSONALIZATION and POPULAR_ITEMS campaigns, whose models score
// any candidate set; Personalize rejects those. A filter removes the known
// items it does not allow; items unknown to the model have no catalogue
// entry to test and are kept.
func (s *Service) Rank(ctx context.Context, r Request) (*Result, error) {
	l, err := s.lookup(r.Campaign)
	if err != nil {
		return nil, err
	}
	l = s.refreshed(ctx, r.Campaign, l)
	if r.UserID == "" {
		return nil, errs.E(errs.Invalid, "userId is required")
	}
	limit := MaxInputList
	if len(r.MetadataColumns) > 0 {
		limit = MaxResultsMetadata
	}
	if len(r.InputList) == 0 || len(r.InputList) > limit {
		return nil, errs.E(errs.Invalid, "inputList must hold 1 to %d item ids, got %d", limit, len(r.InputList))
	}
	if err := l.checkMetadata(r.MetadataColumns); err != nil {
		return nil, err
	}
	if err := checkContext(r.Context); err != nil {
		return nil, err
	}
	if len(r.Promotions) > 0 {
		return nil, errs.E(errs.Invalid, "promotions: GetPersonalizedRanking takes none")
	}
	switch l.meta.RecipeType {
	case recipe.PersonalizedRanking, recipe.UserPersonalization, recipe.PopularItems:
	default:
		return nil, errs.E(errs.Invalid, "campaign %s uses a %s recipe (%s), which cannot rank a list", r.Campaign, l.meta.RecipeType, l.meta.Recipe)
	}
	u := l.events(r.UserID)
	var allowed func(int32) bool
	if r.FilterARN != "" {
		c, err := s.compileFilter(ctx, l, "filterArn", r.FilterARN, r.FilterValues)
		if err != nil {
			return nil, err
		}
		allowed = c.Allowed(l.filterContext(r.UserID, r.ItemID, u))
	}
	var known []int32
	var unknown []string
	dup := make(map[string]bool, len(r.InputList))
	for i, id := range r.InputList {
		if id == "" || len(id) > 256 {
			return nil, errs.E(errs.Invalid, "inputList[%d]: item ids are 1 to 256 characters", i)
		}
		if dup[id] {
			continue // an item ranks once, however often it is listed
		}
		dup[id] = true
		if it, ok := l.itemIndex[id]; ok {
			if allowed == nil || allowed(it) {
				known = append(known, it)
			}
		} else {
			unknown = append(unknown, id)
		}
	}
	q := recipe.Query{User: l.user(r.UserID), Item: -1, Candidates: known, Context: r.Context}
	personal := l.meta.RecipeType != recipe.PopularItems
	if personal {
		q.History, _ = l.modelHistory(u)
	}
	var picks []pick
	if len(known) > 0 {
		picks = l.choose(q, len(known))
	}
	items := make([]Item, 0, len(known)+len(unknown))
	for _, p := range picks {
		items = append(items, Item{ID: l.items[p.item]})
	}
	if personal {
		softmax(items, picks)
		l.explain(items, picks, q, u)
	}
	for _, id := range unknown {
		items = append(items, Item{ID: id})
	}
	l.attachMetadata(items, r.MetadataColumns)
	id := s.newRecommendationID()
	s.logContext(ctx, r, id)
	return &Result{Items: items, RecommendationID: id, Context: r.Context}, nil
}

func checkCount(n int, metadata bool) (int, error) {
	limit := MaxResults
	if metadata {
		limit = MaxResultsMetadata
	}
	switch {
	case n < 0:
		return 0, errs.E(errs.Invalid, "numResults must not be negative, got %d", n)
	case n == 0:
		return min(DefaultResults, limit), nil
	case n > limit:
		if metadata {
			return 0, errs.E(errs.Invalid, "numResults must be at most %d when metadataColumns is set, got %d", limit, n)
		}
		return 0, errs.E(errs.Invalid, "numResults must be at most %d, got %d", limit, n)
	}
	return n, nil
}

// user returns the model's index of a user id, or -1 (also for a user a
// data deletion job removed).
func (l *loaded) user(id string) int32 {
	if u, ok := l.userIndex[id]; ok && !l.g.isForgotten(id) {
		return u
	}
	return -1
}

func (l *loaded) checkMetadata(cols []string) error {
	if len(cols) == 0 {
		return nil
	}
	if !l.d.Metadata {
		return errs.E(errs.Invalid, "metadataColumns: campaign %s was created without campaignConfig.enableMetadataWithRecommendations", l.d.Campaign)
	}
	if len(cols) > MaxMetadataColumns {
		return errs.E(errs.Invalid, "metadataColumns: at most %d ITEMS columns, got %d", MaxMetadataColumns, len(cols))
	}
	cat := l.g.catalog.Load()
	for _, c := range cols {
		if cat == nil || cat.FieldIndex(c) < 0 {
			return errs.E(errs.Invalid, "metadataColumns: the Items dataset has no column %s", errs.Quote(c))
		}
	}
	return nil
}

func (l *loaded) attachMetadata(items []Item, cols []string) {
	if len(cols) == 0 {
		return
	}
	cat := l.g.catalog.Load()
	for i := range items {
		md := cat.Metadata(items[i].ID, cols)
		if md == nil {
			md = map[string]string{} // an item with no Items row still answers with its (empty) metadata
		}
		items[i].Metadata = md
	}
}

// softmax sets items[i].Score to the softmax of picks[i].score over the
// model-scored picks of the list (popular backfill has no score, as in
// Personalize). Personalize normalises over the whole catalogue, which
// makes scores vanishingly small on big catalogues; over the returned list
// they keep the same order and ratios and stay readable.
func softmax(items []Item, picks []pick) {
	hi := math.Inf(-1)
	for _, p := range picks {
		if p.scored {
			hi = max(hi, float64(p.score))
		}
	}
	if math.IsInf(hi, -1) {
		return
	}
	var sum float64
	ex := make([]float64, len(picks))
	for i, p := range picks {
		if p.scored {
			ex[i] = math.Exp(float64(p.score) - hi)
			sum += ex[i]
		}
	}
	for i, p := range picks {
		if p.scored {
			v := ex[i] / sum
			items[i].Score = &v
		}
	}
}

// Text renders the reason as a sentence: "Because you viewed Cloud
// Migration Service" for a one-word past-tense event type, "Because of your
// TRIAL_STARTED of X" otherwise (event types are free text, so only the
// common shape is turned into English).
func (b Because) Text() string {
	what := b.ItemName
	if what == "" {
		what = b.ItemID
	}
	ev := strings.ToLower(b.EventType)
	if ev != "" && !strings.ContainsAny(ev, "_ -") && strings.HasSuffix(ev, "ed") {
		return "Because you " + ev + " " + what
	}
	if b.EventType == "" {
		return "Because of your interest in " + what
	}
	return "Because of your " + b.EventType + " of " + what
}
