package mf

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attune-dev/attune/internal/recipe"
)

// TestBlendSparseMatchesDense checks that blending the sparse transition
// component gives the totals that standardising its dense vector gives.
func TestBlendSparseMatchesDense(t *testing.T) {
	const n = 1000
	rng := rand.New(rand.NewPCG(5, 6))
	m := &Model{wMF: 1, wSeq: 0.2, seq: &recipe.CSR{Ptr: make([]int64, n+1)}}
	s := &scratch{total: make([]float32, n), seq: make([]float32, n)}
	want := make([]float32, n)
	for i := range s.total {
		s.total[i] = float32(rng.NormFloat64())
	}
	copy(want, s.total)
	var hot []int32
	for p := 3; p < n; p += 37 {
		hot = append(hot, int32(p))
		s.seq[p] = rng.Float32()
	}
	dense := make([]float32, n)
	copy(dense, s.seq)
	m.blend(want, dense, m.wSeq)
	m.blendSparse(s, hot)
	for i := range want {
		if math.Abs(float64(s.total[i]-want[i])) > 1e-6 {
			t.Fatalf("total[%d] = %g, want %g", i, s.total[i], want[i])
		}
	}
}

// TestExplainRanksHistoryBySimilarity checks that the history item whose
// factors point the way of the explained item explains it most, that
// shares are positive and at most 1, and that an item never explains itself.
func TestExplainRanksHistoryBySimilarity(t *testing.T) {
	m := &Model{items: []string{"a", "b", "c", "d"}, k: 2, wMF: 1, maxHist: 100,
		itemF: []float32{1, 0, 0.9, 0.1, 0, 1, -1, 0}}
	hist := []recipe.Event{{Item: 1, Time: 1}, {Item: 2, Time: 2}, {Item: 3, Time: 3}, {Item: 0, Time: 4}}
	tests := []struct {
		name  string
		item  int32
		k     int
		first int32
		n     int
	}{
		{"a is explained by b", 0, 3, 1, 1},
		{"c is explained by b alone: a is orthogonal, d opposite", 2, 3, 1, 1},
		{"d is explained by nothing positive", 3, 3, -1, 0},
		{"k caps the list", 2, 1, 1, 1},
		{"unknown item", 9, 3, -1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := m.Explain(recipe.Query{History: hist}, tc.item, tc.k)
			if len(got) != tc.n {
				t.Fatalf("Explain(%d) = %v, want %d contributions", tc.item, got, tc.n)
			}
			var sum float32
			for _, c := range got {
				if c.Item == tc.item || c.Weight <= 0 || c.Weight > 1 {
					t.Errorf("Explain(%d) has %+v, want another item with a share in (0,1]", tc.item, c)
				}
				sum += c.Weight
			}
			if tc.n > 0 && (got[0].Item != tc.first || sum > 1.0001) {
				t.Errorf("Explain(%d) = %v, want %d first and shares summing to at most 1", tc.item, got, tc.first)
			}
		})
	}
}
