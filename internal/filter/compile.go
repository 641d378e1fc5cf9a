package filter

import (
	"container/list"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/attune-dev/attune/internal/errs"
)

// EnvOptions configure an Env. A zero field selects its default.
type EnvOptions struct {
	// CacheSize is how many compiled filters (one per filter and parameter
	// values) the Env keeps, least recently used first out. 0 means 256;
	// negative disables the cache. Each entry holds a few bitmaps of one bit
	// per catalogue entity.
	CacheSize int
	// InteractionsPerEventType is how many of a user's latest interactions
	// of each event type count for Interactions conditions. 0 means
	// DefaultInteractionsPerEventType.
	InteractionsPerEventType int
}

// Env is what filters are compiled against: the catalogues of one snapshot
// of a dataset group, plus a cache of compiled filters. Build a new Env when
// the catalogues change; the cache goes with the old one. Safe for
// concurrent use.
type Env struct {
	items, users, actions *Catalog
	perType               int
	capacity              int

	// mu guards the fields below.
	mu    sync.Mutex
	lru   *list.List // of *cacheEntry, most recently used first
	cache map[string]*list.Element
}

type cacheEntry struct {
	key string
	c   *Compiled
}

// NewEnv returns an Env over the catalogues; any may be nil when the dataset
// group has no such dataset (the entities then have no field values). The
// catalogue of a filter's target must be present: its indexes are the
// candidates.
func NewEnv(items, users, actions *Catalog, opts EnvOptions) *Env {
	e := &Env{items: items, users: users, actions: actions, perType: opts.InteractionsPerEventType, capacity: opts.CacheSize}
	if e.perType <= 0 {
		e.perType = DefaultInteractionsPerEventType
	}
	if e.capacity == 0 {
		e.capacity = 256
	}
	if e.capacity > 0 {
		e.lru = list.New()
		e.cache = map[string]*list.Element{}
	}
	return e
}

func (e *Env) catalog(d Dataset) *Catalog {
	switch d.entity() {
	case Items:
		return e.items
	case Users:
		return e.users
	case Actions:
		return e.actions
	}
	return nil
}

func (e *Env) get(key string) *Compiled {
	e.mu.Lock()
	defer e.mu.Unlock()
	el, ok := e.cache[key]
	if !ok {
		return nil
	}
	e.lru.MoveToFront(el)
	return el.Value.(*cacheEntry).c
}

func (e *Env) put(key string, c *Compiled) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if el, ok := e.cache[key]; ok {
		// Another request compiled the same filter meanwhile; both results are equal.
		e.lru.MoveToFront(el)
		return
	}
	e.cache[key] = e.lru.PushFront(&cacheEntry{key: key, c: c})
	for e.lru.Len() > e.capacity {
		old := e.lru.Back()
		e.lru.Remove(old)
		delete(e.cache, old.Value.(*cacheEntry).key)
	}
}

// Context is what a request supplies for the per-request parts of a filter.
type Context struct {
	// UserID is the requesting user, whose Users row the IF clause tests.
	// An unknown user has no field values.
	UserID string
	// ItemID is the anchor item of a related-items request, which
	// CurrentItem.FIELD refers to. Without one, CurrentItem has no values.
	ItemID string
	// Events maps an event type to the candidate indexes the user
	// interacted with that way, newest first. Only the first
	// InteractionsPerEventType of each entry count, as in Personalize.
	Events map[string][]int32
}

// Compiled is a filter bound to an Env and parameter values. It is
// immutable and safe for concurrent use.
type Compiled struct {
	env *Env
	n   int
	// final is the allowed set when no expression needs the request; nil
	// otherwise. finalHas is its test, made once so that Allowed need not
	// allocate a method value per request.
	final    bitmap
	finalHas func(int32) bool
	// staticInc and staticExc are the unions of the expressions that need
	// nothing from the request; nil when there are none.
	staticInc, staticExc bitmap
	dyn                  []dynExpr
}

// dynExpr is an expression that depends on the request: through its IF
// clause, Interactions conditions or CurrentItem references.
type dynExpr struct {
	include bool
	ifs     []*matcher // on the Users catalogue
	static  bitmap     // union of the groups that need nothing from the request; may be nil
	groups  []dynGroup
}

// dynGroup is an AND group with per-request conditions.
type dynGroup struct {
	static  bitmap // intersection of the request-independent conditions; nil when none
	events  []eventCond
	current []currentCond
}

