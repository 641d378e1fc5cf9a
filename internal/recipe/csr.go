package recipe

import (
	"math"
	"sort"
)

// CSR is a sparse matrix in compressed-row form: row r holds columns
// Idx[Ptr[r]:Ptr[r+1]] (ascending, no duplicates) with values Val[...]. It
// costs 8 bytes per stored entry, so a user×item and an item×user copy of
// the interactions together add 16 bytes per interaction.
type CSR struct {
	Ptr []int64
	Idx []int32
	Val []float32
}

// Rows returns the number of rows.
func (m *CSR) Rows() int { return len(m.Ptr) - 1 }

// NNZ returns the number of stored entries.
func (m *CSR) NNZ() int { return len(m.Idx) }

// Row returns the columns and values of row r.
func (m *CSR) Row(r int) ([]int32, []float32) {
	a, b := m.Ptr[r], m.Ptr[r+1]
	return m.Idx[a:b], m.Val[a:b]
}

// BuildCSR builds a rows-row matrix with an entry (row[i], col[i]) of value
// weight(i) for every i; duplicate entries are summed and entries whose
// weight is 0 are dropped. It places entries with a counting sort, so the
// only memory beyond the result is one row-pointer array.
func BuildCSR(rows int, row, col []int32, weight func(i int) float32) *CSR {
	ptr := make([]int64, rows+1)
	for i, r := range row {
		if weight(i) != 0 {
			ptr[r+1]++
		}
	}
	for r := 0; r < rows; r++ {
		ptr[r+1] += ptr[r]
	}
	nnz := ptr[rows]
	idx := make([]int32, nnz)
	val := make([]float32, nnz)
	next := make([]int64, rows)
	copy(next, ptr[:rows])
	for i, r := range row {
		w := weight(i)
		if w == 0 {
			continue
		}
		p := next[r]
		next[r]++
		idx[p] = col[i]
		val[p] = w
	}
	next = nil
	// Sort each row by column and merge duplicates, compacting in place.
	var out int64
	for r := 0; r < rows; r++ {
		a, b := ptr[r], ptr[r+1]
		sort.Sort(pairs{idx[a:b], val[a:b]})
		ptr[r] = out
		for p := a; p < b; p++ {
			if p > a && idx[p] == idx[out-1] {
				val[out-1] += val[p]
				continue
			}
			idx[out], val[out] = idx[p], val[p]
			out++
		}
	}
	ptr[rows] = out
	return &CSR{Ptr: ptr, Idx: idx[:out:out], Val: val[:out:out]}
}

type pairs struct {
	idx []int32
	val []float32
}

func (p pairs) Len() int           { return len(p.idx) }
func (p pairs) Less(i, j int) bool { return p.idx[i] < p.idx[j] }
func (p pairs) Swap(i, j int) {
	p.idx[i], p.idx[j] = p.idx[j], p.idx[i]
	p.val[i], p.val[j] = p.val[j], p.val[i]
}

// Transpose returns the cols-row transpose of m.
func (m *CSR) Transpose(cols int) *CSR {
	ptr := make([]int64, cols+1)
	for _, c := range m.Idx {
		ptr[c+1]++
	}
	for c := 0; c < cols; c++ {
		ptr[c+1] += ptr[c]
	}
	idx := make([]int32, len(m.Idx))
	val := make([]float32, len(m.Idx))
	next := make([]int64, cols)
	copy(next, ptr[:cols])
	// Rows are visited in order, so each transposed row comes out sorted.
	for r := 0; r < m.Rows(); r++ {
		for p := m.Ptr[r]; p < m.Ptr[r+1]; p++ {
			c := m.Idx[p]
			q := next[c]
			next[c]++
			idx[q] = int32(r)
			val[q] = m.Val[p]
		}
	}
	return &CSR{Ptr: ptr, Idx: idx, Val: val}
}

