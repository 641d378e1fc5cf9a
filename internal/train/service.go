package train

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/eval"
	"github.com/attune-dev/attune/internal/jobs"
	"github.com/attune-dev/attune/internal/quota"
	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/resource"
	"github.com/attune-dev/attune/internal/store"
)

// Options configure training.
type Options struct {
	Scope arn.Scope
	// Workers is the number of solution versions trained at once; 0 means 1.
	Workers int
	// MinInteractions and MinUsers are Personalize's minimum training data:
	// at least MinInteractions interactions and MinUsers users with two or
	// more each. Zero means Personalize's 1000 and 25; negative disables.
	MinInteractions int
	MinUsers        int
	// MaxActiveVersions caps versions PENDING or IN_PROGRESS at once (LimitExceeded); 0 means 20.
	MaxActiveVersions int
	// Seed makes training and the evaluation split deterministic.
	Seed int64
	// Poll is how often the runner rescans besides being kicked; 0 means 2s.
	Poll time.Duration
	// Quotas caps solutions and recommenders per dataset group; the zero
	// value holds Personalize's defaults.
	Quotas quota.Limits
	// Metrics receives training durations (metrics.go); nil records nothing.
	Metrics Metrics
}

// Service implements solutions and solution versions.
type Service struct {
	st        store.Store
	artifacts blob.Bucket
	reg       *recipe.Registry
	opts      Options
	now       func() time.Time
	log       *slog.Logger
	runner    *jobs.Runner
	recRunner *jobs.Runner
	deployer  Deployer
	// wakeups reap deleted solutions when due; Run stops them.
	wakeups resource.Wakeups
}

// New returns a training service; call Run to start training.
func New(st store.Store, artifacts blob.Bucket, reg *recipe.Registry, opts Options, now func() time.Time, log *slog.Logger) *Service {
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.MinInteractions == 0 {
		opts.MinInteractions = 1000
	}
	if opts.MinUsers == 0 {
		opts.MinUsers = 25
	}
	if opts.Metrics == nil {
		opts.Metrics = noMetrics{}
	}
	if opts.MaxActiveVersions <= 0 {
		opts.MaxActiveVersions = 20
	}
	if opts.Poll <= 0 {
		opts.Poll = 2 * time.Second
	}
	s := &Service{st: st, artifacts: artifacts, reg: reg, opts: opts, now: now, log: log}
	s.runner = jobs.New(jobs.Options{Name: "training", Workers: opts.Workers, Poll: opts.Poll}, log,
		s.pendingVersions, s.runVersion, s.housekeeping)
	s.recRunner = s.newRecommenderRunner()
	return s
}

func (s *Service) wake() { s.runner.Kick() }

// Recipe resolves a recipe ARN (arn:aws:personalize:::recipe/NAME).
func (s *Service) Recipe(recipeARN string) (recipe.Recipe, error) {
	p, err := arn.Parse("recipeArn", recipeARN)
	if err != nil {
		return nil, err
	}
	if p.Type != arn.Recipe || len(p.Parts) != 1 {
		return nil, errs.E(errs.Invalid, "recipeArn: %s is not a recipe ARN", errs.Quote(recipeARN))
	}
	r, ok := s.reg.Get(p.Parts[0])
	if !ok {
		return nil, errs.E(errs.NotFound, "Could not find recipe %s", recipeARN)
	}
	return r, nil
}

// CreateSolutionInput is the input of CreateSolution.
type CreateSolutionInput struct {
	Name, GroupARN, RecipeARN, EventType string
	PerformHPO, PerformAutoML            bool
	PerformAutoTraining                  *bool
	PerformIncremental                   bool
	Config                               Config
	ConfigEcho                           []byte
	Tags                                 map[string]string
}

