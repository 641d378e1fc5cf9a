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
