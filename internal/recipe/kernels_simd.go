//go:build goexperiment.simd && amd64

package recipe

import "simd/archsimd"

// SIMDKernels reports whether the float32 kernels use SIMD instructions: true
// when built with GOEXPERIMENT=simd and the CPU has AVX2 and FMA.
var SIMDKernels = archsimd.X86.AVX2() && archsimd.X86.FMA()

// Dot returns a·b over len(a) elements.
func Dot(a, b []float32) float32 {
	if !SIMDKernels || len(a) < 8 {
		return dotScalar(a, b)
	}
	return dotAVX2(a, b[:len(a)])
}

// Axpy sets y += alpha·x.
func Axpy(alpha float32, x, y []float32) {
	if !SIMDKernels || len(x) < 8 {
		axpyScalar(alpha, x, y)
		return
	}
	axpyAVX2(alpha, x, y[:len(x)])
}

// DotRows sets out[r] = m[r·k:(r+1)·k]·x for every r < len(out): scoring
// len(out) consecutive rows of a row-major matrix against one vector.
func DotRows(out, m []float32, k int, x []float32) {
	if !SIMDKernels || k%8 != 0 {
		dotRowsScalar(out, m, k, x)
		return
	}
	dotRowsAVX2(out, m[:len(out)*k], k, x[:k])
}

// ImplicitRows adds Σ_p (c0 + ca·val[p]·(target - y_i·v)) y_i to out, over
// the rows i = idx[p] of the row-major matrix y with k columns: the
// observed-entry part of an implicit-feedback least-squares product.
func ImplicitRows(out, y []float32, k int, idx []int32, val []float32, v []float32, c0, ca, target float32) {
	if !SIMDKernels || k%8 != 0 {
		implicitRowsScalar(out, y, k, idx, val, v, c0, ca, target)
		return
	}
	val = val[:len(idx)]
	v, out = v[:k], out[:k]
	for p, i := range idx {
		yi := y[int(i)*k : int(i+1)*k]
		axpyAVX2(c0+ca*val[p]*(target-dotAVX2(yi, v)), yi, out)
	}
}

// hsum returns the sum of the lanes of s.
func hsum(s archsimd.Float32x8) float32 {
	q := s.GetLo().Add(s.GetHi())
	q = q.AddPairs(q)
	q = q.AddPairs(q)
	return q.GetElem(0)
}

// dotAVX2 is Dot for len(a) == len(b) >= 8. Four vector accumulators hide
// the FMA latency.
func dotAVX2(a, b []float32) float32 {
	var s0, s1, s2, s3 archsimd.Float32x8
	n := len(a)
	i := 0
	for ; i+32 <= n; i += 32 {
		s0 = archsimd.LoadFloat32x8Slice(a[i:]).MulAdd(archsimd.LoadFloat32x8Slice(b[i:]), s0)
		s1 = archsimd.LoadFloat32x8Slice(a[i+8:]).MulAdd(archsimd.LoadFloat32x8Slice(b[i+8:]), s1)
		s2 = archsimd.LoadFloat32x8Slice(a[i+16:]).MulAdd(archsimd.LoadFloat32x8Slice(b[i+16:]), s2)
		s3 = archsimd.LoadFloat32x8Slice(a[i+24:]).MulAdd(archsimd.LoadFloat32x8Slice(b[i+24:]), s3)
	}
	for ; i+8 <= n; i += 8 {
		s0 = archsimd.LoadFloat32x8Slice(a[i:]).MulAdd(archsimd.LoadFloat32x8Slice(b[i:]), s0)
	}
	s := hsum(s0.Add(s1).Add(s2.Add(s3)))
	for ; i < n; i++ {
		s += a[i] * b[i]
	}
	return s
}

// axpyAVX2 is Axpy for len(x) == len(y) >= 8.
func axpyAVX2(alpha float32, x, y []float32) {
	av := archsimd.BroadcastFloat32x8(alpha)
	n := len(x)
	i := 0
	for ; i+16 <= n; i += 16 {
		archsimd.LoadFloat32x8Slice(x[i:]).MulAdd(av, archsimd.LoadFloat32x8Slice(y[i:])).StoreSlice(y[i:])
		archsimd.LoadFloat32x8Slice(x[i+8:]).MulAdd(av, archsimd.LoadFloat32x8Slice(y[i+8:])).StoreSlice(y[i+8:])
	}
	for ; i+8 <= n; i += 8 {
		archsimd.LoadFloat32x8Slice(x[i:]).MulAdd(av, archsimd.LoadFloat32x8Slice(y[i:])).StoreSlice(y[i:])
	}
	for ; i < n; i++ {
		y[i] += alpha * x[i]
	}
}

// dotRowsAVX2 is DotRows for k a multiple of 8. It scores four rows at a
// time, one accumulator each, so four independent FMA chains are in flight
// and each loaded piece of x serves four rows; the four sums are reduced
// together with two rounds of horizontal adds.
func dotRowsAVX2(out, m []float32, k int, x []float32) {
	n := len(out)
	r := 0
	for ; r+4 <= n; r += 4 {
		m0 := m[r*k : (r+1)*k]
		m1 := m[(r+1)*k : (r+2)*k]
		m2 := m[(r+2)*k : (r+3)*k]
		m3 := m[(r+3)*k : (r+4)*k]
		var a0, a1, a2, a3 archsimd.Float32x8
		for j := 0; j+8 <= k; j += 8 {
			xv := archsimd.LoadFloat32x8Slice(x[j:])
			a0 = archsimd.LoadFloat32x8Slice(m0[j:]).MulAdd(xv, a0)
			a1 = archsimd.LoadFloat32x8Slice(m1[j:]).MulAdd(xv, a1)
			a2 = archsimd.LoadFloat32x8Slice(m2[j:]).MulAdd(xv, a2)
			a3 = archsimd.LoadFloat32x8Slice(m3[j:]).MulAdd(xv, a3)
		}
		// Per 128-bit half: [Σa0, Σa1, Σa2, Σa3] of that half's lanes.
		h := a0.AddPairsGrouped(a1).AddPairsGrouped(a2.AddPairsGrouped(a3))
		h.GetLo().Add(h.GetHi()).StoreSlice(out[r:])
	}
	for ; r < n; r++ {
		out[r] = dotAVX2(m[r*k:(r+1)*k], x)
	}
}
