package recipe

import (
	"io"
	"slices"
)

// NeighborModel serves RELATED_ITEMS from neighbour lists computed at
// training: each item's related items, best first, then popular items to
// fill a short list. A recipe that precomputes neighbours (by whatever
// similarity) returns one and decodes it with DecodeNeighborModel.
type NeighborModel struct {
	kind         string
	items, users []string
	nb           *CSR
	popular      []int32
}

// NewNeighborModel returns a model of recipe kind over the id tables, the
// neighbour lists nb (row = item, best first) and the popularity order.
func NewNeighborModel(kind string, items, users []string, nb *CSR, popular []int32) *NeighborModel {
	return &NeighborModel{kind: kind, items: items, users: users, nb: nb, popular: popular}
}

// Recommend returns q.Item's neighbours, then popular items to fill n; an
// unknown anchor (-1) gets popular items, as Personalize does. With
// q.Candidates it ranks exactly those (non-neighbours after neighbours).
// The anchor is never related to itself.
func (m *NeighborModel) Recommend(q Query, n int) []Scored {
	var out []Scored
	var allowed map[int32]bool
	if q.Candidates != nil {
		allowed = make(map[int32]bool, len(q.Candidates))
		for _, c := range q.Candidates {
			allowed[c] = true
		}
	}
	if q.Item >= 0 && int(q.Item) < len(m.items) {
		idx, val := m.nb.Row(int(q.Item))
		for p, j := range idx {
			if len(out) >= n {
				break
			}
			if (allowed == nil || allowed[j]) && (q.Exclude == nil || !q.Exclude(j)) {
				out = append(out, Scored{Item: j, Score: val[p]})
			}
		}
	}
	self := q
	self.Exclude = func(it int32) bool { return it == q.Item || (q.Exclude != nil && q.Exclude(it)) }
	return FillPopular(out, m.popular, n, &self)
}

// Neighbors returns item i's neighbours and similarities, best first.
func (m *NeighborModel) Neighbors(i int32) ([]int32, []float32) { return m.nb.Row(int(i)) }

// Popular returns the fallback order, most popular first.
func (m *NeighborModel) Popular() []int32 { return m.popular }

// Items returns the item index -> ITEM_ID table.
func (m *NeighborModel) Items() []string { return m.items }

// Users returns the user index -> USER_ID table.
func (m *NeighborModel) Users() []string { return m.users }

const neighborVersion = 1

// Encode writes the id tables, the neighbour lists and the popular order.
func (m *NeighborModel) Encode(w io.Writer) error {
	e := NewEncoder(w, m.kind, neighborVersion)
	e.Strings(m.items)
	e.Strings(m.users)
	e.I64s(m.nb.Ptr)
	e.I32s(m.nb.Idx)
	e.F32s(m.nb.Val)
	e.I32s(m.popular)
	return e.Close()
}

// DecodeNeighborModel reads a model of recipe kind written by Encode,
// checking every index against the item table.
func DecodeNeighborModel(rd io.Reader, kind string) (*NeighborModel, error) {
	d := NewDecoder(rd, kind, neighborVersion)
	m := &NeighborModel{kind: kind, items: d.Strings(), users: d.Strings()}
	nb := &CSR{Ptr: d.I64s(), Idx: d.I32s(), Val: d.F32s()}
	m.popular = d.I32s()
	ni := len(m.items)
	d.Check(len(nb.Ptr) == ni+1 && len(nb.Idx) == len(nb.Val) && len(m.popular) == ni, "array lengths disagree")
	if d.Err() == nil {
		d.Check(nb.Ptr[0] == 0 && nb.Ptr[ni] == int64(len(nb.Idx)), "neighbour index")
		for r := range ni {
			if nb.Ptr[r] > nb.Ptr[r+1] {
				d.Check(false, "neighbour index")
				break
			}
		}
		for _, it := range append(slices.Clone(nb.Idx), m.popular...) {
			if it < 0 || int(it) >= ni {
				d.Check(false, "item index out of range")
				break
			}
		}
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	m.nb = nb
	return m, nil
}
