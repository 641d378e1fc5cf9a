package filter

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/attune-dev/attune/internal/errs"
)

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tParam
	tDot
	tComma
	tLParen
	tRParen
	tPipe
	tCmp // =, !=, <, <=, >, >=; op says which
)

// token is one lexeme. text is the source text; val is the decoded string
// for tString and the name for tParam.
type token struct {
	kind tokKind
	pos  int
	text string
	val  string
	num  float64
	op   Op
}

// lexer produces tokens on demand, so that the parser reports the leftmost
// error whether it is lexical or syntactic.
type lexer struct {
	src string
	pos int
}

// posError is a classified error pointing into the expression text.
func posError(src string, pos int, format string, args ...any) error {
	return errs.E(errs.Invalid, "filter expression: at offset %d (%s): %s", pos, near(src, pos), fmt.Sprintf(format, args...))
}

// near quotes the text at pos, cut at a word boundary or 16 bytes, so that
// a message shows what the parser was looking at.
func near(src string, pos int) string {
	if pos >= len(src) {
		return "at the end"
	}
	rest := src[pos:]
	end := 0
	for end < len(rest) && end < 16 {
		r, size := utf8.DecodeRuneInString(rest[end:])
		if end > 0 && (r == ' ' || r == '\t' || r == '\n' || r == '\r') {
			break
		}
		end += size
	}
	return "near " + strconv.Quote(rest[:end])
}

func isIdentStart(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) && isSpace(l.src[l.pos]) {
		l.pos++
	}
	start := l.pos
	if start >= len(l.src) {
		return token{kind: tEOF, pos: start}, nil
	}
	c := l.src[start]
	single := func(k tokKind) (token, error) {
		l.pos++
		return token{kind: k, pos: start, text: l.src[start:l.pos]}, nil
	}
	cmp := func(op Op, n int) (token, error) {
		l.pos += n
		return token{kind: tCmp, pos: start, text: l.src[start:l.pos], op: op}, nil
	}
	has := func(s string) bool { return strings.HasPrefix(l.src[start:], s) }
	switch {
	case isIdentStart(c):
		for l.pos < len(l.src) && isIdentChar(l.src[l.pos]) {
			l.pos++
		}
		return token{kind: tIdent, pos: start, text: l.src[start:l.pos]}, nil
	case c == '"':
		return l.str()
	case isDigit(c) || c == '-' || c == '+' || c == '.' && start+1 < len(l.src) && isDigit(l.src[start+1]):
		return l.number()
	case c == '$':
		l.pos++
		for l.pos < len(l.src) && isIdentChar(l.src[l.pos]) {
			l.pos++
		}
		name := l.src[start+1 : l.pos]
		if name == "" {
			return token{}, posError(l.src, start, "expected a parameter name ([A-Za-z0-9_]+) after $")
		}
		if len(name) > MaxParamNameLen {
			return token{}, posError(l.src, start, "parameter name is %d characters long; the limit is %d", len(name), MaxParamNameLen)
		}
		return token{kind: tParam, pos: start, text: l.src[start:l.pos], val: name}, nil
	case c == '.':
		return single(tDot)
	case c == ',':
		return single(tComma)
	case c == '(':
		return single(tLParen)
	case c == ')':
		return single(tRParen)
	case c == '|':
		return single(tPipe)
	case has("!="):
		return cmp(Ne, 2)
	case has("<="):
		return cmp(Le, 2)
	case has(">="):
		return cmp(Ge, 2)
	case c == '=':
		return cmp(Eq, 1)
	case c == '<':
		return cmp(Lt, 1)
	case c == '>':
		return cmp(Gt, 1)
	}
	return token{}, posError(l.src, start, "unexpected character %q", firstRune(l.src[start:]))
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

// str scans a double-quoted string. Only \" and \\ are escapes: values are
// category names and event types, which have no use for more.
func (l *lexer) str() (token, error) {
	start := l.pos
	l.pos++
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch c {
		case '"':
			l.pos++
			return token{kind: tString, pos: start, text: l.src[start:l.pos], val: b.String()}, nil
		case '\\':
			if l.pos+1 < len(l.src) && (l.src[l.pos+1] == '"' || l.src[l.pos+1] == '\\') {
				b.WriteByte(l.src[l.pos+1])
				l.pos += 2
				continue
			}
			return token{}, posError(l.src, l.pos, `unknown escape in string: only \" and \\ are allowed`)
		}
		b.WriteByte(c)
		l.pos++
	}
	return token{}, posError(l.src, start, "unterminated string")
}

func (l *lexer) number() (token, error) {
	start := l.pos
	s := l.src
	i := start
	if s[i] == '-' || s[i] == '+' {
		i++
	}
	digits := 0
	for i < len(s) && isDigit(s[i]) {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
			digits++
		}
	}
	if digits == 0 {
		return token{}, posError(s, start, "expected a number")
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '-' || s[j] == '+') {
			j++
		}
		k := j
		for k < len(s) && isDigit(s[k]) {
			k++
		}
		if k == j {
			return token{}, posError(s, start, "malformed exponent in number")
		}
		i = k
	}
	if i < len(s) && (isIdentChar(s[i]) || s[i] == '.') {
		return token{}, posError(s, start, "malformed number")
	}
	x, err := strconv.ParseFloat(s[start:i], 64)
	if err != nil {
		return token{}, posError(s, start, "number out of range")
	}
	l.pos = i
	return token{kind: tNumber, pos: start, text: s[start:i], num: x}, nil
}
