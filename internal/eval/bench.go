package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/attune-dev/attune/internal/recipe"
)

// Split protocols of the benchmark.
const (
	SplitPersonalize = "personalize" // PersonalizeSplit
	SplitStratified  = "stratified"  // StratifiedSplit at StratifiedRatio
)

// StratifiedRatio is the training share of the Microsoft Recommenders
// ML-100K protocol.
const StratifiedRatio = 0.75

// Recipe names the benchmark compares against.
const (
	PopularityRecipe = "aws-popularity-count"
	IALSRecipe       = "attune-ials"
	EASERecipe       = "attune-ease"
)

// MakeSplit splits d by the named protocol (SplitPersonalize or
// SplitStratified); an unknown name is errs.Invalid.
func MakeSplit(d *recipe.Interactions, protocol string, seed int64) (Split, error) {
	switch protocol {
	case SplitPersonalize:
		return PersonalizeSplit(d, seed), nil
	case SplitStratified:
		return StratifiedSplit(d, StratifiedRatio, seed)
	}
	return Split{}, invalidf("unknown split %q, want %s or %s", protocol, SplitPersonalize, SplitStratified)
}

// BenchDataset is one data set of the quality benchmark.
type BenchDataset struct {
	Name   string   // as printed
	Dir    string   // directory under the benchmark data root
	Splits []string // protocols run on it
	Load   func(fs.FS) (*recipe.Interactions, error)
}

// BenchDatasets returns the benchmark's data sets: ML-100K under both the
// Microsoft Recommenders and the Personalize protocol, UCI Online Retail and
// Last.fm under the Personalize protocol.
func BenchDatasets() []BenchDataset {
	return []BenchDataset{
		{Name: "ml-100k", Dir: "movielens-100k", Splits: []string{SplitStratified, SplitPersonalize}, Load: LoadMovieLens100K},
		{Name: "online-retail", Dir: "uci-online-retail", Splits: []string{SplitPersonalize}, Load: LoadOnlineRetail},
		{Name: "lastfm", Dir: "lastfm-hetrec2011-2k", Splits: []string{SplitPersonalize}, Load: LoadLastFM},
	}
}

// BenchOptions configures RunBench. The zero value runs everything with
// seed 0 and reports train seconds as 0.
type BenchOptions struct {
	Seed int64
	// Clock measures training time; nil reports 0.
	Clock func() time.Time
	// Datasets, when not empty, limits the run to these data set names.
	Datasets []string
	// Recipes, when not empty, limits the run to these recipe names (the
	// co-occurrence baseline always runs).
	Recipes []string
	// Log, when set, receives one line per step and per skipped data set.
	Log io.Writer
}

// BenchRow is one line of the benchmark table.
type BenchRow struct {
	Dataset, Split, Recipe string
	Type                   recipe.Type
	Users                  int                // test users scored
	Metrics                map[string]float64 // as Evaluate reports; nil when Err is set
	// VsPopularity and VsIALS are NDCG@10 divided by that of
	// aws-popularity-count and attune-ials on the same split; NaN when
	// either is missing or zero. VsCooccurrence, for next-item
	// (RELATED_ITEMS) rows only, divides by the co-occurrence baseline's.
	VsPopularity, VsIALS, VsCooccurrence float64
	Err                                  error // the recipe failed; the run goes on
}

// BenchRecipes returns the recipes the benchmark runs: every
// USER_PERSONALIZATION, POPULAR_ITEMS and RELATED_ITEMS recipe in reg, plus
// the baselines attune-ials and attune-ease whatever their type, in
// registration order. PERSONALIZED_RANKING recipes rerank a given list and
// are not top-N recommenders, so they are left out.
func BenchRecipes(reg *recipe.Registry) []recipe.Recipe {
	var out []recipe.Recipe
	for _, r := range reg.All() {
		switch {
		case r.Type() == recipe.UserPersonalization, r.Type() == recipe.PopularItems, r.Type() == recipe.RelatedItems,
			r.Name() == IALSRecipe, r.Name() == EASERecipe:
			out = append(out, r)
		}
	}
	return out
}

