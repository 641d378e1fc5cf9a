package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
)

// evalTestRecipe is a test-only popularity recipe: training counts, ties by
// lower index, at most "limit" items per list (hyperparameter).
type evalTestRecipe struct{ name string }

func (r evalTestRecipe) Name() string                           { return cmp.Or(r.name, "test-popularity") }
func (evalTestRecipe) Type() recipe.Type                        { return recipe.PopularItems }
func (evalTestRecipe) Description() string                      { return "test popularity" }
func (evalTestRecipe) Hyperparameters() []recipe.Hyperparameter { return nil }
func (evalTestRecipe) Decode(io.Reader) (recipe.Model, error) {
	return nil, errors.New("not encodable")
}
func (evalTestRecipe) Fit(_ context.Context, data *recipe.Data, params recipe.Params, _ recipe.FitOptions) (recipe.Model, error) {
	limit := 1 << 30
	if s, ok := params["limit"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, errs.E(errs.Invalid, "limit %q is not a positive integer", s)
		}
		limit = n
	}
	d := data.Interactions
	counts := make([]int, len(d.ItemIDs))
	for _, it := range d.Item {
		counts[it]++
	}
	order := make([]int32, len(counts))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(counts[b], counts[a]) })
	return evalTestModel{order: order, limit: limit, d: d}, nil
}

type evalTestModel struct {
	order []int32
	limit int
	d     *recipe.Interactions
}

func (m evalTestModel) Recommend(q recipe.Query, n int) []recipe.Scored {
	var out []recipe.Scored
	for _, it := range m.order {
		if len(out) == min(n, m.limit) {
			break
		}
		if q.Exclude == nil || !q.Exclude(it) {
			out = append(out, recipe.Scored{Item: it, Score: float32(-len(out))})
		}
	}
	return out
}
func (m evalTestModel) Items() []string      { return m.d.ItemIDs }
func (m evalTestModel) Users() []string      { return m.d.UserIDs }
func (evalTestModel) Encode(io.Writer) error { return errors.New("not encodable") }

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEvaluateCommand(t *testing.T) {
	dir := t.TempDir()
	// The hand-computed case of eval's TestEvaluateHandComputed: with
	// limit=3, hits at rank 1 (u1), 2 and 3 (u2) and 2 (u5).
	train := writeFile(t, dir, "train.csv", "USER_ID,ITEM_ID,TIMESTAMP\nu1,a,10\nu1,b,11\nu2,a,12\nu2,c,13\nu3,a,14\nu3,b,15\nu3,d,16\nu4,e,17\nu4,f,18\n")
	test := writeFile(t, dir, "test.csv", "USER_ID,ITEM_ID\nu1,c\nu2,d\nu2,e\nu5,b\nu5,zz\n")
	reg := recipe.NewRegistry(evalTestRecipe{})

	var stdout, stderr bytes.Buffer
	err := runEvaluate(t.Context(), []string{"--recipe", "test-popularity", "--train", train, "--test", test,
		"--hyperparameters", "limit=3", "--format", "json"}, reg, &stdout, &stderr)
	if err != nil {
		t.Fatalf("runEvaluate: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "ranks only items the user has not had") {
		t.Errorf("evaluate does not say it scores over items the user has not had:\n%s", stderr.String())
	}
	var got map[string]float64
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, stdout.String())
	}
	want := map[string]float64{
		"coverage": 5.0 / 6, "mean_reciprocal_rank_at_25": 2.0 / 3,
		"precision_at_5": 0.8 / 3, "precision_at_10": 0.4 / 3, "recall_at_25": 2.5 / 3,
	}
	if len(got) != 15 {
		t.Errorf("JSON has %d keys, want 15 (14 metrics + train_seconds): %v", len(got), got)
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || math.Abs(g-w) > 1e-9 {
			t.Errorf("%s = %v, want %v", k, g, w)
		}
	}
	if _, ok := got["train_seconds"]; !ok {
		t.Error("JSON lacks train_seconds")
	}
	keys := jsonKeys(stdout.String())
	if !slices.IsSorted(keys) || len(keys) != 15 {
		t.Errorf("JSON keys %v are not the 15 keys, sorted", keys)
	}

	stdout.Reset()
	if err := runEvaluate(t.Context(), []string{"--recipe", "test-popularity", "--train", train, "--test", test,
		"--hyperparameters", "limit=3"}, reg, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 15 || !strings.HasPrefix(lines[0], "coverage") || !strings.Contains(lines[0], "0.8333") {
		t.Errorf("table output =\n%s\nwant 15 sorted lines starting with coverage 0.8333", stdout.String())
	}
	col := strings.Index(lines[0], "0.8333")
	for _, l := range lines {
		if len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("table values are not aligned at column %d:\n%s", col, stdout.String())
			break
		}
	}
}

