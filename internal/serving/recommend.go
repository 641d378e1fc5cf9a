package serving

import (
	"context"
	"math"
	"slices"

	"github.com/google/uuid"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
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
	Campaign string
	UserID   string
	ItemID   string // anchor of RELATED_ITEMS
	// NumResults is the number of items wanted; 0 means DefaultResults.
	NumResults int
	// InputList is GetPersonalizedRanking's candidate list.
	InputList []string
	// MetadataColumns are Items dataset columns to return with each item.
	MetadataColumns []string
}

// Item is one recommended or ranked item.
type Item struct {
	ID string
	// Score is set for personalized recipes: a softmax over the returned
	// list, so scores sum to 1 and compare across items of one answer.
	// Related-items and popularity recipes give none, as Personalize.
	Score    *float64
	Metadata map[string]string
}

// Result is an answer.
type Result struct {
	Items            []Item
	RecommendationID string
}

func (s *Service) newRecommendationID() string {
	if s.opts.NewID != nil {
		return "RID-" + s.opts.NewID()
	}
	return "RID-" + uuid.NewString()
}

// Recommend answers GetRecommendations. By recipe type:
//   - USER_PERSONALIZATION: userId is required; items the user already
//     interacted with (within the kept recent history) are left out, since
//     recommending what someone just viewed or bought is rarely wanted; a
//     user unknown at training is folded in from stored and live events,
//     and one with no events gets popular items.
//   - POPULAR_ITEMS: userId optional; nothing is excluded.
//   - RELATED_ITEMS: itemId is required; an unknown item gets popular items.
//
// Errors: errs.NotFound for an unknown campaign, errs.Unavailable while it
// loads, errs.Invalid for bad input or a campaign whose recipe does not
// serve GetRecommendations.
func (s *Service) Recommend(ctx context.Context, r Request) (*Result, error) {
	l, err := s.lookup(r.Campaign)
	if err != nil {
		return nil, err
	}
	n, err := checkCount(r.NumResults, len(r.MetadataColumns) > 0)
	if err != nil {
		return nil, err
	}
	if err := l.checkMetadata(r.MetadataColumns); err != nil {
		return nil, err
	}
	q := recipe.Query{User: -1, Item: -1}
	personal := false
	switch l.meta.RecipeType {
	case recipe.UserPersonalization:
		if r.UserID == "" {
			return nil, errs.E(errs.Invalid, "userId is required: campaign %s uses a USER_PERSONALIZATION recipe (%s)", r.Campaign, l.meta.Recipe)
		}
		personal = true
		var seen []int32
		q.History, seen = l.history(r.UserID)
		q.User = l.user(r.UserID)
		if len(seen) > 0 {
			slices.Sort(seen)
			q.Exclude = func(it int32) bool { _, found := slices.BinarySearch(seen, it); return found }
		}
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
	scored := l.m.Recommend(q, n)
	items := make([]Item, len(scored))
	for i, sc := range scored {
		items[i].ID = l.items[sc.Item]
	}
	if personal {
		softmax(items, scored)
	}
	l.attachMetadata(items, r.MetadataColumns)
	return &Result{Items: items, RecommendationID: s.newRecommendationID()}, nil
}

// Rank answers GetPersonalizedRanking: the input list ordered for the user,
// with items unknown to the model appended at the end, in input order and
// without a score. Besides PERSONALIZED_RANKING campaigns, Attune also ranks
// with USER_PERSONALIZATION and POPULAR_ITEMS campaigns, whose models score
// any candidate set; Personalize rejects those.
func (s *Service) Rank(ctx context.Context, r Request) (*Result, error) {
	l, err := s.lookup(r.Campaign)
	if err != nil {
		return nil, err
	}
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
	switch l.meta.RecipeType {
	case recipe.PersonalizedRanking, recipe.UserPersonalization, recipe.PopularItems:
	default:
		return nil, errs.E(errs.Invalid, "campaign %s uses a %s recipe (%s), which cannot rank a list", r.Campaign, l.meta.RecipeType, l.meta.Recipe)
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
			known = append(known, it)
		} else {
			unknown = append(unknown, id)
		}
	}
	q := recipe.Query{User: l.user(r.UserID), Item: -1, Candidates: known}
	if l.meta.RecipeType != recipe.PopularItems {
		q.History, _ = l.history(r.UserID)
	}
	var scored []recipe.Scored
	if len(known) > 0 {
		scored = l.m.Recommend(q, len(known))
	}
	items := make([]Item, 0, len(known)+len(unknown))
	for _, sc := range scored {
		items = append(items, Item{ID: l.items[sc.Item]})
	}
	if l.meta.RecipeType != recipe.PopularItems {
		softmax(items, scored)
	}
	for _, id := range unknown {
		items = append(items, Item{ID: id})
	}
	l.attachMetadata(items, r.MetadataColumns)
	return &Result{Items: items, RecommendationID: s.newRecommendationID()}, nil
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

// user returns the model's index of a user id, or -1.
func (l *loaded) user(id string) int32 {
	if u, ok := l.userIndex[id]; ok {
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
			return errs.E(errs.Invalid, "metadataColumns: the Items dataset has no column %q", c)
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

// softmax sets items[i].Score to the softmax of scored[i].Score over the
// list. Personalize normalises over the whole catalogue, which makes scores
// vanishingly small on big catalogues; over the returned list they keep
// the same order and ratios and stay readable.
func softmax(items []Item, scored []recipe.Scored) {
	if len(scored) == 0 {
		return
	}
	hi := math.Inf(-1)
	for _, s := range scored {
		hi = max(hi, float64(s.Score))
	}
	var sum float64
	ex := make([]float64, len(scored))
	for i, s := range scored {
		ex[i] = math.Exp(float64(s.Score) - hi)
		sum += ex[i]
	}
	for i := range scored {
		v := ex[i] / sum
		items[i].Score = &v
	}
}
