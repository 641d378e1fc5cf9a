package filter

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/schema"
)

// shop is a small fixed catalogue for readable semantic cases.
func shop(t testing.TB, opts EnvOptions) *Env {
	t.Helper()
	itemFields := []schema.Field{
		{Name: "GENRE", Type: schema.String, Categorical: true, Nullable: true},
		{Name: "BRAND", Type: schema.String, Nullable: true},
		{Name: "PRICE", Type: schema.Float, Nullable: true},
	}
	rows := map[string][]schema.Value{
		"a": {{Str: "Comedy|Drama"}, {Str: "acme|x"}, {Float: 5}},
		"b": {{Str: "Horror"}, {Str: "acme"}, {Float: 15}},
		"c": {{Str: "comedy"}, {Null: true}, {Null: true}},
		"d": {{Null: true}, {Str: "zeta"}, {Float: 25}},
		// "e" is in the model but has no Items row.
	}
	items := NewCatalog([]string{"a", "b", "c", "d", "e"}, itemFields, func(id string) []schema.Value { return rows[id] })
	userFields := []schema.Field{{Name: "AGE", Type: schema.Int, Nullable: true}, {Name: "TIER", Type: schema.String, Categorical: true}}
	urows := map[string][]schema.Value{
		"kid":   {{Int: 10}, {Str: "free"}},
		"adult": {{Int: 40}, {Str: "gold|vip"}},
		"anon":  {{Null: true}, {Str: "free"}},
	}
	users := NewCatalog([]string{"kid", "adult", "anon"}, userFields, func(id string) []schema.Value { return urows[id] })
	actions := NewCatalog([]string{"x", "y"}, []schema.Field{{Name: "VALUE", Type: schema.Long}},
		func(id string) []schema.Value { return []schema.Value{{Int: int64(len(id) + int(id[0]-'x')*10)}} })
	return NewEnv(items, users, actions, opts)
}

// allowedIDs lists the allowed candidates of n by index.
func allowedIDs(allowed func(int32) bool, n int) []int {
	var out []int
	for i := range n {
		if allowed(int32(i)) {
			out = append(out, i)
		}
	}
	return out
}

