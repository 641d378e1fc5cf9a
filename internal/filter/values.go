package filter

import (
	"sort"
	"strings"

	"github.com/attune-dev/attune/internal/errs"
)

// ParseValues decodes the filterValues of a request: each entry maps a
// parameter name (without '$') to one or more comma-separated values, each in
// double quotes (`"\"horror\",\"comedy\""`), numbers too (`"\"10\""`), as
// Personalize requires: a bare value is refused rather than guessed at, since
// Personalize would not match it either. Inside quotes, \" and \\ are
// escapes. An empty string gives no values, which counts as a missing
// parameter. Failures are errs.Invalid and name the parameter, never quoting
// its value.
func ParseValues(filterValues map[string]string) (map[string][]string, error) {
	if len(filterValues) > MaxParams {
		return nil, errs.E(errs.Invalid, "filterValues has %d entries; the limit is %d", len(filterValues), MaxParams)
	}
	// Sorted so that the reported problem does not depend on map order.
	names := make([]string, 0, len(filterValues))
	for name := range filterValues {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make(map[string][]string, len(filterValues))
	for _, name := range names {
		if !validParamName(name) {
			return nil, errs.E(errs.Invalid, "filterValues key %s is not a parameter name ([A-Za-z0-9_]+, at most %d characters)", errs.Quote(name), MaxParamNameLen)
		}
		vals, err := splitValues(filterValues[name])
		if err != nil {
			return nil, errs.E(errs.Invalid, "filterValues[%s]: %s", name, err.Error())
		}
		out[name] = vals
	}
	return out, nil
}

func validParamName(s string) bool {
	if s == "" || len(s) > MaxParamNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}

// quoteHint says how filterValues are written, for every format error.
const quoteHint = `write each value in escaped double quotes and separate several with commas, as in "\"comedy\"" or "\"comedy\",\"drama\"" (numbers too: "\"10\"")`

type valueError string

func (e valueError) Error() string { return string(e) }

func splitValues(s string) ([]string, error) {
	var out []string
	i := 0
	skip := func() {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
	}
	skip()
	if i == len(s) {
		return nil, nil
	}
	for {
		skip()
		if i < len(s) && s[i] == '"' {
			var b strings.Builder
			i++
			closed := false
			for i < len(s) && !closed {
				switch {
				case s[i] == '"':
					closed = true
				case s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
					i++
					b.WriteByte(s[i])
				default:
					b.WriteByte(s[i])
				}
				i++
			}
			if !closed {
				return nil, valueError("unterminated quoted value")
			}
			out = append(out, b.String())
		} else {
			if i == len(s) || s[i] == ',' {
				return nil, valueError("empty value: " + quoteHint)
			}
			return nil, valueError("values must be enclosed in double quotes: " + quoteHint)
		}
		skip()
		if i == len(s) {
			return out, nil
		}
		if s[i] != ',' {
			return nil, valueError("expected a comma between values")
		}
		i++
	}
}
