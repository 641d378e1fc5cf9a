package errs

import (
	"strconv"
	"unicode/utf8"
)

// MaxQuotedRunes is how many runes of a client value Quote keeps.
const MaxQuotedRunes = 100

// Quote returns s as a Go-quoted string for an error message, cut to
// MaxQuotedRunes runes with the original length appended ("…(N bytes)") when
// it is longer. Validation errors echo client input through Quote so that a
// 1 MB name is not sent back whole, and so that control characters and
// invalid UTF-8 are escaped rather than written into logs or terminals.
func Quote(s string) string {
	if utf8.RuneCountInString(s) <= MaxQuotedRunes {
		return strconv.Quote(s)
	}
	cut, n := 0, 0
	for i := range s {
		if n == MaxQuotedRunes {
			cut = i
			break
		}
		n++
	}
	return strconv.Quote(s[:cut]) + "…(" + strconv.Itoa(len(s)) + " bytes)"
}
