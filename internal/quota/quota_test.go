package quota

import (
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name  string
		specs []string
		want  map[Name]int // values to check; others keep defaults
		kind  errs.Kind    // 0 for success
	}{
		{"none", nil, map[Name]int{DatasetGroups: 5, SolutionsPerGroup: 10, FiltersPerGroup: 10}, 0},
		{"one", []string{"dataset-groups=50"}, map[Name]int{DatasetGroups: 50, Schemas: 500}, 0},
		{"repeated flags", []string{"dataset-groups=7", "solutions-per-dataset-group=30"}, map[Name]int{DatasetGroups: 7, SolutionsPerGroup: 30}, 0},
		{"comma list with spaces", []string{" filters-per-dataset-group = 12 , campaigns-per-dataset-group=9,"}, map[Name]int{FiltersPerGroup: 12, CampaignsPerGroup: 9}, 0},
		{"unknown", []string{"datasetgroups=5"}, nil, errs.Invalid},
		{"zero", []string{"dataset-groups=0"}, nil, errs.Invalid},
		{"negative", []string{"dataset-groups=-1"}, nil, errs.Invalid},
		{"not a number", []string{"dataset-groups=many"}, nil, errs.Invalid},
		{"no value", []string{"dataset-groups"}, nil, errs.Invalid},
		{"twice", []string{"dataset-groups=2", "dataset-groups=3"}, nil, errs.Invalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Parse(tc.specs)
			if tc.kind != 0 {
				if errs.KindOf(err) != tc.kind {
					t.Fatalf("Parse(%q) = %v, want %v", tc.specs, err, tc.kind)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tc.specs, err)
			}
			for n, v := range tc.want {
				if got := l.Get(n); got != v {
					t.Errorf("Parse(%q).Get(%s) = %d, want %d", tc.specs, n, got, v)
				}
			}
		})
	}
}

func TestParseCutsEchoedValues(t *testing.T) {
	_, err := Parse([]string{strings.Repeat("x", 1<<20) + "=1"})
	if err == nil || len(errs.Message(err)) > 1000 {
		t.Errorf("Parse(1 MiB name) message is %d bytes, want an error under 1000", len(errs.Message(err)))
	}
}

func TestCheck(t *testing.T) {
	l := Limits{}.With(CampaignsPerGroup, 2)
	cases := []struct {
		name string
		n    Name
		have int
		want errs.Kind
	}{
		{"below", CampaignsPerGroup, 1, 0},
		{"at the limit", CampaignsPerGroup, 2, errs.LimitExceeded},
		{"above", CampaignsPerGroup, 3, errs.LimitExceeded},
		{"default below", DatasetGroups, 4, 0},
		{"default reached", DatasetGroups, 5, errs.LimitExceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := l.Check(tc.n, tc.have, "arn:aws:personalize:us-east-1:000000000000:dataset-group/g")
			if tc.want == 0 {
				if err != nil {
					t.Fatalf("Check(%s, %d) = %v, want nil", tc.n, tc.have, err)
				}
				return
			}
			if errs.KindOf(err) != tc.want {
				t.Fatalf("Check(%s, %d) = %v, want %v", tc.n, tc.have, err, tc.want)
			}
			if msg := errs.Message(err); !strings.Contains(msg, string(tc.n)) || !strings.Contains(msg, "--quota") {
				t.Errorf("Check message %q does not name the quota and how to raise it", msg)
			}
		})
	}
	if (Limits{}).Get(CampaignsPerGroup) != 5 {
		t.Error("With changed the Limits it was called on")
	}
}

func TestEveryQuotaHasDefaultAndScope(t *testing.T) {
	for _, n := range Names() {
		if Default(n) < 1 || scope[n] == "" {
			t.Errorf("quota %s: default %d, scope %q; want both set", n, Default(n), scope[n])
		}
	}
}
