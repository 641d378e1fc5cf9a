package mf

import (
	"io"
	"math"
	"slices"
	"sync"

	"github.com/attune-dev/attune/internal/recipe"
)

// Model scores items for a user as a blend of up to three components, each
// standardised over the scored items before weighting so their scales do not
// matter:
//   - matrix factorisation: x_u·y_i, with x_u folded in from the query's
//     history by one k×k solve against the fixed item factors;
//   - EASE, when the catalogue was small enough to fit it: Σ_h w_h B[h][i];
//   - item-to-item transitions from the user's latest items.
//
// A Model is immutable and safe for concurrent use.
type Model struct {
	name  string
	typ   recipe.Type
	items []string
	users []string

	k      int
	userF  []float32 // users×k
	itemF  []float32 // items×k
	gram   []float64 // YᵀY + λI of the final item factors, for fold-in
	alpha  float32
	eventW []float32 // per event-type index; nil = all 1
	// halfLife is the recency half-life in seconds for history weights at
	// query time, relative to the user's newest event; 0 disables it.
	halfLife float64
	maxHist  int

	wMF, wEASE, wSeq float32
	ease             []float32 // items×items or nil
	seq              *recipe.CSR
	seqLast          int     // how many latest history items feed transitions
	seqDecay         float32 // weight ratio between consecutive latest items

	popular []int32 // fallback order, most distinct users first
	created []int64 // creation time per item (epoch s), for exploration
	end     int64   // newest training interaction
	explW   float64
	explAge float64 // days

	pool *sync.Pool // *scratch, reused across requests (shared with WithIndex copies)

	// ix, when set (serving copies only, see WithIndex), answers
	// unconstrained queries from the items of the best clusters.
	ix *index
}

// Items returns the item index -> ITEM_ID table.
func (m *Model) Items() []string { return m.items }

// Users returns the user index -> USER_ID table.
func (m *Model) Users() []string { return m.users }

// Factors returns the item factor matrix (items×k, row-major) and k.
func (m *Model) Factors() ([]float32, int) { return m.itemF, m.k }

// UserVector returns the trained factor vector of user u.
func (m *Model) UserVector(u int32) []float32 { return m.userF[int(u)*m.k : int(u+1)*m.k] }

// weighted is a history item with its aggregate weight.
type weighted struct {
	item int32
	w    float32
}

// history turns query events into per-item weights (event weight × recency,
// summed over repeats) and the latest distinct items, newest first.
func (m *Model) history(h []recipe.Event) (agg []weighted, latest []int32) {
	if len(h) > m.maxHist {
		h = h[len(h)-m.maxHist:]
	}
	var newest int64 = math.MinInt64
	for _, e := range h {
		newest = max(newest, e.Time)
	}
	agg = make([]weighted, 0, len(h))
	for _, e := range h {
		if e.Item < 0 || int(e.Item) >= len(m.items) {
			continue
		}
		w := float32(1)
		if m.eventW != nil && int(e.Event) < len(m.eventW) {
			w = m.eventW[e.Event]
		}
		if m.halfLife > 0 {
			w *= recipe.Decay(e.Time, newest, m.halfLife)
		}
		if w > 0 {
			agg = append(agg, weighted{e.Item, w})
		}
	}
	for i := len(h) - 1; i >= 0 && len(latest) < m.seqLast; i-- {
		it := h[i].Item
		if it >= 0 && int(it) < len(m.items) && !slices.Contains(latest, it) {
			latest = append(latest, it)
		}
	}
	slices.SortFunc(agg, func(a, b weighted) int { return int(a.item) - int(b.item) })
	out := agg[:0]
	for _, a := range agg {
		if len(out) > 0 && out[len(out)-1].item == a.item {
			out[len(out)-1].w += a.w
			continue
		}
		out = append(out, a)
	}
	return out, latest
}

