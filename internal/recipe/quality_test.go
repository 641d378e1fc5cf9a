package recipe_test

// Quality checks on real data sets, run only with ATTUNE_QUALITY=1 (they read
// ../shared/datasets, which unit tests must not touch):
//
//	ATTUNE_QUALITY=1 go test ./internal/recipe -run Quality -v -timeout 1h
//
// The split and metric code here is a small self-contained harness so the
// recipes can be judged before internal/eval exists; eval is the official
// implementation.

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/recipe/knn"
	"github.com/attune-dev/attune/internal/recipe/mf"
	"github.com/attune-dev/attune/internal/recipe/popularity"
)

type event struct {
	user, item string
	t          int64
	ev         string
}

func datasets(t *testing.T) string {
	t.Helper()
	if os.Getenv("ATTUNE_QUALITY") != "1" {
		t.Skip("set ATTUNE_QUALITY=1 to run quality checks on real data")
	}
	dir := os.Getenv("ATTUNE_DATASETS")
	if dir == "" {
		dir = "/work/shared/datasets"
	}
	return dir
}

func loadML100K(t *testing.T, dir string) []event {
	f, err := os.Open(filepath.Join(dir, "movielens-100k", "u.data"))
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	var out []event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), "\t")
		ts, _ := strconv.ParseInt(p[3], 10, 64)
		out = append(out, event{user: p[0], item: p[1], t: ts})
	}
	return out
}

func loadLastFM(t *testing.T, dir string) []event {
	f, err := os.Open(filepath.Join(dir, "lastfm-hetrec2011-2k", "user_artists.dat"))
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	var out []event
	sc := bufio.NewScanner(f)
	sc.Scan()
	for sc.Scan() {
		p := strings.Split(sc.Text(), "\t")
		out = append(out, event{user: p[0], item: p[1], t: int64(len(out))})
	}
	return out
}

func loadRetail(t *testing.T, dir string) []event {
	f, err := os.Open(filepath.Join(dir, "uci-online-retail", "online_retail.csv.gz"))
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []event
	sc := bufio.NewScanner(z)
	sc.Scan()
	for sc.Scan() {
		// InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
		line := sc.Text()
		p := splitCSV(line)
		if len(p) < 8 || p[6] == "" || strings.HasPrefix(p[0], "C") {
			continue
		}
		ts, err := time.Parse("1/2/2006 15:04", p[4])
		if err != nil {
			ts, err = time.Parse("2006-01-02 15:04:05", p[4])
			if err != nil {
				continue
			}
		}
		out = append(out, event{user: p[6], item: p[1], t: ts.Unix()})
	}
	return out
}

func splitCSV(s string) []string {
	var out []string
	var b strings.Builder
	q := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			q = !q
		case c == ',' && !q:
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(out, b.String())
}

// split is a train set plus per-test-user history and targets.
type split struct {
	train   []event
	users   []string            // test users
	history map[string][]event  // query-time history, oldest first
	targets map[string][]string // relevant items
}