type eventCond struct {
	negated bool
	any     bool     // "*" was among the event types
	types   []string // compared case-insensitively
}

type currentCond struct {
	op     Op
	col    *column // the candidates' field; nil when no entity has it
	anchor *column // the CurrentItem field
}

// Compile binds the filter to env and the request's parameter values (as
// ParseValues returns them) and precomputes every condition that does not
// depend on the request. Results are cached in env by parameter values. A
// missing parameter of an INCLUDE expression is errs.Invalid; a missing
// parameter of an EXCLUDE expression leaves that expression out. Values
// that do not fit their field (a non-number for a numeric field, several
// values for a comparison) are errs.Invalid.
func (f *Filter) Compile(env *Env, values map[string][]string) (*Compiled, error) {
	var key string
	if env.cache != nil {
		key = f.cacheKey(values)
		if c := env.get(key); c != nil {
			return c, nil
		}
	}
	c, err := f.compile(env, values)
	if err != nil {
		return nil, err
	}
	if env.cache != nil {
		env.put(key, c)
	}
	return c, nil
}

// cacheKey identifies the filter and the values of its parameters. Values
// may hold any byte, so each is length-prefixed to keep keys unambiguous.
func (f *Filter) cacheKey(values map[string][]string) string {
	var b strings.Builder
	b.WriteString(f.canonical())
	for _, name := range f.paramNames() {
		b.WriteByte(0)
		b.WriteString(name)
		vals, ok := values[name]
		if !ok || len(vals) == 0 {
			b.WriteString("\x01-")
			continue
		}
		for _, v := range vals {
			b.WriteByte(2)
			b.WriteString(strconv.Itoa(len(v)))
			b.WriteByte(':')
			b.WriteString(v)
		}
	}
	return b.String()
}

func (f *Filter) compile(env *Env, values map[string][]string) (*Compiled, error) {
	target := [...]Dataset{ItemID: Items, UserID: Users, ActionID: Actions}[f.Exprs[0].Target]
	cat := env.catalog(target)
	if cat == nil {
		return nil, errs.E(errs.Internal, "filter on %s needs the %s catalogue", f.Exprs[0].Target, target)
	}
	c := &Compiled{env: env, n: cat.Len()}
	for i := range f.Exprs {
		e := &f.Exprs[i]
		if name, ok := missingParam(e, values); ok {
			if e.Action == Include {
				return nil, posError(f.text, e.Pos, "parameter $%s has no value in filterValues; an INCLUDE expression needs all its parameters", name)
			}
			continue // Personalize leaves out an EXCLUDE expression whose parameters are missing
		}
		d := dynExpr{include: e.Action == Include}
		for k := range e.If {
			m, err := f.matcher(env, &e.If[k], values)
			if err != nil {
				return nil, err
			}
			d.ifs = append(d.ifs, m)
		}
		for _, group := range e.Where {
			g, err := f.group(env, c.n, group, values)
			if err != nil {
				return nil, err
			}
			if len(g.events) == 0 && len(g.current) == 0 {
				d.static = union(d.static, g.static)
				continue
			}
			d.groups = append(d.groups, g)
		}
		if len(d.ifs) > 0 || len(d.groups) > 0 {
			c.dyn = append(c.dyn, d)
			continue
		}
		if d.static == nil {
			d.static = newBitmap(c.n) // all groups were empty: nothing matches
		}
		if d.include {
			c.staticInc = union(c.staticInc, d.static)
		} else {
			c.staticExc = union(c.staticExc, d.static)
		}
	}
	if len(c.dyn) == 0 {
		c.final = c.combine(c.staticInc, c.staticInc != nil, c.staticExc)
		c.finalHas = c.final.has
	}
	return c, nil
}

// missingParam returns the first parameter of e that has no value.
func missingParam(e *Expr, values map[string][]string) (string, bool) {
	for _, c := range e.conds() {
		for _, v := range c.Values {
			if v.Kind == ParamValue && len(values[v.Text]) == 0 {
				return v.Text, true
			}
		}
	}
	return "", false
}

// union returns acc ∪ b without changing b; acc may be nil (the empty set
// not yet allocated) and is reused otherwise.
func union(acc, b bitmap) bitmap {
	if acc == nil {
		return b.clone()
	}
	acc.or(b)
	return acc
}

