package train

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/eval"
	"github.com/attune-dev/attune/internal/model"
	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/records"
	"github.com/attune-dev/attune/internal/resource"
	"github.com/attune-dev/attune/internal/schema"
)

// Run trains pending solution versions until ctx is done. At start it
// recovers from a crash: a version that was training runs again from the
// start, one that was stopping ends STOPPED, so no version stays in progress.
func (s *Service) Run(ctx context.Context) error {
	if err := s.recover(ctx); err != nil {
		return fmt.Errorf("training runner: recover: %w", err)
	}
	defer s.wakeups.Stop()
	s.runner.Run(ctx)
	return nil
}

func (s *Service) recover(ctx context.Context) error {
	stuck, err := versions.All(ctx, s.st, "", StatusCreateInProgress, StatusCreateStopping)
	if err != nil {
		return err
	}
	for _, v := range stuck {
		if _, err := versions.Update(ctx, s.st, v.ARN, s.now, func(v *Version) error {
			if v.Status == StatusCreateStopping {
				v.Status = StatusCreateStopped
			} else {
				v.Status = StatusCreatePending
			}
			return nil
		}); err != nil {
			return err
		}
		s.log.InfoContext(ctx, "solution version interrupted by a restart", "version", v.ARN, "was", v.Status)
	}
	return nil
}

// pendingVersions lists versions waiting to train, oldest first.
func (s *Service) pendingVersions(ctx context.Context) ([]string, error) {
	pending, err := versions.All(ctx, s.st, "", StatusCreatePending)
	if err != nil {
		return nil, err
	}
	sort.Slice(pending, func(i, j int) bool { return pending[i].Created.Before(pending[j].Created) })
	ids := make([]string, len(pending))
	for i, v := range pending {
		ids[i] = v.ARN
	}
	return ids, nil
}

// housekeeping activates pending solutions, removes solutions whose DELETE
// PENDING phase is over and starts scheduled training.
func (s *Service) housekeeping(ctx context.Context) error {
	sols, err := solutions.All(ctx, s.st, "", StatusCreatePending, StatusCreateInProgress)
	if err != nil {
		return err
	}
	for _, sol := range sols {
		if _, err := solutions.Update(ctx, s.st, sol.ARN, s.now, func(sol *Solution) error {
			if resource.Deleting(sol.Status) {
				return errs.E(errs.InUse, "solution %s is being deleted", sol.ARN)
			}
			sol.Status = StatusActive
			return nil
		}); err != nil && errs.KindOf(err) != errs.NotFound && errs.KindOf(err) != errs.InUse {
			return err
		}
	}
	if err := solutions.Reap(ctx, s.st, s.now, resource.DeletePendingFor, s.finishSolutionDelete); err != nil {
		return err
	}
	return s.autoTrain(ctx)
}

// runVersion trains one version. Its context ends at shutdown or when
// StopVersion cancels it; the stored status tells the two apart.
func (s *Service) runVersion(vctx context.Context, versionARN string) {
	v, err := versions.Update(vctx, s.st, versionARN, s.now, func(v *Version) error {
		if v.Status != StatusCreatePending {
			return errs.E(errs.InUse, "version %s is %s", v.ARN, v.Status)
		}
		v.Status = StatusCreateInProgress
		return nil
	})
	if err != nil {
		if vctx.Err() == nil && errs.KindOf(err) != errs.InUse {
			s.log.Error("start solution version", "version", versionARN, "err", err)
		}
		return
	}
	start := s.now()
	res, err := s.train(vctx, v)
	bg := context.WithoutCancel(vctx)
	if vctx.Err() != nil {
		cur, gerr := versions.Get(bg, s.st, versionARN)
		if gerr != nil || cur.Status != StatusCreateStopping {
			return // shutting down: recover() reruns it at the next start
		}
	}
	_, uerr := versions.Update(bg, s.st, versionARN, s.now, func(v *Version) error {
		v.TrainingHours = s.now().Sub(start).Hours()
		switch {
		case v.Status == StatusCreateStopping || vctx.Err() != nil:
			v.Status = StatusCreateStopped
		case err != nil:
			v.Status = StatusCreateFailed
			v.FailureReason = errs.Message(err)
			if errs.KindOf(err) == errs.Internal {
				v.FailureReason = "internal error while training (solution version " + versionARN + "); the cause is in the server log"
			}
		default:
			v.Status = StatusActive
			v.Metrics, v.TunedParams, v.ArtifactKey = res.metrics, res.params, res.key
			v.Interactions, v.Users, v.Items, v.TrainedThrough = res.interactions, res.users, res.items, res.through
		}
		return nil
	})
	if uerr != nil {
		s.log.Error("finish solution version", "version", versionARN, "err", uerr)
		return
	}
	if err != nil && vctx.Err() == nil {
		s.log.Info("solution version failed", "version", versionARN, "err", err)
	} else if err == nil {
		s.log.Info("solution version trained", "version", versionARN, "seconds", s.now().Sub(start).Seconds(),
			"interactions", res.interactions, "ndcg@10", res.metrics["normalized_discounted_cumulative_gain_at_10"])
	}
	if err != nil && res.key != "" {
		_ = s.artifacts.Delete(bg, res.key)
	}
}

