package filter

import (
	"reflect"
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
)

// quoteValues writes vals in the filterValues wire format ParseValues reads.
func quoteValues(vals []string) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		v = strings.ReplaceAll(v, `\`, `\\`)
		parts[i] = `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`
	}
	return strings.Join(parts, ",")
}

// FuzzParseValues checks that ParseValues never panics, fails only with
// errs.Invalid naming the parameter, accepts only quoted values, and that
// what it accepts reads back the same once written in the canonical form.
func FuzzParseValues(f *testing.F) {
	for _, s := range []string{`"horror","comedy"`, ` "a, b" , "say \"hi\"","c\\d" `, `"10"`, `not-quoted`, `10`,
		`"a",`, `"a" "b"`, `a"b"`, `"unterminated`, ``, ` `, `""`, `,`, `"\"`, `"\\"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := ParseValues(map[string]string{"P": raw})
		if err != nil {
			if errs.KindOf(err) != errs.Invalid || !strings.Contains(errs.Message(err), "filterValues[P]") {
				t.Fatalf("ParseValues(%q) error = %v (kind %v), want Invalid naming filterValues[P]", raw, err, errs.KindOf(err))
			}
			return
		}
		vals := got["P"]
		if len(vals) > 0 && !strings.HasPrefix(strings.TrimLeft(raw, " \t\r\n"), `"`) {
			t.Fatalf("ParseValues(%q) = %q: accepted a value that does not start with a quote", raw, vals)
		}
		if len(vals) == 0 {
			return
		}
		again, err := ParseValues(map[string]string{"P": quoteValues(vals)})
		if err != nil || !reflect.DeepEqual(again["P"], vals) {
			t.Fatalf("ParseValues(%q) = %q, but its canonical form %q reads back as %q, %v", raw, vals, quoteValues(vals), again["P"], err)
		}
	})
}
