package recipe

import (
	"context"
	"math"
	"sync"
)

// dot64 returns a·b over len(a) elements with four accumulators, so the
// adds of a Cholesky inner product overlap instead of forming one chain.
func dot64(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
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

// CholeskySolve solves A x = b for a symmetric positive-definite k×k matrix
// A (row-major; its lower triangle is read and overwritten by the Cholesky
// factor) and writes x into b. It returns false when A is not numerically
// positive definite.
func CholeskySolve(a []float64, b []float64, k int) bool {
	for j := 0; j < k; j++ {
		rj := a[j*k : j*k+j+1]
		s := rj[j] - dot64(rj[:j], rj[:j])
		if s <= 0 || math.IsNaN(s) {
			return false
		}
		d := math.Sqrt(s)
		rj[j] = d
		inv := 1 / d
		for i := j + 1; i < k; i++ {
			ri := a[i*k : i*k+j+1]
			ri[j] = (ri[j] - dot64(ri[:j], rj[:j])) * inv
		}
	}
	// Forward then back substitution with L and Lᵀ.
	for i := 0; i < k; i++ {
		b[i] = (b[i] - dot64(a[i*k:i*k+i], b[:i])) / a[i*k+i]
	}
	for i := k - 1; i >= 0; i-- {
		t := b[i]
		for p := i + 1; p < k; p++ {
			t -= a[p*k+i] * b[p]
		}
		b[i] = t / a[i*k+i]
	}
	return true
}

// InvertSPD inverts a symmetric positive-definite n×n row-major matrix in
// place by Gauss-Jordan elimination without pivoting (stable for SPD input)
// using up to workers goroutines. It costs n³ multiply-adds; it checks ctx
// every pivot and returns false when A is not positive definite.
func InvertSPD(ctx context.Context, a []float64, n, workers int) (bool, error) {
	workers = max(1, min(workers, n/64+1))
	for k := 0; k < n; k++ {
		if k%64 == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		rk := a[k*n : (k+1)*n]
		p := rk[k]
		if p <= 0 || math.IsNaN(p) {
			return false, nil
		}
		inv := 1 / p
		rk[k] = 1
		for j := range rk {
			rk[j] *= inv
		}
		elim := func(lo, hi int) {
			for i := lo; i < hi; i++ {
				if i == k {
					continue
				}
				ri := a[i*n : (i+1)*n]
				f := ri[k]
				if f == 0 {
					continue
				}
				ri[k] = 0
				axpy64(-f, rk, ri)
			}
		}
		if workers == 1 {
			elim(0, n)
			continue
		}
		var wg sync.WaitGroup
		chunk := (n + workers - 1) / workers
		for w := 0; w < workers; w++ {
			lo, hi := w*chunk, min(n, (w+1)*chunk)
			wg.Go(func() { elim(lo, hi) })
		}
		wg.Wait()
	}
	return true, nil
}

// EASE fits Steck's closed-form item-item model (Embarrassingly Shallow
// Autoencoder) on the user×item matrix x: with G = XᵀX + λI and P = G⁻¹,
// B = I - P·diag(1/diag(P)) with a zero diagonal. The result is the dense
// n×n float32 matrix B, row-major: a user's score for item j is the sum of
// B[i][j] over their items i, weighted by their values. Memory is 8n² bytes
// while fitting and 4n² after.
func EASE(ctx context.Context, x *CSR, n int, lambda float64, workers int) ([]float32, error) {
	g := make([]float64, n*n)
	for u := 0; u < x.Rows(); u++ {
		if u%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		idx, val := x.Row(u)
		for p, i := range idx {
			gi := g[int(i)*n : int(i+1)*n]
			vi := float64(val[p])
			for q, j := range idx {
				gi[j] += vi * float64(val[q])
			}
		}
	}
	for i := 0; i < n; i++ {
		g[i*n+i] += lambda
	}
	ok, err := InvertSPD(ctx, g, n, workers)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, invalid("EASE gram matrix is singular; raise the regularization")
	}
	b := make([]float32, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if i != j {
				b[i*n+j] = float32(-g[i*n+j] / g[j*n+j])
			}
		}
	}
	return b, nil
}

// MeanSD returns the mean and standard deviation of x, summed in float64
// with independent accumulators (a single chain of float64 adds is
// latency-bound on long score vectors).
func MeanSD(x []float32) (mean, sd float64) {
	if len(x) == 0 {
		return 0, 0
	}
	var s0, s1, q0, q1 float64
	i := 0
	for ; i+2 <= len(x); i += 2 {
		a, b := float64(x[i]), float64(x[i+1])
		s0 += a
		s1 += b
		q0 += a * a
		q1 += b * b
	}
	for ; i < len(x); i++ {
		a := float64(x[i])
		s0 += a
		q0 += a * a
	}
	n := float64(len(x))
	mean = (s0 + s1) / n
	return mean, math.Sqrt(max((q0+q1)/n-mean*mean, 0))
}

// Standardize rescales scores in place to mean 0 and standard deviation 1
// so that components on
// different scales can be blended. A constant vector becomes all zeros.
func Standardize(scores []float32) {
	if len(scores) == 0 {
		return
	}
	mean, sd := MeanSD(scores)
	if sd == 0 || math.IsNaN(sd) {
		clear(scores)
		return
	}
	m, inv := float32(mean), float32(1/sd)
	for i, x := range scores {
		scores[i] = (x - m) * inv
	}
}