type trained struct {
	metrics      map[string]float64
	params       map[string]string
	key          string
	interactions int
	users, items int
	through      int64
}

// Data loads the training data of a dataset group: its interactions
// filtered as the solution says, with the Items dataset's catalogue and
// metadata when it has one. It returns the last chunk sequence read.
func (s *Service) Data(ctx context.Context, groupARN string, f corpus.Filter) (*recipe.Data, int64, error) {
	p, err := arn.Expect("datasetGroupArn", groupARN, arn.DatasetGroup, 1)
	if err != nil {
		return nil, 0, err
	}
	interactionsARN := s.opts.Scope.Build(arn.Dataset, p.Parts[0], "INTERACTIONS")
	if _, err := s.st.GetResource(ctx, arn.Dataset, interactionsARN); err != nil {
		if errs.KindOf(err) == errs.NotFound {
			return nil, 0, errs.E(errs.Invalid, "dataset group %s has no Interactions dataset", groupARN)
		}
		return nil, 0, err
	}
	b := corpus.NewBuilder()
	var items *corpus.Entities
	itemsARN := s.opts.Scope.Build(arn.Dataset, p.Parts[0], "ITEMS")
	if _, err := s.st.GetResource(ctx, arn.Dataset, itemsARN); err == nil {
		if items, err = corpus.LoadEntities(ctx, s.st, itemsARN, "ITEM_ID"); err != nil {
			return nil, 0, err
		}
		for _, id := range items.IDs {
			b.Item(id) // the whole catalogue, so cold items can be recommended
		}
	} else if errs.KindOf(err) != errs.NotFound {
		return nil, 0, err
	}
	var through int64
	err = corpus.ScanBatches(ctx, s.st, interactionsARN, "", func(seq int64, batch *records.Batch) error {
		through = max(through, seq)
		return b.AddBatch(batch, f)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("read interactions: %w", err)
	}
	d := &recipe.Data{Interactions: b.Interactions()}
	if items != nil {
		text, err := s.textFields(ctx, itemsARN)
		if err != nil {
			return nil, 0, err
		}
		d.Items = items.ItemMeta(d.Interactions.ItemIDs, text)
	}
	return d, through, nil
}

// textFields returns the free-text fields of the Items dataset's schema:
// those marked textual or itemName (aws-semantic-similarity reads them).
func (s *Service) textFields(ctx context.Context, itemsARN string) (map[string]bool, error) {
	d, err := datasetViews.Get(ctx, s.st, itemsARN)
	if err != nil {
		return nil, err
	}
	sc, err := schemaViews.Get(ctx, s.st, d.SchemaARN)
	if err != nil {
		return nil, err
	}
	parsed, err := schema.Parse(sc.Text)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: stored schema %s does not parse: %w", d.ARN, d.SchemaARN, err)
	}
	text := map[string]bool{}
	for _, f := range parsed.Fields {
		if f.Textual || f.ItemName {
			text[f.Name] = true
		}
	}
	return text, nil
}

// checkMinimum applies Personalize's minimum training data rule.
func (s *Service) checkMinimum(d *recipe.Interactions) error {
	if s.opts.MinInteractions > 0 && d.Len() < s.opts.MinInteractions {
		return errs.E(errs.Invalid, "Insufficient data: %d interactions after filtering, at least %d are required", d.Len(), s.opts.MinInteractions)
	}
	if s.opts.MinUsers > 0 {
		counts := make([]int32, len(d.UserIDs))
		for _, u := range d.User {
			counts[u]++
		}
		n := 0
		for _, c := range counts {
			if c >= 2 {
				n++
			}
		}
		if n < s.opts.MinUsers {
			return errs.E(errs.Invalid, "Dataset has fewer than %d users with at least 2 interactions each (found %d)", s.opts.MinUsers, n)
		}
	}
	return nil
}

