package filter

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
)

// docExamples are the worked examples of personalize-api.md §7.2 and §8.
var docExamples = []string{
	`EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")`,
	`EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ($EVENT_TYPE)`,
	`INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")`,
	`INCLUDE ItemID WHERE Items.GENRES IN ($GENRE)`,
	`EXCLUDE ItemID WHERE Items.CATEGORY IN ("shoe") AND Items.DESCRIPTION NOT IN ("boot")`,
	`INCLUDE ItemID WHERE Items.PRICE <= $PRICE`,
	`INCLUDE ItemID WHERE Items.CREATION_TIMESTAMP > $SINCE`,
	`EXCLUDE ItemID WHERE Items.GENRE IN ($GENRE) IF CurrentUser.AGE = $AGE`,
	`INCLUDE ItemID WHERE Items.CATEGORY IN ("watch") AND Items.TIER IN ("luxury") IF CurrentUser.AGE > 18`,
	`INCLUDE ItemID WHERE Items.GENRE IN ($GENRE) | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "stream")`,
	`INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY) | INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("favorite")`,
	`INCLUDE ItemID WHERE Items.GENRE IN (CurrentItem.GENRE)`,
	`INCLUDE UserID WHERE Users.MEMBERSHIP_STATUS IN ($MEMBERSHIP)`,
	`EXCLUDE UserID WHERE Users.AGE < $AGE`,
	`EXCLUDE UserID WHERE Interactions.EVENT_TYPE IN ($EVENT_TYPE)`,
	`EXCLUDE ActionID WHERE Action_Interactions.EVENT_TYPE IN ("TAKEN")`,
	`INCLUDE ItemID WHERE Items.OWNER IN ("in-house")`,
}