func TestAllowedSemantics(t *testing.T) {
	const a, b, c, d, e = 0, 1, 2, 3, 4
	tests := []struct {
		name   string
		expr   string
		values map[string][]string
		ctx    Context
		n      int // candidates to test; 5 items unless set
		want   []int
	}{
		{name: "multi-valued categorical IN", expr: `INCLUDE ItemID WHERE Items.GENRE IN ("Drama")`, want: []int{a}},
		{name: "matching is case-sensitive", expr: `INCLUDE ItemID WHERE Items.GENRE IN ("Comedy")`, want: []int{a}},
		{name: "NOT IN keeps items without the field", expr: `INCLUDE ItemID WHERE Items.GENRE NOT IN ("Comedy", "Horror")`, want: []int{c, d, e}},
		{name: "non-categorical strings are not split", expr: `INCLUDE ItemID WHERE Items.BRAND = "acme"`, want: []int{b}},
		{name: "!= is the complement of =", expr: `INCLUDE ItemID WHERE Items.BRAND != "acme"`, want: []int{a, c, d, e}},
		{name: "ordering skips nulls", expr: `INCLUDE ItemID WHERE Items.PRICE < 20`, want: []int{a, b}},
		{name: "AND before OR", expr: `INCLUDE ItemID WHERE Items.PRICE > 20 OR Items.PRICE > 1 AND Items.BRAND IN ("acme")`, want: []int{b, d}},
		{name: "numeric parameter", expr: `INCLUDE ItemID WHERE Items.PRICE >= $MIN`, values: map[string][]string{"MIN": {"15"}}, want: []int{b, d}},
		{name: "string parameter list", expr: `INCLUDE ItemID WHERE Items.GENRE IN ($G)`, values: map[string][]string{"G": {"Horror", "comedy"}}, want: []int{b, c}},
		{name: "exclude with missing parameter is left out", expr: `EXCLUDE ItemID WHERE Items.GENRE IN ($G) | EXCLUDE ItemID WHERE Items.PRICE > 20`, want: []int{a, b, c, e}},
		{name: "include union minus exclude", expr: `INCLUDE ItemID WHERE Items.PRICE < 10 | INCLUDE ItemID WHERE Items.BRAND IN ("zeta", "acme") | EXCLUDE ItemID WHERE Items.GENRE IN ("Horror")`, want: []int{a, d}},
		{
			name: "exclude purchased, case-insensitive event types",
			expr: `EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("PURCHASE")`,
			ctx:  Context{Events: map[string][]int32{"purchase": {b}, "click": {a}}},
			want: []int{a, c, d, e},
		},
		{
			name: "any event type",
			expr: `INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")`,
			ctx:  Context{Events: map[string][]int32{"purchase": {b}, "click": {a, b}}},
			want: []int{a, b},
		},
		{
			name: "only the latest interactions per type count",
			expr: `EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")`,
			ctx:  Context{Events: map[string][]int32{"click": {a, b, c}}}, // limit 2 below
			want: []int{c, d, e},
		},
		{
			name:   "event type parameter",
			expr:   `INCLUDE ItemID WHERE Interactions.EVENT_TYPE NOT IN ($E)`,
			values: map[string][]string{"E": {"view"}},
			ctx:    Context{Events: map[string][]int32{"VIEW": {d}}},
			want:   []int{a, b, c, e},
		},
		{
			name: "IF holds",
			expr: `INCLUDE ItemID WHERE Items.GENRE IN ("Horror") IF CurrentUser.AGE >= 18 AND CurrentUser.TIER IN ("vip")`,
			ctx:  Context{UserID: "adult"},
			want: []int{b},
		},
		{
			name: "IF fails: the expression is left out",
			expr: `INCLUDE ItemID WHERE Items.GENRE IN ("Horror") IF CurrentUser.AGE >= 18`,
			ctx:  Context{UserID: "kid"},
			want: []int{a, b, c, d, e},
		},
		{
			name: "IF on a missing value fails",
			expr: `EXCLUDE ItemID WHERE Items.GENRE IN ("Horror") IF CurrentUser.AGE < 100`,
			ctx:  Context{UserID: "anon"},
			want: []int{a, b, c, d, e},
		},
		{
			name: "IF with NOT IN holds for an unknown user",
			expr: `EXCLUDE ItemID WHERE Items.GENRE IN ("Horror") IF CurrentUser.TIER NOT IN ("gold")`,
			ctx:  Context{UserID: "nobody"},
			want: []int{a, c, d, e},
		},
		{
			name: "CurrentItem categorical",
			expr: `INCLUDE ItemID WHERE Items.GENRE IN (CurrentItem.GENRE)`,
			ctx:  Context{ItemID: "a"},
			want: []int{a},
		},
		{
			name: "CurrentItem cheaper than",
			expr: `INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE`,
			ctx:  Context{ItemID: "d"},
			want: []int{a, b},
		},
		{
			name: "CurrentItem without an anchor matches nothing",
			expr: `INCLUDE ItemID WHERE Items.PRICE <= CurrentItem.PRICE`,
			want: nil,
		},
		{
			name:   "user segments",
			expr:   `EXCLUDE UserID WHERE Users.AGE < $AGE`,
			values: map[string][]string{"AGE": {"18"}},
			n:      3,
			want:   []int{1, 2},
		},
		{
			name: "actions",
			expr: `INCLUDE ActionID WHERE Actions.VALUE > 5 | EXCLUDE ActionID WHERE Action_Interactions.EVENT_TYPE IN ("TAKEN")`,
			ctx:  Context{Events: map[string][]int32{"taken": {0}}},
			n:    2,
			want: []int{1},
		},
	}
	env := shop(t, EnvOptions{InteractionsPerEventType: 2})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			c, err := f.Compile(env, tc.values)
			if err != nil {
				t.Fatalf("Compile(%q) = %v", tc.expr, err)
			}
			n := tc.n
			if n == 0 {
				n = 5
			}
			if got := allowedIDs(c.Allowed(tc.ctx), n); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Allowed(%q) = %v, want %v", tc.expr, got, tc.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name   string
		expr   string
		values map[string][]string
		kind   errs.Kind
	}{
		{"missing include parameter", `INCLUDE ItemID WHERE Items.GENRE IN ($G)`, nil, errs.Invalid},
		{"missing include parameter in IF", `INCLUDE ItemID WHERE Items.GENRE IN ("x") IF CurrentUser.AGE > $A`, nil, errs.Invalid},
		{"empty value list counts as missing", `INCLUDE ItemID WHERE Items.GENRE IN ($G)`, map[string][]string{"G": {}}, errs.Invalid},
		{"non-numeric value for a number", `INCLUDE ItemID WHERE Items.PRICE < $P`, map[string][]string{"P": {"cheap"}}, errs.Invalid},
		{"NaN for a number", `INCLUDE ItemID WHERE Items.PRICE IN ($P)`, map[string][]string{"P": {"NaN"}}, errs.Invalid},
		{"two values for a comparison", `EXCLUDE ItemID WHERE Items.PRICE < $P`, map[string][]string{"P": {"1", "2"}}, errs.Invalid},
		{"ordering on a string field", `INCLUDE ItemID WHERE Items.BRAND > 3`, nil, errs.Invalid},
		{"quoted number for a numeric field", `INCLUDE ItemID WHERE Items.PRICE IN ("3")`, nil, errs.Invalid},
		{"number for a string field", `INCLUDE ItemID WHERE Items.BRAND IN (3)`, nil, errs.Invalid},
		{"CurrentItem kinds differ", `INCLUDE ItemID WHERE Items.PRICE = CurrentItem.GENRE`, nil, errs.Invalid},
		{"no target catalogue", `INCLUDE ActionID WHERE Actions.VALUE > 1`, nil, errs.Internal},
	}
	env := shop(t, EnvOptions{})
	noActions := NewEnv(env.items, env.users, nil, EnvOptions{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.Compile(noActions, tc.values)
			if err == nil || errs.KindOf(err) != tc.kind {
				t.Fatalf("Compile(%q, %v) = %v, want kind %v", tc.expr, tc.values, err, tc.kind)
			}
		})
	}
}

