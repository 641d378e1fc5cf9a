package errs

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestKindAndMessage(t *testing.T) {
	cause := errors.New("disk on fire")
	cases := []struct {
		name     string
		err      error
		wantKind Kind
		wantMsg  string
	}{
		{"plain", cause, Internal, "internal error"},
		{"classified", E(NotFound, "dataset %q not found", "x"), NotFound, `dataset "x" not found`},
		{"wrapped with context", fmt.Errorf("import: %w", E(Invalid, "bad row 3")), Invalid, "bad row 3"},
		{"wrap keeps the cause private", Wrap(Invalid, cause, "could not read file"), Invalid, "could not read file"},
		{"internal never leaks", &Error{Kind: Internal, Msg: "select * from secrets", Err: cause}, Internal, "internal error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := KindOf(tc.err); got != tc.wantKind {
				t.Errorf("KindOf = %v, want %v", got, tc.wantKind)
			}
			if got := Message(tc.err); got != tc.wantMsg {
				t.Errorf("Message = %q, want %q", got, tc.wantMsg)
			}
		})
	}
	if !errors.Is(Wrap(Invalid, cause, "x"), cause) {
		t.Error("Wrap does not unwrap to its cause")
	}
	if Wrap(Invalid, nil, "x") != nil {
		t.Error("Wrap(nil) is not nil")
	}
}

func TestEcho(t *testing.T) {
	long := strings.Repeat("a", 300)
	tests := []struct{ in, want string }{
		{"arn:aws:personalize:us-east-1:000000000000:campaign/shop", "arn:aws:personalize:us-east-1:000000000000:campaign/shop"},
		{"*", "*"},
		{"", `""`},
		{"a b", `"a b"`},
		{"x\ny", `"x\ny"`},
		{"é", `"é"`},
		{long, Quote(long)},
	}
	for _, tc := range tests {
		if got := Echo(tc.in); got != tc.want {
			t.Errorf("Echo(%.20q) = %.40q, want %.40q", tc.in, got, tc.want)
		}
	}
}