func TestParseDocExamples(t *testing.T) {
	for _, expr := range docExamples {
		t.Run(expr, func(t *testing.T) {
			f, err := Parse(expr)
			if err != nil {
				t.Fatalf("Parse(%q) = %v, want success", expr, err)
			}
			// The examples are written in canonical form already.
			if got := f.String(); got != expr {
				t.Errorf("Parse(%q).String() = %q, want the input", expr, got)
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name      string
		expr      string
		canonical string
		target    string
		params    []string
		groups    []int // conditions per OR group of the first expression
		ifs       int   // IF conditions of the first expression
	}{
		{
			name:      "keywords case-insensitive",
			expr:      `include itemid where items.GENRE in ("a") and interactions.event_type not in ("b")`,
			canonical: "", // rejected below: mixing datasets
		},
		{
			name:      "lower-case keywords and dataset",
			expr:      `include itemid where items.GENRE not in ("a")  or  ITEMS.GENRE In ("b")`,
			canonical: `INCLUDE ItemID WHERE Items.GENRE NOT IN ("a") OR Items.GENRE IN ("b")`,
			target:    "ItemID", groups: []int{1, 1},
		},
		{
			name:      "AND binds tighter than OR",
			expr:      `INCLUDE ItemID WHERE Items.A IN ("1") OR Items.B IN ("2") AND Items.C IN ("3") OR Items.D > 4`,
			canonical: `INCLUDE ItemID WHERE Items.A IN ("1") OR Items.B IN ("2") AND Items.C IN ("3") OR Items.D > 4`,
			target:    "ItemID", groups: []int{1, 2, 1},
		},
		{
			name:      "all comparison operators",
			expr:      `INCLUDE ItemID WHERE Items.P=1 AND Items.P!=2 AND Items.P<3 AND Items.P<=4 AND Items.P>5 AND Items.P>=6`,
			canonical: `INCLUDE ItemID WHERE Items.P = 1 AND Items.P != 2 AND Items.P < 3 AND Items.P <= 4 AND Items.P > 5 AND Items.P >= 6`,
			target:    "ItemID", groups: []int{6},
		},
		{
			name:      "numbers",
			expr:      `INCLUDE ItemID WHERE Items.P IN (-1, +2.5, .5, 3., 1e3, 2E-2)`,
			canonical: `INCLUDE ItemID WHERE Items.P IN (-1, +2.5, .5, 3., 1e3, 2E-2)`,
			target:    "ItemID", groups: []int{1},
		},
		{
			name:      "string escapes and spaces",
			expr:      `INCLUDE ItemID WHERE Items.T IN ("say \"hi\"", "a\\b", "  x , y ", "")`,
			canonical: `INCLUDE ItemID WHERE Items.T IN ("say \"hi\"", "a\\b", "  x , y ", "")`,
			target:    "ItemID", groups: []int{1},
		},
		{
			name:      "IF with AND and parameters",
			expr:      `INCLUDE ItemID WHERE Items.G IN ($G) IF CurrentUser.AGE >= $MIN AND currentuser.TIER IN ("gold", "silver")`,
			canonical: `INCLUDE ItemID WHERE Items.G IN ($G) IF CurrentUser.AGE >= $MIN AND CurrentUser.TIER IN ("gold", "silver")`,
			target:    "ItemID", params: []string{"G", "MIN"}, groups: []int{1}, ifs: 2,
		},
		{
			name:      "CurrentItem comparison",
			expr:      `INCLUDE ItemID WHERE Items.PRICE < currentitem.PRICE AND Items.GENRE NOT IN (CurrentItem.GENRE)`,
			canonical: `INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE AND Items.GENRE NOT IN (CurrentItem.GENRE)`,
			target:    "ItemID", groups: []int{2},
		},
		{
			name:      "repeated parameter listed once",
			expr:      `INCLUDE ItemID WHERE Items.A IN ($X) | EXCLUDE ItemID WHERE Items.B IN ($X) OR Items.C = $Y`,
			canonical: `INCLUDE ItemID WHERE Items.A IN ($X) | EXCLUDE ItemID WHERE Items.B IN ($X) OR Items.C = $Y`,
			target:    "ItemID", params: []string{"X", "Y"}, groups: []int{1},
		},
		{
			name:      "event type field any case",
			expr:      `EXCLUDE UserID WHERE Interactions.event_type NOT IN ("click")`,
			canonical: `EXCLUDE UserID WHERE Interactions.EVENT_TYPE NOT IN ("click")`,
			target:    "UserID", groups: []int{1},
		},
		{
			name:      "actions",
			expr:      `INCLUDE ActionID WHERE Actions.VALUE > 10 | EXCLUDE ActionID WHERE action_interactions.EVENT_TYPE IN ("NOT_TAKEN") IF CurrentUser.TIER IN ("gold")`,
			canonical: `INCLUDE ActionID WHERE Actions.VALUE > 10 | EXCLUDE ActionID WHERE Action_Interactions.EVENT_TYPE IN ("NOT_TAKEN") IF CurrentUser.TIER IN ("gold")`,
			target:    "ActionID", groups: []int{1},
		},
		{
			name:      "whitespace everywhere and none",
			expr:      "\tINCLUDE\nItemID  WHERE Items.A IN(\"x\",\"y\")|INCLUDE ItemID WHERE Items.B>=$B\r\n",
			canonical: `INCLUDE ItemID WHERE Items.A IN ("x", "y") | INCLUDE ItemID WHERE Items.B >= $B`,
			target:    "ItemID", params: []string{"B"}, groups: []int{1},
		},
		{
			name:      "five distinct fields is the limit",
			expr:      `INCLUDE ItemID WHERE Items.A IN ("1") AND Items.B IN ("1") AND Items.C IN (CurrentItem.C) | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("x") | EXCLUDE ItemID WHERE Items.A IN ("2") IF CurrentUser.A > 1`,
			canonical: `INCLUDE ItemID WHERE Items.A IN ("1") AND Items.B IN ("1") AND Items.C IN (CurrentItem.C) | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("x") | EXCLUDE ItemID WHERE Items.A IN ("2") IF CurrentUser.A > 1`,
			target:    "ItemID", groups: []int{3},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.expr)
			if tc.canonical == "" {
				if errs.KindOf(err) != errs.Invalid {
					t.Fatalf("Parse(%q) = %v, want an Invalid error", tc.expr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) = %v, want success", tc.expr, err)
			}
			if got := f.String(); got != tc.canonical {
				t.Errorf("Parse(%q).String() = %q, want %q", tc.expr, got, tc.canonical)
			}
			if got := f.Target(); got != tc.target {
				t.Errorf("Target() = %q, want %q", got, tc.target)
			}
			if got := f.Params(); !reflect.DeepEqual(got, tc.params) {
				t.Errorf("Params() = %q, want %q", got, tc.params)
			}
			var groups []int
			for _, g := range f.Exprs[0].Where {
				groups = append(groups, len(g))
			}
			if !reflect.DeepEqual(groups, tc.groups) {
				t.Errorf("group sizes = %v, want %v", groups, tc.groups)
			}
			if got := len(f.Exprs[0].If); got != tc.ifs {
				t.Errorf("IF conditions = %d, want %d", got, tc.ifs)
			}
		})
	}
}

func TestParseStructure(t *testing.T) {
	f, err := Parse(`EXCLUDE ItemID WHERE Items.PRICE <= 9.5 OR Items.GENRE IN ($G) IF CurrentUser.AGE > 18 | INCLUDE ItemID WHERE Items.GENRE IN (CurrentItem.GENRE)`)
	if err != nil {
		t.Fatal(err)
	}
	want := []Expr{
		{Action: Exclude, Target: ItemID, Dataset: Items, Pos: 0,
			Where: [][]Cond{
				{{Dataset: Items, Field: "PRICE", Op: Le, Values: []Value{{Kind: NumberValue, Text: "9.5", Num: 9.5, Pos: 36}}, Pos: 21}},
				{{Dataset: Items, Field: "GENRE", Op: In, Values: []Value{{Kind: ParamValue, Text: "G", Pos: 59}}, Pos: 43}},
			},
			If: []Cond{{Dataset: CurrentUser, Field: "AGE", Op: Gt, Values: []Value{{Kind: NumberValue, Text: "18", Num: 18, Pos: 84}}, Pos: 66}},
		},
		{Action: Include, Target: ItemID, Dataset: Items, Pos: 89,
			Where: [][]Cond{{{Dataset: Items, Field: "GENRE", Op: In, Values: []Value{{Kind: CurrentItemValue, Text: "GENRE", Pos: 126}}, Pos: 110}}},
		},
	}
	if !reflect.DeepEqual(f.Exprs, want) {
		t.Errorf("Parse().Exprs = %+v,\nwant %+v", f.Exprs, want)
	}
	if !f.UsesCurrentItem() {
		t.Errorf("UsesCurrentItem() = false, want true")
	}
}

var offsetRE = regexp.MustCompile(`at offset (\d+) `)

// errorOffset extracts the offset a parse error points at, -1 when it has none.
func errorOffset(err error) int {
	m := offsetRE.FindStringSubmatch(errs.Message(err))
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func TestParseInvalid(t *testing.T) {
	long := `INCLUDE ItemID WHERE Items.A IN ("` + strings.Repeat("x", MaxExpressionLen) + `")`
	tests := []struct {
		name   string
		expr   string
		offset int // -1: the error is about the whole expression
	}{
		{"empty", ``, 0},
		{"blank", `   `, 3},
		{"no action", `ItemID WHERE Items.A IN ("x")`, 0},
		{"bad target", `INCLUDE ItemId2 WHERE Items.A IN ("x")`, 8},
		{"misspelt WHERE", `INCLUDE ItemID WHER Items.A IN ("x")`, 15},
		{"missing condition", `INCLUDE ItemID WHERE`, 20},
		{"unknown dataset", `INCLUDE ItemID WHERE Products.A IN ("x")`, 21},
		{"missing dot", `INCLUDE ItemID WHERE Items A IN ("x")`, 27},
		{"missing field", `INCLUDE ItemID WHERE Items. IN ("x")`, 31}, // IN is taken as the field name
		{"missing operator", `INCLUDE ItemID WHERE Items.A ("x")`, 29},
		{"NOT without IN", `INCLUDE ItemID WHERE Items.A NOT ("x")`, 33},
		{"IN without list", `INCLUDE ItemID WHERE Items.A IN "x"`, 32},
		{"empty list", `INCLUDE ItemID WHERE Items.A IN ()`, 33},
		{"unclosed list", `INCLUDE ItemID WHERE Items.A IN ("x"`, 36},
		{"missing comma", `INCLUDE ItemID WHERE Items.A IN ("x" "y")`, 37},
		{"trailing comma", `INCLUDE ItemID WHERE Items.A IN ("x",)`, 37},
		{"unquoted string", `INCLUDE ItemID WHERE Items.A IN (shoe)`, 33},
		{"single quotes", `INCLUDE ItemID WHERE Items.A IN ('x')`, 33},
		{"unterminated string", `INCLUDE ItemID WHERE Items.A IN ("x)`, 33},
		{"bad escape", `INCLUDE ItemID WHERE Items.A IN ("a\nb")`, 35},
		{"malformed number", `INCLUDE ItemID WHERE Items.A > 1.2.3`, 31},
		{"number then letters", `INCLUDE ItemID WHERE Items.A > 12abc`, 31},
		{"bad exponent", `INCLUDE ItemID WHERE Items.A > 1e+`, 31},
		{"lone minus", `INCLUDE ItemID WHERE Items.A > -`, 31},
		{"empty parameter", `INCLUDE ItemID WHERE Items.A IN ($)`, 33},
		{"long parameter", `INCLUDE ItemID WHERE Items.A IN ($` + strings.Repeat("P", 51) + `)`, 33},
		{"unexpected character", `INCLUDE ItemID WHERE Items.A IN ("x") & Items.B IN ("y")`, 38},
		{"double equals", `INCLUDE ItemID WHERE Items.A == 1`, 30},
		{"trailing garbage", `INCLUDE ItemID WHERE Items.A IN ("x") LIMIT 5`, 38},
		{"dangling pipe", `INCLUDE ItemID WHERE Items.A IN ("x") |`, 39},
		{"dangling AND", `INCLUDE ItemID WHERE Items.A IN ("x") AND`, 41},
		{"mixed datasets", `INCLUDE ItemID WHERE Items.A IN ("x") AND Interactions.EVENT_TYPE IN ("y")`, 42},
		{"mixed datasets after OR", `EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("y") OR Items.A IN ("x")`, 57},
		{"dataset does not fit ItemID", `INCLUDE ItemID WHERE Users.AGE > 3`, 21},
		{"dataset does not fit UserID", `INCLUDE UserID WHERE Items.A IN ("x")`, 21},
		{"dataset does not fit ActionID", `INCLUDE ActionID WHERE Interactions.EVENT_TYPE IN ("x")`, 23},
		{"interactions other field", `INCLUDE ItemID WHERE Interactions.TIMESTAMP > 5`, 34},
		{"interactions comparison", `INCLUDE ItemID WHERE Interactions.EVENT_TYPE = "x"`, 45},
		{"interactions number", `INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (5)`, 49},
		{"CurrentUser in WHERE", `INCLUDE ItemID WHERE CurrentUser.AGE > 5`, 21},
		{"CurrentItem as condition", `INCLUDE ItemID WHERE CurrentItem.A IN ("x")`, 21},
		{"CurrentItem on interactions", `INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (CurrentItem.A)`, 49},
		{"CurrentItem in IF", `INCLUDE ItemID WHERE Items.A IN ("x") IF CurrentUser.B IN (CurrentItem.B)`, 59},
		{"CurrentItem without field", `INCLUDE ItemID WHERE Items.A IN (CurrentItem)`, 44},
		{"IF twice", `INCLUDE ItemID WHERE Items.A IN ("x") IF CurrentUser.B > 1 IF CurrentUser.C > 2`, 59},
		{"OR after IF", `INCLUDE ItemID WHERE Items.A IN ("x") IF CurrentUser.B > 1 OR CurrentUser.C > 2`, 59},
		{"condition after IF", `INCLUDE ItemID WHERE Items.A IN ("x") IF CurrentUser.B > 1 AND Items.C > 2`, 63},
		{"IF before WHERE conditions end", `INCLUDE ItemID WHERE IF CurrentUser.B > 1`, 21},
		{"IF on user segments", `INCLUDE UserID WHERE Users.A IN ("x") IF CurrentUser.B > 1`, 38},
		{"parameter mixed with literal", `INCLUDE ItemID WHERE Items.A IN ("x", $P)`, 38},
		{"literal before parameter", `INCLUDE ItemID WHERE Items.A IN ($P, "x")`, 33},
		{"CurrentItem mixed with literal", `INCLUDE ItemID WHERE Items.A IN ("x", CurrentItem.A)`, 38},
		{"ordering with string", `INCLUDE ItemID WHERE Items.A < "5"`, 31},
		{"targets differ", `INCLUDE ItemID WHERE Items.A IN ("x") | EXCLUDE UserID WHERE Users.B IN ("y")`, 40},
		{"six distinct fields", `INCLUDE ItemID WHERE Items.A IN ("1") AND Items.B IN ("1") AND Items.C IN ("1") | INCLUDE ItemID WHERE Items.D IN ("1") IF CurrentUser.A > 1 AND CurrentUser.B > 2`, 145},
		{"CurrentItem field counts", `INCLUDE ItemID WHERE Items.A IN (CurrentItem.B) AND Items.C IN (CurrentItem.D) AND Items.E IN (CurrentItem.F)`, 95},
		{"too long", long, -1},
		{"invalid UTF-8", "INCLUDE ItemID WHERE Items.A IN (\"\xff\")", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.expr)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want an error", tc.expr, f)
			}
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("Parse(%q) error kind = %v, want Invalid: %v", tc.expr, errs.KindOf(err), err)
			}
			if got := errorOffset(err); got != tc.offset {
				t.Errorf("Parse(%q) error offset = %d, want %d: %v", tc.expr, got, tc.offset, err)
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, err := Parse(`INCLUDE ItemID WHER Items.A IN ("x")`)
	const want = `filter expression: at offset 15 (near "WHER"): expected WHERE`
	if got := errs.Message(err); got != want {
		t.Errorf("Parse error = %q, want %q", got, want)
	}
	_, err = Parse(`INCLUDE ItemID WHERE`)
	const wantEnd = `filter expression: at offset 20 (at the end): expected a condition such as Items.FIELD IN (...)`
	if got := errs.Message(err); got != wantEnd {
		t.Errorf("Parse error = %q, want %q", got, wantEnd)
	}
}
