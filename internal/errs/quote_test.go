package errs

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestQuote(t *testing.T) {
	long := strings.Repeat("a", 1<<20)
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", `""`},
		{"short", "my-group", `"my-group"`},
		{"exactly the limit", strings.Repeat("x", MaxQuotedRunes), `"` + strings.Repeat("x", MaxQuotedRunes) + `"`},
		{"one over", strings.Repeat("x", MaxQuotedRunes+1), `"` + strings.Repeat("x", MaxQuotedRunes) + `"…(101 bytes)`},
		{"1 MiB", long, `"` + strings.Repeat("a", MaxQuotedRunes) + `"…(1048576 bytes)`},
		{"multibyte cut on a rune", strings.Repeat("é", 150), `"` + strings.Repeat("é", MaxQuotedRunes) + `"…(300 bytes)`},
		{"control characters escaped", "a\nb\x00", `"a\nb\x00"`},
		{"invalid UTF-8 escaped", "\xff\xfe", `"\xff\xfe"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Quote(tc.in); got != tc.want {
				t.Errorf("Quote(%.20q…) = %.120s, want %.120s", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "abc", strings.Repeat("é", 70), "\xff\x00", strings.Repeat("x", 65)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := Quote(s)
		if !utf8.ValidString(q) {
			t.Fatalf("Quote(%q) = %q is not valid UTF-8", s, q)
		}
		// Escaping at most quadruples a byte (\xNN), plus quotes and the suffix.
		if len(q) > 4*4*MaxQuotedRunes+40 {
			t.Fatalf("Quote of %d bytes is %d bytes long", len(s), len(q))
		}
		if strings.ContainsAny(q, "\n\r\x00") {
			t.Fatalf("Quote(%q) = %q contains a raw control character", s, q)
		}
	})
}