func byUser(evs []event) (map[string][]event, []string) {
	m := map[string][]event{}
	for _, e := range evs {
		m[e.user] = append(m[e.user], e)
	}
	users := make([]string, 0, len(m))
	for u := range m {
		users = append(users, u)
		slices.SortStableFunc(m[u], func(a, b event) int { return cmpInt(a.t, b.t) })
	}
	slices.Sort(users)
	return m, users
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// stratified splits each user's events 75/25 at random (the Microsoft
// Recommenders python_stratified_split); all users are test users and their
// history is their training events.
func stratified(evs []event, seed uint64) split {
	rng := rand.New(rand.NewPCG(seed, 1))
	m, users := byUser(evs)
	s := split{history: map[string][]event{}, targets: map[string][]string{}}
	for _, u := range users {
		e := slices.Clone(m[u])
		rng.Shuffle(len(e), func(i, j int) { e[i], e[j] = e[j], e[i] })
		nTrain := int(math.Round(0.75 * float64(len(e))))
		tr := e[:nTrain]
		s.train = append(s.train, tr...)
		h := slices.Clone(tr)
		slices.SortStableFunc(h, func(a, b event) int { return cmpInt(a.t, b.t) })
		s.history[u] = h
		for _, x := range e[nTrain:] {
			s.targets[u] = append(s.targets[u], x.item)
		}
		if len(e[nTrain:]) > 0 {
			s.users = append(s.users, u)
		}
	}
	return s
}

// personalize holds out 10% of users; their oldest 90% is history, the
// newest 10% targets; the other users train.
func personalizeSplit(evs []event, seed uint64) split {
	rng := rand.New(rand.NewPCG(seed, 2))
	m, users := byUser(evs)
	s := split{history: map[string][]event{}, targets: map[string][]string{}}
	for _, u := range users {
		e := m[u]
		if rng.Float64() >= 0.1 || len(e) < 2 {
			s.train = append(s.train, e...)
			continue
		}
		nh := max(1, int(math.Floor(0.9*float64(len(e)))))
		s.history[u] = e[:nh]
		for _, x := range e[nh:] {
			s.targets[u] = append(s.targets[u], x.item)
		}
		s.users = append(s.users, u)
	}
	return s
}

func toInteractions(evs []event) (*recipe.Interactions, map[string]int32, map[string]int32) {
	in := &recipe.Interactions{EventTypes: []string{""}}
	ui, ii := map[string]int32{}, map[string]int32{}
	for _, e := range evs {
		u, ok := ui[e.user]
		if !ok {
			u = int32(len(in.UserIDs))
			ui[e.user] = u
			in.UserIDs = append(in.UserIDs, e.user)
		}
		it, ok := ii[e.item]
		if !ok {
			it = int32(len(in.ItemIDs))
			ii[e.item] = it
			in.ItemIDs = append(in.ItemIDs, e.item)
		}
		in.User = append(in.User, u)
		in.Item = append(in.Item, it)
		in.Time = append(in.Time, e.t)
		in.Event = append(in.Event, 0)
	}
	return in, ui, ii
}

type metrics struct {
	ndcg10, prec10, recall10, mrr25, coverage float64
	trainSec                                  float64
}

func evaluate(t *testing.T, r recipe.Recipe, params recipe.Params, s split) metrics {
	t.Helper()
	in, ui, ii := toInteractions(s.train)
	start := time.Now()
	m, err := r.Fit(context.Background(), &recipe.Data{Interactions: in}, params, recipe.FitOptions{Seed: 42})
	var res metrics
	if err != nil {
		t.Logf("%s: Fit: %v", r.Name(), err)
		return res
	}
	res.trainSec = time.Since(start).Seconds()
	seen := map[int32]bool{}
	for _, u := range s.users {
		uidx, ok := ui[u]
		if !ok {
			uidx = -1
		}
		var hist []recipe.Event
		excl := map[int32]bool{}
		for _, e := range s.history[u] {
			it, ok := ii[e.item]
			if !ok {
				it = -1
			}
			hist = append(hist, recipe.Event{Item: it, Time: e.t})
			excl[it] = true
		}
		rel := map[string]bool{}
		for _, x := range s.targets[u] {
			rel[x] = true
		}
		q := recipe.Query{User: uidx, History: hist, Item: -1, Exclude: func(it int32) bool { return excl[it] }}
		if r.Type() == recipe.RelatedItems && len(hist) > 0 {
			q.Item = hist[len(hist)-1].Item
		}
		recs := m.Recommend(q, 25)
		var dcg, idcg float64
		hits10 := 0
		first := 0
		for p, sc := range recs {
			seen[sc.Item] = true
			if rel[in.ItemIDs[sc.Item]] {
				if p < 10 {
					dcg += 1 / math.Log2(float64(p)+2)
					hits10++
				}
				if first == 0 {
					first = p + 1
				}
			}
		}
		for p := 0; p < min(10, len(rel)); p++ {
			idcg += 1 / math.Log2(float64(p)+2)
		}
		res.ndcg10 += dcg / idcg
		res.prec10 += float64(hits10) / 10
		res.recall10 += float64(hits10) / float64(len(rel))
		if first > 0 {
			res.mrr25 += 1 / float64(first)
		}
	}
	n := float64(len(s.users))
	res.ndcg10 /= n
	res.prec10 /= n
	res.recall10 /= n
	res.mrr25 /= n
	res.coverage = float64(len(seen)) / float64(len(in.ItemIDs))
	return res
}

type candidate struct {
	r      recipe.Recipe
	params recipe.Params
}

func runTable(t *testing.T, name string, s split, cands []candidate) map[string]metrics {
	t.Logf("%s: %d train interactions, %d test users", name, len(s.train), len(s.users))
	t.Logf("%-34s %8s %8s %8s %8s %8s %8s", "recipe", "ndcg@10", "prec@10", "rec@10", "mrr@25", "cover", "train_s")
	out := map[string]metrics{}
	for _, c := range cands {
		m := evaluate(t, c.r, c.params, s)
		label := c.r.Name()
		if len(c.params) > 0 {
			label += fmt.Sprint(c.params)
		}
		out[label] = m
		t.Logf("%-34s %8.4f %8.4f %8.4f %8.4f %8.4f %8.2f", label, m.ndcg10, m.prec10, m.recall10, m.mrr25, m.coverage, m.trainSec)
	}
	return out
}

func allCandidates() []candidate {
	return []candidate{
		{popularity.NewPopularityCount(), nil},
		{mf.NewIALS(), nil},
		{knn.NewEASE(), nil},
		{mf.NewUserPersonalization(), nil},
	}
}

func TestQualityML100K(t *testing.T) {
	evs := loadML100K(t, datasets(t))
	runTable(t, "ML-100K stratified 75/25", stratified(evs, 42), allCandidates())
	runTable(t, "ML-100K personalize split", personalizeSplit(evs, 42), allCandidates())
}

// relatedCandidates compare related-items recipes, anchored on each test
// user's latest history item, against raw co-occurrence counts.
func relatedCandidates() []candidate {
	return []candidate{
		{knn.NewSims(), recipe.Params{"popularity_discount_factor": "0", "min_cointeraction_count": "0"}},
		{knn.NewSims(), nil},
		{knn.NewSimilarItems(), nil},
	}
}

func TestQualityLastFM(t *testing.T) {
	evs := loadLastFM(t, datasets(t))
	runTable(t, "Last.fm stratified 75/25", stratified(evs, 42), append(allCandidates(), relatedCandidates()...))
}

func TestQualityRetail(t *testing.T) {
	evs := loadRetail(t, datasets(t))
	runTable(t, "Online Retail personalize split", personalizeSplit(evs, 42), append(allCandidates(), relatedCandidates()...))
}

// TestQualityTune evaluates the configurations in ATTUNE_TUNE, e.g.
// "attune-ials|alpha=5,regularization=10;attune-ease|regularization=300",
// on the split in ATTUNE_TUNE_SPLIT (stratified or personalize) of ML-100K.
func TestQualityTune(t *testing.T) {
	dir := datasets(t)
	spec := os.Getenv("ATTUNE_TUNE")
	if spec == "" {
		t.Skip("ATTUNE_TUNE not set")
	}
	reg := recipe.NewRegistry(popularity.NewPopularityCount(), popularity.NewTrendingNow(), mf.NewIALS(),
		mf.NewUserPersonalization(), knn.NewEASE(), knn.NewSims(), knn.NewSimilarItems())
	var cands []candidate
	for _, c := range strings.Split(spec, ";") {
		name, ps, _ := strings.Cut(c, "|")
		r, ok := reg.Get(name)
		if !ok {
			t.Fatalf("unknown recipe %q", name)
		}
		p := recipe.Params{}
		for _, kv := range strings.Split(ps, ",") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				p[k] = v
			}
		}
		cands = append(cands, candidate{r, p})
	}
	evs := loadML100K(t, dir)
	switch os.Getenv("ATTUNE_TUNE_DATA") {
	case "lastfm":
		evs = loadLastFM(t, dir)
	case "retail":
		evs = loadRetail(t, dir)
	}
	s := stratified(evs, 42)
	if os.Getenv("ATTUNE_TUNE_SPLIT") == "personalize" {
		s = personalizeSplit(evs, 42)
	}
	runTable(t, "tune", s, cands)
}
