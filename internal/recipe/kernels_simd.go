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
	switch {
	case !SIMDKernels || k < 8:
		dotRowsScalar(out, m, k, x)
	case k%8 != 0:
		x = x[:k]
		for r := range out {
			out[r] = dotAVX2(m[r*k:(r+1)*k], x)
		}
	default:
		dotRowsAVX2(out, m[:len(out)*k], k, x[:k])
	}
}

// ImplicitRows adds Σ_p (c0 + ca·val[p]·(target - y_i·v)) y_i to out, over
// the rows i = idx[p] of the row-major matrix y with k columns: the
// observed-entry part of an implicit-feedback least-squares product.
func ImplicitRows(out, y []float32, k int, idx []int32, val []float32, v []float32, c0, ca, target float32) {
	if !SIMDKernels || k < 8 {
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

// axpy64 sets y += alpha·x in float64.
func axpy64(alpha float64, x, y []float64) {
	if !SIMDKernels {
		axpy64Scalar(alpha, x, y)
		return
	}
	y = y[:len(x)]
	av := archsimd.BroadcastFloat64x4(alpha)
	for len(x) >= 16 && len(y) >= 16 {
		px, py := (*[16]float64)(x), (*[16]float64)(y)
		ld4(px[0:4]).MulAdd(av, ld4(py[0:4])).Store((*[4]float64)(py[0:4]))
		ld4(px[4:8]).MulAdd(av, ld4(py[4:8])).Store((*[4]float64)(py[4:8]))
		ld4(px[8:12]).MulAdd(av, ld4(py[8:12])).Store((*[4]float64)(py[8:12]))
		ld4(px[12:16]).MulAdd(av, ld4(py[12:16])).Store((*[4]float64)(py[12:16]))
		x, y = x[16:], y[16:]
	}
	for len(x) >= 4 && len(y) >= 4 {
		ld4(x[:4]).MulAdd(av, ld4(y[:4])).Store((*[4]float64)(y[:4]))
		x, y = x[4:], y[4:]
	}
	y = y[:len(x)]
	for i := range x {
		y[i] += alpha * x[i]
	}
}

// ld4 loads 4 float64s, like ld8.
func ld4(p []float64) archsimd.Float64x4 { return archsimd.LoadFloat64x4((*[4]float64)(p)) }

// hsum returns the sum of the lanes of s.
func hsum(s archsimd.Float32x8) float32 {
	q := s.GetLo().Add(s.GetHi())
	q = q.AddPairs(q)
	q = q.AddPairs(q)
	return q.GetElem(0)
}

// ld8 loads 8 floats; callers pass constant-bounded slices of an array
// pointer, which the compiler checks at compile time, not per load.
func ld8(p []float32) archsimd.Float32x8 { return archsimd.LoadFloat32x8((*[8]float32)(p)) }

// dotAVX2 is Dot for len(a) == len(b) >= 8. Four vector accumulators hide
// the FMA latency. The loops convert 32- and 8-element windows to array
// pointers: one length check per window instead of one per load.
func dotAVX2(a, b []float32) float32 {
	var s0, s1, s2, s3 archsimd.Float32x8
	for len(a) >= 32 && len(b) >= 32 {
		pa, pb := (*[32]float32)(a), (*[32]float32)(b)
		s0 = ld8(pa[0:8]).MulAdd(ld8(pb[0:8]), s0)
		s1 = ld8(pa[8:16]).MulAdd(ld8(pb[8:16]), s1)
		s2 = ld8(pa[16:24]).MulAdd(ld8(pb[16:24]), s2)
		s3 = ld8(pa[24:32]).MulAdd(ld8(pb[24:32]), s3)
		a, b = a[32:], b[32:]
	}
	for len(a) >= 8 && len(b) >= 8 {
		s0 = ld8(a[:8]).MulAdd(ld8(b[:8]), s0)
		a, b = a[8:], b[8:]
	}
	s := hsum(s0.Add(s1).Add(s2.Add(s3)))
	b = b[:len(a)]
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// axpyAVX2 is Axpy for len(x) == len(y) >= 8.
func axpyAVX2(alpha float32, x, y []float32) {
	av := archsimd.BroadcastFloat32x8(alpha)
	for len(x) >= 32 && len(y) >= 32 {
		px, py := (*[32]float32)(x), (*[32]float32)(y)
		ld8(px[0:8]).MulAdd(av, ld8(py[0:8])).Store((*[8]float32)(py[0:8]))
		ld8(px[8:16]).MulAdd(av, ld8(py[8:16])).Store((*[8]float32)(py[8:16]))
		ld8(px[16:24]).MulAdd(av, ld8(py[16:24])).Store((*[8]float32)(py[16:24]))
		ld8(px[24:32]).MulAdd(av, ld8(py[24:32])).Store((*[8]float32)(py[24:32]))
		x, y = x[32:], y[32:]
	}
	for len(x) >= 8 && len(y) >= 8 {
		ld8(x[:8]).MulAdd(av, ld8(y[:8])).Store((*[8]float32)(y[:8]))
		x, y = x[8:], y[8:]
	}
	y = y[:len(x)]
	for i := range x {
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
		blk := m[r*k : (r+4)*k]
		var a0, a1, a2, a3 archsimd.Float32x8
		for j := 0; j+8 <= k; j += 8 {
			xv := ld8(x[j : j+8])
			a0 = ld8(blk[j:j+8]).MulAdd(xv, a0)
			a1 = ld8(blk[k+j:k+j+8]).MulAdd(xv, a1)
			a2 = ld8(blk[2*k+j:2*k+j+8]).MulAdd(xv, a2)
			a3 = ld8(blk[3*k+j:3*k+j+8]).MulAdd(xv, a3)
		}
		// Per 128-bit half: [Σa0, Σa1, Σa2, Σa3] of that half's lanes.
		h := a0.AddPairsGrouped(a1).AddPairsGrouped(a2.AddPairsGrouped(a3))
		h.GetLo().Add(h.GetHi()).Store((*[4]float32)(out[r : r+4]))
	}
	// The last rows are reduced in the same order as a block's, so an
	// item's score never depends on its position or on how many items are
	// scored with it (a ranking request scores one at a time).
	var zero archsimd.Float32x8
	for ; r < n; r++ {
		row := m[r*k : (r+1)*k]
		var a0 archsimd.Float32x8
		for j := 0; j+8 <= k; j += 8 {
			a0 = ld8(row[j:j+8]).MulAdd(ld8(x[j:j+8]), a0)
		}
		h := a0.AddPairsGrouped(zero).AddPairsGrouped(zero)
		out[r] = h.GetLo().Add(h.GetHi()).GetElem(0)
	}
}
