package filter

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/schema"
)

// world is a random dataset group: items, users and their rows.
type world struct {
	itemIDs, userIDs       []string
	itemFields, userFields []schema.Field
	items, users           map[string][]schema.Value // id -> row; ids without a row are absent
}

var (
	genres  = []string{"Comedy", "Drama", "Horror", "Sci-Fi", "comedy"}
	colors  = []string{"red", "blue", "Red", "x|y", "x"}
	prices  = []float64{1, 2.5, 3, 10, 99.99}
	years   = []int64{1999, 2000, 2001}
	ages    = []int64{10, 18, 30, 65}
	tiers   = []string{"gold", "silver", "gold|vip", "vip"}
	evTypes = []string{"click", "Click", "PURCHASE", "purchase", "view"}
)

func newWorld(r *rand.Rand, nItems, nUsers int) *world {
	w := &world{
		itemFields: []schema.Field{
			{Name: "ITEM_ID", Type: schema.String},
			{Name: "GENRE", Type: schema.String, Categorical: true, Nullable: true},
			{Name: "COLOR", Type: schema.String, Nullable: true},
			{Name: "PRICE", Type: schema.Double, Nullable: true},
			{Name: "YEAR", Type: schema.Int, Nullable: true},
			{Name: "DESC", Type: schema.String, Textual: true},
		},
		userFields: []schema.Field{
			{Name: "USER_ID", Type: schema.String},
			{Name: "AGE", Type: schema.Long, Nullable: true},
			{Name: "TIER", Type: schema.String, Categorical: true, Nullable: true},
		},
		items: map[string][]schema.Value{}, users: map[string][]schema.Value{},
	}
	null := func() bool { return r.IntN(6) == 0 }
	for i := range nItems {
		id := "i" + strconv.Itoa(i)
		w.itemIDs = append(w.itemIDs, id)
		if r.IntN(15) == 0 {
			continue // an item of the model with no Items row
		}
		row := []schema.Value{{Str: id}, {Null: true}, {Null: true}, {Null: true}, {Null: true}, {Str: "text"}}
		if !null() {
			var parts []string
			for range 1 + r.IntN(3) {
				parts = append(parts, genres[r.IntN(len(genres))])
			}
			row[1] = schema.Value{Str: strings.Join(parts, " | ")}
		}
		if !null() {
			row[2] = schema.Value{Str: colors[r.IntN(len(colors))]}
		}
		if !null() {
			row[3] = schema.Value{Float: prices[r.IntN(len(prices))]}
		}
		if !null() {
			row[4] = schema.Value{Int: years[r.IntN(len(years))]}
		}
		w.items[id] = row
	}
	for i := range nUsers {
		id := "u" + strconv.Itoa(i)
		w.userIDs = append(w.userIDs, id)
		row := []schema.Value{{Str: id}, {Null: true}, {Null: true}}
		if !null() {
			row[1] = schema.Value{Int: ages[r.IntN(len(ages))]}
		}
		if !null() {
			row[2] = schema.Value{Str: tiers[r.IntN(len(tiers))]}
		}
		w.users[id] = row
	}
	return w
}

func (w *world) env(opts EnvOptions) *Env {
	items := NewCatalog(w.itemIDs, w.itemFields, func(id string) []schema.Value { return w.items[id] })
	users := NewCatalog(w.userIDs, w.userFields, func(id string) []schema.Value { return w.users[id] })
	return NewEnv(items, users, nil, opts)
}

// gen writes random valid ItemID filters over the world's fields. Each
// parameter name belongs to one field so that its values fit.
type gen struct{ r *rand.Rand }

func (g gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g gen) num(xs []float64) string { return strconv.FormatFloat(xs[g.r.IntN(len(xs))], 'g', -1, 64) }

func (g gen) stringTest(field string, vocab []string, param string, current []string) string {
	ops := []string{"IN", "NOT IN", "=", "!="}
	op := g.pick(ops)
	var vals []string
	switch k := g.r.IntN(5); {
	case k == 0:
		vals = []string{"$" + param}
	case k == 1:
		vals = []string{"CurrentItem." + g.pick(current)}
	default:
		for range 1 + g.r.IntN(3) {
			vals = append(vals, quote(g.pick(vocab)))
		}
	}
	if op == "=" || op == "!=" {
		return fmt.Sprintf("%s %s %s", field, op, vals[0])
	}
	return fmt.Sprintf("%s %s (%s)", field, op, strings.Join(vals, ", "))
}