// CreateSolution validates and stores a solution.
func (s *Service) CreateSolution(ctx context.Context, in CreateSolutionInput) (*Solution, error) {
	if err := arn.CheckName("name", in.Name); err != nil {
		return nil, err
	}
	if _, err := arn.Expect("datasetGroupArn", in.GroupARN, arn.DatasetGroup, 1); err != nil {
		return nil, err
	}
	g, err := s.st.GetResource(ctx, arn.DatasetGroup, in.GroupARN)
	if err != nil {
		if errs.KindOf(err) == errs.NotFound {
			return nil, errs.E(errs.NotFound, "Could not find dataset group %s", in.GroupARN)
		}
		return nil, err
	}
	if !resource.Usable(g.Status) {
		return nil, errs.E(errs.InUse, "Dataset group %s is %s, not ACTIVE", in.GroupARN, g.Status)
	}
	if err := s.checkPerGroup(ctx, quota.SolutionsPerGroup, arn.Solution, in.GroupARN); err != nil {
		return nil, err
	}
	if len(in.EventType) > 256 {
		return nil, errs.E(errs.Invalid, "eventType is longer than 256 characters")
	}
	switch {
	case in.PerformAutoML:
		if in.RecipeARN != "" {
			return nil, errs.E(errs.Invalid, "recipeArn must be omitted when performAutoML is true")
		}
		for _, ra := range in.Config.AutoMLRecipes {
			if _, err := s.Recipe(ra); err != nil {
				return nil, err
			}
		}
	case in.RecipeARN == "":
		return nil, errs.E(errs.Invalid, "recipeArn is required unless performAutoML is true")
	default:
		r, err := s.Recipe(in.RecipeARN)
		if err != nil {
			return nil, err
		}
		if _, err := recipe.ParseParams(r.Hyperparameters(), in.Config.HyperParameters); err != nil {
			return nil, errs.Wrap(errs.Invalid, err, "solutionConfig.algorithmHyperParameters: %s", errs.Message(err))
		}
		if err := checkFeatureParams(r, in.Config.FeatureParameters); err != nil {
			return nil, err
		}
		if err := checkRanges(r, in.Config); err != nil {
			return nil, err
		}
	}
	for _, m := range []struct{ member, name string }{
		{"solutionConfig.hpoConfig.hpoObjective.metricName", in.Config.HPOMetric},
		{"solutionConfig.autoMLConfig.metricName", in.Config.AutoMLMetric},
	} {
		if m.name != "" && !slices.Contains(eval.MetricKeys(), m.name) {
			return nil, errs.E(errs.Invalid, "%s: unknown metric %s; use one of %s", m.member, errs.Quote(m.name), strings.Join(eval.MetricKeys(), ", "))
		}
	}
	if in.Config.EventValueThreshold != "" {
		if _, err := strconv.ParseFloat(in.Config.EventValueThreshold, 64); err != nil {
			return nil, errs.E(errs.Invalid, "solutionConfig.eventValueThreshold: %s is not a number", errs.Quote(in.Config.EventValueThreshold))
		}
	}
	if in.Config.ScheduleExpression != "" {
		if _, err := ParseSchedule(in.Config.ScheduleExpression); err != nil {
			return nil, err
		}
	}
	auto := true // Personalize's default
	if in.PerformAutoTraining != nil {
		auto = *in.PerformAutoTraining
	}
	sol := &Solution{GroupARN: in.GroupARN, RecipeARN: in.RecipeARN, PerformHPO: in.PerformHPO, PerformAutoML: in.PerformAutoML,
		PerformAutoTraining: auto, PerformIncremental: in.PerformIncremental, EventType: in.EventType, Config: in.Config,
		ConfigEcho: in.ConfigEcho, Tags: in.Tags}
	t := s.now()
	sol.Meta = metaOf(s.opts.Scope.Build(arn.Solution, in.Name), in.Name, in.GroupARN, StatusCreatePending, t)
	if err := solutions.Create(ctx, s.st, sol); err != nil {
		return nil, err
	}
	s.wake()
	return sol, nil
}

