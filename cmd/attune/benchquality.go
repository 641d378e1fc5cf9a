package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/attune-dev/attune/internal/eval"
	"github.com/attune-dev/attune/internal/recipe"
)

// runBenchQuality is `attune bench-quality`: every top-N and related-items
// recipe on the benchmark data sets under --data, printed as one table (see
// eval.RunBench). Progress and skipped data sets go to stderr.
func runBenchQuality(ctx context.Context, args []string, reg *recipe.Registry, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench-quality", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", "../shared/datasets", "`directory` holding movielens-100k/, uci-online-retail/ and lastfm-hetrec2011-2k/")
	seed := fs.Int64("seed", 1, "seed of the splits and of training")
	datasets := fs.String("datasets", "", "comma-separated data sets to run (ml-100k, online-retail, lastfm); empty = all")
	recipes := fs.String("recipes", "", "comma-separated recipe names to run; empty = all")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("bench-quality: unexpected argument %q", fs.Arg(0))}
	}
	if st, err := os.Stat(*dir); err != nil || !st.IsDir() {
		return usageError{fmt.Errorf("bench-quality: --data %s: not a directory", *dir)}
	}
	opts := eval.BenchOptions{
		Seed: *seed, Clock: time.Now, Log: stderr,
		Datasets: splitList(*datasets), Recipes: splitList(*recipes),
	}
	for _, name := range opts.Datasets {
		if !knownDataset(name) {
			return usageError{fmt.Errorf("bench-quality: --datasets: unknown data set %q", name)}
		}
	}
	rows, err := eval.RunBench(ctx, reg, os.DirFS(*dir), opts)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("bench-quality: no benchmark data found under %s", *dir)
	}
	return eval.WriteBenchTable(stdout, rows)
}

func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func knownDataset(name string) bool {
	for _, ds := range eval.BenchDatasets() {
		if ds.Name == name {
			return true
		}
	}
	return false
}
