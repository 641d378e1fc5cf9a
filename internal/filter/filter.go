// Package filter implements Amazon Personalize's filter expression language:
// a hand-written lexer and recursive-descent parser, validation against dataset
// schemas, and an evaluator that is cheap enough for the recommendation hot
// path (conditions on catalogue fields are folded into bitmaps once per filter
// and parameter set; only the user's interactions, the IF clause and
// CurrentItem references are looked at per request).
//
// It is pure: it imports only the standard library, internal/errs and
// internal/schema, never net/http, database/sql, os.Getenv, a logger or
// time.Now.
//
// # Grammar
//
// Keywords, targets, dataset names, CurrentUser and CurrentItem are
// case-insensitive; field and parameter names are case-sensitive.
//
//	filter     = expression { "|" expression } .
//	expression = ( "INCLUDE" | "EXCLUDE" ) target "WHERE" condition { ( "AND" | "OR" ) condition } [ ifClause ] .
//	target     = "ItemID" | "UserID" | "ActionID" .
//	condition  = dataset "." field test .
//	dataset    = "Items" | "Users" | "Interactions" | "Actions" | "Action_Interactions" .
//	ifClause   = "IF" userTest { "AND" userTest } .
//	userTest   = "CurrentUser" "." field test .
//	test       = ( "IN" | "NOT" "IN" ) "(" value { "," value } ")" | compare value .
//	compare    = "=" | "!=" | "<" | "<=" | ">" | ">=" .
//	value      = string | number | parameter | "CurrentItem" "." field .
//	string     = `"` { character | `\"` | `\\` } `"` .
//	number     = [ "-" | "+" ] ( digits [ "." [ digits ] ] | "." digits ) [ ( "e" | "E" ) [ "-" | "+" ] digits ] .
//	parameter  = "$" name .          (name: [A-Za-z0-9_]+, at most 50 characters)
//	field      = [A-Za-z_][A-Za-z0-9_]* .
//
// AND binds tighter than OR, as in SQL: "a OR b AND c" is "a OR (b AND c)".
// The Personalize documentation does not say, and has no parentheses, so the
// SQL convention is the least surprising choice. A parsed expression is
// therefore kept in disjunctive normal form (Expr.Where).
//
// # Rules
//
// Besides the grammar, Parse enforces the documented rules: every condition
// of an expression uses the dataset of its first condition; the dataset fits
// the target (ItemID: Items, Interactions; UserID: Users, Interactions;
// ActionID: Actions, Action_Interactions); interaction datasets test only
// EVENT_TYPE, with IN or NOT IN; IF appears at most once, at the end, and is
// extended only with AND; a parameter or CurrentItem reference is the only
// value of its IN list; ordering comparisons take a number, parameter or
// CurrentItem reference; all expressions of a filter share one target; a
// filter uses at most MaxFields distinct dataset fields and is at most
// MaxExpressionLen characters long. Validate adds the schema rules.
//
// # Semantics
//
// IN matches when any of an entity's values is in the list: categorical
// string fields hold several '|'-separated values. NOT IN and != are the
// exact complements of IN and =, so an entity without a value matches them,
// while ordering comparisons never match a missing value. Event types compare
// case-insensitively and "*" stands for any event type; all other string
// matching is exact. Numbers compare as float64.
//
// An expression is active for a request when all its parameters have values
// and its IF clause holds. The allowed set is the union of the active INCLUDE
// expressions (everything when none is active) minus the union of the active
// EXCLUDE expressions. A missing parameter of an INCLUDE expression is an
// error; a missing parameter of an EXCLUDE expression deactivates it.
package filter

import (
	"strconv"
	"strings"
)

// Limits of the language, from the Personalize quotas.
const (
	MaxExpressionLen = 2500 // characters of filter expression text
	MaxFields        = 5    // distinct dataset fields across the expressions of one filter
	MaxParamNameLen  = 50   // characters of a $PARAMETER name
	MaxParams        = 25   // entries of filterValues in one request
	// DefaultInteractionsPerEventType is how many of a user's latest
	// interactions of each event type Interactions conditions look at.
	DefaultInteractionsPerEventType = 100
)