// checkRanges validates HPO ranges against the recipe's hyperparameters.
func checkRanges(r recipe.Recipe, c Config) error {
	known := map[string]recipe.Hyperparameter{}
	for _, h := range r.Hyperparameters() {
		known[h.Name] = h
	}
	check := func(name string, lo, hi float64) error {
		h, ok := known[name]
		if !ok {
			return errs.E(errs.Invalid, "solutionConfig.hpoConfig: %s has no hyperparameter %s", r.Name(), errs.Quote(name))
		}
		if lo > hi {
			return errs.E(errs.Invalid, "solutionConfig.hpoConfig: range of %s has minValue %v above maxValue %v", errs.Quote(name), lo, hi)
		}
		if (h.Kind == "integer" || h.Kind == "continuous") && (lo < h.Min || hi > h.Max) {
			return errs.E(errs.Invalid, "solutionConfig.hpoConfig: range of %s [%v, %v] is outside the allowed [%v, %v]", errs.Quote(name), lo, hi, h.Min, h.Max)
		}
		return nil
	}
	for _, ir := range c.IntRanges {
		if err := check(ir.Name, float64(ir.Min), float64(ir.Max)); err != nil {
			return err
		}
	}
	for _, fr := range c.FloatRanges {
		if err := check(fr.Name, fr.Min, fr.Max); err != nil {
			return err
		}
	}
	for _, cr := range c.CatRanges {
		if _, ok := known[cr.Name]; !ok {
			return errs.E(errs.Invalid, "solutionConfig.hpoConfig: %s has no hyperparameter %s", r.Name(), errs.Quote(cr.Name))
		}
		for _, v := range cr.Values {
			if _, err := recipe.ParseParams(r.Hyperparameters(), recipe.Params{cr.Name: v}); err != nil {
				return errs.Wrap(errs.Invalid, err, "solutionConfig.hpoConfig: %s", errs.Message(err))
			}
		}
	}
	return nil
}

// Solution returns a solution.
func (s *Service) Solution(ctx context.Context, solutionARN string) (*Solution, error) {
	if _, err := arn.Expect("solutionArn", solutionARN, arn.Solution, 1); err != nil {
		return nil, err
	}
	return solutions.Get(ctx, s.st, solutionARN)
}

// Solutions lists solutions of a group ("" = all), newest first.
func (s *Service) Solutions(ctx context.Context, groupARN, token string, limit int) ([]*Solution, string, error) {
	return solutions.List(ctx, s.st, groupARN, token, limit)
}

// LatestVersion returns the newest version of a solution, or nil.
func (s *Service) LatestVersion(ctx context.Context, solutionARN string) (*Version, error) {
	vs, _, err := versions.List(ctx, s.st, solutionARN, "", 1)
	if err != nil || len(vs) == 0 {
		return nil, err
	}
	return vs[0], nil
}

// LatestActiveVersion returns the newest ACTIVE version of a solution, or nil.
func (s *Service) LatestActiveVersion(ctx context.Context, solutionARN string) (*Version, error) {
	vs, err := versions.All(ctx, s.st, solutionARN, StatusActive)
	if err != nil || len(vs) == 0 {
		return nil, err
	}
	return vs[0], nil
}

// DeleteSolution starts deleting a solution with no campaigns (but those
// being deleted) and no version in training: it shows DELETE PENDING for
// resource.DeletePendingFor and until its campaigns are gone, then it, its
// versions and their artifacts are removed (finishSolutionDelete).
func (s *Service) DeleteSolution(ctx context.Context, solutionARN string) error {
	if _, err := s.Solution(ctx, solutionARN); err != nil {
		return err
	}
	blocking, _, err := resource.Children(ctx, s.st, arn.Campaign, solutionARN)
	if err != nil {
		return err
	}
	if blocking != "" {
		return errs.E(errs.InUse, "Solution %s has campaign %s: delete it first", solutionARN, blocking)
	}
	vs, err := versions.All(ctx, s.st, solutionARN)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if v.Status == StatusCreatePending || v.Status == StatusCreateInProgress || v.Status == StatusCreateStopping {
			return errs.E(errs.InUse, "Solution %s has solution version %s in %s", solutionARN, v.ARN, v.Status)
		}
	}
	if _, err := solutions.MarkDeleting(ctx, s.st, solutionARN, s.now, nil); err != nil {
		return err
	}
	s.wakeups.After(resource.DeletePendingFor, s.wake) // reap it as soon as it is due
	return nil
}