func TestCompileCache(t *testing.T) {
	env := shop(t, EnvOptions{CacheSize: 2})
	f, err := Parse(`INCLUDE ItemID WHERE Items.GENRE IN ($G)`)
	if err != nil {
		t.Fatal(err)
	}
	compile := func(vals ...string) *Compiled {
		t.Helper()
		c, err := f.Compile(env, map[string][]string{"G": vals})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	horror := compile("Horror")
	if again := compile("Horror"); again != horror {
		t.Errorf("Compile with the same values = a new result, want the cached one")
	}
	// Values are length-prefixed: ["a,b"] and ["a", "b"] must not share an entry.
	if compile("Horror", "Drama") == compile("Horror,Drama") {
		t.Errorf("Compile of different value lists shared a cache entry")
	}
	// Capacity 2: the two entries just made pushed "Horror" out.
	if compile("Horror") == horror {
		t.Errorf("Compile(Horror) came from the cache after eviction")
	}
	if got := len(env.cache); got != 2 {
		t.Errorf("cache holds %d entries, want 2", got)
	}
}

func TestAllowedStaticDoesNotAllocate(t *testing.T) {
	env := shop(t, EnvOptions{})
	f, err := Parse(`INCLUDE ItemID WHERE Items.GENRE IN ("Horror") | EXCLUDE ItemID WHERE Items.PRICE > 20`)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Compile(env, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sink bool
	allocs := testing.AllocsPerRun(100, func() {
		allowed := c.Allowed(Context{UserID: "kid"})
		for i := range int32(5) {
			sink = sink != allowed(i)
		}
	})
	if allocs != 0 {
		t.Errorf("Allowed on a request-independent filter allocates %v times, want 0", allocs)
	}
}

func TestValidate(t *testing.T) {
	s := Schemas{
		Items: []schema.Field{
			{Name: "ITEM_ID", Type: schema.String},
			{Name: "GENRE", Type: schema.String, Categorical: true},
			{Name: "PRICE", Type: schema.Float},
			{Name: "DESCRIPTION", Type: schema.String, Textual: true},
			{Name: "ADULT", Type: schema.Boolean},
		},
		Users: []schema.Field{{Name: "USER_ID", Type: schema.String}, {Name: "AGE", Type: schema.Int}},
	}
	tests := []struct {
		name    string
		expr    string
		schemas Schemas
		offset  int // -1: valid
	}{
		{"valid", `INCLUDE ItemID WHERE Items.GENRE IN ($G) AND Items.PRICE < CurrentItem.PRICE IF CurrentUser.AGE > 18`, s, -1},
		{"interactions need no schema", `EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("x")`, Schemas{}, -1},
		{"unknown field", `INCLUDE ItemID WHERE Items.COLOR IN ("x")`, s, 21},
		{"field names are case-sensitive", `INCLUDE ItemID WHERE Items.genre IN ("x")`, s, 21},
		{"textual field", `INCLUDE ItemID WHERE Items.DESCRIPTION IN ("x")`, s, 21},
		{"boolean field", `INCLUDE ItemID WHERE Items.ADULT IN ("True")`, s, 21},
		{"ordering on a string", `INCLUDE ItemID WHERE Items.GENRE > $G`, s, 21},
		{"quoted number", `INCLUDE ItemID WHERE Items.PRICE IN ("3")`, s, 37},
		{"bare number for a string", `INCLUDE ItemID WHERE Items.GENRE = 3`, s, 35},
		{"CurrentItem kinds differ", `INCLUDE ItemID WHERE Items.GENRE IN (CurrentItem.PRICE)`, s, 37},
		{"CurrentItem unknown field", `INCLUDE ItemID WHERE Items.GENRE IN (CurrentItem.NOPE)`, s, 37},
		{"IF field unknown", `INCLUDE ItemID WHERE Items.GENRE IN ("x") IF CurrentUser.TIER IN ("x")`, s, 45},
		{"no Users dataset", `INCLUDE ItemID WHERE Items.GENRE IN ("x") IF CurrentUser.AGE > 1`, Schemas{Items: s.Items}, 45},
		{"no Actions dataset", `INCLUDE ActionID WHERE Actions.VALUE > 1`, s, 23},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			err = f.Validate(tc.schemas)
			if tc.offset < 0 {
				if err != nil {
					t.Fatalf("Validate(%q) = %v, want nil", tc.expr, err)
				}
				return
			}
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("Validate(%q) = %v, want Invalid", tc.expr, err)
			}
			if got := errorOffset(err); got != tc.offset {
				t.Errorf("Validate(%q) error offset = %d, want %d: %v", tc.expr, got, tc.offset, err)
			}
		})
	}
}