// Action says whether an expression keeps or removes what it matches.
type Action int

// The actions.
const (
	Include Action = iota + 1
	Exclude
)

// String returns INCLUDE or EXCLUDE.
func (a Action) String() string {
	if a == Exclude {
		return "EXCLUDE"
	}
	return "INCLUDE"
}

// Target is the kind of entity a filter removes from a result.
type Target int

// The targets: items for recommendations, users for segments, actions for
// next-best-action recommendations.
const (
	ItemID Target = iota + 1
	UserID
	ActionID
)

var targetNames = [...]string{ItemID: "ItemID", UserID: "UserID", ActionID: "ActionID"}

// String returns the target as written in expressions ("ItemID", ...).
func (t Target) String() string {
	if t >= ItemID && t <= ActionID {
		return targetNames[t]
	}
	return "Target(" + strconv.Itoa(int(t)) + ")"
}

// Dataset is the dataset a condition tests.
type Dataset int

// The datasets a condition can name. CurrentUser is the requesting user's
// Users row, which only the IF clause tests.
const (
	Items Dataset = iota + 1
	Users
	Interactions
	Actions
	ActionInteractions
	CurrentUser
)

var datasetNames = [...]string{
	Items: "Items", Users: "Users", Interactions: "Interactions", Actions: "Actions",
	ActionInteractions: "Action_Interactions", CurrentUser: "CurrentUser",
}

// String returns the dataset as written in expressions ("Items", ...).
func (d Dataset) String() string {
	if d >= Items && d <= CurrentUser {
		return datasetNames[d]
	}
	return "Dataset(" + strconv.Itoa(int(d)) + ")"
}

// events reports whether d is an interactions dataset, whose only field is
// EVENT_TYPE.
func (d Dataset) events() bool { return d == Interactions || d == ActionInteractions }

// entity returns the dataset whose rows a field of d lives in: the Users
// dataset for CurrentUser, d itself otherwise.
func (d Dataset) entity() Dataset {
	if d == CurrentUser {
		return Users
	}
	return d
}

// Op is the operator of a condition.
type Op int

// The operators.
const (
	In Op = iota + 1
	NotIn
	Eq
	Ne
	Lt
	Le
	Gt
	Ge
)

var opNames = [...]string{In: "IN", NotIn: "NOT IN", Eq: "=", Ne: "!=", Lt: "<", Le: "<=", Gt: ">", Ge: ">="}