func (g gen) numTest(field string, vocab []float64, param string, current []string) string {
	op := g.pick([]string{"IN", "NOT IN", "=", "!=", "<", "<=", ">", ">="})
	var vals []string
	switch k := g.r.IntN(5); {
	case k == 0:
		vals = []string{"$" + param}
	case k == 1 && current != nil:
		vals = []string{"CurrentItem." + g.pick(current)}
	default:
		for range 1 + g.r.IntN(3) {
			vals = append(vals, g.num(vocab))
		}
	}
	if op == "IN" || op == "NOT IN" {
		return fmt.Sprintf("%s %s (%s)", field, op, strings.Join(vals, ", "))
	}
	return fmt.Sprintf("%s %s %s", field, op, vals[0])
}

func (g gen) cond(events bool) string {
	if events {
		op := g.pick([]string{"IN", "NOT IN"})
		if g.r.IntN(4) == 0 {
			return "Interactions.EVENT_TYPE " + op + " ($E)"
		}
		var vals []string
		for range 1 + g.r.IntN(2) {
			vals = append(vals, quote(g.pick(append(evTypes, "*", "VIEW"))))
		}
		return "Interactions.EVENT_TYPE " + op + " (" + strings.Join(vals, ", ") + ")"
	}
	switch g.r.IntN(4) {
	case 0:
		return g.stringTest("Items.GENRE", genres, "G", []string{"GENRE", "COLOR"})
	case 1:
		return g.stringTest("Items.COLOR", colors, "C", []string{"COLOR", "GENRE"})
	case 2:
		return g.numTest("Items.PRICE", prices, "P", []string{"PRICE", "YEAR"})
	}
	return g.numTest("Items.YEAR", []float64{1999, 2000, 2001, 2000.5}, "Y", []string{"YEAR"})
}

func (g gen) userCond() string {
	if g.r.IntN(2) == 0 {
		return strings.Replace(g.numTest("CurrentUser.AGE", []float64{10, 18, 30, 65}, "A", nil), "CurrentItem.", "", 1)
	}
	s := g.stringTest("CurrentUser.TIER", tiers, "T", []string{"TIER"})
	if strings.Contains(s, "CurrentItem.") {
		return `CurrentUser.TIER IN ("gold")`
	}
	return s
}

func (g gen) filter() string {
	var exprs []string
	for range 1 + g.r.IntN(3) {
		var b strings.Builder
		b.WriteString(g.pick([]string{"INCLUDE", "EXCLUDE"}))
		b.WriteString(" ItemID WHERE ")
		events := g.r.IntN(3) == 0
		for k := range 1 + g.r.IntN(3) {
			if k > 0 {
				b.WriteString(g.pick([]string{" AND ", " OR "}))
			}
			b.WriteString(g.cond(events))
		}
		if g.r.IntN(3) == 0 {
			b.WriteString(" IF ")
			b.WriteString(g.userCond())
			if g.r.IntN(2) == 0 {
				b.WriteString(" AND ")
				b.WriteString(g.userCond())
			}
		}
		exprs = append(exprs, b.String())
	}
	return strings.Join(exprs, " | ")
}

// values binds each parameter with probability 4/5.
func (g gen) values() map[string][]string {
	out := map[string][]string{}
	choose := func(name string, vocab []string, most int) {
		if g.r.IntN(5) == 0 {
			return
		}
		for range 1 + g.r.IntN(most) {
			out[name] = append(out[name], g.pick(vocab))
		}
	}
	choose("G", genres, 2)
	choose("C", colors, 2)
	choose("T", tiers, 2)
	choose("E", append(evTypes, "*"), 2)
	choose("P", []string{"1", "2.5", "10", "50"}, 1)
	choose("Y", []string{"2000", "1999"}, 1)
	choose("A", []string{"18", "30"}, 1)
	return out
}

