package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/recipe"
)

func TestBenchQualityCommand(t *testing.T) {
	// A synthetic stand-in for ML-100K (unit tests never read the real data).
	var b strings.Builder
	for u := range 40 {
		for j := range 8 + u%8 {
			fmt.Fprintf(&b, "%d\t%d\t4\t%d\n", u, u%7+j, 1000+u*100+j)
		}
	}
	dir := t.TempDir()
	writeFile(t, dir, "movielens-100k/u.data", b.String())
	reg := recipe.NewRegistry(evalTestRecipe{name: "aws-popularity-count"})

	var stdout, stderr bytes.Buffer
	if err := runBenchQuality(t.Context(), []string{"--data", dir, "--seed", "3"}, reg, &stdout, &stderr); err != nil {
		t.Fatalf("runBenchQuality: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// header + (popularity + co-occurrence) × (stratified + personalize)
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "dataset") {
		t.Errorf("table =\n%s\nwant a header and 4 rows", out)
	}
	for _, want := range []string{"ml-100k  stratified   aws-popularity-count", "ml-100k  personalize  aws-popularity-count", "1.00x"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"skip online-retail", "skip lastfm"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}

	// No data set at all is an error, not an empty table.
	if err := runBenchQuality(t.Context(), []string{"--data", t.TempDir()}, reg, io.Discard, io.Discard); err == nil {
		t.Error("runBenchQuality on an empty directory: no error")
	}
	for _, args := range [][]string{
		{"--data", filepath.Join(dir, "missing")},
		{"--data", dir, "--datasets", "ml-20m"},
		{"--bogus"},
		{"--data", dir, "extra"},
	} {
		var ue usageError
		if err := runBenchQuality(t.Context(), args, reg, io.Discard, io.Discard); !errors.As(err, &ue) {
			t.Errorf("runBenchQuality(%v) error = %v, want a usageError", args, err)
		}
	}
}
