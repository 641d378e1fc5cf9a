package eval

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
)

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestLoaders(t *testing.T) {
	retail := "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n" +
		"536365,85123A,\"HEART, WHITE\",6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n" +
		"536366,22633,HAND WARMER,2,2010-12-01 08:28:00,1.85,,United Kingdom\n" + // no customer
		"C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527,United Kingdom\n" + // cancellation
		"536380,22728,ALARM CLOCK,-3,2010-12-01 09:45:00,3.75,13047,United Kingdom\n" + // return
		"536381,POST,POSTAGE,1,2010-12-01 09:46:00,18,12583,France\n" + // not a product
		"536382,DCGS0003,BOXED GLASS,1,2010-12-01 09:47:00,3,12583,France\n" + // not a product
		"A563185,B,Adjust bad debt,1,2011-08-12 14:50:00,11062.06,,United Kingdom\n" +
		"536383,22728,ALARM CLOCK,4,2010-12-01 10:00:00,3.75,12583,France\n"
	fsys := fstest.MapFS{
		"ml/u.data":                   {Data: []byte("196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t5\t881250950\n")},
		"lastfm/user_artists.dat":     {Data: []byte("userID\tartistID\tweight\r\n2\t51\t13883\r\n2\t52\t11690\r\n3\t51\t7\r\n")},
		"retail/online_retail.csv.gz": {Data: gz(t, retail)},
		"bad/u.data":                  {Data: []byte("1\t2\t3\n")},
	}
	sub := func(dir string) fs.FS {
		s, err := fs.Sub(fsys, dir)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	type summary struct {
		Users, Items, Types []string
		User, Item          []int32
		Time                []int64
		Value               []float32
	}
	tests := []struct {
		name string
		load func(fs.FS) (*recipe.Interactions, error)
		dir  string
		want summary
	}{
		{"movielens", LoadMovieLens100K, "ml", summary{
			[]string{"196", "186"}, []string{"242", "302"}, []string{"RATING"},
			[]int32{0, 1, 0}, []int32{0, 1, 1}, []int64{881250949, 891717742, 881250950}, []float32{3, 3, 5}}},
		{"lastfm", LoadLastFM, "lastfm", summary{
			[]string{"2", "3"}, []string{"51", "52"}, []string{"LISTEN"},
			[]int32{0, 0, 1}, []int32{0, 1, 0}, []int64{0, 0, 0}, []float32{13883, 11690, 7}}},
		// 2010-12-01 08:26:00 UTC = 1291191960.
		{"online retail", LoadOnlineRetail, "retail", summary{
			[]string{"17850", "12583"}, []string{"85123A", "22728"}, []string{"PURCHASE"},
			[]int32{0, 1}, []int32{0, 1}, []int64{1291191960, 1291191960 + 94*60}, []float32{6, 4}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tc.load(sub(tc.dir))
			if err != nil {
				t.Fatal(err)
			}
			got := summary{d.UserIDs, d.ItemIDs, d.EventTypes, d.User, d.Item, d.Time, d.Value}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("load = %+v, want %+v", got, tc.want)
			}
		})
	}
	if _, err := LoadMovieLens100K(sub("bad")); err == nil {
		t.Error("LoadMovieLens100K of a 3-field line: no error")
	}
	if _, err := LoadLastFM(sub("ml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadLastFM of a directory without the file: error = %v, want fs.ErrNotExist", err)
	}
}

// failRecipe fails every Fit.
type failRecipe struct{ popRecipe }

func (failRecipe) Name() string { return "test-broken" }
func (failRecipe) Fit(context.Context, *recipe.Data, recipe.Params, recipe.FitOptions) (recipe.Model, error) {
	return nil, errs.E(errs.Invalid, "broken on purpose")
}

