package train

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/blob/local"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/recipe/popularity"
	"github.com/attune-dev/attune/internal/store"
	"github.com/attune-dev/attune/internal/store/sqlite"
)

// fakeClock is a settable clock for schedule tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestService(t *testing.T, clock *fakeClock) *Service {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bucket, err := local.New(filepath.Join(t.TempDir(), "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	scope := arn.Scope{Region: "us-east-1", Account: "000000000000"}
	group := scope.Build(arn.DatasetGroup, "g")
	if err := st.CreateResource(ctx, store.Resource{ARN: group, Kind: arn.DatasetGroup, Name: "g", Status: StatusActive,
		Created: clock.now(), Updated: clock.now(), Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	reg := recipe.NewRegistry(popularity.NewPopularityCount())
	return New(st, bucket, reg, Options{Scope: scope}, clock.now, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func TestAutoTrainingSchedule(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := newTestService(t, clock)
	sol, err := s.CreateSolution(ctx, CreateSolutionInput{Name: "auto", GroupARN: s.opts.Scope.Build(arn.DatasetGroup, "g"),
		RecipeARN: arn.Global(arn.Recipe, "aws-popularity-count"), Config: Config{ScheduleExpression: "rate(2 hours)"}})
	if err != nil {
		t.Fatal(err)
	}
	off := false
	manual, err := s.CreateSolution(ctx, CreateSolutionInput{Name: "manual", GroupARN: s.opts.Scope.Build(arn.DatasetGroup, "g"),
		RecipeARN: arn.Global(arn.Recipe, "aws-popularity-count"), PerformAutoTraining: &off})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{sol.ARN, manual.ARN} {
		if _, err := solutions.Update(ctx, s.st, a, s.now, func(s *Solution) error { s.Status = StatusActive; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	count := func(solutionARN string) int {
		vs, err := versions.All(ctx, s.st, solutionARN)
		if err != nil {
			t.Fatal(err)
		}
		return len(vs)
	}
	steps := []struct {
		advance time.Duration
		finish  bool // mark the latest version ACTIVE before the check
		want    int
	}{
		{0, false, 0},                // just created: nothing yet
		{59 * time.Minute, false, 0}, // the first automatic version waits an hour
		{2 * time.Minute, false, 1},  // ... then starts
		{time.Hour, false, 1},        // not due, and still pending anyway
		{0, true, 1},                 // it finishes, one hour after it was created
		{50 * time.Minute, false, 1}, // every 2 hours from the last version: not yet
		{11 * time.Minute, false, 2}, // due
		{3 * time.Hour, false, 2},    // never a second one while one is pending
	}
	for i, st := range steps {
		clock.advance(st.advance)
		if st.finish {
			v, _ := s.LatestVersion(ctx, sol.ARN)
			if _, err := versions.Update(ctx, s.st, v.ARN, s.now, func(v *Version) error { v.Status = StatusActive; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.autoTrain(ctx); err != nil {
			t.Fatal(err)
		}
		if got := count(sol.ARN); got != st.want {
			t.Fatalf("step %d: %d automatic versions, want %d", i, got, st.want)
		}
		if got := count(manual.ARN); got != 0 {
			t.Fatalf("step %d: solution with performAutoTraining=false got %d versions", i, got)
		}
	}
	v, _ := s.LatestVersion(ctx, sol.ARN)
	if v.TrainingType != TypeAutomatic || v.TrainingMode != ModeAutoTrain {
		t.Errorf("automatic version has type %s mode %s, want AUTOMATIC AUTOTRAIN", v.TrainingType, v.TrainingMode)
	}
}

func TestParseSchedule(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"rate(7 days)", 7 * 24 * time.Hour, true},
		{"rate(1 day)", 24 * time.Hour, true},
		{"rate(6 hours)", 6 * time.Hour, true},
		{"rate(30 minutes)", 30 * time.Minute, true},
		{"rate(31 days)", 0, false},
		{"rate(0 days)", 0, false},
		{"rate(7 weeks)", 0, false},
		{"cron(0 * * * *)", 0, false},
		{"rate(days)", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSchedule(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("ParseSchedule(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}

// TestCreateSolutionUnknownMetric: an HPO or AutoML objective naming a
// metric evaluation does not compute is refused at CreateSolution, naming
// the member and the metric; a known one is accepted.
func TestCreateSolutionUnknownMetric(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t, &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	group := s.opts.Scope.Build(arn.DatasetGroup, "g")
	pop := arn.Global(arn.Recipe, "aws-popularity-count")
	for i, tc := range []struct {
		in     CreateSolutionInput
		member string
	}{
		{CreateSolutionInput{RecipeARN: pop, PerformHPO: true, Config: Config{HPOMetric: "ndcg_at_25"}}, "hpoObjective.metricName"},
		{CreateSolutionInput{PerformAutoML: true, Config: Config{AutoMLMetric: "accuracy", AutoMLRecipes: []string{pop}}}, "autoMLConfig.metricName"},
	} {
		tc.in.Name, tc.in.GroupARN = fmt.Sprint("bad", i), group
		_, err := s.CreateSolution(ctx, tc.in)
		if errs.KindOf(err) != errs.Invalid || !strings.Contains(errs.Message(err), tc.member) ||
			!strings.Contains(errs.Message(err), cmp.Or(tc.in.Config.HPOMetric, tc.in.Config.AutoMLMetric)) {
			t.Errorf("CreateSolution(%+v) = %v; want Invalid naming %s and the metric", tc.in.Config, err, tc.member)
		}
	}
	if _, err := s.CreateSolution(ctx, CreateSolutionInput{Name: "ok", GroupARN: group, RecipeARN: pop, PerformHPO: true,
		Config: Config{HPOMetric: "precision_at_10"}}); err != nil {
		t.Errorf("CreateSolution(precision_at_10) = %v, want accepted", err)
	}
}
