// Package knn implements the item-item recipes: attune-ease (Steck's
// closed-form EASE model, a top-N baseline for small catalogues), aws-sims
// (co-occurrence similarity with Personalize's popularity discount) and
// aws-similar-items (co-occurrence blended with item-metadata similarity so
// cold items get neighbours). It is pure: standard library, internal/recipe
// and internal/errs only; it never imports a sibling recipe package.
package knn

import (
	"context"
	"io"
	"runtime"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
)

// EASE is the attune-ease recipe.
type EASE struct{}

// NewEASE returns attune-ease.
func NewEASE() EASE { return EASE{} }

// Name returns "attune-ease".
func (EASE) Name() string { return "attune-ease" }

// Type returns USER_PERSONALIZATION.
func (EASE) Type() recipe.Type { return recipe.UserPersonalization }

// Description says what the recipe does.
func (EASE) Description() string {
	return "EASE (Steck 2019): a closed-form item-item linear model for catalogues up to ease_max_items items; a baseline."
}

const (
	pLambda   = "regularization"
	pMaxItems = "ease_max_items"
	pWorkers  = "workers"
)

// Hyperparameters returns regularization (λ), ease_max_items and workers.
func (EASE) Hyperparameters() []recipe.Hyperparameter {
	return []recipe.Hyperparameter{
		recipe.FloatParam(pLambda, 400, 0.001, 1e7, true),
		recipe.IntParam(pMaxItems, 5000, 1, 20000, false),
		recipe.IntParam(pWorkers, 0, 0, 1024, false),
		recipe.ExcludeInteractedParam(),
	}
}

// EASEModel scores item j for a history H as Σ_{i∈H} B[i][j].
type EASEModel struct {
	items, users []string
	b            []float32   // items×items
	byUser       *recipe.CSR // training items per user, for queries without history
	popular      []int32
}

// Fit computes B from the binary user×item matrix. The catalogue must have
// at most ease_max_items items: fitting costs O(n³) time and 8n² bytes.
func (r EASE) Fit(ctx context.Context, data *recipe.Data, params recipe.Params, opts recipe.FitOptions) (recipe.Model, error) {
	v, err := recipe.ParseParams(r.Hyperparameters(), params)
	if err != nil {
		return nil, err
	}
	if err := recipe.ValidateData(data); err != nil {
		return nil, err
	}
	in := data.Interactions
	ni := len(in.ItemIDs)
	if ni > v.Int(pMaxItems) {
		return nil, errs.E(errs.Invalid, "hyperparameter %s: the catalogue has %d items, more than %d", errs.Quote(pMaxItems), ni, v.Int(pMaxItems))
	}
	workers := v.Int(pWorkers)
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	byUser := recipe.BuildCSR(len(in.UserIDs), in.User, in.Item, func(int) float32 { return 1 })
	for i := range byUser.Val {
		byUser.Val[i] = 1 // repeats of a pair count once
	}
	b, err := recipe.EASE(ctx, byUser, ni, v.Float(pLambda), workers)
	if err != nil {
		return nil, err
	}
	counts := make([]int32, ni)
	for _, it := range byUser.Idx {
		counts[it]++
	}
	if opts.Progress != nil {
		opts.Progress(1)
	}
	return &EASEModel{items: in.ItemIDs, users: in.UserIDs, b: b, byUser: byUser, popular: recipe.RankByCount(counts)}, nil
}

// Recommend scores items from q.History, or from the user's training items
// when the history is empty; without either it returns popular items.
func (m *EASEModel) Recommend(q recipe.Query, n int) []recipe.Scored {
	ni := len(m.items)
	var hist []int32
	for _, e := range q.History {
		if e.Item >= 0 && int(e.Item) < ni {
			hist = append(hist, e.Item)
		}
	}
	if len(hist) == 0 && q.User >= 0 && int(q.User) < m.byUser.Rows() {
		hist = m.byUser.Idx[m.byUser.Ptr[q.User]:m.byUser.Ptr[q.User+1]]
	}
	if len(hist) == 0 {
		return recipe.FillPopular(nil, m.popular, n, &q)
	}
	seen := make(map[int32]bool, len(hist))
	scores := make([]float32, ni)
	for _, it := range hist {
		if !seen[it] {
			seen[it] = true
			recipe.Axpy(1, m.b[int(it)*ni:int(it+1)*ni], scores)
		}
	}
	return recipe.SelectDense(scores, n, &q)
}

// Items returns the item index -> ITEM_ID table.
func (m *EASEModel) Items() []string { return m.items }

// Users returns the user index -> USER_ID table.
func (m *EASEModel) Users() []string { return m.users }

const easeVersion = 1

// Encode writes the id tables, B, the user histories and the popular order.
func (m *EASEModel) Encode(w io.Writer) error {
	e := recipe.NewEncoder(w, "attune-ease", easeVersion)
	e.Strings(m.items)
	e.Strings(m.users)
	e.F32s(m.b)
	e.I64s(m.byUser.Ptr)
	e.I32s(m.byUser.Idx)
	e.I32s(m.popular)
	return e.Close()
}

// Decode reads a model written by EASEModel.Encode.
func (EASE) Decode(r io.Reader) (recipe.Model, error) {
	d := recipe.NewDecoder(r, "attune-ease", easeVersion)
	m := &EASEModel{items: d.Strings(), users: d.Strings(), b: d.F32s()}
	ptr, idx := d.I64s(), d.I32s()
	m.popular = d.I32s()
	ni := len(m.items)
	d.Check(len(m.b) == ni*ni && len(ptr) == len(m.users)+1 && len(m.popular) == ni, "array lengths disagree")
	if d.Err() == nil {
		d.Check(ptr[len(ptr)-1] == int64(len(idx)), "user index")
		for _, it := range append(idx, m.popular...) {
			if it < 0 || int(it) >= ni {
				d.Check(false, "item index out of range")
				break
			}
		}
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	m.byUser = &recipe.CSR{Ptr: ptr, Idx: idx, Val: nil}
	return m, nil
}
