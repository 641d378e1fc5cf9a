package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/attune-dev/attune/internal/eval"
	"github.com/attune-dev/attune/internal/recipe"
)

// runEvaluate is `attune evaluate`: it trains a recipe on a CSV file and
// prints Personalize's offline metrics over the users of a test file, or of
// a split it makes itself. Bad flags and malformed files are usageErrors
// naming the flag or the file and line.
func runEvaluate(ctx context.Context, args []string, reg *recipe.Registry, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("recipe", "", "recipe `name`, e.g. aws-user-personalization (required)")
	trainPath := fs.String("train", "", "training interactions `file`: CSV with USER_ID,ITEM_ID[,TIMESTAMP,EVENT_TYPE,EVENT_VALUE] (required)")
	testPath := fs.String("test", "", "test interactions `file`, same format; its users are scored against their rows")
	split := fs.String("split", "", "split --train itself instead of --test: personalize (10% of users, newest 10% as targets) or stratified (75/25 per user)")
	hyper := fs.String("hyperparameters", "", "recipe hyperparameters as `name=value,...`")
	format := fs.String("format", "table", "output format: json or table")
	seed := fs.Int64("seed", 1, "seed of the split and of training")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: attune evaluate --recipe NAME --train FILE (--test FILE | --split personalize|stratified) [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	bad := func(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }
	switch {
	case fs.NArg() > 0:
		return bad("evaluate: unexpected argument %q", fs.Arg(0))
	case *name == "":
		return bad("evaluate: --recipe is required")
	case *trainPath == "":
		return bad("evaluate: --train is required")
	case (*testPath == "") == (*split == ""):
		return bad("evaluate: give exactly one of --test and --split")
	case *format != "json" && *format != "table":
		return bad("evaluate: --format %q: want json or table", *format)
	}
	r, ok := reg.Get(*name)
	if !ok {
		names := make([]string, 0)
		for _, r := range reg.All() {
			names = append(names, r.Name())
		}
		return bad("evaluate: --recipe %q: no such recipe (have %s)", *name, strings.Join(names, ", "))
	}
	params, err := eval.ParseHyperparameters(*hyper)
	if err != nil {
		return usageError{fmt.Errorf("evaluate: --hyperparameters: %w", err)}
	}

	data, err := readInteractionsFile(*trainPath, nil)
	if err != nil {
		return usageError{fmt.Errorf("evaluate: --train %w", err)}
	}
	var s eval.Split
	if *split != "" {
		if s, err = eval.MakeSplit(data, *split, *seed); err != nil {
			return usageError{fmt.Errorf("evaluate: --split: %w", err)}
		}
	} else {
		truth, err := readInteractionsFile(*testPath, data)
		if err != nil {
			return usageError{fmt.Errorf("evaluate: --test %w", err)}
		}
		s = eval.Split{Train: data, Truth: truth}
	}
	test := s.TestSet()
	fmt.Fprintf(stderr, "evaluate %s: training on %d interactions; scoring %d users (%d skipped: every target already in their history); "+
		"each list ranks only items the user has not had in training (the standard protocol, whatever exclude_interacted_items says)\n",
		r.Name(), s.Train.Len(), len(test.Users), test.Dropped)
	res, err := eval.Evaluate(ctx, r, params, &recipe.Data{Interactions: s.Train}, test,
		eval.Options{Seed: *seed, Clock: time.Now})
	if err != nil {
		return err
	}
	return writeMetrics(stdout, res.Metrics, *format)
}

// readInteractionsFile reads path as an interactions CSV, onto base's id
// tables when base is set. Errors start with the path.
func readInteractionsFile(path string, base *recipe.Interactions) (*recipe.Interactions, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError names the file
	}
	defer f.Close()
	var d *recipe.Interactions
	if base == nil {
		d, err = eval.ReadInteractionsCSV(f)
	} else {
		d, err = eval.ReadInteractionsCSVOnto(f, base)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// writeMetrics prints m with sorted keys: one JSON object, or an aligned
// two-column table.
func writeMetrics(w io.Writer, m map[string]float64, format string) error {
	if format == "json" {
		b, err := json.Marshal(m) // encoding/json sorts map keys
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(tw, "%s\t%.4f\n", k, m[k])
	}
	return tw.Flush()
}
