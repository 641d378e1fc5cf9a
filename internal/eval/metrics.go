// Package eval measures recommendation quality offline, the way Amazon
// Personalize reports it in GetSolutionMetrics: it splits interactions into
// training data and held-out ground truth, fits a recipe, asks the model for
// each test user's top 25 and averages ranking metrics over the users.
//
// It also reads interaction CSV files and the public benchmark data sets, and
// runs the quality benchmark, so that cmd/attune only parses flags.
//
// It is pure: the standard library and numeric code only. It must not import
// net/http, database/sql, os (files come in as io.Reader or fs.FS), a global
// logger, the global RNG or time.Now: the seed and the clock are arguments.
package eval

import (
	"fmt"
	"math"
	"slices"
)

// MaxK is the length of the list requested per test user: the largest cutoff
// Personalize reports (mean_reciprocal_rank_at_25, *_at_25).
const MaxK = 25

// Metric keys, spelled as GetSolutionMetrics spells them. The keys with a
// cutoff are built by NDCGKey, PrecisionKey and RecallKey.
const (
	KeyCoverage     = "coverage"
	KeyMRR          = "mean_reciprocal_rank_at_25"
	KeyTrainSeconds = "train_seconds" // Attune's addition: wall time of Fit
)

// Cutoffs returns the K values reported for NDCG, precision and recall. It
// returns a fresh slice, so callers may keep or change it.
func Cutoffs() []int { return []int{5, 10, 20, 25} }

// NDCGKey returns the metric key of NDCG at k.
func NDCGKey(k int) string { return fmt.Sprintf("normalized_discounted_cumulative_gain_at_%d", k) }

// PrecisionKey returns the metric key of precision at k.
func PrecisionKey(k int) string { return fmt.Sprintf("precision_at_%d", k) }

// RecallKey returns the metric key of recall at k.
func RecallKey(k int) string { return fmt.Sprintf("recall_at_%d", k) }

// SolutionMetricKeys returns the eight keys GetSolutionMetrics returns for
// item recipes, sorted.
func SolutionMetricKeys() []string {
	keys := []string{KeyCoverage, KeyMRR}
	for _, k := range []int{5, 10, 25} {
		keys = append(keys, NDCGKey(k), PrecisionKey(k))
	}
	slices.Sort(keys)
	return keys
}

// MetricKeys returns every key an evaluation computes (NDCG, precision and
// recall at each of Cutoffs, MRR@25, coverage), sorted: the names an HPO or
// AutoML objective may maximise.
func MetricKeys() []string {
	keys := []string{KeyCoverage, KeyMRR}
	for _, k := range Cutoffs() {
		keys = append(keys, NDCGKey(k), PrecisionKey(k), RecallKey(k))
	}
	slices.Sort(keys)
	return keys
}

