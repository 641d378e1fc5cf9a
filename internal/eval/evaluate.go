package eval

import (
	"context"
	"fmt"
	"time"

	"github.com/attune-dev/attune/internal/recipe"
)

// Options configures Evaluate. The zero value is usable.
type Options struct {
	// Seed is passed to the recipe's Fit.
	Seed int64
	// FitTime is the training clock given to Fit (recency and trending
	// windows). Zero means the latest TIMESTAMP in the training
	// interactions, so that historical data is not judged from today.
	FitTime time.Time
	// Clock measures train_seconds. Nil means train_seconds is reported as 0
	// (eval never reads the wall clock itself).
	Clock func() time.Time
}

// Result is the outcome of Evaluate.
type Result struct {
	// Metrics maps Personalize's metric keys (coverage,
	// mean_reciprocal_rank_at_25, normalized_discounted_cumulative_gain_at_K,
	// precision_at_K, recall_at_K for K in Cutoffs) and train_seconds to
	// their values.
	Metrics map[string]float64
	// Users is the number of test users scored.
	Users int
}

// Mode says how a model is queried for a test user.
type Mode int

// The modes.
const (
	// ModeUser asks for the user's top items (USER_PERSONALIZATION,
	// POPULAR_ITEMS): Query{User, History, Exclude: history items}.
	ModeUser Mode = iota
	// ModeNextItem is next-item prediction for RELATED_ITEMS models: the
	// anchor is the user's latest history item (a user with no known history
	// item gets an empty list), history items are excluded.
	ModeNextItem
)

// ModeFor returns the mode that fits a recipe type.
func ModeFor(t recipe.Type) Mode {
	if t == recipe.RelatedItems {
		return ModeNextItem
	}
	return ModeUser
}

// Recommender is the part of recipe.Model that evaluation needs.
type Recommender interface {
	Recommend(q recipe.Query, n int) []recipe.Scored
}

// Evaluate fits r on train with params and scores the model on test, in the
// mode ModeFor(r.Type()). Fit errors are returned wrapped (a bad
// hyperparameter stays errs.Invalid); ctx ends the evaluation early with
// ctx.Err().
func Evaluate(ctx context.Context, r recipe.Recipe, params recipe.Params, train *recipe.Data, test TestSet, opts Options) (Result, error) {
	fitTime := opts.FitTime
	if fitTime.IsZero() {
		fitTime = time.Unix(latest(train.Interactions), 0).UTC()
	}
	var start time.Time
	if opts.Clock != nil {
		start = opts.Clock()
	}
	m, err := r.Fit(ctx, train, params, recipe.FitOptions{Seed: opts.Seed, Now: fitTime})
	if err != nil {
		return Result{}, fmt.Errorf("evaluate %s: fit: %w", r.Name(), err)
	}
	var secs float64
	if opts.Clock != nil {
		secs = opts.Clock().Sub(start).Seconds()
	}
	res, err := EvaluateModel(ctx, m, test, ModeFor(r.Type()), fitTime.Unix())
	if err != nil {
		return Result{}, fmt.Errorf("evaluate %s: %w", r.Name(), err)
	}
	res.Metrics[KeyTrainSeconds] = secs
	return res, nil
}

// latest returns the largest timestamp in d, or 0 for an empty set.
func latest(d *recipe.Interactions) int64 {
	var t int64
	for _, x := range d.Time {
		t = max(t, x)
	}
	return t
}

// EvaluateModel asks m for the top MaxK items of every user in test and
// averages the metrics. now is the request time (epoch seconds) given to the
// model, raised to the user's latest history event when that is later. The
// returned Metrics has no train_seconds.
func EvaluateModel(ctx context.Context, m Recommender, test TestSet, mode Mode, now int64) (Result, error) {
	acc := NewAccumulator(test.Catalog)
	// excluded is reused across users: marked before a query and cleared
	// after, so a query costs O(history), not O(catalogue).
	excluded := make([]bool, test.Catalog)
	exclude := func(item int32) bool { return item >= 0 && int(item) < len(excluded) && excluded[item] }
	ranked := make([]int32, 0, MaxK)
	for i, tu := range test.Users {
		if i%64 == 0 && ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		q := recipe.Query{User: tu.User, History: tu.History, Item: -1, Exclude: exclude, Now: now}
		for _, ev := range tu.History {
			if ev.Item >= 0 {
				excluded[ev.Item] = true
				q.Item = ev.Item // the last known one wins: the anchor
			}
			q.Now = max(q.Now, ev.Time)
		}
		ranked = ranked[:0]
		if mode == ModeUser || q.Item >= 0 {
			if mode == ModeUser {
				q.Item = -1
			}
			for _, s := range m.Recommend(q, MaxK) {
				// Models are asked to honour Exclude; this keeps a model
				// that does not from being credited with history items.
				if !exclude(s.Item) {
					ranked = append(ranked, s.Item)
				}
			}
		}
		for _, ev := range tu.History {
			if ev.Item >= 0 {
				excluded[ev.Item] = false
			}
		}
		acc.Add(ranked, tu.Relevant)
	}
	return Result{Metrics: acc.Metrics(), Users: acc.Users()}, nil
}
