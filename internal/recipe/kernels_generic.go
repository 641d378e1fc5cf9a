//go:build !(goexperiment.simd && amd64)

package recipe

// SIMDKernels reports whether the float32 kernels use SIMD instructions.
const SIMDKernels = false

// Dot returns a·b over len(a) elements.
func Dot(a, b []float32) float32 { return dotScalar(a, b) }

// Axpy sets y += alpha·x.
func Axpy(alpha float32, x, y []float32) { axpyScalar(alpha, x, y) }

// DotRows sets out[r] = m[r·k:(r+1)·k]·x for every r < len(out): scoring
// len(out) consecutive rows of a row-major matrix against one vector.
func DotRows(out, m []float32, k int, x []float32) { dotRowsScalar(out, m, k, x) }

// ImplicitRows adds Σ_p (c0 + ca·val[p]·(target - y_i·v)) y_i to out, over
// the rows i = idx[p] of the row-major matrix y with k columns: the
// observed-entry part of an implicit-feedback least-squares product.
func ImplicitRows(out, y []float32, k int, idx []int32, val []float32, v []float32, c0, ca, target float32) {
	implicitRowsScalar(out, y, k, idx, val, v, c0, ca, target)
}

// axpy64 sets y += alpha·x in float64.
func axpy64(alpha float64, x, y []float64) { axpy64Scalar(alpha, x, y) }
