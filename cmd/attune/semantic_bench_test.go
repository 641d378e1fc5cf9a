package main

import (
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/attune-dev/attune/internal/eval"
	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/recipe/knn"
	"github.com/attune-dev/attune/internal/recipe/popularity"
	"github.com/attune-dev/attune/internal/recipe/semantic"
)

// TestSemanticSimilarityOnlineRetail (ATTUNE_BENCH_SEMANTIC=1) measures
// aws-semantic-similarity on UCI Online Retail, the shared data set with item
// text (each StockCode's Description), under Personalize's protocol (the
// newest interactions of held-out users; next-item prediction from the
// user's latest item), beside raw co-occurrence, aws-sims, aws-similar-items
// (given the Description as metadata too) and popularity. Data from
// $ATTUNE_BENCH_DATA (default ../../../shared/datasets). It reports figures;
// its only assertion is that the text model beats popularity.
func TestSemanticSimilarityOnlineRetail(t *testing.T) {
	if os.Getenv("ATTUNE_BENCH_SEMANTIC") != "1" {
		t.Skip("set ATTUNE_BENCH_SEMANTIC=1 to run the semantic similarity quality benchmark")
	}
	root := os.Getenv("ATTUNE_BENCH_DATA")
	if root == "" {
		root = filepath.Join("..", "..", "..", "shared", "datasets")
	}
	dir := filepath.Join(root, "uci-online-retail")
	data, err := eval.LoadOnlineRetail(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	desc := onlineRetailDescriptions(t, filepath.Join(dir, "online_retail.csv.gz"))
	split, err := eval.MakeSplit(data, eval.SplitPersonalize, 1)
	if err != nil {
		t.Fatal(err)
	}
	ids := split.Train.ItemIDs
	text := make([]string, len(ids))
	cats := make([][]string, len(ids))
	for i, id := range ids {
		text[i] = desc[id]
		if text[i] != "" {
			cats[i] = []string{text[i]}
		}
	}
	train := &recipe.Data{Interactions: split.Train, Items: &recipe.ItemMeta{Text: map[string][]string{"DESCRIPTION": text},
		Categorical: map[string][][]string{"DESCRIPTION": cats}, Numeric: map[string][]float64{}, Created: make([]int64, len(ids))}}
	test := split.TestSet()
	ndcg := eval.NDCGKey(10)
	results := map[string]float64{}
	for _, r := range []recipe.Recipe{semantic.New(), knn.NewSimilarItems(), knn.NewSims(), popularity.NewPopularityCount()} {
		res, err := eval.Evaluate(t.Context(), r, nil, train, test, eval.Options{Seed: 1})
		if err != nil {
			t.Fatalf("%s: %v", r.Name(), err)
		}
		if r.Type() != recipe.RelatedItems {
			// Popularity answers users; ask it the next-item question too.
			m, err := r.Fit(t.Context(), train, nil, recipe.FitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if res, err = eval.EvaluateModel(t.Context(), m, test, eval.ModeNextItem, newest(split.Train)); err != nil {
				t.Fatal(err)
			}
		}
		results[r.Name()] = res.Metrics[ndcg]
	}
	res, err := eval.EvaluateModel(t.Context(), eval.NewCooccurrence(split.Train), test, eval.ModeNextItem, newest(split.Train))
	if err != nil {
		t.Fatal(err)
	}
	results[eval.CooccurrenceName] = res.Metrics[ndcg]
	t.Logf("UCI Online Retail, Personalize split, next item, %d test users, NDCG@10:", len(test.Users))
	for _, name := range []string{semantic.Name, "aws-similar-items", "aws-sims", eval.CooccurrenceName, "aws-popularity-count"} {
		t.Logf("  %-24s %.4f  (%.2fx popularity)", name, results[name], results[name]/results["aws-popularity-count"])
	}
	if results[semantic.Name] <= results["aws-popularity-count"] {
		t.Errorf("aws-semantic-similarity NDCG@10 %.4f, not above popularity %.4f", results[semantic.Name], results["aws-popularity-count"])
	}
}

func newest(d *recipe.Interactions) int64 {
	var t int64
	for _, x := range d.Time {
		t = max(t, x)
	}
	return t
}

// onlineRetailDescriptions maps StockCode to its most recent Description.
func onlineRetailDescriptions(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	cr := csv.NewReader(zr)
	header, err := cr.Read()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	out := map[string]string{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(fmt.Errorf("%s: %w", path, err))
		}
		if d := rec[col["Description"]]; d != "" {
			out[rec[col["StockCode"]]] = d
		}
	}
}