// jsonKeys returns the object keys of a flat JSON object in text order.
func jsonKeys(s string) []string {
	var keys []string
	dec := json.NewDecoder(strings.NewReader(s))
	dec.Token() // {
	for dec.More() {
		k, _ := dec.Token()
		dec.Token() // value
		keys = append(keys, k.(string))
	}
	return keys
}

func TestEvaluateCommandSplitDeterministic(t *testing.T) {
	var b strings.Builder
	b.WriteString("USER_ID,ITEM_ID,TIMESTAMP\n")
	for u := range 30 {
		for j := range 6 + u%5 {
			b.WriteString("u" + strconv.Itoa(u) + ",i" + strconv.Itoa((u+j*3)%17) + "," + strconv.Itoa(100*u+j) + "\n")
		}
	}
	train := writeFile(t, t.TempDir(), "all.csv", b.String())
	reg := recipe.NewRegistry(evalTestRecipe{})
	for _, split := range []string{"personalize", "stratified"} {
		t.Run(split, func(t *testing.T) {
			run := func(seed string) map[string]float64 {
				var out bytes.Buffer
				err := runEvaluate(t.Context(), []string{"--recipe", "test-popularity", "--train", train,
					"--split", split, "--seed", seed, "--format", "json"}, reg, &out, io.Discard)
				if err != nil {
					t.Fatal(err)
				}
				var m map[string]float64
				if err := json.Unmarshal(out.Bytes(), &m); err != nil {
					t.Fatal(err)
				}
				delete(m, "train_seconds")
				return m
			}
			a, again := run("5"), run("5")
			if !mapsEqual(a, again) {
				t.Errorf("two runs with --seed 5 differ:\n%v\n%v", a, again)
			}
		})
	}
}

func mapsEqual(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestEvaluateCommandErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.csv", "USER_ID,ITEM_ID\nu1,a\nu2,b\n")
	badLine := writeFile(t, dir, "bad.csv", "USER_ID,ITEM_ID,TIMESTAMP\nu1,a,1\nu2,b,soon\n")
	reg := recipe.NewRegistry(evalTestRecipe{})
	tests := []struct {
		name  string
		args  []string
		names []string // what the message must mention
	}{
		{"unknown flag", []string{"--bogus"}, []string{"bogus"}},
		{"no recipe", []string{"--train", good, "--test", good}, []string{"--recipe"}},
		{"unknown recipe", []string{"--recipe", "nope", "--train", good, "--test", good}, []string{"--recipe", "nope", "test-popularity"}},
		{"no train", []string{"--recipe", "test-popularity", "--test", good}, []string{"--train"}},
		{"test and split", []string{"--recipe", "test-popularity", "--train", good, "--test", good, "--split", "personalize"}, []string{"--test", "--split"}},
		{"neither test nor split", []string{"--recipe", "test-popularity", "--train", good}, []string{"--test", "--split"}},
		{"bad split", []string{"--recipe", "test-popularity", "--train", good, "--split", "random"}, []string{"--split", "random"}},
		{"bad format", []string{"--recipe", "test-popularity", "--train", good, "--test", good, "--format", "xml"}, []string{"--format"}},
		{"bad hyperparameters", []string{"--recipe", "test-popularity", "--train", good, "--test", good, "--hyperparameters", "limit"}, []string{"--hyperparameters", "limit"}},
		{"bad train line", []string{"--recipe", "test-popularity", "--train", badLine, "--test", good}, []string{"--train", "bad.csv", "line 3", "TIMESTAMP"}},
		{"bad test line", []string{"--recipe", "test-popularity", "--train", good, "--test", badLine}, []string{"--test", "bad.csv", "line 3"}},
		{"missing file", []string{"--recipe", "test-popularity", "--train", filepath.Join(dir, "none.csv"), "--test", good}, []string{"--train", "none.csv"}},
		{"extra argument", []string{"--recipe", "test-popularity", "--train", good, "--test", good, "more"}, []string{"more"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := runEvaluate(t.Context(), tc.args, reg, io.Discard, &stderr)
			var ue usageError
			if !errors.As(err, &ue) {
				t.Fatalf("runEvaluate(%v) error = %v, want a usageError", tc.args, err)
			}
			msg := err.Error() + stderr.String()
			for _, n := range tc.names {
				if !strings.Contains(msg, n) {
					t.Errorf("runEvaluate(%v) error %q does not mention %q", tc.args, err, n)
				}
			}
		})
	}
	// A hyperparameter the recipe refuses is the recipe's Invalid error.
	err := runEvaluate(t.Context(), []string{"--recipe", "test-popularity", "--train", good, "--test", good,
		"--hyperparameters", "limit=-1"}, reg, io.Discard, io.Discard)
	if !errs.Is(err, errs.Invalid) {
		t.Errorf("bad hyperparameter value: error = %v, want Invalid", err)
	}
}
