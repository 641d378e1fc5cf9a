package mf

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/attune-dev/attune/internal/recipe"
)

// ALSOptions configure implicit alternating least squares (Hu, Koren and
// Volinsky 2008): minimise Σ_{u,i} c_ui (p_ui - x_u·y_i)² + λ(‖x‖² + ‖y‖²)
// over all user-item pairs, where p_ui = 1 and c_ui = 1 + Alpha·r_ui for an
// observed pair of weight r_ui and p_ui = 0, c_ui = 1 otherwise. The sum over
// all pairs is never formed: each row solve uses the Gram matrix of the other
// side plus a correction for the observed entries.
type ALSOptions struct {
	Factors int     // k, the factor dimension
	Epochs  int     // alternations; each updates users then items
	Reg     float64 // λ
	Alpha   float64 // confidence per unit of interaction weight
	// CGSteps is the number of conjugate-gradient steps per row solve, warm
	// started from the previous epoch (Takács et al. 2011); 0 means an exact
	// Cholesky solve, O(k³ + n_u k²) per row instead of O(steps·(k² + n_u k)).
	CGSteps int
	Workers int   // goroutines; results do not depend on it
	Seed    int64 // initial factors
	// Progress, when set, gets the fraction of epochs done.
	Progress func(float64)
}

// Factors are trained user and item factor matrices, row-major float32.
type Factors struct {
	K     int
	Users []float32 // users×K
	Items []float32 // items×K
}

// TrainALS factorises the user×item weight matrix byUser (its transpose
// byItem given to save a rebuild). It ends with a user pass, so every user
// vector is the solve against the final item factors, which is what fold-in
// computes at serving time.
func TrainALS(ctx context.Context, byUser, byItem *recipe.CSR, o ALSOptions) (*Factors, error) {
	k := o.Factors
	nu, ni := byUser.Rows(), byItem.Rows()
	f := &Factors{K: k, Users: make([]float32, nu*k), Items: make([]float32, ni*k)}
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 0x9e3779b97f4a7c15))
	// Small random factors break the symmetry between dimensions; the scale
	// keeps initial predictions near 0, below the targets of 1.
	scale := 0.1 / math.Sqrt(float64(k))
	for i := range f.Items {
		f.Items[i] = float32(rng.NormFloat64() * scale)
	}
	for i := range f.Users {
		f.Users[i] = float32(rng.NormFloat64() * scale)
	}
	for ep := 0; ep < o.Epochs; ep++ {
		if err := solveSide(ctx, byUser, f.Items, f.Users, k, o); err != nil {
			return nil, err
		}
		if err := solveSide(ctx, byItem, f.Users, f.Items, k, o); err != nil {
			return nil, err
		}
		if o.Progress != nil {
			o.Progress(float64(ep+1) / float64(o.Epochs+1))
		}
	}
	if err := solveSide(ctx, byUser, f.Items, f.Users, k, o); err != nil {
		return nil, err
	}
	return f, nil
}

// Gram returns YᵀY + λI for the row-major n×k matrix y, in float64.
func Gram(y []float32, k int, reg float64, workers int) []float64 {
	n := len(y) / k
	workers = max(1, min(workers, n/4096+1))
	parts := make([][]float64, workers)
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			g := make([]float64, k*k)
			// Accumulate in float32 blocks of rows (fast), flushing to float64
			// (accurate over millions of rows).
			acc := make([]float32, k*k)
			lo, hi := w*chunk, min(n, (w+1)*chunk)
			for r := lo; r < hi; r++ {
				row := y[r*k : (r+1)*k]
				for a, va := range row {
					if va != 0 {
						recipe.Axpy(va, row[a:], acc[a*k+a:a*k+k])
					}
				}
				if (r-lo)%256 == 255 || r == hi-1 {
					for i, v := range acc {
						g[i] += float64(v)
					}
					clear(acc)
				}
			}
			parts[w] = g
		})
	}
	wg.Wait()
	g := parts[0]
	for _, p := range parts[1:] {
		for i, v := range p {
			g[i] += v
		}
	}
	// Only the upper triangle was accumulated; mirror it.
	for a := 0; a < k; a++ {
		for b := a + 1; b < k; b++ {
			g[b*k+a] = g[a*k+b]
		}
		g[a*k+a] += reg
	}
	return g
}

