package recipe

// The float32 kernels below carry nearly all of the arithmetic of training
// (conjugate-gradient row solves) and serving (scoring every item). Each has
// a portable scalar version here, which is both the fallback of a plain
// build and the reference the SIMD versions are tested against; the exported
// entry points (Dot, Axpy, DotRows, MulSym, ImplicitRows) pick SIMD code when
// the build has GOEXPERIMENT=simd on amd64 and the CPU has AVX2 and FMA
// (kernels_simd.go), and these otherwise (kernels_generic.go).
//
// The kernels are hand-written because no numeric library in the module's
// dependency rules offers float32 BLAS-1/2 routines with SIMD for pure Go.

// dotScalar returns a·b over len(a) elements. Four independent accumulators
// let the CPU overlap the floating-point adds, about twice as fast as one.
func dotScalar(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// axpyScalar sets y += alpha·x.
func axpyScalar(alpha float32, x, y []float32) {
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		y[i] += alpha * x[i]
		y[i+1] += alpha * x[i+1]
		y[i+2] += alpha * x[i+2]
		y[i+3] += alpha * x[i+3]
	}
	for ; i < len(x); i++ {
		y[i] += alpha * x[i]
	}
}

// dotRowsScalar sets out[r] = m[r·k:(r+1)·k]·x for every r < len(out).
func dotRowsScalar(out, m []float32, k int, x []float32) {
	x = x[:k]
	for r := range out {
		out[r] = dotScalar(m[r*k:(r+1)*k], x)
	}
}

// implicitRowsScalar adds Σ_p (c0 + ca·val[p]·(target - y_i·v)) y_i to out,
// over the rows i = idx[p] of the row-major matrix y with k columns.
func implicitRowsScalar(out, y []float32, k int, idx []int32, val []float32, v []float32, c0, ca, target float32) {
	val = val[:len(idx)]
	v, out = v[:k], out[:k]
	for p, i := range idx {
		yi := y[int(i)*k : int(i+1)*k]
		axpyScalar(c0+ca*val[p]*(target-dotScalar(yi, v)), yi, out)
	}
}

// MulSym sets out = G·v for a symmetric k×k row-major matrix G. Symmetry
// makes the product a set of row dot products, the DotRows kernel.
func MulSym(out, g []float32, k int, v []float32) {
	DotRows(out[:k], g[:k*k], k, v)
}

// axpy64Scalar sets y += alpha·x in float64 (EASE's Gauss-Jordan sweeps).
func axpy64Scalar(alpha float64, x, y []float64) {
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		y[i] += alpha * x[i]
		y[i+1] += alpha * x[i+1]
		y[i+2] += alpha * x[i+2]
		y[i+3] += alpha * x[i+3]
	}
	for ; i < len(x); i++ {
		y[i] += alpha * x[i]
	}
}
