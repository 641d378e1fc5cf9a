package dataset

import (
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/attune-dev/attune/internal/errs"
)

func TestReadUserIDs(t *testing.T) {
	cases := []struct {
		name, in string
		budget   int64
		want     []string
		errHas   string // "" for success
	}{
		{"plain", "USER_ID\nu1\nu2\n", 1 << 20, []string{"u1", "u2"}, ""},
		{"header case, BOM and CRLF", "\ufeffuser_id\r\nu1\r\n\r\nu1\r\n", 1 << 20, []string{"u1"}, ""},
		{"quoted id with comma", "USER_ID\n\"a,b\"\n", 1 << 20, []string{"a,b"}, ""},
		{"header only", "USER_ID\n", 1 << 20, nil, ""},
		{"empty file", "", 1 << 20, nil, "empty file"},
		{"wrong header", "EMAIL\nx\n", 1 << 20, nil, "row 1"},
		{"two header columns", "USER_ID,ITEM_ID\nx,y\n", 1 << 20, nil, "row 1: the header has 2 columns"},
		{"two fields", "USER_ID\nu1\nu2,zz\n", 1 << 20, nil, "row 3: 2 fields"},
		{"empty id", "USER_ID\n\"\"\n", 1 << 20, nil, "row 2 column USER_ID: empty"},
		{"long id", "USER_ID\n" + strings.Repeat("é", 257) + "\n", 1 << 20, nil, "257 characters"},
		{"invalid UTF-8", "USER_ID\n\xff\xfe\n", 1 << 20, nil, "not valid UTF-8"},
		{"bare quote", "USER_ID\nab\"c\n", 1 << 20, nil, "line 2: malformed CSV"},
		{"over budget", "USER_ID\nu1\nu2\n", 10, nil, "larger than 100 MB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			users := map[string]struct{}{}
			_, err := readUserIDs(strings.NewReader(tc.in), "users.csv", tc.budget, users)
			if tc.errHas != "" {
				if errs.KindOf(err) != errs.Invalid || !strings.Contains(errs.Message(err), tc.errHas) {
					t.Fatalf("readUserIDs(%q) = %v, want Invalid containing %q", tc.in, err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("readUserIDs(%q) = %v", tc.in, err)
			}
			var got []string
			for u := range users {
				got = append(got, u)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("readUserIDs(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzReadUserIDs checks that the parser never panics, that accepted ids
// are valid, and that errors never quote the file: no run of 12 or more
// letters and digits from the input appears in the message.
func FuzzReadUserIDs(f *testing.F) {
	for _, s := range []string{"USER_ID\nu1\n", "USER_ID\n\"a\"\"b\"\n", "USER_ID,X\n1,2\n", "USER_ID\nabcdefghijklmnop,q\n",
		"user_id\r\n\"\"\r\n", "\ufeffUSER_ID\nzzzzzzzzzzzzzzzzzzz\"\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		users := map[string]struct{}{}
		_, err := readUserIDs(strings.NewReader(in), "f.csv", 1<<16, users)
		if err != nil {
			msg := errs.Message(err)
			for _, tok := range strings.FieldsFunc(in, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
				if len([]rune(tok)) >= 12 && strings.Contains(msg, tok) {
					t.Fatalf("error %q quotes input %q", msg, tok)
				}
			}
			return
		}
		for u := range users {
			if u == "" || len([]rune(u)) > maxUserIDLen {
				t.Fatalf("accepted id %q", u)
			}
		}
	})
}
