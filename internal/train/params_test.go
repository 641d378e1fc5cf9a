package train

import (
	"testing"

	"github.com/attune-dev/attune/internal/recipe/popularity"
)

// TestFeatureParamsReachTheRecipe: the trending-now notebook sets
// trend_discovery_frequency in featureTransformationParameters, not in
// algorithmHyperParameters; training must use it either way.
func TestFeatureParamsReachTheRecipe(t *testing.T) {
	r := popularity.NewTrendingNow()
	s := &Service{}
	cases := []struct {
		name string
		c    Config
		want string // trend_discovery_frequency passed to Fit; "" = unset
	}{
		{"feature parameter", Config{FeatureParameters: map[string]string{"trend_discovery_frequency": "30 minutes"}}, "30 minutes"},
		{"hyperparameter wins", Config{FeatureParameters: map[string]string{"trend_discovery_frequency": "30 minutes"},
			HyperParameters: map[string]string{"trend_discovery_frequency": "1 day"}}, "1 day"},
		{"unrelated feature parameter ignored", Config{FeatureParameters: map[string]string{"min_user_history_length_percentile": "0.05"}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := s.baseParams(r, tc.c)
			if got := p["trend_discovery_frequency"]; got != tc.want {
				t.Errorf("baseParams(%+v)[trend_discovery_frequency] = %q, want %q", tc.c, got, tc.want)
			}
			if tc.want == "" && len(p) != 0 {
				t.Errorf("baseParams(%+v) = %v, want no parameters", tc.c, p)
			}
		})
	}
	if err := checkFeatureParams(r, map[string]string{"other": "x"}); err != nil {
		t.Errorf("checkFeatureParams(unrelated key) = %v, want nil: only the recipe's own names are checked", err)
	}
	if err := checkFeatureParams(r, map[string]string{"trend_discovery_frequency": "1 day"}); err != nil {
		t.Errorf("checkFeatureParams(valid) = %v, want nil", err)
	}
}