// Spec says what to train: the shape shared by solution versions and by
// the hidden models behind recommenders and batch jobs.
type Spec struct {
	GroupARN string
	// Recipes are the candidate recipe ARNs: one, or several for AutoML
	// (the best by Metric wins).
	Recipes             []string
	EventType           string
	EventValueThreshold string
	Config              Config // hyperparameters, events weights, HPO ranges
	PerformHPO          bool
	// ArtifactKey is where the model goes; Meta identifies it inside.
	ArtifactKey string
	Meta        model.Meta
}

// Result is a trained model's summary.
type Result struct {
	RecipeARN    string
	Metrics      map[string]float64 // GetSolutionMetrics keys
	Params       map[string]string  // the winning hyperparameters
	Interactions int
	Users, Items int
	Through      int64 // last interactions chunk read
}

func (s *Service) train(ctx context.Context, v *Version) (trained, error) {
	sol, err := s.Solution(ctx, v.SolutionARN)
	if err != nil {
		return trained{}, err
	}
	spec := Spec{GroupARN: sol.GroupARN, Recipes: []string{sol.RecipeARN}, EventType: sol.EventType,
		EventValueThreshold: sol.Config.EventValueThreshold, Config: sol.Config, PerformHPO: sol.PerformHPO,
		ArtifactKey: model.Key(v.ARN), Meta: model.Meta{SolutionVersionARN: v.ARN, SolutionARN: sol.ARN}}
	if sol.PerformAutoML {
		spec.Recipes = sol.Config.AutoMLRecipes
		if len(spec.Recipes) == 0 {
			spec.Recipes = []string{arn.Global(arn.Recipe, "aws-user-personalization"), arn.Global(arn.Recipe, "aws-user-personalization-v2")}
		}
	}
	res, err := s.Fit(ctx, spec)
	if err != nil {
		return trained{}, err
	}
	if sol.PerformAutoML && res.RecipeARN != sol.BestRecipeARN {
		if _, err := solutions.Update(ctx, s.st, sol.ARN, s.now, func(sol *Solution) error {
			sol.BestRecipeARN = res.RecipeARN
			return nil
		}); err != nil {
			return trained{}, err
		}
	}
	tuned := map[string]string(nil)
	if sol.PerformHPO {
		tuned = res.Params
	}
	return trained{metrics: res.Metrics, params: tuned, key: spec.ArtifactKey, interactions: res.Interactions,
		users: res.Users, items: res.Items, through: res.Through}, nil
}

// fit is Fit without the metric (metrics.go).
func (s *Service) fit(ctx context.Context, spec Spec) (Result, error) {
	var res Result
	f := corpus.Filter{EventType: spec.EventType, MinEventValue: math.NaN()}
	if spec.EventValueThreshold != "" {
		f.MinEventValue, _ = strconv.ParseFloat(spec.EventValueThreshold, 64)
	}
	data, through, err := s.Data(ctx, spec.GroupARN, f)
	if err != nil {
		return res, err
	}
	if err := s.checkMinimum(data.Interactions); err != nil {
		return res, err
	}
	split := eval.PersonalizeSplit(data.Interactions, s.opts.Seed)
	trainData := &recipe.Data{Interactions: split.Train, Items: data.Items}
	test := split.TestSet()
	metric := cmp.Or(spec.Config.HPOMetric, spec.Config.AutoMLMetric, eval.NDCGKey(25))
	best := struct {
		r       recipe.Recipe
		ra      string
		params  recipe.Params
		metrics map[string]float64
		score   float64
	}{score: math.Inf(-1)}
	for _, ra := range spec.Recipes {
		r, err := s.Recipe(ra)
		if err != nil {
			return res, err
		}
		base := s.baseParams(r, spec.Config)
		trials := []recipe.Params{base}
		if spec.PerformHPO {
			trials = s.hpoTrials(r, spec.Config, base)
		}
		for _, p := range trials {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			out, err := eval.Evaluate(ctx, r, p, trainData, test, eval.Options{Seed: s.opts.Seed})
			if err != nil {
				return res, err
			}
			score := out.Metrics[metric]
			if best.r == nil || score > best.score {
				best.r, best.ra, best.params, best.metrics, best.score = r, ra, p, out.Metrics, score
			}
		}
	}
	if best.r == nil {
		return res, errs.E(errs.Invalid, "no recipe to train")
	}
	// The deployed model learns from everyone, the held-out users included.
	m, err := best.r.Fit(ctx, data, best.params, recipe.FitOptions{Seed: s.opts.Seed, Now: latestTime(data.Interactions)})
	if err != nil {
		return res, fmt.Errorf("final fit: %w", err)
	}
	meta := spec.Meta
	meta.Recipe, meta.RecipeType, meta.DatasetGroupARN, meta.Created = best.r.Name(), best.r.Type(), spec.GroupARN, s.now()
	meta.Params, meta.Metrics, meta.TrainedThrough = best.params, eval.SolutionMetrics(best.metrics), through
	meta.Interactions, meta.Users, meta.Items = data.Interactions.Len(), len(data.Interactions.UserIDs), len(data.Interactions.ItemIDs)
	if err := model.Write(ctx, s.artifacts, spec.ArtifactKey, meta, m); err != nil {
		return res, err
	}
	return Result{RecipeARN: best.ra, Metrics: meta.Metrics, Params: best.params, Interactions: meta.Interactions,
		Users: meta.Users, Items: meta.Items, Through: through}, nil
}