// group compiles one AND group: request-independent conditions are
// intersected now, the others are kept for Allowed.
func (f *Filter) group(env *Env, n int, conds []Cond, values map[string][]string) (dynGroup, error) {
	var g dynGroup
	for k := range conds {
		cd := &conds[k]
		switch {
		case cd.Dataset.events():
			ec := eventCond{negated: cd.Op.negated()}
			for _, v := range cd.Values {
				vals := []string{v.Text}
				if v.Kind == ParamValue {
					vals = values[v.Text]
				}
				for _, s := range vals {
					if s == "*" {
						ec.any = true
					}
					ec.types = append(ec.types, s)
				}
			}
			g.events = append(g.events, ec)
		case len(cd.Values) == 1 && cd.Values[0].Kind == CurrentItemValue:
			cc, err := f.currentCond(env, cd)
			if err != nil {
				return g, err
			}
			g.current = append(g.current, cc)
		default:
			m, err := f.matcher(env, cd, values)
			if err != nil {
				return g, err
			}
			b := m.bitmap(n)
			if g.static == nil {
				g.static = b
			} else {
				g.static.and(b)
			}
		}
	}
	return g, nil
}

func (f *Filter) currentCond(env *Env, cd *Cond) (currentCond, error) {
	v := cd.Values[0]
	cc := currentCond{op: cd.Op}
	if env.items != nil {
		cc.col = env.items.cols[cd.Field]
		cc.anchor = env.items.cols[v.Text]
	}
	if cc.col != nil && cc.anchor != nil && cc.col.typ.Numeric() != cc.anchor.typ.Numeric() {
		return cc, posError(f.text, v.Pos, "CurrentItem.%s (%s) cannot be compared with Items.%s (%s)", v.Text, cc.anchor.typ, cd.Field, cc.col.typ)
	}
	if cd.Op.ordering() && cc.col != nil && !cc.col.typ.Numeric() {
		return cc, posError(f.text, cd.Pos, "Items.%s is a string field; %s needs a numeric field", cd.Field, cd.Op)
	}
	return cc, nil
}

// matcher binds a condition on an entity field to its literal or parameter
// values.
func (f *Filter) matcher(env *Env, cd *Cond, values map[string][]string) (*matcher, error) {
	var col *column
	if cat := env.catalog(cd.Dataset); cat != nil {
		col = cat.cols[cd.Field]
	}
	isNum := col != nil && col.typ.Numeric()
	if cd.Op.ordering() && col != nil && !isNum {
		return nil, posError(f.text, cd.Pos, "%s.%s is a string field; %s needs a numeric field", cd.Dataset, cd.Field, cd.Op)
	}
	var strs []string
	var nums []float64
	for _, v := range cd.Values {
		switch v.Kind {
		case StringValue:
			if isNum {
				return nil, posError(f.text, v.Pos, "%s.%s is numeric: write the number without quotes", cd.Dataset, cd.Field)
			}
			strs = append(strs, v.Text)
		case NumberValue:
			if col != nil && !isNum {
				return nil, posError(f.text, v.Pos, "%s.%s is a string field: quote the value", cd.Dataset, cd.Field)
			}
			nums = append(nums, v.Num)
		case ParamValue:
			vals := values[v.Text]
			if !cd.Op.list() && len(vals) != 1 {
				return nil, errs.E(errs.Invalid, "filterValues[%s] has %d values; %s compares with exactly one", v.Text, len(vals), cd.Op)
			}
			for _, s := range vals {
				if !isNum && !(col == nil && cd.Op.ordering()) {
					strs = append(strs, s)
					continue
				}
				x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
				if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
					return nil, errs.E(errs.Invalid, "filterValues[%s]: %s is not a number, which %s.%s needs", v.Text, errs.Quote(s), cd.Dataset, cd.Field)
				}
				nums = append(nums, x)
			}
		}
	}
	return newMatcher(col, cd.Op, strs, nums), nil
}

