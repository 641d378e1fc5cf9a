package filter

import (
	"strings"
	"unicode/utf8"

	"github.com/attune-dev/attune/internal/errs"
)

// Parse parses a filter expression and checks the rules that need no schema
// (see the package comment). Every failure is errs.Invalid; syntax and rule
// errors give the byte offset they refer to and the text there.
func Parse(expr string) (*Filter, error) {
	if !utf8.ValidString(expr) {
		return nil, errs.E(errs.Invalid, "filter expression is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(expr); n > MaxExpressionLen {
		return nil, errs.E(errs.Invalid, "filter expression is %d characters long; the limit is %d", n, MaxExpressionLen)
	}
	p := &parser{lex: lexer{src: expr}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	f := &Filter{text: expr}
	for {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		if len(f.Exprs) > 0 && e.Target != f.Exprs[0].Target {
			return nil, posError(expr, e.Pos, "all expressions of a filter must filter the same target; the first filters %s, this one %s", f.Exprs[0].Target, e.Target)
		}
		f.Exprs = append(f.Exprs, e)
		if p.tok.kind == tEOF {
			break
		}
		// expr stops only at '|' or the end, or fails.
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	if err := f.checkFieldCount(); err != nil {
		return nil, err
	}
	f.params = f.Params()
	f.canon = f.String()
	return f, nil
}

// checkFieldCount enforces MaxFields. CurrentUser fields are Users fields and
// CurrentItem fields are Items fields, so they count as such.
func (f *Filter) checkFieldCount() error {
	seen := map[string]bool{}
	add := func(d Dataset, field string, pos int) error {
		key := d.entity().String() + "." + field
		if seen[key] {
			return nil
		}
		seen[key] = true
		if len(seen) > MaxFields {
			return posError(f.text, pos, "a filter can use at most %d distinct dataset fields; %s is the %dth", MaxFields, key, len(seen))
		}
		return nil
	}
	for i := range f.Exprs {
		for _, c := range f.Exprs[i].conds() {
			if err := add(c.Dataset, c.Field, c.Pos); err != nil {
				return err
			}
			for _, v := range c.Values {
				if v.Kind == CurrentItemValue {
					if err := add(Items, v.Text, v.Pos); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

type parser struct {
	lex lexer
	tok token // the current, not yet consumed token
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) errorf(format string, args ...any) error {
	return posError(p.lex.src, p.tok.pos, format, args...)
}

// keyword reports whether the current token is the case-insensitive word kw.
func (p *parser) keyword(kw string) bool {
	return p.tok.kind == tIdent && strings.EqualFold(p.tok.text, kw)
}

// expect consumes the keyword kw or fails saying it was expected.
func (p *parser) expect(kw string) error {
	if !p.keyword(kw) {
		return p.errorf("expected %s", kw)
	}
	return p.advance()
}

// allowedDatasets maps a target to the datasets its conditions may test.
var allowedDatasets = [...][2]Dataset{
	ItemID:   {Items, Interactions},
	UserID:   {Users, Interactions},
	ActionID: {Actions, ActionInteractions},
}

func (p *parser) expr() (Expr, error) {
	e := Expr{Pos: p.tok.pos}
	switch {
	case p.keyword("INCLUDE"):
		e.Action = Include
	case p.keyword("EXCLUDE"):
		e.Action = Exclude
	default:
		return e, p.errorf("expected INCLUDE or EXCLUDE")
	}
	if err := p.advance(); err != nil {
		return e, err
	}
	for t := ItemID; t <= ActionID; t++ {
		if p.keyword(t.String()) {
			e.Target = t
		}
	}
	if e.Target == 0 {
		return e, p.errorf("expected ItemID, UserID or ActionID")
	}
	if err := p.advance(); err != nil {
		return e, err
	}
	if err := p.expect("WHERE"); err != nil {
		return e, err
	}
	group := []Cond{}
	for first := true; ; first = false {
		c, err := p.cond(e.Target)
		if err != nil {
			return e, err
		}
		if first {
			ok := allowedDatasets[e.Target]
			if c.Dataset != ok[0] && c.Dataset != ok[1] {
				return e, posError(p.lex.src, c.Pos, "%s filters can test %s or %s, not %s", e.Target, ok[0], ok[1], c.Dataset)
			}
			e.Dataset = c.Dataset
		} else if c.Dataset != e.Dataset {
			return e, posError(p.lex.src, c.Pos,
				"conditions chained with AND or OR must use the dataset of the first condition (%s), not %s; join expressions on different datasets with |",
				e.Dataset, c.Dataset)
		}
		group = append(group, c)
		switch {
		case p.keyword("AND"):
		case p.keyword("OR"):
			e.Where = append(e.Where, group)
			group = []Cond{}
		default:
			e.Where = append(e.Where, group)
			return e, p.ifClause(&e)
		}
		if err := p.advance(); err != nil {
			return e, err
		}
	}
}

// ifClause parses the optional IF clause and checks that the expression ends
// after it.
func (p *parser) ifClause(e *Expr) error {
	if !p.keyword("IF") {
		return p.end("expected AND, OR, IF, | or the end of the expression")
	}
	if e.Target == UserID {
		return p.errorf("IF CurrentUser applies to recommendations for a user, not to %s filters", e.Target)
	}
	for {
		if err := p.advance(); err != nil {
			return err
		}
		if !p.keyword("CurrentUser") {
			return p.errorf("expected CurrentUser: the IF clause tests only the current user's fields")
		}
		start := p.tok.pos
		if err := p.advance(); err != nil {
			return err
		}
		c, err := p.fieldTest(CurrentUser, start, e.Target)
		if err != nil {
			return err
		}
		e.If = append(e.If, c)
		switch {
		case p.keyword("AND"):
			continue
		case p.keyword("OR"):
			return p.errorf("conditions after IF can only be joined with AND")
		case p.keyword("IF"):
			return p.errorf("IF may appear only once, at the end of an expression")
		}
		return p.end("expected AND, | or the end of the expression")
	}
}

// end checks that the current token ends an expression.
func (p *parser) end(msg string) error {
	if p.tok.kind == tPipe || p.tok.kind == tEOF {
		return nil
	}
	return p.errorf("%s", msg)
}

func (p *parser) cond(target Target) (Cond, error) {
	start := p.tok.pos
	if p.tok.kind != tIdent {
		return Cond{}, p.errorf("expected a condition such as Items.FIELD IN (...)")
	}
	var d Dataset
	for cand := Items; cand <= ActionInteractions; cand++ {
		if p.keyword(cand.String()) {
			d = cand
		}
	}
	switch {
	case p.keyword("CurrentUser"):
		return Cond{}, p.errorf("CurrentUser can only be tested in the IF clause at the end of an expression")
	case p.keyword("CurrentItem"):
		return Cond{}, p.errorf("CurrentItem.FIELD is a value: write Items.FIELD IN (CurrentItem.FIELD)")
	case d == 0:
		return Cond{}, p.errorf("expected a dataset: Items, Users, Interactions, Actions or Action_Interactions")
	}
	if err := p.advance(); err != nil {
		return Cond{}, err
	}
	return p.fieldTest(d, start, target)
}

// fieldTest parses ".FIELD test" after the dataset name d at start.
func (p *parser) fieldTest(d Dataset, start int, target Target) (Cond, error) {
	c := Cond{Dataset: d, Pos: start}
	if p.tok.kind != tDot {
		return c, p.errorf("expected . and a field name after %s", d)
	}
	if err := p.advance(); err != nil {
		return c, err
	}
	if p.tok.kind != tIdent {
		return c, p.errorf("expected a field name")
	}
	c.Field = p.tok.text
	if d.events() {
		if !strings.EqualFold(c.Field, "EVENT_TYPE") {
			return c, p.errorf("%s conditions can only test EVENT_TYPE", d)
		}
		c.Field = "EVENT_TYPE"
	}
	if err := p.advance(); err != nil {
		return c, err
	}
	switch {
	case p.keyword("IN"):
		c.Op = In
	case p.keyword("NOT"):
		if err := p.advance(); err != nil {
			return c, err
		}
		if !p.keyword("IN") {
			return c, p.errorf("expected IN after NOT")
		}
		c.Op = NotIn
	case p.tok.kind == tCmp:
		c.Op = p.tok.op
	default:
		return c, p.errorf("expected IN, NOT IN or a comparison (=, !=, <, <=, >, >=)")
	}
	opPos := p.tok.pos
	if err := p.advance(); err != nil {
		return c, err
	}
	if d.events() && !c.Op.list() {
		return c, posError(p.lex.src, opPos, "%s.EVENT_TYPE can only be tested with IN or NOT IN", d)
	}
	if !c.Op.list() {
		v, err := p.value(d, target)
		if err != nil {
			return c, err
		}
		if c.Op.ordering() && v.Kind == StringValue {
			return c, posError(p.lex.src, v.Pos, "%s compares numbers: expected a number, a $PARAMETER or CurrentItem.FIELD", c.Op)
		}
		c.Values = []Value{v}
		return c, nil
	}
	if p.tok.kind != tLParen {
		return c, p.errorf("expected ( after %s", c.Op)
	}
	for {
		if err := p.advance(); err != nil {
			return c, err
		}
		v, err := p.value(d, target)
		if err != nil {
			return c, err
		}
		c.Values = append(c.Values, v)
		if p.tok.kind == tRParen {
			break
		}
		if p.tok.kind != tComma {
			return c, p.errorf("expected , or )")
		}
	}
	if err := p.advance(); err != nil {
		return c, err
	}
	if len(c.Values) > 1 {
		for _, v := range c.Values {
			switch v.Kind {
			case ParamValue:
				return c, posError(p.lex.src, v.Pos, "a parameter must be the only value of its %s list", c.Op)
			case CurrentItemValue:
				return c, posError(p.lex.src, v.Pos, "CurrentItem.%s must be the only value of its %s list", v.Text, c.Op)
			}
		}
	}
	return c, nil
}

func (p *parser) value(d Dataset, target Target) (Value, error) {
	t := p.tok
	v := Value{Pos: t.pos}
	switch {
	case t.kind == tString:
		v.Kind, v.Text = StringValue, t.val
	case t.kind == tNumber:
		if d.events() {
			return v, p.errorf("event types are strings: write them in double quotes")
		}
		v.Kind, v.Text, v.Num = NumberValue, t.text, t.num
	case t.kind == tParam:
		v.Kind, v.Text = ParamValue, t.val
	case p.keyword("CurrentItem"):
		if d != Items || target != ItemID {
			return v, p.errorf("CurrentItem.FIELD can only be compared with Items fields in ItemID filters")
		}
		if err := p.advance(); err != nil {
			return v, err
		}
		if p.tok.kind != tDot {
			return v, p.errorf("expected . and a field name after CurrentItem")
		}
		if err := p.advance(); err != nil {
			return v, err
		}
		if p.tok.kind != tIdent {
			return v, p.errorf("expected a field name")
		}
		v.Kind, v.Text = CurrentItemValue, p.tok.text
	default:
		return v, p.errorf("expected a value: a double-quoted string, a number, a $PARAMETER or CurrentItem.FIELD")
	}
	return v, p.advance()
}
