package recipe

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func randVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// close32 compares with a tolerance relative to the magnitude of the terms
// summed (scale), since SIMD code adds in another order and fuses
// multiply-adds.
func close32(got, want, scale float32) bool {
	return math.Abs(float64(got-want)) <= 1e-5*float64(scale)+1e-6
}

// TestKernelsMatchScalar checks the exported kernels (SIMD when the build
// and CPU have it) against the scalar reference at lengths that exercise
// every unrolled loop and tail.
func TestKernelsMatchScalar(t *testing.T) {
	t.Logf("SIMD kernels: %v", SIMDKernels)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 128, 200, 512} {
		a, b := randVec(rng, n), randVec(rng, n)
		var scale float32
		for i := range a {
			scale += float32(math.Abs(float64(a[i] * b[i])))
		}
		if got, want := Dot(a, b), dotScalar(a, b); !close32(got, want, scale) {
			t.Errorf("Dot(n=%d) = %g, want %g", n, got, want)
		}
		x64, z1, z2 := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range x64 {
			x64[i], z1[i] = rng.NormFloat64(), rng.NormFloat64()
		}
		copy(z2, z1)
		axpy64(-0.3, x64, z1)
		axpy64Scalar(-0.3, x64, z2)
		for i := range z1 {
			if math.Abs(z1[i]-z2[i]) > 1e-12*(1+math.Abs(z2[i])) {
				t.Fatalf("axpy64(n=%d)[%d] = %g, want %g", n, i, z1[i], z2[i])
			}
		}
		y1, y2 := randVec(rng, n), make([]float32, n)
		copy(y2, y1)
		Axpy(0.37, a, y1)
		axpyScalar(0.37, a, y2)
		for i := range y1 {
			if !close32(y1[i], y2[i], 1+float32(math.Abs(float64(y2[i])))) {
				t.Fatalf("Axpy(n=%d)[%d] = %g, want %g", n, i, y1[i], y2[i])
			}
		}
	}
	for _, k := range []int{4, 8, 12, 16, 24, 64, 72, 128} {
		for _, rows := range []int{0, 1, 3, 4, 5, 8, 11, 64} {
			t.Run(fmt.Sprintf("k=%d/rows=%d", k, rows), func(t *testing.T) {
				m, x := randVec(rng, rows*k), randVec(rng, k)
				got, want := make([]float32, rows), make([]float32, rows)
				DotRows(got, m, k, x)
				dotRowsScalar(want, m, k, x)
				for r := range got {
					if !close32(got[r], want[r], float32(k)) {
						t.Errorf("DotRows[%d] = %g, want %g", r, got[r], want[r])
					}
				}
				idx := make([]int32, 2*rows)
				val := randVec(rng, len(idx))
				for p := range idx {
					idx[p] = int32(rng.IntN(max(rows, 1)))
				}
				if rows == 0 {
					idx, val = nil, nil
				}
				v := randVec(rng, k)
				o1, o2 := randVec(rng, k), make([]float32, k)
				copy(o2, o1)
				ImplicitRows(o1, m, k, idx, val, v, 1, 0.5, 1)
				implicitRowsScalar(o2, m, k, idx, val, v, 1, 0.5, 1)
				for a := range o1 {
					if !close32(o1[a], o2[a], float32(len(idx)*k)) {
						t.Errorf("ImplicitRows[%d] = %g, want %g", a, o1[a], o2[a])
					}
				}
			})
		}
	}
}

func BenchmarkDot64(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, y := randVec(rng, 64), randVec(rng, 64)
	var s float32
	for b.Loop() {
		s += Dot(x, y)
	}
	_ = s
}

// BenchmarkDotRows scores 100k items of 64 factors: the serving scan.
func BenchmarkDotRows(b *testing.B) {
	const n, k = 100_000, 64
	rng := rand.New(rand.NewPCG(1, 2))
	m, x, out := randVec(rng, n*k), randVec(rng, k), make([]float32, n)
	for b.Loop() {
		DotRows(out, m, k, x)
	}
}

// BenchmarkImplicitRows is one CG product over a 50-item row at k=64.
func BenchmarkImplicitRows(b *testing.B) {
	const n, k = 10_000, 64
	rng := rand.New(rand.NewPCG(1, 2))
	y, v, out := randVec(rng, n*k), randVec(rng, k), make([]float32, k)
	idx := make([]int32, 50)
	for p := range idx {
		idx[p] = int32(rng.IntN(n))
	}
	val := randVec(rng, len(idx))
	for b.Loop() {
		ImplicitRows(out, y, k, idx, val, v, 0, -5, 0)
	}
}

// BenchmarkInvertSPD inverts a 600×600 Gram matrix: EASE's fitting cost.
func BenchmarkInvertSPD(b *testing.B) {
	const n = 600
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, 2*n*n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	g := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			for r := 0; r < 2*n; r += 97 {
				g[i*n+j] += x[r*n/2+i%(n/2)] * x[r*n/2+j%(n/2)]
			}
		}
		g[i*n+i] += n
	}
	a := make([]float64, n*n)
	for b.Loop() {
		copy(a, g)
		if ok, err := InvertSPD(b.Context(), a, n, 2); !ok || err != nil {
			b.Fatal("not SPD")
		}
	}
}