// Allowed returns the test of one candidate (an index of the target
// catalogue) for a request. When the filter depends on nothing in ctx it is
// one bit test on a precomputed bitmap and allocates nothing; otherwise the
// per-request parts are folded into one bitmap first, which costs a few
// passes over n/64 words, plus one pass over the catalogue per CurrentItem
// condition. Indexes outside the catalogue are not allowed.
func (c *Compiled) Allowed(ctx Context) func(candidate int32) bool {
	if c.finalHas != nil {
		return c.finalHas
	}
	inc, exc := c.staticInc, c.staticExc
	anyInclude := inc != nil
	ownInc, ownExc := false, false
	for i := range c.dyn {
		d := &c.dyn[i]
		if !d.active(c.env, ctx) {
			continue
		}
		b := d.eval(c, ctx)
		if d.include {
			anyInclude = true
			inc, ownInc = mergeOwned(inc, ownInc, b)
		} else {
			exc, ownExc = mergeOwned(exc, ownExc, b)
		}
	}
	return c.combine(inc, anyInclude, exc).has
}

// mergeOwned ORs b into acc, copying acc first unless it is already a
// private copy: acc may be one of the Compiled's shared bitmaps.
func mergeOwned(acc bitmap, owned bool, b bitmap) (bitmap, bool) {
	if acc == nil {
		return b, false // b may be shared as well
	}
	if !owned {
		acc = acc.clone()
	}
	acc.or(b)
	return acc, true
}

// combine returns include − exclude as a new bitmap, where no active
// include expression means everything.
func (c *Compiled) combine(inc bitmap, anyInclude bool, exc bitmap) bitmap {
	var out bitmap
	if anyInclude {
		out = inc.clone()
	} else {
		out = full(c.n)
	}
	if exc != nil {
		out.andNot(exc)
	}
	return out
}

// active reports whether the IF clause holds for the request's user.
func (d *dynExpr) active(env *Env, ctx Context) bool {
	if len(d.ifs) == 0 {
		return true
	}
	idx, known := int32(-1), false
	if env.users != nil {
		idx, known = env.users.Index(ctx.UserID)
	}
	for _, m := range d.ifs {
		if known && m.col != nil {
			if !m.matches(idx) {
				return false
			}
		} else if !m.op.negated() { // an unknown user has no values
			return false
		}
	}
	return true
}

// eval returns the entities the expression's WHERE clause matches for the
// request. The result may be shared and must not be modified.
func (d *dynExpr) eval(c *Compiled, ctx Context) bitmap {
	if len(d.groups) == 0 {
		if d.static == nil {
			return newBitmap(c.n)
		}
		return d.static
	}
	var acc bitmap
	if d.static != nil {
		acc = d.static.clone()
	}
	for i := range d.groups {
		b := d.groups[i].eval(c, ctx)
		if acc == nil {
			acc = b
		} else {
			acc.or(b)
		}
	}
	return acc
}

// eval returns a new bitmap of the entities matching every condition of g.
func (g *dynGroup) eval(c *Compiled, ctx Context) bitmap {
	var acc bitmap
	if g.static != nil {
		acc = g.static.clone()
	}
	and := func(b bitmap) {
		if acc == nil {
			acc = b
		} else {
			acc.and(b)
		}
	}
	for _, ec := range g.events {
		and(ec.bitmap(c.n, c.env.perType, ctx))
	}
	for _, cc := range g.current {
		and(cc.bitmap(c.n, c.env.items, ctx))
	}
	return acc
}

func (ec *eventCond) matchType(t string) bool {
	if ec.any {
		return true
	}
	for _, want := range ec.types {
		if strings.EqualFold(want, t) {
			return true
		}
	}
	return false
}

func (ec *eventCond) bitmap(n, perType int, ctx Context) bitmap {
	b := newBitmap(n)
	for t, items := range ctx.Events {
		if !ec.matchType(t) {
			continue
		}
		if len(items) > perType {
			items = items[:perType]
		}
		for _, it := range items {
			b.set(it)
		}
	}
	if ec.negated {
		b.not(n)
	}
	return b
}

// bitmap evaluates a CurrentItem condition over the catalogue for the
// request's anchor item.
func (cc *currentCond) bitmap(n int, items *Catalog, ctx Context) bitmap {
	var strs []string
	var nums []float64
	if items == nil || cc.anchor == nil || ctx.ItemID == "" {
		return newMatcher(cc.col, cc.op, nil, nil).bitmap(n)
	}
	if idx, ok := items.Index(ctx.ItemID); ok {
		if cc.anchor.nums != nil {
			if x := cc.anchor.nums[idx]; !math.IsNaN(x) {
				nums = []float64{x}
			}
		} else {
			strs = cc.anchor.strings(idx)
		}
	}
	return newMatcher(cc.col, cc.op, strs, nums).bitmap(n)
}