func (g gen) context(w *world, nItems int) Context {
	ctx := Context{Events: map[string][]int32{}}
	if g.r.IntN(8) > 0 {
		ctx.UserID = w.userIDs[g.r.IntN(len(w.userIDs))]
	} else {
		ctx.UserID = "stranger"
	}
	switch g.r.IntN(8) {
	case 0:
	case 1:
		ctx.ItemID = "unknown"
	default:
		ctx.ItemID = w.itemIDs[g.r.IntN(len(w.itemIDs))]
	}
	for _, t := range evTypes {
		if g.r.IntN(2) == 0 {
			continue
		}
		// Sometimes past the per-type limit, so that the limit is exercised.
		for range g.r.IntN(130) {
			ctx.Events[t] = append(ctx.Events[t], int32(g.r.IntN(nItems)))
		}
	}
	return ctx
}

// The reference evaluator interprets the parsed expressions directly over
// the raw rows, one candidate at a time, without catalogues or bitmaps.

func refField(fields []schema.Field, row []schema.Value, name string) (strs []string, num float64, isNum bool) {
	for k, f := range fields {
		if f.Name != name {
			continue
		}
		isNum = f.Type.Numeric()
		num = math.NaN()
		if row == nil || row[k].Null {
			return nil, num, isNum
		}
		v := row[k]
		switch {
		case f.Type == schema.Int || f.Type == schema.Long:
			return nil, float64(v.Int), true
		case isNum:
			return nil, v.Float, true
		case f.Categorical:
			for _, p := range strings.Split(v.Str, "|") {
				if p = strings.TrimSpace(p); p != "" {
					strs = append(strs, p)
				}
			}
			return strs, num, false
		}
		return []string{v.Str}, num, false
	}
	panic("no field " + name)
}

// refTest applies op to an entity's values and the wanted values.
func refTest(op Op, strs []string, num float64, isNum bool, want []string) bool {
	if isNum {
		var ws []float64
		for _, s := range want {
			x, err := strconv.ParseFloat(s, 64)
			if err != nil {
				panic(err)
			}
			ws = append(ws, x)
		}
		if op >= Lt {
			if len(ws) == 0 || math.IsNaN(num) {
				return false
			}
			switch op {
			case Lt:
				return num < ws[0]
			case Le:
				return num <= ws[0]
			case Gt:
				return num > ws[0]
			}
			return num >= ws[0]
		}
		hit := false
		for _, x := range ws {
			hit = hit || x == num
		}
		return hit != (op == NotIn || op == Ne)
	}
	hit := false
	for _, s := range strs {
		for _, x := range want {
			hit = hit || s == x
		}
	}
	return hit != (op == NotIn || op == Ne)
}

// refWanted returns the values a condition compares with and whether all
// its parameters are bound.
func refWanted(w *world, c Cond, values map[string][]string, ctx Context) ([]string, bool) {
	var out []string
	for _, v := range c.Values {
		switch v.Kind {
		case StringValue, NumberValue:
			out = append(out, v.Text)
		case ParamValue:
			if len(values[v.Text]) == 0 {
				return nil, false
			}
			out = append(out, values[v.Text]...)
		case CurrentItemValue:
			strs, num, isNum := refField(w.itemFields, w.items[ctx.ItemID], v.Text)
			if isNum && !math.IsNaN(num) {
				out = append(out, strconv.FormatFloat(num, 'g', -1, 64))
			} else if !isNum {
				out = append(out, strs...)
			}
		}
	}
	return out, true
}

