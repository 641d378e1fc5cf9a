package mf

import (
	"slices"

	"github.com/attune-dev/attune/internal/recipe"
)

// coldStart gives items with fewer than minCount interactions a vector from
// their metadata: the mean vector of the well-observed items sharing each of
// their categorical values, averaged over those values. An item with no
// interactions takes it as is; one with c interactions blends its own
// vector in with weight c/(c + minCount/2), so evidence takes over as it
// accumulates. It returns how many items it changed.
func coldStart(itemF []float32, k int, counts []int32, meta *recipe.ItemMeta, minCount int) int {
	if meta == nil || len(meta.Categorical) == 0 || minCount <= 0 {
		return 0
	}
	ni := len(counts)
	sum := make([]float32, ni*k) // per-item accumulated metadata vector
	n := make([]float32, ni)
	fields := make([]string, 0, len(meta.Categorical))
	for f := range meta.Categorical {
		fields = append(fields, f)
	}
	slices.Sort(fields) // map order would make float sums nondeterministic
	for _, f := range fields {
		vals := meta.Categorical[f]
		type agg struct {
			v []float32
			n float32
		}
		means := map[string]*agg{}
		for i := 0; i < min(ni, len(vals)); i++ {
			if int(counts[i]) < minCount {
				continue
			}
			for _, v := range vals[i] {
				a := means[v]
				if a == nil {
					a = &agg{v: make([]float32, k)}
					means[v] = a
				}
				recipe.Axpy(1, itemF[i*k:(i+1)*k], a.v)
				a.n++
			}
		}
		for i := 0; i < min(ni, len(vals)); i++ {
			if int(counts[i]) >= minCount {
				continue
			}
			for _, v := range vals[i] {
				if a := means[v]; a != nil {
					recipe.Axpy(1/a.n, a.v, sum[i*k:(i+1)*k])
					n[i]++
				}
			}
		}
	}
	changed := 0
	half := float32(minCount) / 2
	for i := 0; i < ni; i++ {
		if n[i] == 0 {
			continue
		}
		c := float32(counts[i])
		own := c / (c + half)
		row := itemF[i*k : (i+1)*k]
		for a := range row {
			row[a] = own*row[a] + (1-own)*sum[i*k+a]/n[i]
		}
		changed++
	}
	return changed
}