// Weighting turns interactions into training weights: an event-type weight
// times an exponential recency decay.
type Weighting struct {
	// EventWeights is the weight per event-type index; nil means 1 for all.
	EventWeights []float32
	// HalfLife is the recency half-life in seconds; 0 disables decay.
	HalfLife float64
	// End is the reference time in epoch seconds: an interaction at End has
	// decay 1, one HalfLife older has 1/2. Interactions after End count as
	// at End.
	End int64
	// UserEnd, when set, replaces End per user index: decay relative to the
	// user's own newest interaction keeps a user who was last active long ago
	// as strong a signal as an active one, and matches how a history is
	// weighted when it is folded in at query time.
	UserEnd []int64
}

// Weight returns the weight of interaction i of in.
func (w Weighting) Weight(in *Interactions, i int) float32 {
	x := float32(1)
	if w.EventWeights != nil && i < len(in.Event) {
		if e := int(in.Event[i]); e < len(w.EventWeights) {
			x = w.EventWeights[e]
		}
	}
	if w.HalfLife > 0 && i < len(in.Time) {
		end := w.End
		if w.UserEnd != nil {
			end = w.UserEnd[in.User[i]]
		}
		x *= Decay(in.Time[i], end, w.HalfLife)
	}
	return x
}

// Decay is 2^(-(end-t)/halfLife), capped at 1 for t after end.
func Decay(t, end int64, halfLife float64) float32 {
	age := float64(end - t)
	if age <= 0 || halfLife <= 0 {
		return 1
	}
	return float32(math.Exp2(-age / halfLife))
}

// TimeRange returns the oldest and newest timestamps of in (0, 0 when empty
// or without times).
func TimeRange(in *Interactions) (oldest, newest int64) {
	if len(in.Time) == 0 {
		return 0, 0
	}
	oldest, newest = in.Time[0], in.Time[0]
	for _, t := range in.Time {
		oldest, newest = min(oldest, t), max(newest, t)
	}
	return oldest, newest
}

// UserNewest returns each user's newest interaction time, capped at end.
func UserNewest(in *Interactions, end int64) []int64 {
	out := make([]int64, len(in.UserIDs))
	for i := range out {
		out[i] = math.MinInt64
	}
	for i, u := range in.User {
		out[u] = max(out[u], min(in.Time[i], end))
	}
	return out
}

// UserCounts returns the number of distinct users per item: the
// aws-popularity-count score and the fallback order of every recipe.
func UserCounts(in *Interactions) []int32 {
	counts := make([]int32, len(in.ItemIDs))
	byUser := BuildCSR(len(in.UserIDs), in.User, in.Item, func(int) float32 { return 1 })
	for _, it := range byUser.Idx {
		counts[it]++
	}
	return counts
}

// RankByCount returns item indexes by descending count, ties by index.
func RankByCount(counts []int32) []int32 {
	order := make([]int32, len(counts))
	for i := range order {
		order[i] = int32(i)
	}
	sort.SliceStable(order, func(a, b int) bool { return counts[order[a]] > counts[order[b]] })
	return order
}

// ValidateData checks the shape of data that every recipe relies on: parallel
// arrays of equal length and indexes within the id tables.
func ValidateData(data *Data) error {
	if data == nil || data.Interactions == nil {
		return invalid("no interactions")
	}
	in := data.Interactions
	n := len(in.User)
	if len(in.Item) != n || (in.Time != nil && len(in.Time) != n) || (in.Event != nil && len(in.Event) != n) {
		return invalid("interaction arrays differ in length")
	}
	if n == 0 {
		return invalid("no interactions")
	}
	nu, ni := int32(len(in.UserIDs)), int32(len(in.ItemIDs))
	for i := 0; i < n; i++ {
		if in.User[i] < 0 || in.User[i] >= nu || in.Item[i] < 0 || in.Item[i] >= ni {
			return invalid("interaction %d has an index outside the id tables", i)
		}
	}
	return nil
}
