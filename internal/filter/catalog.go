package filter

import (
	"math"
	"math/bits"
	"strings"

	"github.com/attune-dev/attune/internal/schema"
)

// Catalog holds the filterable fields of one entity dataset (items, users or
// actions) in columns aligned with the caller's entity indexes, which are
// the candidate numbers Compiled.Allowed tests. It is immutable once built
// and safe for concurrent use.
type Catalog struct {
	ids   []string
	index map[string]int32
	cols  map[string]*column
}

// column is one field. Strings are interned: vals[offs[i]:offs[i+1]] are the
// dictionary ids of entity i's values (several for a categorical field, none
// when null). Numbers are float64 with NaN for null.
type column struct {
	typ   schema.Type
	dict  map[string]int32
	names []string // names[id] is the string of dictionary id id
	offs  []int32
	vals  []int32
	nums  []float64
}

// NewCatalog builds a catalogue over ids: entity i is ids[i]. row returns an
// id's field values aligned with fields, or nil when the id has no row (all
// its fields are then null); corpus.Entities fits directly. Categorical
// strings are split on '|' into trimmed, non-empty values; textual and
// boolean fields are left out because filters cannot use them.
func NewCatalog(ids []string, fields []schema.Field, row func(id string) []schema.Value) *Catalog {
	c := &Catalog{ids: ids, index: make(map[string]int32, len(ids)), cols: map[string]*column{}}
	for i, id := range ids {
		if _, dup := c.index[id]; !dup {
			c.index[id] = int32(i)
		}
	}
	rows := make([][]schema.Value, len(ids))
	for i, id := range ids {
		rows[i] = row(id)
	}
	for fi, f := range fields {
		if f.Textual || f.Type == schema.Boolean || (f.Type != schema.String && !f.Type.Numeric()) {
			continue
		}
		col := &column{typ: f.Type}
		if f.Type.Numeric() {
			col.nums = make([]float64, len(ids))
		} else {
			col.dict = map[string]int32{}
			col.offs = make([]int32, 1, len(ids)+1)
		}
		for i, r := range rows {
			v := schema.Value{Null: true}
			if fi < len(r) {
				v = r[fi]
			}
			switch {
			case f.Type.Numeric():
				col.nums[i] = numeric(f.Type, v)
			case !v.Null && f.Categorical:
				for _, part := range strings.Split(v.Str, "|") {
					if part = strings.TrimSpace(part); part != "" {
						col.vals = append(col.vals, col.intern(part))
					}
				}
			case !v.Null:
				col.vals = append(col.vals, col.intern(v.Str))
			}
			if col.offs != nil {
				col.offs = append(col.offs, int32(len(col.vals)))
			}
		}
		c.cols[f.Name] = col
	}
	return c
}

func numeric(t schema.Type, v schema.Value) float64 {
	switch {
	case v.Null:
		return math.NaN()
	case t == schema.Int || t == schema.Long:
		return float64(v.Int)
	}
	return v.Float
}

func (col *column) intern(s string) int32 {
	id, ok := col.dict[s]
	if !ok {
		id = int32(len(col.names))
		col.dict[s] = id
		col.names = append(col.names, s)
	}
	return id
}

// Len returns the number of entities.
func (c *Catalog) Len() int { return len(c.ids) }

// Index returns the entity index of id.
func (c *Catalog) Index(id string) (int32, bool) {
	i, ok := c.index[id]
	return i, ok
}

// strings returns the values of entity i as text; nil when null.
func (col *column) strings(i int32) []string {
	if col == nil || col.nums != nil || i < 0 || int(i) >= len(col.offs)-1 {
		return nil
	}
	ids := col.vals[col.offs[i]:col.offs[i+1]]
	if len(ids) == 0 {
		return nil
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, col.names[id])
	}
	return out
}

// bitmap is a set of entity indexes.
type bitmap []uint64

func newBitmap(n int) bitmap { return make(bitmap, (n+63)/64) }

// full returns the set of all n entities.
func full(n int) bitmap {
	b := newBitmap(n)
	for i := range b {
		b[i] = ^uint64(0)
	}
	b.trim(n)
	return b
}

// trim clears the bits at n and above, which complement operations set.
func (b bitmap) trim(n int) {
	if r := n % 64; r != 0 {
		b[len(b)-1] &= 1<<r - 1
	}
}

func (b bitmap) has(i int32) bool {
	u := uint32(i) // a negative index wraps to a huge one and falls outside
	w := u >> 6
	return int(w) < len(b) && b[w]>>(u&63)&1 != 0
}

func (b bitmap) set(i int32) {
	u := uint32(i)
	if w := u >> 6; int(w) < len(b) {
		b[w] |= 1 << (u & 63)
	}
}

func (b bitmap) clone() bitmap { return append(bitmap(nil), b...) }

func (b bitmap) or(o bitmap) {
	for i := range b {
		b[i] |= o[i]
	}
}

func (b bitmap) and(o bitmap) {
	for i := range b {
		b[i] &= o[i]
	}
}

func (b bitmap) andNot(o bitmap) {
	for i := range b {
		b[i] &^= o[i]
	}
}

func (b bitmap) not(n int) {
	for i := range b {
		b[i] = ^b[i]
	}
	b.trim(n)
}

func (b bitmap) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// matcher tests one condition against one column with bound values. The
// same code builds the precomputed bitmaps and tests the current user's row,
// so the two cannot disagree.
type matcher struct {
	col  *column // nil: the field has no values anywhere, every entity is null
	op   Op
	set  bitmap    // string fields: the dictionary ids of the wanted values
	nums []float64 // numeric IN, NOT IN, =, !=: the wanted numbers
	x    float64   // numeric ordering comparisons
}

// newMatcher binds a condition on col to its values. Strings not in the
// column's dictionary match nothing, so they are dropped.
func newMatcher(col *column, op Op, strs []string, nums []float64) *matcher {
	m := &matcher{col: col, op: op, nums: nums}
	if op.ordering() {
		m.x = math.NaN() // without a value to compare with, nothing matches
		if len(nums) == 1 {
			m.x = nums[0]
		}
	}
	if col != nil && col.dict != nil {
		m.set = newBitmap(len(col.dict))
		for _, s := range strs {
			if id, ok := col.dict[s]; ok {
				m.set.set(id)
			}
		}
	}
	return m
}

func (m *matcher) matches(i int32) bool {
	col := m.col
	if col == nil {
		return m.op.negated()
	}
	if col.nums != nil {
		v := col.nums[i]
		switch m.op {
		case Lt:
			return v < m.x // NaN, a null, compares false
		case Le:
			return v <= m.x
		case Gt:
			return v > m.x
		case Ge:
			return v >= m.x
		}
		hit := false
		for _, x := range m.nums {
			if v == x {
				hit = true
				break
			}
		}
		return hit != m.op.negated()
	}
	hit := false
	for _, id := range col.vals[col.offs[i]:col.offs[i+1]] {
		if m.set.has(id) {
			hit = true
			break
		}
	}
	return hit != m.op.negated()
}

// bitmap evaluates the matcher over all n entities.
func (m *matcher) bitmap(n int) bitmap {
	b := newBitmap(n)
	if m.col == nil {
		if m.op.negated() {
			return full(n)
		}
		return b
	}
	for i := int32(0); int(i) < n; i++ {
		if m.matches(i) {
			b[i>>6] |= 1 << (uint32(i) & 63)
		}
	}
	return b
}