func TestParseValues(t *testing.T) {
	many := map[string]string{}
	for i := range MaxParams + 1 {
		many["P"+strconv.Itoa(i)] = `"x"`
	}
	tests := []struct {
		name    string
		in      map[string]string
		want    map[string][]string
		wantErr bool
	}{
		{name: "documented format", in: map[string]string{"GENRES": `"horror","comedy"`}, want: map[string][]string{"GENRES": {"horror", "comedy"}}},
		{name: "spaces and escapes", in: map[string]string{"A": ` "a, b" , "say \"hi\"","c\\d" `}, want: map[string][]string{"A": {"a, b", `say "hi"`, `c\d`}}},
		{name: "quoted number", in: map[string]string{"PRICE": `"10"`}, want: map[string][]string{"PRICE": {"10"}}},
		{name: "bare value", in: map[string]string{"CAT": `not-quoted`}, wantErr: true},
		{name: "bare number", in: map[string]string{"PRICE": `10`}, wantErr: true},
		{name: "bare after quoted", in: map[string]string{"E": `"click", view`}, wantErr: true},
		{name: "leading comma", in: map[string]string{"G": `,"a"`}, wantErr: true},
		{name: "empty string has no values", in: map[string]string{"G": ` `}, want: map[string][]string{"G": nil}},
		{name: "empty quoted value", in: map[string]string{"G": `""`}, want: map[string][]string{"G": {""}}},
		{name: "nil map", in: nil, want: map[string][]string{}},
		{name: "unterminated", in: map[string]string{"G": `"horror`}, wantErr: true},
		{name: "trailing comma", in: map[string]string{"G": `"a",`}, wantErr: true},
		{name: "missing comma", in: map[string]string{"G": `"a" "b"`}, wantErr: true},
		{name: "stray quote", in: map[string]string{"G": `a"b"`}, wantErr: true},
		{name: "bad key", in: map[string]string{"$G": `"a"`}, wantErr: true},
		{name: "too many", in: many, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseValues(tc.in)
			if tc.wantErr {
				if errs.KindOf(err) != errs.Invalid {
					t.Fatalf("ParseValues(%q) = %q, %v, want Invalid", tc.in, got, err)
				}
				for k, v := range tc.in {
					if len(tc.in) == 1 && !strings.Contains(errs.Message(err), k) {
						t.Errorf("ParseValues(%q) error %q does not name the key %s", tc.in, errs.Message(err), k)
					}
					if len(v) > 3 && strings.Contains(errs.Message(err), strings.TrimSpace(v)) {
						t.Errorf("ParseValues(%q) error %q quotes the value", tc.in, errs.Message(err))
					}
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseValues(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
			}
		})
	}
}