// RunBench runs the quality benchmark on the data sets found under root
// (one directory per data set, see BenchDatasets): every recipe of
// BenchRecipes on every split, with default hyperparameters, plus the
// co-occurrence baseline for next-item prediction. A missing data set
// directory is skipped with a line to opts.Log; a recipe that fails gets a
// row with Err set. It returns early only when ctx is done or a data set
// cannot be read.
func RunBench(ctx context.Context, reg *recipe.Registry, root fs.FS, opts BenchOptions) ([]BenchRow, error) {
	logf := func(format string, args ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, format+"\n", args...)
		}
	}
	var recipes []recipe.Recipe
	for _, r := range BenchRecipes(reg) {
		if len(opts.Recipes) == 0 || slices.Contains(opts.Recipes, r.Name()) {
			recipes = append(recipes, r)
		}
	}
	var rows []BenchRow
	for _, ds := range BenchDatasets() {
		if len(opts.Datasets) > 0 && !slices.Contains(opts.Datasets, ds.Name) {
			continue
		}
		if _, err := fs.Stat(root, ds.Dir); errors.Is(err, fs.ErrNotExist) {
			logf("skip %s: no directory %s", ds.Name, ds.Dir)
			continue
		}
		sub, err := fs.Sub(root, ds.Dir)
		if err != nil {
			return rows, fmt.Errorf("bench %s: %w", ds.Name, err)
		}
		data, err := ds.Load(sub)
		if err != nil {
			return rows, fmt.Errorf("bench %s: %w", ds.Name, err)
		}
		logf("%s: %d interactions, %d users, %d items", ds.Name, data.Len(), len(data.UserIDs), len(data.ItemIDs))
		for _, protocol := range ds.Splits {
			split, err := MakeSplit(data, protocol, opts.Seed)
			if err != nil {
				return rows, fmt.Errorf("bench %s: %w", ds.Name, err)
			}
			test := split.TestSet()
			train := &recipe.Data{Interactions: split.Train}
			logf("%s %s: %d training interactions, %d test users (%d dropped: all targets already seen)",
				ds.Name, protocol, split.Train.Len(), len(test.Users), test.Dropped)
			group := len(rows)
			for _, r := range recipes {
				if err := ctx.Err(); err != nil {
					return rows, err
				}
				logf("%s %s: %s ...", ds.Name, protocol, r.Name())
				row := BenchRow{Dataset: ds.Name, Split: protocol, Recipe: r.Name(), Type: r.Type()}
				res, err := Evaluate(ctx, r, nil, train, test, Options{Seed: opts.Seed, Clock: opts.Clock})
				if ctx.Err() != nil {
					return rows, ctx.Err()
				}
				row.Metrics, row.Users, row.Err = res.Metrics, res.Users, err
				rows = append(rows, row)
			}
			res, err := EvaluateModel(ctx, NewCooccurrence(split.Train), test, ModeNextItem, latest(split.Train))
			if err != nil {
				return rows, err
			}
			res.Metrics[KeyTrainSeconds] = 0 // indexing is part of the queries
			rows = append(rows, BenchRow{Dataset: ds.Name, Split: protocol, Recipe: CooccurrenceName,
				Type: recipe.RelatedItems, Users: res.Users, Metrics: res.Metrics})
			fillRatios(rows[group:])
		}
	}
	return rows, nil
}

// fillRatios sets the NDCG@10 ratios of one (data set, split) group.
func fillRatios(group []BenchRow) {
	ndcg := func(name string) float64 {
		for _, r := range group {
			if r.Recipe == name && r.Err == nil {
				return r.Metrics[NDCGKey(10)]
			}
		}
		return math.NaN()
	}
	pop, ials, cooc := ndcg(PopularityRecipe), ndcg(IALSRecipe), ndcg(CooccurrenceName)
	ratio := func(a, b float64) float64 {
		if b == 0 || math.IsNaN(b) {
			return math.NaN()
		}
		return a / b
	}
	for i := range group {
		v := math.NaN()
		if group[i].Err == nil {
			v = group[i].Metrics[NDCGKey(10)]
		}
		group[i].VsPopularity, group[i].VsIALS = ratio(v, pop), ratio(v, ials)
		group[i].VsCooccurrence = math.NaN()
		if group[i].Type == recipe.RelatedItems {
			group[i].VsCooccurrence = ratio(v, cooc)
		}
	}
}

// WriteBenchTable prints rows as one aligned table, with failures listed
// after it. Related-items rows (task "next-item") answer a different
// question — the next items after the user's latest one — so their fair
// comparison is the "vs cooc" column, against raw co-occurrence counts.
func WriteBenchTable(w io.Writer, rows []BenchRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "dataset\tsplit\trecipe\ttask\tusers\tNDCG@10\tP@10\tR@10\tMRR@25\tcoverage\ttrain s\tvs pop\tvs ials\tvs cooc")
	var failed []BenchRow
	for _, r := range rows {
		task := "top-N"
		if r.Type == recipe.RelatedItems {
			task = "next-item"
		}
		if r.Err != nil {
			failed = append(failed, r)
			// Every cell present, or tabwriter would end the column block here.
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\tfailed%s\n", r.Dataset, r.Split, r.Recipe, task, strings.Repeat("\t-", 9))
			continue
		}
		m := r.Metrics
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.2f\t%s\t%s\t%s\n",
			r.Dataset, r.Split, r.Recipe, task, r.Users,
			m[NDCGKey(10)], m[PrecisionKey(10)], m[RecallKey(10)], m[KeyMRR], m[KeyCoverage], m[KeyTrainSeconds],
			fmtRatio(r.VsPopularity), fmtRatio(r.VsIALS), fmtRatio(r.VsCooccurrence))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range failed {
		if _, err := fmt.Fprintf(w, "failed: %s %s %s: %v\n", r.Dataset, r.Split, r.Recipe, r.Err); err != nil {
			return err
		}
	}
	return nil
}

func fmtRatio(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.2fx", v)
}
