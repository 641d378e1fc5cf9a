package mf

import (
	"slices"

	"github.com/attune-dev/attune/internal/recipe"
)

// Explain implements recipe.Explainer: the history items whose own
// component of item's score is largest. With matrix factorisation the
// folded-in user vector is (up to the shared Gram solve) a weighted sum of
// the history items' factors, so w_h·(y_h·y_i) is each history item's part
// of the score; when the model leans on EASE instead (wEASE > wMF) its
// w_h·B[h][i] term is used, which is exactly additive. Transitions are left
// out: they favour the newest items, which the explanation then repeats
// with little to add. Cost: one k-dot per distinct history item.
func (m *Model) Explain(q recipe.Query, item int32, k int) []recipe.Contribution {
	if item < 0 || int(item) >= len(m.items) || k <= 0 {
		return nil
	}
	agg, _ := m.history(q.History)
	return m.explain(agg, item, k)
}

// ExplainEach implements recipe.BatchExplainer: Explain for each of items,
// aggregating the history once.
func (m *Model) ExplainEach(q recipe.Query, items []int32, k int) [][]recipe.Contribution {
	agg, _ := m.history(q.History)
	out := make([][]recipe.Contribution, len(items))
	for i, it := range items {
		if it >= 0 && int(it) < len(m.items) && k > 0 {
			out[i] = m.explain(agg, it, k)
		}
	}
	return out
}

func (m *Model) explain(agg []weighted, item int32, k int) []recipe.Contribution {
	if len(agg) == 0 {
		return nil
	}
	useEASE := m.ease != nil && m.wEASE > m.wMF
	ni := len(m.items)
	yi := m.itemF[int(item)*m.k : int(item+1)*m.k]
	out := make([]recipe.Contribution, 0, len(agg))
	var total float32
	for _, h := range agg {
		if h.item == item {
			continue // an item does not explain itself
		}
		var c float32
		if useEASE {
			c = h.w * m.ease[int(h.item)*ni+int(item)]
		} else {
			c = h.w * recipe.Dot(m.itemF[int(h.item)*m.k:int(h.item+1)*m.k], yi)
		}
		if c > 0 {
			out = append(out, recipe.Contribution{Item: h.item, Weight: c})
			total += c
		}
	}
	slices.SortFunc(out, func(a, b recipe.Contribution) int {
		switch {
		case a.Weight > b.Weight:
			return -1
		case a.Weight < b.Weight:
			return 1
		}
		return int(a.Item - b.Item)
	})
	if len(out) > k {
		out = out[:k]
	}
	for i := range out {
		out[i].Weight /= total
	}
	return out
}