// reference returns the allowed candidates, or ok=false when Compile must
// fail: an INCLUDE expression lacks a parameter, or a comparison's parameter
// has several values.
func reference(w *world, f *Filter, values map[string][]string, ctx Context) (allowed []bool, ok bool) {
	n := len(w.itemIDs)
	userTypes := make([]map[string]bool, n) // candidate -> event types, latest 100 of each
	for t, items := range ctx.Events {
		for k, it := range items {
			if k < DefaultInteractionsPerEventType {
				if userTypes[it] == nil {
					userTypes[it] = map[string]bool{}
				}
				userTypes[it][t] = true
			}
		}
	}
	anyInclude := false
	inc, exc := make([]bool, n), make([]bool, n)
	for _, e := range f.Exprs {
		active := true
		for _, c := range e.conds() {
			if _, bound := refWanted(w, *c, values, ctx); !bound {
				if e.Action == Include {
					return nil, false
				}
				active = false
			}
		}
		if !active {
			continue
		}
		for _, c := range e.conds() {
			if v := c.Values[0]; !c.Op.list() && v.Kind == ParamValue && len(values[v.Text]) != 1 {
				return nil, false // a comparison takes exactly one value
			}
		}
		for _, c := range e.If {
			want, _ := refWanted(w, c, values, ctx)
			strs, num, isNum := refField(w.userFields, w.users[ctx.UserID], c.Field)
			active = active && refTest(c.Op, strs, num, isNum, want)
		}
		if !active {
			continue
		}
		if e.Action == Include {
			anyInclude = true
		}
		for i := range n {
			match := false
			for _, group := range e.Where {
				all := true
				for _, c := range group {
					want, _ := refWanted(w, c, values, ctx)
					var hit bool
					if c.Dataset == Interactions {
						for t := range userTypes[i] {
							for _, x := range want {
								hit = hit || x == "*" || strings.EqualFold(x, t)
							}
						}
						hit = hit != (c.Op == NotIn)
					} else {
						strs, num, isNum := refField(w.itemFields, w.items[w.itemIDs[i]], c.Field)
						hit = refTest(c.Op, strs, num, isNum, want)
					}
					all = all && hit
				}
				match = match || all
			}
			if e.Action == Include {
				inc[i] = inc[i] || match
			} else {
				exc[i] = exc[i] || match
			}
		}
	}
	allowed = make([]bool, n)
	for i := range n {
		allowed[i] = (!anyInclude || inc[i]) && !exc[i]
	}
	return allowed, true
}

// TestAllowedMatchesReference compares the compiled evaluator with the
// reference on many random filters, parameter values and requests.
func TestAllowedMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	w := newWorld(r, 150, 40)
	env := w.env(EnvOptions{})
	noCache := w.env(EnvOptions{CacheSize: -1})
	g := gen{r}
	var checked, rejected, allowedTotal, cells int
	for range 3000 {
		text := g.filter()
		f, err := Parse(text)
		if err != nil {
			// The generator can exceed the distinct-field limit; nothing else.
			if !strings.Contains(errs.Message(err), "distinct dataset fields") {
				t.Fatalf("Parse(%q) = %v", text, err)
			}
			rejected++
			continue
		}
		if err := f.Validate(Schemas{Items: w.itemFields, Users: w.userFields}); err != nil {
			t.Fatalf("Validate(%q) = %v", text, err)
		}
		for range 3 {
			values := g.values()
			ctx := g.context(w, len(w.itemIDs))
			want, ok := reference(w, f, values, ctx)
			c, err := f.Compile(env, values)
			if !ok {
				if errs.KindOf(err) != errs.Invalid {
					t.Fatalf("Compile(%q, %v) = %v, want Invalid", text, values, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("Compile(%q, %v) = %v", text, values, err)
			}
			again, err := f.Compile(noCache, values)
			if err != nil {
				t.Fatalf("Compile without cache(%q) = %v", text, err)
			}
			for _, cc := range []*Compiled{c, again} {
				allowed := cc.Allowed(ctx)
				for i := range want {
					if got := allowed(int32(i)); got != want[i] {
						t.Fatalf("filter %q values %v ctx user %s item %s events %v:\nAllowed(%d) = %v, want %v",
							text, values, ctx.UserID, ctx.ItemID, ctx.Events, i, got, want[i])
					}
				}
				if allowed(int32(len(want))) || allowed(-1) {
					t.Fatalf("filter %q allows a candidate outside the catalogue", text)
				}
			}
			for _, a := range want {
				if a {
					allowedTotal++
				}
			}
			cells += len(want)
			checked++
		}
	}
	// Guard against a generator that only produces trivial filters.
	if checked < 5000 || rejected > 1500 {
		t.Fatalf("checked %d filter bindings, rejected %d filters: generator is off", checked, rejected)
	}
	if frac := float64(allowedTotal) / float64(cells); frac < 0.2 || frac > 0.8 {
		t.Fatalf("%.2f of candidates allowed: the random filters are too one-sided to test much", frac)
	}
}