// SolutionMetrics returns the subset of m that GetSolutionMetrics reports:
// the keys of SolutionMetricKeys that are present in m.
func SolutionMetrics(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, 8)
	for _, k := range SolutionMetricKeys() {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// hitRanks returns the 1-based ranks, within the first k entries of ranked,
// of the items in relevant. An item listed twice counts once, at its first
// rank, so that a model returning duplicates cannot score above 1.
func hitRanks(ranked []int32, relevant map[int32]bool, k int) []int {
	var ranks []int
	var seen map[int32]bool
	for p, item := range ranked[:min(k, len(ranked))] {
		if !relevant[item] || seen[item] {
			continue
		}
		if seen == nil {
			seen = make(map[int32]bool)
		}
		seen[item] = true
		ranks = append(ranks, p+1)
	}
	return ranks
}

func set(items []int32) map[int32]bool {
	s := make(map[int32]bool, len(items))
	for _, it := range items {
		s[it] = true
	}
	return s
}

// discount is the binary-relevance gain of a hit at 1-based rank p.
func discount(p int) float64 { return 1 / math.Log2(float64(1+p)) }

// idealDCG is the DCG of n hits packed at ranks 1..n.
func idealDCG(n int) float64 {
	var s float64
	for p := 1; p <= n; p++ {
		s += discount(p)
	}
	return s
}

// Precision returns the number of distinct relevant items in the first k
// entries of ranked, divided by k (not by len(ranked): a short list is
// penalised, as Personalize does).
func Precision(ranked, relevant []int32, k int) float64 {
	if k <= 0 {
		return 0
	}
	return float64(len(hitRanks(ranked, set(relevant), k))) / float64(k)
}

// Recall returns the number of distinct relevant items in the first k
// entries of ranked, divided by the number of relevant items (0 when there
// are none).
func Recall(ranked, relevant []int32, k int) float64 {
	rel := set(relevant)
	if len(rel) == 0 {
		return 0
	}
	return float64(len(hitRanks(ranked, rel, k))) / float64(len(rel))
}

// NDCG returns the normalised discounted cumulative gain at k with binary
// relevance: DCG = Σ 1/log2(1+p) over the ranks p ≤ k of relevant items,
// divided by the DCG of min(|relevant|, k) hits at the top. It is 0 when
// relevant is empty.
func NDCG(ranked, relevant []int32, k int) float64 {
	rel := set(relevant)
	if len(rel) == 0 || k <= 0 {
		return 0
	}
	var dcg float64
	for _, p := range hitRanks(ranked, rel, k) {
		dcg += discount(p)
	}
	return dcg / idealDCG(min(len(rel), k))
}

// ReciprocalRank returns 1/p for the rank p of the first relevant item among
// the first k entries of ranked, or 0 when none is there.
func ReciprocalRank(ranked, relevant []int32, k int) float64 {
	ranks := hitRanks(ranked, set(relevant), k)
	if len(ranks) == 0 {
		return 0
	}
	return 1 / float64(ranks[0])
}

// Accumulator averages the per-user metrics over test users and counts the
// distinct items recommended, for coverage. The zero value is not usable;
// call NewAccumulator. It is not safe for concurrent use.
type Accumulator struct {
	catalog  int
	users    int
	sums     map[string]float64
	shown    []bool // item index -> recommended to some user
	distinct int
}

// NewAccumulator returns an Accumulator for a catalogue of catalogSize items
// (item indexes 0..catalogSize-1), the denominator of coverage.
func NewAccumulator(catalogSize int) *Accumulator {
	return &Accumulator{
		catalog: catalogSize,
		sums:    make(map[string]float64),
		shown:   make([]bool, max(catalogSize, 0)),
	}
}

// Add scores one user's ranked list (best first; only the first MaxK entries
// count) against the user's relevant items. Every list counts toward
// coverage; a user with no relevant items is not counted in the averages,
// since recall and NDCG are undefined for them.
func (a *Accumulator) Add(ranked, relevant []int32) {
	ranked = ranked[:min(MaxK, len(ranked))]
	for _, it := range ranked {
		if it >= 0 && int(it) < a.catalog && !a.shown[it] {
			a.shown[it] = true
			a.distinct++
		}
	}
	rel := set(relevant)
	if len(rel) == 0 {
		return
	}
	a.users++
	ranks := hitRanks(ranked, rel, MaxK)
	if len(ranks) > 0 {
		a.sums[KeyMRR] += 1 / float64(ranks[0])
	}
	for _, k := range Cutoffs() {
		hits := 0
		var dcg float64
		for _, p := range ranks {
			if p <= k {
				hits++
				dcg += discount(p)
			}
		}
		a.sums[PrecisionKey(k)] += float64(hits) / float64(k)
		a.sums[RecallKey(k)] += float64(hits) / float64(len(rel))
		a.sums[NDCGKey(k)] += dcg / idealDCG(min(len(rel), k))
	}
}

// Users returns the number of users counted in the averages.
func (a *Accumulator) Users() int { return a.users }

// Metrics returns coverage, MRR@25 and NDCG, precision and recall at every
// cutoff, averaged over the users added. With no users the averages are 0.
func (a *Accumulator) Metrics() map[string]float64 {
	m := map[string]float64{KeyMRR: 0, KeyCoverage: 0}
	for _, k := range Cutoffs() {
		m[NDCGKey(k)], m[PrecisionKey(k)], m[RecallKey(k)] = 0, 0, 0
	}
	if a.users > 0 {
		for key, s := range a.sums {
			m[key] = s / float64(a.users)
		}
	}
	if a.catalog > 0 {
		m[KeyCoverage] = float64(a.distinct) / float64(a.catalog)
	}
	return m
}