// baseParams are the configured hyperparameters plus, where the recipe
// takes them, featureTransformationParameters (Personalize's trending-now
// notebook sets trend_discovery_frequency there) and event weights from
// solutionConfig.eventsConfig.
func (s *Service) baseParams(r recipe.Recipe, c Config) recipe.Params {
	p := recipe.Params{}
	for k, v := range c.FeatureParameters {
		if hasParam(r, k) {
			p[k] = v
		}
	}
	for k, v := range c.HyperParameters {
		p[k] = v
	}
	if _, set := p["event_weights"]; !set && len(c.Events) > 0 && hasParam(r, "event_weights") {
		var parts []string
		for _, e := range c.Events {
			if e.Weight != nil {
				parts = append(parts, e.EventType+"="+strconv.FormatFloat(*e.Weight, 'g', -1, 64))
			}
		}
		if len(parts) > 0 {
			p["event_weights"] = strings.Join(parts, ",")
		}
	}
	return p
}

func hasParam(r recipe.Recipe, name string) bool {
	for _, h := range r.Hyperparameters() {
		if h.Name == name {
			return true
		}
	}
	return false
}

// hpoTrials samples hyperparameter sets by seeded random search over the
// solution's ranges, or over the recipe's tunable hyperparameters when the
// solution gives none. The base configuration is always the first trial.
func (s *Service) hpoTrials(r recipe.Recipe, c Config, base recipe.Params) []recipe.Params {
	n := c.HPOMaxJobs
	if n <= 0 {
		n = 8
	}
	type dim struct {
		name    string
		lo, hi  float64
		integer bool
		values  []string
	}
	var dims []dim
	for _, ir := range c.IntRanges {
		dims = append(dims, dim{name: ir.Name, lo: float64(ir.Min), hi: float64(ir.Max), integer: true})
	}
	for _, fr := range c.FloatRanges {
		dims = append(dims, dim{name: fr.Name, lo: fr.Min, hi: fr.Max})
	}
	for _, cr := range c.CatRanges {
		dims = append(dims, dim{name: cr.Name, values: cr.Values})
	}
	if len(dims) == 0 {
		for _, h := range r.Hyperparameters() {
			if !h.Tunable {
				continue
			}
			switch h.Kind {
			case "integer":
				dims = append(dims, dim{name: h.Name, lo: h.Min, hi: h.Max, integer: true})
			case "continuous":
				dims = append(dims, dim{name: h.Name, lo: h.Min, hi: h.Max})
			default:
				dims = append(dims, dim{name: h.Name, values: h.Values})
			}
		}
	}
	// The first trial is the base configuration with every searched
	// hyperparameter spelled out, so tunedHPOParams always names them.
	first := recipe.Params{}
	for k, v := range base {
		first[k] = v
	}
	defaults := map[string]string{}
	for _, h := range r.Hyperparameters() {
		defaults[h.Name] = h.Default
	}
	for _, d := range dims {
		if _, set := first[d.name]; !set {
			first[d.name] = defaults[d.name]
		}
	}
	rng := rand.New(rand.NewPCG(uint64(s.opts.Seed), 0x5eed))
	trials := []recipe.Params{first}
	for len(trials) < n && len(dims) > 0 {
		p := recipe.Params{}
		for k, v := range base {
			p[k] = v
		}
		for _, d := range dims {
			switch {
			case len(d.values) > 0:
				p[d.name] = d.values[rng.IntN(len(d.values))]
			case d.integer:
				p[d.name] = strconv.Itoa(int(d.lo) + rng.IntN(int(d.hi-d.lo)+1))
			default:
				p[d.name] = strconv.FormatFloat(d.lo+rng.Float64()*(d.hi-d.lo), 'g', 4, 64)
			}
		}
		trials = append(trials, p)
	}
	return trials
}

func latestTime(d *recipe.Interactions) time.Time {
	var t int64
	for _, x := range d.Time {
		t = max(t, x)
	}
	return time.Unix(t, 0).UTC()
}