// FoldIn returns the user vector that training would give a user with this
// history: the exact solve of (YᵀY + λI + Σ αw_i y_i y_iᵀ) x = Σ (1+αw_i) y_i.
func (m *Model) FoldIn(h []recipe.Event) []float32 {
	agg, _ := m.history(h)
	return slices.Clone(m.foldIn(agg, &scratch{}))
}

// scratch is one request's working memory. Models pool it, so a request
// allocates little beyond its result however many items it scores.
type scratch struct {
	a, b   []float64 // fold-in system, k×k and k
	y      []float64 // one item vector in float64
	x      []float32 // folded-in user vector
	total  []float32 // blended score per scored item
	comp   []float32 // one component's scores per scored item
	seq    []float32 // transition scores; all zero between requests
	hot    []int32   // positions of seq that are nonzero
	saved  []float32 // totals at hot positions, see blendSparse
	filter func(int32) bool

	// Indexed queries (recommendIndexed).
	cand []int32  // items looked at
	ext  []int32  // items looked at whatever their cluster
	mark []uint64 // bit per item: a hot item not yet met in the scan
	ivf  recipe.IVFScratch
}

// grow returns s resized to n, reallocating only when it is too small.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func (m *Model) getScratch() *scratch {
	if m.pool == nil {
		return &scratch{} // a Model literal built by a test
	}
	if s, ok := m.pool.Get().(*scratch); ok {
		return s
	}
	return &scratch{}
}

func (m *Model) putScratch(s *scratch) {
	if m.pool != nil {
		m.pool.Put(s)
	}
}

// foldIn solves for the user vector into s.x. The system matrix is the
// cached Gram matrix plus one rank-one update per distinct history item, so
// a request costs O(h·k² + k³), nothing per catalogue item.
func (m *Model) foldIn(agg []weighted, s *scratch) []float32 {
	k := m.k
	s.a = grow(s.a, k*k)
	s.b = grow(s.b, k)
	s.x = grow(s.x, k)
	a, b, x := s.a, s.b, s.x
	copy(a, m.gram)
	clear(b)
	clear(x)
	s.y = grow(s.y, k)
	y := s.y
	for _, h := range agg {
		for u, v := range m.itemF[int(h.item)*k : int(h.item+1)*k] {
			y[u] = float64(v)
		}
		c1 := float64(m.alpha * h.w)
		for u, yu := range y {
			b[u] += (1 + c1) * yu
			// CholeskySolve reads only the lower triangle.
			row := a[u*k : u*k+u+1]
			yv := y[:len(row)]
			cu := c1 * yu
			for v := range row {
				row[v] += cu * yv[v]
			}
		}
	}
	if len(agg) == 0 || !recipe.CholeskySolve(a, b, k) {
		return x
	}
	for u := range x {
		x[u] = float32(b[u])
	}
	return x
}