// solveSide recomputes every row of x (rows of m) against the fixed factors
// y of the other side.
func solveSide(ctx context.Context, m *recipe.CSR, y, x []float32, k int, o ALSOptions) error {
	gram := Gram(y, k, o.Reg, o.Workers)
	g32 := make([]float32, len(gram))
	for i, v := range gram {
		g32[i] = float32(v)
	}
	rows := m.Rows()
	const block = 128
	var next atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	workers := max(1, min(o.Workers, rows/block+1))
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			s := newSolver(k, gram, g32, float32(o.Alpha))
			for !stop.Load() {
				lo := int(next.Add(block)) - block
				if lo >= rows {
					return
				}
				if ctx.Err() != nil {
					stop.Store(true)
					return
				}
				for r := lo; r < min(rows, lo+block); r++ {
					idx, val := m.Row(r)
					xr := x[r*k : (r+1)*k]
					if o.CGSteps == 0 {
						s.exact(idx, val, y, xr)
					} else {
						s.cg(idx, val, y, xr, o.CGSteps)
					}
				}
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}

// solver holds one worker's scratch space for row solves.
type solver struct {
	k        int
	gram     []float64 // YᵀY + λI
	g32      []float32 // the same in float32 for CG
	alpha    float32
	r, p, ap []float32
	a, b     []float64
	yx       []float32
}

func newSolver(k int, gram []float64, g32 []float32, alpha float32) *solver {
	return &solver{k: k, gram: gram, g32: g32, alpha: alpha,
		r: make([]float32, k), p: make([]float32, k), ap: make([]float32, k),
		a: make([]float64, k*k), b: make([]float64, k)}
}

// mulA sets out = (YᵀY + λI)v + Σ_i (c_i - 1)(y_i·v) y_i: the dense Gram
// product costs k² and the correction touches only the row's observed
// items, so the k×k matrix of the row is never formed.
func (s *solver) mulA(idx []int32, val []float32, y, v, out []float32) {
	recipe.MulSym(out, s.g32, s.k, v)
	recipe.ImplicitRows(out, y, s.k, idx, val, v, 0, -s.alpha, 0)
}

// cg runs steps of conjugate gradient on A x = b from the current x, with
// b = Σ_i c_i y_i.
func (s *solver) cg(idx []int32, val []float32, y, x []float32, steps int) {
	k := s.k
	r, p, ap := s.r, s.p, s.ap
	// r = b - A x = Σ_i (1 + c1_i - c1_i·y_i·x) y_i - (YᵀY + λI)x with
	// c1_i = α·val_i, computed in one pass over the observed items.
	recipe.MulSym(r, s.g32, k, x)
	for a := range r {
		r[a] = -r[a]
	}
	recipe.ImplicitRows(r, y, k, idx, val, x, 1, s.alpha, 1)
	copy(p, r)
	rs := recipe.Dot(r, r)
	for it := 0; it < steps && rs > 1e-12; it++ {
		s.mulA(idx, val, y, p, ap)
		pap := recipe.Dot(p, ap)
		if pap <= 0 {
			break
		}
		step := rs / pap
		recipe.Axpy(step, p, x)
		recipe.Axpy(-step, ap, r)
		rsNew := recipe.Dot(r, r)
		beta := rsNew / rs
		for a := range p {
			p[a] = r[a] + beta*p[a]
		}
		rs = rsNew
	}
}

// exact solves A x = b with a Cholesky factorisation in float64.
func (s *solver) exact(idx []int32, val []float32, y, x []float32) {
	k := s.k
	a, b := s.a, s.b
	copy(a, s.gram)
	clear(b)
	for q, i := range idx {
		yi := y[int(i)*k : int(i+1)*k]
		c1 := float64(s.alpha * val[q])
		for u := 0; u < k; u++ {
			yu := float64(yi[u])
			b[u] += (1 + c1) * yu
			cu := c1 * yu
			row := a[u*k : (u+1)*k]
			for v := 0; v <= u; v++ {
				row[v] += cu * float64(yi[v])
			}
		}
	}
	// CholeskySolve reads only the lower triangle.
	if !recipe.CholeskySolve(a, b, k) {
		return
	}
	for u := range x {
		x[u] = float32(b[u])
	}
}
