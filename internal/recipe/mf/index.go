package mf

import (
	"math"
	"slices"

	"github.com/attune-dev/attune/internal/recipe"
)

// index is a serving copy's approximate item index: an IVF over the item
// factors, plus what keeps the blend of the items it looks at identical to
// a full scan's — the first two moments of the item factors, from which the
// matrix-factorisation component's mean and deviation over the whole
// catalogue follow exactly for any user vector (mean = x·ȳ, E[s²] = xᵀ(YᵀY/n)x).
type index struct {
	ivf    *recipe.IVF
	share  float64
	mean   []float64 // ȳ, k
	second []float64 // YᵀY/n, k×k
	newest []int32   // items by creation time, newest first (exploration)
}

// maxNewExtra bounds how many new items an exploring query scores on top
// of its clusters: up to this many, every new item is a candidate, so
// exploration picks the same new items as a full scan; beyond it, new items
// are taken from the scanned clusters only.
const maxNewExtra = 4096

// WithIndex implements recipe.Indexer: a copy of m whose unconstrained
// queries (no Candidates, no EASE component) score only the items of the
// best clusters for the user, plus every item the transition component or
// exploration may promote. Offline evaluation uses models without one.
func (m *Model) WithIndex(o recipe.IndexOptions) recipe.Model {
	if o.MinItems <= 0 {
		o.MinItems = recipe.DefaultIndexMinItems
	}
	if o.Share <= 0 {
		o.Share = recipe.DefaultIndexShare
	}
	if len(m.items) < o.MinItems || m.wMF <= 0 || o.Share >= 1 {
		return m
	}
	k, n := m.k, len(m.items)
	ix := &index{ivf: recipe.BuildIVF(m.itemF, k, o.Seed), share: o.Share,
		mean: make([]float64, k), second: make([]float64, k*k)}
	y := make([]float64, k)
	for i := range n {
		for j, v := range m.itemF[i*k : (i+1)*k] {
			y[j] = float64(v)
			ix.mean[j] += y[j]
		}
		for a, ya := range y {
			row := ix.second[a*k : a*k+a+1]
			for b := range row {
				row[b] += ya * y[b]
			}
		}
	}
	for a := range k {
		ix.mean[a] /= float64(n)
		for b := 0; b <= a; b++ {
			v := ix.second[a*k+b] / float64(n)
			ix.second[a*k+b], ix.second[b*k+a] = v, v
		}
	}
	if len(m.created) == n {
		ix.newest = make([]int32, n)
		for i := range ix.newest {
			ix.newest[i] = int32(i)
		}
		slices.SortStableFunc(ix.newest, func(a, b int32) int {
			switch {
			case m.created[a] > m.created[b]:
				return -1
			case m.created[a] < m.created[b]:
				return 1
			}
			return 0
		})
	}
	c := new(Model)
	*c = *m
	c.ix = ix
	return c
}

// mfStats returns the mean and standard deviation of x·y_i over all items.
func (ix *index) mfStats(x []float32) (mean, sd float64) {
	k := len(ix.mean)
	var ss float64
	for a, xa := range x {
		mean += float64(xa) * ix.mean[a]
		var r float64
		for b, v := range ix.second[a*k : (a+1)*k] {
			r += v * float64(x[b])
		}
		ss += float64(xa) * r
	}
	return mean, math.Sqrt(max(ss-mean*mean, 0))
}