// Recommend scores items for q.User (from q.History when given, so events
// newer than training count) and returns the best n; with q.Candidates it
// scores exactly those. A query with neither a known user nor a usable
// history gets the most popular items.
func (m *Model) Recommend(q recipe.Query, n int) []recipe.Scored {
	agg, latest := m.history(q.History)
	s := m.getScratch()
	defer m.putScratch(s)
	var x []float32
	switch {
	case len(agg) > 0:
		x = m.foldIn(agg, s)
	case q.User >= 0 && int(q.User) < len(m.users):
		x = m.UserVector(q.User)
	default:
		return recipe.FillPopular(nil, m.popular, n, &q)
	}
	useEASE := m.wEASE > 0 && m.ease != nil && len(agg) > 0
	useSeq := m.wSeq > 0 && m.seq != nil && len(latest) > 0
	if m.ix != nil && q.Candidates == nil && !useEASE && m.wMF > 0 {
		if out := m.recommendIndexed(q, x, latest, useSeq, n, s); out != nil {
			return out
		}
	}
	if m.components() == 1 && m.wMF > 0 && q.Exploration == nil {
		// Matrix factorisation alone keeps raw scores, so the best items
		// come out of one pass of dot products with no score array.
		return recipe.SelectDot(m.itemF, m.k, x, m.wMF, n, &q)
	}

	// Scores are computed for the candidate set only: all items, or q's
	// candidates (as a dense array indexed by position).
	items := q.Candidates
	nItems := len(m.items)
	if items != nil {
		nItems = len(items)
	}
	s.total = grow(s.total, nItems)
	s.comp = grow(s.comp, nItems)
	total, comp := s.total, s.comp
	valid := func(it int32) bool { return it >= 0 && int(it) < len(m.items) }

	k := m.k
	if items == nil {
		recipe.DotRows(comp, m.itemF, k, x)
	} else {
		for p, it := range items {
			comp[p] = 0
			if valid(it) {
				// DotRows scores a row as the full scan does, so ranking a
				// candidate and recommending it give the same score.
				recipe.DotRows(comp[p:p+1], m.itemF[int(it)*k:], k, x)
			}
		}
	}
	m.blendFirst(total, comp, m.wMF)

	if useEASE {
		clear(comp)
		ni := len(m.items)
		if items == nil {
			for _, h := range agg {
				recipe.Axpy(h.w, m.ease[int(h.item)*ni:int(h.item+1)*ni], comp)
			}
		} else {
			for p, it := range items {
				if valid(it) {
					var sum float32
					for _, h := range agg {
						sum += h.w * m.ease[int(h.item)*ni+int(it)]
					}
					comp[p] = sum
				}
			}
		}
		m.blend(total, comp, m.wEASE)
	}

	if useSeq {
		m.blendTransitions(s, latest, items, nItems)
	}

	if items != nil {
		for p, it := range items {
			if !valid(it) {
				total[p] = float32(math.NaN())
			}
		}
		cands := make([]int32, len(items))
		for p := range cands {
			cands[p] = int32(p)
		}
		sub := q
		sub.Candidates = cands
		sub.Exclude = nil
		if q.Exclude != nil {
			sub.Exclude = func(p int32) bool { return q.Exclude(items[p]) }
		}
		out := recipe.SelectDense(total, n, &sub)
		for i := range out {
			out[i].Item = items[out[i].Item]
		}
		return out
	}
	if q.Exploration != nil {
		return m.explore(func(n int, q *recipe.Query) []recipe.Scored { return recipe.SelectDense(total, n, q) }, n, &q)
	}
	return recipe.SelectDense(total, n, &q)
}

// blendTransitions adds the transition component of the latest items to
// s.total (positions as in Recommend). The component is sparse (at most
// seqLast×Keep nonzeros), so it is accumulated only where it is nonzero and
// blended by blendSparse: O(nonzeros) work plus one pass adding a constant.
func (m *Model) blendTransitions(s *scratch, latest, items []int32, nItems int) {
	s.seq = grow(s.seq, nItems) // zero everywhere: every use resets its hot entries
	acc := s.seq
	hot := s.hot[:0]
	var pos map[int32]int
	if items != nil {
		pos = make(map[int32]int, len(items))
		for p, it := range items {
			pos[it] = p
		}
	}
	w := float32(1)
	for _, src := range latest {
		idx, val := m.seq.Row(int(src))
		for j, dst := range idx {
			p := int(dst)
			if items != nil {
				var ok bool
				if p, ok = pos[dst]; !ok {
					continue
				}
			}
			if acc[p] == 0 {
				hot = append(hot, int32(p))
			}
			acc[p] += w * val[j]
		}
		w *= m.seqDecay
	}
	// Index order makes the sums below those of a dense pass over acc.
	slices.Sort(hot)
	m.blendSparse(s, hot)
	for _, p := range hot {
		acc[p] = 0
	}
	s.hot = hot
}

