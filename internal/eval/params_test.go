package eval

import (
	"reflect"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
)

func TestParseHyperparameters(t *testing.T) {
	tests := []struct {
		in   string
		want recipe.Params
	}{
		{"", recipe.Params{}},
		{"  ", recipe.Params{}},
		{"num_factors=64", recipe.Params{"num_factors": "64"}},
		{" a = 1 ,b=x=y,c=", recipe.Params{"a": "1", "b": "x=y", "c": ""}},
	}
	for _, tc := range tests {
		got, err := ParseHyperparameters(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseHyperparameters(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"a", "a=1,,b=2", "=3", "a=1,a=2", "a=1,b"} {
		if _, err := ParseHyperparameters(in); !errs.Is(err, errs.Invalid) {
			t.Errorf("ParseHyperparameters(%q) error = %v, want Invalid", in, err)
		}
	}
}