func TestRunBench(t *testing.T) {
	// 40 users; user u rates 8..15 items starting at item u%7, so the
	// popular items are the low ones.
	var b strings.Builder
	for u := range 40 {
		for j := range 8 + u%8 {
			fmt.Fprintf(&b, "%d\t%d\t4\t%d\n", u, u%7+j, 1000+u*100+j)
		}
	}
	root := fstest.MapFS{"movielens-100k/u.data": {Data: []byte(b.String())}}
	reg := recipe.NewRegistry(
		popRecipe{name: PopularityRecipe},
		popRecipe{name: IALSRecipe, typ: recipe.UserPersonalization}, // stands in for iALS
		popRecipe{name: "test-ranking", typ: recipe.PersonalizedRanking},
		failRecipe{},
	)
	var log bytes.Buffer
	clock := func() time.Time { return time.Unix(0, 0) }
	rows, err := RunBench(t.Context(), reg, root, BenchOptions{Seed: 1, Clock: clock, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Split+"/"+r.Recipe)
	}
	// PERSONALIZED_RANKING is not benchmarked; the co-occurrence baseline is.
	want := []string{
		"stratified/aws-popularity-count", "stratified/attune-ials", "stratified/test-broken", "stratified/" + CooccurrenceName,
		"personalize/aws-popularity-count", "personalize/attune-ials", "personalize/test-broken", "personalize/" + CooccurrenceName,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("RunBench rows = %v, want %v", got, want)
	}
	for _, r := range rows {
		switch r.Recipe {
		case "test-broken":
			if !errs.Is(r.Err, errs.Invalid) {
				t.Errorf("%s/%s: Err = %v, want the Fit error", r.Split, r.Recipe, r.Err)
			}
		case PopularityRecipe, IALSRecipe:
			if r.Err != nil || r.VsPopularity != 1 || r.VsIALS != 1 || r.Users == 0 {
				t.Errorf("%s/%s: Err %v, ratios %v %v, users %d; want nil, 1, 1, >0", r.Split, r.Recipe, r.Err, r.VsPopularity, r.VsIALS, r.Users)
			}
		}
	}
	if u := rows[4].Users; u != 4 {
		t.Errorf("personalize split scored %d users, want 4 (10%% of 40)", u)
	}
	for _, skipped := range []string{"skip online-retail", "skip lastfm"} {
		if !strings.Contains(log.String(), skipped) {
			t.Errorf("log %q lacks %q", log.String(), skipped)
		}
	}

	var out bytes.Buffer
	if err := WriteBenchTable(&out, rows); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	width := strings.Index(lines[0], "vs cooc")
	for _, l := range lines[1 : len(lines)-2] {
		if len(l) < width {
			t.Errorf("WriteBenchTable row %q is shorter than the header: columns not aligned", l)
		}
	}
	if len(lines) != 1+len(rows)+2 || !strings.HasPrefix(lines[0], "dataset") || !strings.HasPrefix(lines[len(lines)-1], "failed: ml-100k personalize test-broken") {
		t.Errorf("WriteBenchTable =\n%s\nwant a header, %d rows and 2 failure notes", out.String(), len(rows))
	}

	only, err := RunBench(t.Context(), reg, root, BenchOptions{Seed: 1, Recipes: []string{IALSRecipe}, Datasets: []string{"lastfm"}})
	if err != nil || len(only) != 0 {
		t.Errorf("RunBench limited to a missing data set = %d rows, %v; want none", len(only), err)
	}
}

func TestFillRatios(t *testing.T) {
	row := func(name string, ndcg float64) BenchRow {
		return BenchRow{Recipe: name, Metrics: map[string]float64{NDCGKey(10): ndcg}}
	}
	group := []BenchRow{row(PopularityRecipe, 0.2), row(IALSRecipe, 0.4), row("x", 0.5), {Recipe: "bad", Err: errors.New("x")},
		row(CooccurrenceName, 0.25), row("sims", 0.3)}
	group[4].Type, group[5].Type = recipe.RelatedItems, recipe.RelatedItems
	fillRatios(group)
	if !near(group[5].VsCooccurrence, 1.2, 1e-12) || !math.IsNaN(group[2].VsCooccurrence) {
		t.Errorf("VsCooccurrence = %v (related) and %v (top-N), want 1.2 and NaN", group[5].VsCooccurrence, group[2].VsCooccurrence)
	}
	want := [][2]float64{{1, 0.5}, {2, 1}, {2.5, 1.25}}
	for i, w := range want {
		if !near(group[i].VsPopularity, w[0], 1e-12) || !near(group[i].VsIALS, w[1], 1e-12) {
			t.Errorf("%s: ratios %v %v, want %v", group[i].Recipe, group[i].VsPopularity, group[i].VsIALS, w)
		}
	}
	if !math.IsNaN(group[3].VsPopularity) {
		t.Errorf("failed row ratio = %v, want NaN", group[3].VsPopularity)
	}
	noPop := []BenchRow{row("x", 0.5)}
	fillRatios(noPop)
	if !math.IsNaN(noPop[0].VsPopularity) {
		t.Errorf("ratio without a popularity row = %v, want NaN", noPop[0].VsPopularity)
	}
}

func TestMakeSplit(t *testing.T) {
	d := usersWith([]int{4, 4}, false)
	if _, err := MakeSplit(d, "random", 1); !errs.Is(err, errs.Invalid) {
		t.Errorf("MakeSplit(random) error = %v, want Invalid", err)
	}
	s, err := MakeSplit(d, SplitStratified, 1)
	if err != nil || s.Truth.Len() != 2 {
		t.Errorf("MakeSplit(stratified) = %d targets, %v; want 2", s.Truth.Len(), err)
	}
}