// blendSparse does what blend does for the component s.seq, which is zero
// outside hot (ascending): the same mean and deviation (zeros add nothing
// to the sums; float64 rounding aside) and the same per-item arithmetic,
// without touching the zeros one by one.
func (m *Model) blendSparse(s *scratch, hot []int32) {
	w, total, comp := m.wSeq, s.total, s.seq
	if m.components() == 1 {
		for _, p := range hot {
			total[p] += w * comp[p]
		}
		return
	}
	var sum, ss float64
	for _, p := range hot {
		x := float64(comp[p])
		sum += x
		ss += x * x
	}
	n := float64(len(total))
	mean := sum / n
	sd := math.Sqrt(max(ss/n-mean*mean, 0))
	if sd == 0 || math.IsNaN(sd) {
		return // standardises to all zeros
	}
	m32, inv := float32(mean), float32(1/sd)
	s.saved = grow(s.saved, len(hot))
	for j, p := range hot {
		s.saved[j] = total[p]
	}
	zero := w * ((0 - m32) * inv)
	for i := range total {
		total[i] += zero
	}
	for j, p := range hot {
		total[p] = s.saved[j] + w*((comp[p]-m32)*inv)
	}
}

// blendFirst sets total to w·standardise(comp), what blend adds to a zero
// total, in one pass.
func (m *Model) blendFirst(total, comp []float32, w float32) {
	if m.components() == 1 {
		for i, c := range comp {
			total[i] = w * c
		}
		return
	}
	mean, sd := recipe.MeanSD(comp)
	if sd == 0 || math.IsNaN(sd) {
		clear(total)
		return
	}
	mm, inv := float32(mean), float32(1/sd)
	for i, c := range comp {
		total[i] = w * ((c - mm) * inv)
	}
}

// blend adds w·standardise(comp) to total. With a single component the
// scores stay raw, so a plain model returns its model scores.
func (m *Model) blend(total, comp []float32, w float32) {
	if w == 0 {
		return
	}
	if m.components() > 1 {
		recipe.Standardize(comp)
	}
	recipe.Axpy(w, comp, total)
}

func (m *Model) components() int {
	n := 0
	if m.wMF > 0 {
		n++
	}
	if m.wEASE > 0 && m.ease != nil {
		n++
	}
	if m.wSeq > 0 && m.seq != nil {
		n++
	}
	return n
}

// explore gives round(w·n) of the n slots to new items (created at most the
// cut-off age before the request), the best-scoring new items first, spread
// evenly through the list so the top stays mostly exploitative. top
// returns the best n scored items under a query's Exclude.
func (m *Model) explore(top func(n int, q *recipe.Query) []recipe.Scored, n int, q *recipe.Query) []recipe.Scored {
	w := q.Exploration.Weight
	if w <= 0 {
		w = m.explW
	}
	cut := m.exploreCut(*q)
	isNew := func(it int32) bool { return m.created[it] >= cut }
	slots := int(math.Round(w * float64(n)))
	if slots == 0 {
		return top(n, q)
	}
	sub := *q
	sub.Exclude = func(it int32) bool { return isNew(it) || (q.Exclude != nil && q.Exclude(it)) }
	old := top(n, &sub)
	sub.Exclude = func(it int32) bool { return !isNew(it) || (q.Exclude != nil && q.Exclude(it)) }
	// New items take their share, and every slot old items cannot fill (a
	// catalogue of only new items still yields n, not the share).
	fresh := top(max(slots, n-len(old)), &sub)
	out := make([]recipe.Scored, 0, n)
	stride := float64(n) / float64(len(fresh)+1)
	next := stride
	for len(out) < n && (len(old) > 0 || len(fresh) > 0) {
		if len(fresh) > 0 && (float64(len(out)+1) >= next || len(old) == 0) {
			fresh[0].Explored = true
			out = append(out, fresh[0])
			fresh = fresh[1:]
			next += stride
			continue
		}
		out = append(out, old[0])
		old = old[1:]
	}
	return out
}

// exploreCut returns the creation time from which an item counts as new
// for an exploring query.
func (m *Model) exploreCut(q recipe.Query) int64 {
	age := q.Exploration.AgeCutOffDays
	if age <= 0 {
		age = m.explAge
	}
	now := q.Now
	if now == 0 {
		now = m.end
	}
	return now - int64(age*86400)
}

const formatVersion = 1