// finishSolutionDelete removes a solution whose DELETE PENDING phase is
// over, with its versions and their artifacts.
func (s *Service) finishSolutionDelete(ctx context.Context, sol *Solution) error {
	if _, leaving, err := resource.Children(ctx, s.st, arn.Campaign, sol.ARN); err != nil {
		return err
	} else if leaving {
		return errs.E(errs.InUse, "solution %s: a campaign is still being deleted", sol.ARN)
	}
	vs, err := versions.All(ctx, s.st, sol.ARN)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if v.ArtifactKey != "" {
			if err := s.artifacts.Delete(ctx, v.ArtifactKey); err != nil {
				return err
			}
		}
		if err := versions.Delete(ctx, s.st, v.ARN); err != nil && errs.KindOf(err) != errs.NotFound {
			return err
		}
	}
	return solutions.Delete(ctx, s.st, sol.ARN)
}

// CreateVersion queues a training run of an ACTIVE solution.
func (s *Service) CreateVersion(ctx context.Context, solutionARN, name, mode, trainingType string, tags map[string]string) (*Version, error) {
	sol, err := s.Solution(ctx, solutionARN)
	if err != nil {
		return nil, err
	}
	if name != "" {
		if err := arn.CheckName("name", name); err != nil {
			return nil, err
		}
	}
	switch mode {
	case "":
		mode = ModeFull
	case ModeFull, ModeAutoTrain:
	case ModeUpdate:
		// UPDATE refreshes a model with new items and users; Attune's models
		// already fold in new interactions at request time, so an update is a
		// full retrain on the current data, which includes everything UPDATE would.
	default:
		return nil, errs.E(errs.Invalid, "trainingMode: %s is not one of FULL, UPDATE, AUTOTRAIN", errs.Quote(mode))
	}
	if !resource.Usable(sol.Status) {
		return nil, errs.E(errs.InUse, "Solution %s is %s, not ACTIVE", solutionARN, sol.Status)
	}
	active, err := versions.All(ctx, s.st, "", StatusCreatePending, StatusCreateInProgress)
	if err != nil {
		return nil, err
	}
	if len(active) >= s.opts.MaxActiveVersions {
		return nil, errs.E(errs.LimitExceeded, "More than %d solution versions with PENDING or IN_PROGRESS status", s.opts.MaxActiveVersions)
	}
	if trainingType == "" {
		trainingType = TypeManual
	}
	id := randomHex(4)
	if name == "" {
		name = id
	}
	v := &Version{SolutionARN: sol.ARN, GroupARN: sol.GroupARN, RecipeARN: sol.RecipeARN, TrainingMode: mode,
		TrainingType: trainingType, Tags: tags}
	v.Meta = metaOf(sol.ARN+"/"+id, name, sol.ARN, StatusCreatePending, s.now())
	if err := versions.Create(ctx, s.st, v); err != nil {
		return nil, err
	}
	s.wake()
	return v, nil
}

// Version returns a solution version.
func (s *Service) Version(ctx context.Context, versionARN string) (*Version, error) {
	if err := checkVersionARN(versionARN); err != nil {
		return nil, err
	}
	return versions.Get(ctx, s.st, versionARN)
}

func checkVersionARN(a string) error {
	p, err := arn.Parse("solutionVersionArn", a)
	if err != nil {
		return err
	}
	if p.Type != arn.Solution || len(p.Parts) != 2 {
		return errs.E(errs.Invalid, "solutionVersionArn: %s is not a solution version ARN (…:solution/NAME/VERSION)", errs.Quote(a))
	}
	return nil
}