// String returns the operator as written in expressions.
func (o Op) String() string {
	if o >= In && o <= Ge {
		return opNames[o]
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// list reports whether o takes a parenthesised list of values.
func (o Op) list() bool { return o == In || o == NotIn }

// ordering reports whether o orders numbers, so it needs a numeric field.
func (o Op) ordering() bool { return o >= Lt }

// negated reports whether o is the complement of another operator.
func (o Op) negated() bool { return o == NotIn || o == Ne }

// ValueKind says what a Value is.
type ValueKind int

// The kinds of values.
const (
	StringValue      ValueKind = iota + 1 // a double-quoted literal
	NumberValue                           // a numeric literal
	ParamValue                            // a $PARAMETER bound at request time
	CurrentItemValue                      // CurrentItem.FIELD: the request's anchor item
)

// Value is an operand of a condition.
type Value struct {
	Kind ValueKind
	// Text is the decoded string, the number as written, the parameter name
	// without '$', or the CurrentItem field name.
	Text string
	Num  float64 // the number, for NumberValue
	Pos  int     // byte offset in the expression text
}

// Cond is one condition: Dataset.Field Op Values.
type Cond struct {
	Dataset Dataset
	Field   string
	Op      Op
	Values  []Value // one value unless Op is IN or NOT IN
	Pos     int     // byte offset of the dataset name
}

// Expr is one INCLUDE or EXCLUDE expression of a filter.
type Expr struct {
	Action  Action
	Target  Target
	Dataset Dataset // the dataset of every condition in Where
	// Where is in disjunctive normal form: the expression matches when every
	// condition of some group matches (AND binds tighter than OR).
	Where [][]Cond
	If    []Cond // CurrentUser conditions, all of which must hold; may be empty
	Pos   int    // byte offset of INCLUDE or EXCLUDE
}

// Filter is a parsed filter expression: expressions joined with '|'.
// Parse sets unexported caches, so a Filter must not be modified after
// Parse returns it.
type Filter struct {
	Exprs  []Expr
	text   string   // the source, for error positions found after parsing
	canon  string   // String(), computed once for cache keys
	params []string // Params(), computed once for cache keys
}

func (f *Filter) canonical() string {
	if f.canon == "" {
		return f.String()
	}
	return f.canon
}

func (f *Filter) paramNames() []string {
	if f.canon == "" {
		return f.Params()
	}
	return f.params
}

// Target returns what the filter removes: "ItemID", "UserID" or "ActionID".
func (f *Filter) Target() string { return f.Exprs[0].Target.String() }

// Params returns the distinct placeholder names of the filter, without '$',
// in order of first appearance.
func (f *Filter) Params() []string {
	var names []string
	seen := map[string]bool{}
	f.eachValue(func(_ *Expr, _ *Cond, v *Value) {
		if v.Kind == ParamValue && !seen[v.Text] {
			seen[v.Text] = true
			names = append(names, v.Text)
		}
	})
	return names
}

// UsesCurrentItem reports whether the filter refers to CurrentItem, which
// only related-items recipes can supply.
func (f *Filter) UsesCurrentItem() bool {
	uses := false
	f.eachValue(func(_ *Expr, _ *Cond, v *Value) { uses = uses || v.Kind == CurrentItemValue })
	return uses
}

// eachValue calls fn for every value of every condition, in source order.
func (f *Filter) eachValue(fn func(*Expr, *Cond, *Value)) {
	for i := range f.Exprs {
		e := &f.Exprs[i]
		for _, c := range e.conds() {
			for k := range c.Values {
				fn(e, c, &c.Values[k])
			}
		}
	}
}

// conds returns pointers to the WHERE and IF conditions of e in source order.
func (e *Expr) conds() []*Cond {
	var out []*Cond
	for g := range e.Where {
		for k := range e.Where[g] {
			out = append(out, &e.Where[g][k])
		}
	}
	for k := range e.If {
		out = append(out, &e.If[k])
	}
	return out
}

// String returns the canonical text of the filter: keywords in upper case,
// names in their documented spelling, single spaces. Parse maps it back to an
// equal Filter.
func (f *Filter) String() string {
	var b strings.Builder
	for i, e := range f.Exprs {
		if i > 0 {
			b.WriteString(" | ")
		}
		e.write(&b)
	}
	return b.String()
}

func (e *Expr) write(b *strings.Builder) {
	b.WriteString(e.Action.String())
	b.WriteByte(' ')
	b.WriteString(e.Target.String())
	b.WriteString(" WHERE ")
	for g, group := range e.Where {
		if g > 0 {
			b.WriteString(" OR ")
		}
		for k, c := range group {
			if k > 0 {
				b.WriteString(" AND ")
			}
			c.write(b)
		}
	}
	for k, c := range e.If {
		if k == 0 {
			b.WriteString(" IF ")
		} else {
			b.WriteString(" AND ")
		}
		c.write(b)
	}
}

func (c *Cond) write(b *strings.Builder) {
	b.WriteString(c.Dataset.String())
	b.WriteByte('.')
	b.WriteString(c.Field)
	b.WriteByte(' ')
	b.WriteString(c.Op.String())
	b.WriteByte(' ')
	if c.Op.list() {
		b.WriteByte('(')
	}
	for i, v := range c.Values {
		if i > 0 {
			b.WriteString(", ")
		}
		v.write(b)
	}
	if c.Op.list() {
		b.WriteByte(')')
	}
}

func (v Value) write(b *strings.Builder) {
	switch v.Kind {
	case StringValue:
		b.WriteString(quote(v.Text))
	case NumberValue:
		b.WriteString(v.Text)
	case ParamValue:
		b.WriteByte('$')
		b.WriteString(v.Text)
	case CurrentItemValue:
		b.WriteString("CurrentItem.")
		b.WriteString(v.Text)
	}
}

// quote renders s as a string literal: only '"' and '\' need escaping.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}