// Encode writes the model: header, id tables, settings, factors, Gram
// matrix, then the optional EASE and transition components.
func (m *Model) Encode(w io.Writer) error {
	e := recipe.NewEncoder(w, m.name, formatVersion)
	e.String(string(m.typ))
	e.Strings(m.items)
	e.Strings(m.users)
	e.U64(uint64(m.k))
	e.F64(float64(m.alpha))
	e.F64(m.halfLife)
	e.U64(uint64(m.maxHist))
	e.F32s(m.eventW)
	e.F32s([]float32{m.wMF, m.wEASE, m.wSeq, m.seqDecay})
	e.U64(uint64(m.seqLast))
	e.F32s(m.userF)
	e.F32s(m.itemF)
	gram := make([]float32, 0, 2*len(m.gram))
	for _, v := range m.gram {
		// Split each float64 into two float32 words so the format keeps one
		// array type; the solve needs the full precision.
		hi := float32(v)
		gram = append(gram, hi, float32(v-float64(hi)))
	}
	e.F32s(gram)
	e.F32s(m.ease)
	if m.seq != nil {
		e.I64s(m.seq.Ptr)
		e.I32s(m.seq.Idx)
		e.F32s(m.seq.Val)
	} else {
		e.I64s(nil)
		e.I32s(nil)
		e.F32s(nil)
	}
	e.I32s(m.popular)
	e.I64s(m.created)
	e.I64(m.end)
	e.F64(m.explW)
	e.F64(m.explAge)
	return e.Close()
}

func decodeModel(r io.Reader, name string) (*Model, error) {
	d := recipe.NewDecoder(r, name, formatVersion)
	m := &Model{name: name, pool: new(sync.Pool)}
	m.typ = recipe.Type(d.String())
	m.items = d.Strings()
	m.users = d.Strings()
	m.k = int(d.U64())
	m.alpha = float32(d.F64())
	m.halfLife = d.F64()
	m.maxHist = int(d.U64())
	m.eventW = d.F32s()
	if len(m.eventW) == 0 {
		m.eventW = nil
	}
	ws := d.F32s()
	d.Check(len(ws) == 4, "blend weights")
	if len(ws) == 4 {
		m.wMF, m.wEASE, m.wSeq, m.seqDecay = ws[0], ws[1], ws[2], ws[3]
	}
	m.seqLast = int(d.U64())
	m.userF = d.F32s()
	m.itemF = d.F32s()
	gram := d.F32s()
	m.gram = make([]float64, len(gram)/2)
	for i := range m.gram {
		m.gram[i] = float64(gram[2*i]) + float64(gram[2*i+1])
	}
	m.ease = d.F32s()
	if len(m.ease) == 0 {
		m.ease = nil
	}
	ptr, idx, val := d.I64s(), d.I32s(), d.F32s()
	if len(ptr) > 0 {
		m.seq = &recipe.CSR{Ptr: ptr, Idx: idx, Val: val}
	}
	m.popular = d.I32s()
	m.created = d.I64s()
	m.end = d.I64()
	m.explW = d.F64()
	m.explAge = d.F64()
	ni, nu := len(m.items), len(m.users)
	d.Check(m.k > 0 && m.k <= 4096, "factor dimension")
	d.Check(len(m.userF) == nu*m.k && len(m.itemF) == ni*m.k && len(m.gram) == m.k*m.k, "factor sizes")
	d.Check(m.ease == nil || len(m.ease) == ni*ni, "EASE size")
	d.Check(m.seq == nil || (len(ptr) == ni+1 && len(idx) == len(val) && ptr[ni] == int64(len(idx))), "transition sizes")
	d.Check(len(m.created) == ni && len(m.popular) == ni, "item tables")
	if m.seq != nil && d.Err() == nil {
		for _, j := range idx {
			if j < 0 || int(j) >= ni {
				d.Check(false, "transition index")
				break
			}
		}
	}
	for _, it := range m.popular {
		if it < 0 || int(it) >= ni {
			d.Check(false, "popular index")
			break
		}
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return m, nil
}