// Versions lists versions of a solution ("" = all), newest first.
func (s *Service) Versions(ctx context.Context, solutionARN, token string, limit int) ([]*Version, string, error) {
	if solutionARN != "" {
		if _, err := s.Solution(ctx, solutionARN); err != nil {
			return nil, "", err
		}
	}
	return versions.List(ctx, s.st, solutionARN, token, limit)
}

// StopVersion stops a version in training: PENDING becomes STOPPED at
// once, IN_PROGRESS goes through STOPPING.
func (s *Service) StopVersion(ctx context.Context, versionARN string) error {
	if _, err := s.Version(ctx, versionARN); err != nil {
		return err
	}
	_, err := versions.Update(ctx, s.st, versionARN, s.now, func(v *Version) error {
		switch v.Status {
		case StatusCreatePending:
			v.Status = StatusCreateStopped
		case StatusCreateInProgress:
			v.Status = StatusCreateStopping
		default:
			return errs.E(errs.InUse, "Solution version %s is %s: only a version in CREATE PENDING or CREATE IN_PROGRESS can be stopped", versionARN, v.Status)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.runner.Cancel(versionARN)
	return nil
}

// Metrics returns the offline metrics of an ACTIVE version.
func (s *Service) Metrics(ctx context.Context, versionARN string) (map[string]float64, error) {
	v, err := s.Version(ctx, versionARN)
	if err != nil {
		return nil, err
	}
	if v.Status != StatusActive {
		return nil, errs.E(errs.InUse, "Solution version %s is %s, not ACTIVE: metrics exist once training succeeds", versionARN, v.Status)
	}
	return v.Metrics, nil
}

// ParseSchedule reads an autoTrainingConfig.schedulingExpression:
// Personalize's "rate(N day|days)" with N in 1..30, and, for self-hosting,
// "rate(N hour|hours)" and "rate(N minute|minutes)".
func ParseSchedule(expr string) (time.Duration, error) {
	bad := errs.E(errs.Invalid, "schedulingExpression: %s must look like rate(7 days), rate(6 hours) or rate(30 minutes)", errs.Quote(expr))
	inner, ok := strings.CutPrefix(strings.TrimSpace(expr), "rate(")
	if !ok {
		return 0, bad
	}
	inner, ok = strings.CutSuffix(inner, ")")
	if !ok {
		return 0, bad
	}
	num, unit, ok := strings.Cut(strings.TrimSpace(inner), " ")
	if !ok {
		return 0, bad
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 {
		return 0, bad
	}
	switch strings.TrimSpace(unit) {
	case "day", "days":
		if n > 30 {
			return 0, errs.E(errs.Invalid, "schedulingExpression: %s: at most 30 days", errs.Quote(expr))
		}
		return time.Duration(n) * 24 * time.Hour, nil
	case "hour", "hours":
		return time.Duration(n) * time.Hour, nil
	case "minute", "minutes":
		return time.Duration(n) * time.Minute, nil
	}
	return 0, bad
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func errInUse(format string, args ...any) error { return errs.E(errs.InUse, format, args...) }

// checkPerGroup applies a per-dataset-group quota to resources of kind
// whose parent is the group.
func (s *Service) checkPerGroup(ctx context.Context, q quota.Name, kind, groupARN string) error {
	n, err := resource.Count(ctx, s.st, kind, groupARN)
	if err != nil {
		return err
	}
	return s.opts.Quotas.Check(q, n, groupARN)
}

// checkFeatureParams validates the featureTransformationParameters that
// training passes to the recipe (those named like one of its
// hyperparameters, such as trend_discovery_frequency); others are stored
// and shown by DescribeSolution only.
func checkFeatureParams(r recipe.Recipe, fp map[string]string) error {
	p := recipe.Params{}
	for k, v := range fp {
		if hasParam(r, k) {
			p[k] = v
		}
	}
	if _, err := recipe.ParseParams(r.Hyperparameters(), p); err != nil {
		return errs.Wrap(errs.Invalid, err, "solutionConfig.featureTransformationParameters: %s", errs.Message(err))
	}
	return nil
}
