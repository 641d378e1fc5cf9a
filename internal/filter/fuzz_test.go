package filter

import (
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/attune-dev/attune/internal/errs"
)

// stripPositions returns a copy of f's expressions without source offsets,
// which differ between an input and its canonical form.
func stripPositions(f *Filter) []Expr {
	out := make([]Expr, len(f.Exprs))
	for i, e := range f.Exprs {
		e.Pos = 0
		strip := func(cs []Cond) []Cond {
			cs = append([]Cond(nil), cs...)
			for k := range cs {
				cs[k].Pos = 0
				vs := append([]Value(nil), cs[k].Values...)
				for j := range vs {
					vs[j].Pos = 0
				}
				cs[k].Values = vs
			}
			return cs
		}
		e.Where = append([][]Cond(nil), e.Where...)
		for g := range e.Where {
			e.Where[g] = strip(e.Where[g])
		}
		e.If = strip(e.If)
		out[i] = e
	}
	return out
}

// FuzzParse checks that Parse never panics, fails only with errs.Invalid,
// and that an accepted filter re-parses from its canonical String() to an
// equal filter with the same canonical text, parameters and target.
func FuzzParse(f *testing.F) {
	for _, s := range docExamples {
		f.Add(s)
	}
	for _, s := range []string{
		`include itemid where items.A in ("x", "y\"z") or Items.B <= -1.5e3 and Items.C != $P IF CurrentUser.D NOT IN ($Q) AND CurrentUser.E >= 2`,
		`INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE NOT IN ("*")`,
		`INCLUDE ItemID WHERE Items.A IN ("x") AND Interactions.EVENT_TYPE IN ("y")`,
		`INCLUDE ItemID WHERE Items.A IN ("x") IF CurrentUser.B > 1 IF CurrentUser.C > 2`,
		`INCLUDE ItemID WHERE Items.A IN ($P, "x")`,
		`EXCLUDE UserID WHERE Users.A IN (1, 2.5, .5, +3)`,
		`INCLUDE ItemID WHERE Items.A IN("x")|INCLUDE ItemID WHERE Items.B>=$B`,
		"INCLUDE ItemID WHERE Items.A IN (\"\\\\\")",
		`INCLUDE`, `"`, `$`, `1e`, `|`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := Parse(expr)
		if err != nil {
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("Parse(%q) error kind = %v, want Invalid: %v", expr, errs.KindOf(err), err)
			}
			return
		}
		canon := flt.String()
		if utf8.RuneCountInString(canon) > MaxExpressionLen {
			// Canonical spacing can push a terse expression over the limit,
			// which applies to what clients send.
			return
		}
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) accepted, but its canonical form %q fails: %v", expr, canon, err)
		}
		if got := again.String(); got != canon {
			t.Fatalf("canonical form is not stable: %q -> %q", canon, got)
		}
		if !reflect.DeepEqual(stripPositions(again), stripPositions(flt)) {
			t.Fatalf("Parse(%q) and Parse(%q) differ:\n%+v\n%+v", expr, canon, flt.Exprs, again.Exprs)
		}
		if !reflect.DeepEqual(again.Params(), flt.Params()) || again.Target() != flt.Target() {
			t.Fatalf("Params or Target differ between %q and %q", expr, canon)
		}
	})
}