// recommendIndexed answers an unconstrained query from the index. Every
// item it looks at gets the score Recommend's full scan would give it
// (float64 rounding of the component statistics aside); the approximation
// is only in which items are looked at: the best clusters' items, the
// transition component's nonzero items and the new items exploration may
// pick. It returns nil when those yield fewer than n items after q.Exclude
// (a strict filter), so that the caller falls back to the full scan.
func (m *Model) recommendIndexed(q recipe.Query, x []float32, latest []int32, useSeq bool, n int, s *scratch) []recipe.Scored {
	ix, ni := m.ix, len(m.items)
	var hot []int32
	if useSeq {
		hot = m.accumulateTransitions(s, latest)
	}
	cand, comp := ix.ivf.Scan(x, ix.share, s.cand[:0], s.comp[:0], &s.ivf)
	scanned := len(cand)
	// Hot items and new items are scored wherever they fall: those outside
	// the scanned clusters are appended (once each, by a bit per item).
	s.mark = grow(s.mark, (ni+63)/64)
	ext := s.ext[:0]
	add := func(it int32) {
		w, b := it>>6, uint64(1)<<(it&63)
		if _, ok := ix.ivf.Locate(it, &s.ivf); ok || s.mark[w]&b != 0 {
			return
		}
		s.mark[w] |= b
		ext = append(ext, it)
		cand = append(cand, it)
		comp = append(comp, 0)
		recipe.DotRows(comp[len(comp)-1:], m.itemF[int(it)*m.k:], m.k, x)
	}
	for _, it := range hot {
		add(it)
	}
	if q.Exploration != nil && ix.newest != nil {
		cut := m.exploreCut(q)
		cnt, _ := slices.BinarySearchFunc(ix.newest, cut, func(it int32, c int64) int {
			if m.created[it] >= c {
				return -1
			}
			return 1
		})
		if cnt <= maxNewExtra {
			for _, it := range ix.newest[:cnt] {
				add(it)
			}
		}
	}
	for _, it := range ext {
		s.mark[it>>6] &^= 1 << (it & 63)
	}
	s.cand, s.comp, s.ext = cand, comp, ext

	// Scores as Recommend's full scan gives them: blendFirst, then
	// blendSparse for the transitions.
	s.total = grow(s.total, len(cand))
	total := s.total
	// Inline loops rather than a per-item closure: this runs for every
	// scanned item.
	var mm, inv float32
	mfZero := false
	if m.components() > 1 {
		if mean, sd := ix.mfStats(x); sd == 0 || math.IsNaN(sd) {
			mfZero = true
		} else {
			mm, inv = float32(mean), float32(1/sd)
		}
	}
	mfScore := func(c float32) float32 {
		switch {
		case mfZero:
			return 0
		case m.components() == 1:
			return m.wMF * c
		}
		return m.wMF * ((c - mm) * inv)
	}
	// The transition component's statistics come first so that its
	// standardised zero, which every item not hot gains, joins the single
	// pass over the scanned items.
	var zero, sm32, sinv float32
	seqOK := false
	if useSeq {
		acc := s.seq
		var sum, ss float64
		for _, it := range hot {
			v := float64(acc[it])
			sum += v
			ss += v * v
		}
		mean := sum / float64(ni)
		sd := math.Sqrt(max(ss/float64(ni)-mean*mean, 0))
		if seqOK = sd != 0 && !math.IsNaN(sd); seqOK {
			sm32, sinv = float32(mean), float32(1/sd)
			zero = m.wSeq * ((0 - sm32) * sinv)
		}
	}
	total = total[:len(comp)]
	switch w := m.wMF; {
	case mfZero:
		for p := range total {
			total[p] = zero
		}
	case m.components() == 1:
		for p, c := range comp {
			total[p] = w * c
		}
	default:
		for p, c := range comp {
			t := float32(w * ((c - mm) * inv)) // rounded as blendFirst stores it
			total[p] = t + zero
		}
	}
	if seqOK {
		acc, w := s.seq, m.wSeq
		j := scanned
		for _, it := range hot {
			p, ok := ix.ivf.Locate(it, &s.ivf)
			if !ok {
				// Appended above in hot order; a repeated hot item (its
				// sum passed through zero) was appended once.
				for cand[j] != it {
					j++
				}
				p = j
			}
			total[p] = mfScore(comp[p]) + w*((acc[it]-sm32)*sinv)
		}
	}
	for _, it := range hot {
		s.seq[it] = 0
	}
	s.hot = hot

	top := func(n int, q *recipe.Query) []recipe.Scored {
		t := recipe.NewTopK(n)
		for p, it := range cand {
			sc := total[p]
			if t.Full() && sc <= t.Min() {
				continue
			}
			if q.Exclude != nil && q.Exclude(it) {
				continue
			}
			t.Push(it, sc)
		}
		return t.Result()
	}
	var out []recipe.Scored
	if q.Exploration != nil {
		out = m.explore(top, n, &q)
	} else {
		out = top(n, &q)
	}
	if len(out) < n && scanned < ni {
		return nil
	}
	return out
}

// accumulateTransitions sums the transition rows of the latest items into
// s.seq (dense by item, zero between requests; the caller resets the
// returned nonzero items) and returns those items in index order.
func (m *Model) accumulateTransitions(s *scratch, latest []int32) []int32 {
	s.seq = grow(s.seq, len(m.items))
	acc := s.seq
	hot := s.hot[:0]
	w := float32(1)
	for _, src := range latest {
		idx, val := m.seq.Row(int(src))
		for j, dst := range idx {
			if acc[dst] == 0 {
				hot = append(hot, dst)
			}
			acc[dst] += w * val[j]
		}
		w *= m.seqDecay
	}
	slices.Sort(hot)
	return hot
}

// Indexed reports whether m answers from an approximate item index.
func (m *Model) Indexed() bool { return m.ix != nil }
