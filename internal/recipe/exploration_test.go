package recipe

import (
	"testing"

	"github.com/attune-dev/attune/internal/errs"
)

func TestParseExploration(t *testing.T) {
	cases := []struct {
		w, cut  string
		want    *Exploration
		wantErr bool
	}{
		{"", "", &Exploration{}, false},
		{"0.3", "30", &Exploration{Weight: 0.3, AgeCutOffDays: 30}, false},
		{"0", "30", nil, false},
		{"1.5", "", nil, true},
		{"abc", "", nil, true},
		{"", "-1", nil, true},
		{"", "Inf", nil, true},
	}
	for _, tc := range cases {
		got, err := ParseExploration(tc.w, tc.cut)
		if tc.wantErr {
			if errs.KindOf(err) != errs.Invalid {
				t.Errorf("ParseExploration(%q, %q) error = %v, want Invalid", tc.w, tc.cut, err)
			}
			continue
		}
		if err != nil || (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Errorf("ParseExploration(%q, %q) = %v, %v; want %v", tc.w, tc.cut, got, err, tc.want)
		}
	}
	if _, err := ParseExplorationMap(map[string]string{"explorationWeigth": "0.1"}); errs.KindOf(err) != errs.Invalid {
		t.Errorf("misspelt key accepted: %v", err)
	}
}
