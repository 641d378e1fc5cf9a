package recipe

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSelectDotMatchesSelectDense checks that the fused scan returns what
// scoring every item and selecting from the dense vector returns.
func TestSelectDotMatchesSelectDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, k := range []int{5, 16, 24} {
		const ni = 2500 // more than two scan blocks
		y, x := randVec(rng, ni*k), randVec(rng, k)
		scores := make([]float32, ni)
		DotRows(scores, y, k, x)
		for i := range scores {
			scores[i] *= 2
			// Scoring a row alone must give its score among all rows.
			var one [1]float32
			DotRows(one[:], y[i*k:], k, x)
			if 2*one[0] != scores[i] {
				t.Fatalf("DotRows of row %d alone = %g, with the others %g", i, 2*one[0], scores[i])
			}
		}
		excl := func(it int32) bool { return it%3 == 0 }
		cands := []int32{7, 2400, 13, 5, 999, 1}
		for _, tc := range []struct {
			name string
			q    Query
		}{
			{"all", Query{}},
			{"exclude", Query{Exclude: excl}},
			{"candidates", Query{Candidates: cands, Exclude: excl}},
		} {
			t.Run(fmt.Sprintf("k=%d/%s", k, tc.name), func(t *testing.T) {
				got := SelectDot(y, k, x, 2, 25, &tc.q)
				want := SelectDense(scores, 25, &tc.q)
				if !slices.Equal(got, want) {
					t.Errorf("SelectDot = %v, want %v", got, want)
				}
			})
		}
	}
}
