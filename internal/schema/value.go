package schema

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/attune-dev/attune/internal/errs"
)

// Value limits, in characters.
const (
	MaxIDLen      = 256   // USER_ID, ITEM_ID, ACTION_ID
	MaxStringLen  = 1000  // categorical and other string values; longer ones fail the import
	MaxTextualLen = 20000 // textual values; longer ones are truncated, as Personalize does
)

// millisThreshold separates epoch seconds from epoch milliseconds: 1e11
// seconds is the year 5138, while 1e11 milliseconds is March 1973, so any
// larger magnitude is almost surely a milliseconds (or finer) clock.
const millisThreshold = 1e11

// Value is one parsed cell. Only the member matching the field's Type is set:
// Str for String, Int for Int and Long, Float for Float and Double, Bool for
// Boolean. Null is true for an empty cell of a nullable field.
type Value struct {
	Null  bool
	Str   string
	Int   int64
	Float float64
	Bool  bool
}

// ParseValue parses a CSV cell for f. An empty cell is null, which only a
// nullable field accepts. Strings are checked against their length limit
// (textual values are truncated instead); timestamps must be epoch seconds.
// Errors are errs.Invalid and name the field. On success it allocates
// nothing, as it runs once per cell of every import.
func (f Field) ParseValue(cell string) (Value, error) {
	if cell == "" {
		if f.Nullable {
			return Value{Null: true}, nil
		}
		return Value{}, errs.E(errs.Invalid, "empty value for required field %s", f.Name)
	}
	switch f.Type {
	case String:
		return f.parseString(cell)
	case Int, Long:
		bits := 64
		if f.Type == Int {
			bits = 32
		}
		n, err := strconv.ParseInt(cell, 10, bits)
		if err != nil {
			return Value{}, f.intError(cell, err)
		}
		if isTimestamp(f.Name) && (n > millisThreshold || n < -millisThreshold) {
			return Value{}, errs.E(errs.Invalid, "value %d for field %s looks like milliseconds; Personalize expects epoch seconds", n, f.Name)
		}
		return Value{Int: n}, nil
	case Float, Double:
		bits := 64
		if f.Type == Float {
			bits = 32
		}
		// ParseFloat also takes NaN, Inf and hex floats; Personalize data is decimal.
		if !decimalSyntax(cell) {
			return Value{}, errs.E(errs.Invalid, "value %s for field %s is not a %s number", preview(cell), f.Name, f.Type)
		}
		x, err := strconv.ParseFloat(cell, bits)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return Value{}, errs.E(errs.Invalid, "value %s for field %s is out of range for %s", preview(cell), f.Name, f.Type)
			}
			return Value{}, errs.E(errs.Invalid, "value %s for field %s is not a %s number", preview(cell), f.Name, f.Type)
		}
		return Value{Float: x}, nil
	case Boolean:
		switch cell {
		case "true":
			return Value{Bool: true}, nil
		case "false":
			return Value{}, nil
		}
		return Value{}, errs.E(errs.Invalid, "value %s for field %s is not a boolean: use lower-case true or false", preview(cell), f.Name)
	}
	return Value{}, errs.E(errs.Invalid, "field %s has no valid type (%s)", f.Name, f.Type)
}

func (f Field) parseString(cell string) (Value, error) {
	limit := MaxStringLen
	switch {
	case isID(f.Name):
		limit = MaxIDLen
	case f.Textual:
		limit = MaxTextualLen
	}
	// A string of at most limit bytes has at most limit characters: the
	// common case needs no rune count.
	if len(cell) <= limit {
		return Value{Str: cell}, nil
	}
	n := utf8.RuneCountInString(cell)
	if n <= limit {
		return Value{Str: cell}, nil
	}
	if f.Textual {
		return Value{Str: truncateRunes(cell, limit)}, nil
	}
	return Value{}, errs.E(errs.Invalid, "value for field %s is %d characters long; the limit is %d", f.Name, n, limit)
}

// truncateRunes returns the first n characters of s.
func truncateRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// intError explains why cell is not a valid integer for f.
func (f Field) intError(cell string, err error) error {
	if errors.Is(err, strconv.ErrRange) {
		size := "64-bit long"
		if f.Type == Int {
			size = "32-bit int"
		}
		return errs.E(errs.Invalid, "value %s for field %s is out of range for a %s", preview(cell), f.Name, size)
	}
	if isTimestamp(f.Name) && looksLikeDate(cell) {
		return errs.E(errs.Invalid, "value %s for field %s looks like a date; Personalize expects epoch seconds (a long such as 1742033100)", preview(cell), f.Name)
	}
	if decimalSyntax(cell) {
		return errs.E(errs.Invalid, "value %s for field %s is not an integer (%s)", preview(cell), f.Name, f.Type)
	}
	return errs.E(errs.Invalid, "value %s for field %s is not a valid %s", preview(cell), f.Name, f.Type)
}

// isID reports whether name is one of the id fields limited to MaxIDLen.
func isID(name string) bool {
	switch name {
	case "USER_ID", "ITEM_ID", "ACTION_ID":
		return true
	}
	return false
}

// isTimestamp reports whether name is a reserved epoch-seconds field.
func isTimestamp(name string) bool {
	switch name {
	case "TIMESTAMP", "CREATION_TIMESTAMP", "ACTION_EXPIRATION_TIMESTAMP":
		return true
	}
	return false
}

// decimalSyntax reports whether s uses only the characters of a decimal
// number (digits, sign, point, exponent) and has at least one digit. It
// rules out NaN, Inf, hex floats and underscores before strconv sees them.
func decimalSyntax(s string) bool {
	digit := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			digit = true
		case c == '.', c == 'e', c == 'E', c == '+', c == '-':
		default:
			return false
		}
	}
	return digit
}

// looksLikeDate reports whether s starts with a digit and contains a date
// or time separator, as in 2024-03-15, 2024/03/15 or 2024-03-15T10:00:00Z.
func looksLikeDate(s string) bool {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '-', '/', ':', 'T':
			return true
		}
	}
	return false
}

// preview describes a cell for an error message by its length.
func preview(cell string) string {
	// The value itself is not quoted: rows come from files, and a report
	// must not copy a file's content (see csvimport); its length and the
	// field name say enough to find it.
	return fmt.Sprintf("of %d bytes", len(cell))
}
