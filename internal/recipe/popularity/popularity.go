// Package popularity implements the POPULAR_ITEMS recipes: aws-popularity-count
// (most distinct users per item) and aws-trending-now (fastest growth of
// interactions between two consecutive windows). Popular lists are the same
// for everyone, so a model is one ranked item list. The package is pure: it
// imports the standard library, internal/recipe and internal/errs only, and
// never a sibling recipe package.
package popularity

import (
	"context"
	"io"

	"github.com/attune-dev/attune/internal/recipe"
)

// Model is a fixed ranking of items: the same list for every query.
type Model struct {
	kind   string
	items  []string
	users  []string
	order  []int32   // items best first; every item appears once
	scores []float32 // score per item index
}

// Recommend returns the top n items of the ranking that pass q's Candidates
// and Exclude; with Candidates it ranks exactly those.
func (m *Model) Recommend(q recipe.Query, n int) []recipe.Scored {
	if q.Candidates != nil {
		return recipe.SelectDense(m.scores, n, &q)
	}
	out := make([]recipe.Scored, 0, min(n, len(m.order)))
	for _, it := range m.order {
		if len(out) >= n {
			break
		}
		if q.Exclude != nil && q.Exclude(it) {
			continue
		}
		out = append(out, recipe.Scored{Item: it, Score: m.scores[it]})
	}
	return out
}

// Items returns the item index -> ITEM_ID table.
func (m *Model) Items() []string { return m.items }

// Users returns the user index -> USER_ID table.
func (m *Model) Users() []string { return m.users }

// Scores returns the score per item index (distinct users for
// popularity-count, growth for trending-now).
func (m *Model) Scores() []float32 { return m.scores }

const formatVersion = 1

// Encode writes the model: header, id tables, scores and order.
func (m *Model) Encode(w io.Writer) error {
	e := recipe.NewEncoder(w, m.kind, formatVersion)
	e.Strings(m.items)
	e.Strings(m.users)
	e.F32s(m.scores)
	e.I32s(m.order)
	return e.Close()
}

func decode(r io.Reader, kind string) (*Model, error) {
	d := recipe.NewDecoder(r, kind, formatVersion)
	m := &Model{kind: kind, items: d.Strings(), users: d.Strings(), scores: d.F32s(), order: d.I32s()}
	d.Check(len(m.scores) == len(m.items) && len(m.order) == len(m.items), "array lengths disagree")
	for _, it := range m.order {
		if it < 0 || int(it) >= len(m.items) {
			d.Check(false, "item index out of range")
			break
		}
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

// newModel ranks items by score, ties broken by tie (higher first) and then
// by index.
func newModel(kind string, in *recipe.Interactions, scores, tie []float32) *Model {
	order := make([]int32, len(scores))
	for i := range order {
		order[i] = int32(i)
	}
	sortOrder(order, scores, tie)
	return &Model{kind: kind, items: in.ItemIDs, users: in.UserIDs, order: order, scores: scores}
}

// PopularityCount is the aws-popularity-count recipe.
type PopularityCount struct{}

// NewPopularityCount returns the aws-popularity-count recipe.
func NewPopularityCount() PopularityCount { return PopularityCount{} }

// Name returns "aws-popularity-count".
func (PopularityCount) Name() string { return "aws-popularity-count" }

// Type returns POPULAR_ITEMS.
func (PopularityCount) Type() recipe.Type { return recipe.PopularItems }

// Description says what the recipe does.
func (PopularityCount) Description() string {
	return "Recommends the items with the most distinct users, the same list for everyone; the baseline for offline metrics."
}

// Hyperparameters returns none: popularity-count has no hyperparameters.
func (PopularityCount) Hyperparameters() []recipe.Hyperparameter { return nil }

// Fit counts distinct users per item.
func (PopularityCount) Fit(ctx context.Context, data *recipe.Data, params recipe.Params, opts recipe.FitOptions) (recipe.Model, error) {
	if _, err := recipe.ParseParams(nil, params); err != nil {
		return nil, err
	}
	if err := recipe.ValidateData(data); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	counts := recipe.UserCounts(data.Interactions)
	scores := make([]float32, len(counts))
	for i, c := range counts {
		scores[i] = float32(c)
	}
	m := newModel("aws-popularity-count", data.Interactions, scores, nil)
	if opts.Progress != nil {
		opts.Progress(1)
	}
	return m, nil
}

// Decode reads a model written by Encode.
func (PopularityCount) Decode(r io.Reader) (recipe.Model, error) {
	return decode(r, "aws-popularity-count")
}
