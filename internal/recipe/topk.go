package recipe

import (
	"math"
	"slices"
)

// TopK keeps the n best items offered to it in a min-heap, so choosing the top
// n of m items costs O(m log n) with no allocation per item. Ties in score go
// to the lower item index, which keeps results deterministic.
type TopK struct {
	n int
	h []Scored
}

// NewTopK returns a TopK that keeps n items.
func NewTopK(n int) *TopK {
	return &TopK{n: n, h: make([]Scored, 0, max(n, 0))}
}

// worse reports whether a ranks below b.
func worse(a, b Scored) bool {
	if a.Score != b.Score {
		return a.Score < b.Score
	}
	return a.Item > b.Item
}

// Full reports whether n items are held; then Min is the bar to beat.
func (t *TopK) Full() bool { return len(t.h) >= t.n }

// Min returns the worst score held (-Inf when empty).
func (t *TopK) Min() float32 {
	if len(t.h) == 0 {
		return float32(math.Inf(-1))
	}
	return t.h[0].Score
}

// Push offers an item. NaN scores are ignored.
func (t *TopK) Push(item int32, score float32) {
	if t.n <= 0 || score != score {
		return
	}
	s := Scored{Item: item, Score: score}
	if len(t.h) < t.n {
		t.h = append(t.h, s)
		t.up(len(t.h) - 1)
		return
	}
	if !worse(t.h[0], s) {
		return
	}
	t.h[0] = s
	t.down(0)
}

func (t *TopK) up(i int) {
	h := t.h
	for i > 0 {
		p := (i - 1) / 2
		if !worse(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (t *TopK) down(i int) {
	h := t.h
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && worse(h[r], h[l]) {
			m = r
		}
		if !worse(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// Result returns the held items best first and empties the TopK.
func (t *TopK) Result() []Scored {
	out := t.h
	slices.SortFunc(out, func(a, b Scored) int {
		switch {
		case worse(b, a):
			return -1
		case worse(a, b):
			return 1
		}
		return 0
	})
	t.h = make([]Scored, 0, max(t.n, 0))
	return out
}

// SelectDense returns the top n items of a dense score vector (index = item)
// under q's Candidates and Exclude. Items whose score is NaN are skipped. With
// Candidates set, only those items are considered, in any number.
func SelectDense(scores []float32, n int, q *Query) []Scored {
	t := NewTopK(n)
	if q.Candidates != nil {
		for _, it := range q.Candidates {
			if it < 0 || int(it) >= len(scores) || (q.Exclude != nil && q.Exclude(it)) {
				continue
			}
			t.Push(it, scores[it])
		}
		return t.Result()
	}
	for i, s := range scores {
		// The cheap bar test first: most items lose to the heap minimum, and
		// for them Exclude is never called.
		if t.Full() && s <= t.Min() {
			continue
		}
		if q.Exclude != nil && q.Exclude(int32(i)) {
			continue
		}
		t.Push(int32(i), s)
	}
	return t.Result()
}

// FillPopular appends items from popular (best first) to out until it holds n
// items, skipping items already in out, excluded items and, when q has
// Candidates, items outside them. Fallback scores descend below the last
// score in out so the list stays ordered.
func FillPopular(out []Scored, popular []int32, n int, q *Query) []Scored {
	if len(out) >= n {
		return out
	}
	seen := make(map[int32]bool, len(out))
	for _, s := range out {
		seen[s.Item] = true
	}
	var allowed map[int32]bool
	if q.Candidates != nil {
		allowed = make(map[int32]bool, len(q.Candidates))
		for _, c := range q.Candidates {
			allowed[c] = true
		}
	}
	base := float32(0)
	if len(out) > 0 {
		base = min(out[len(out)-1].Score, 0)
	}
	for _, it := range popular {
		if len(out) >= n {
			break
		}
		if seen[it] || (allowed != nil && !allowed[it]) || (q.Exclude != nil && q.Exclude(it)) {
			continue
		}
		seen[it] = true
		base -= 1e-3
		out = append(out, Scored{Item: it, Score: base, Popular: true})
	}
	return out
}

// dotBlock is how many items SelectDot scores per DotRows call: 4 KB of
// scores stay in L1 while the heap consumes them.
const dotBlock = 1024

// SelectDot returns the top n items by scale·(x·y_i), where y_i is row i of
// the row-major item matrix y with k columns, under q's Candidates and
// Exclude. It makes one pass of dot products over the contiguous matrix in
// blocks, feeding a bounded heap; most items lose to the heap minimum and
// cost no more than their dot product. Results equal SelectDense over the
// same scores.
func SelectDot(y []float32, k int, x []float32, scale float32, n int, q *Query) []Scored {
	ni := len(y) / k
	t := NewTopK(n)
	if q.Candidates != nil {
		for _, it := range q.Candidates {
			if it < 0 || int(it) >= ni || (q.Exclude != nil && q.Exclude(it)) {
				continue
			}
			var sc [1]float32
			DotRows(sc[:], y[int(it)*k:], k, x)
			t.Push(it, scale*sc[0])
		}
		return t.Result()
	}
	var buf [dotBlock]float32
	for lo := 0; lo < ni; lo += dotBlock {
		sc := buf[:min(dotBlock, ni-lo)]
		DotRows(sc, y[lo*k:], k, x)
		for j, s := range sc {
			s *= scale
			if t.Full() && s <= t.Min() {
				continue
			}
			if q.Exclude != nil && q.Exclude(int32(lo+j)) {
				continue
			}
			t.Push(int32(lo+j), s)
		}
	}
	return t.Result()
}
