package eval

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestRankingMetrics(t *testing.T) {
	seq := func(from, n int32) []int32 { // from, from+1, ..., from+n-1
		s := make([]int32, n)
		for i := range s {
			s[i] = from + int32(i)
		}
		return s
	}
	tests := []struct {
		name                        string
		ranked, relevant            []int32
		k                           int
		precision, recall, ndcg, rr float64
	}{
		// personalize-api.md §6: hits at 2 and 5, K=5 → NDCG 0.6241, precision 0.4.
		{"doc example hits at 2 and 5", seq(10, 10), []int32{11, 14}, 5, 0.4, 1, 0.6240505200038379, 0.5},
		{"no hit", seq(10, 10), []int32{99}, 5, 0, 0, 0, 0},
		{"hit at 1 only", seq(10, 10), []int32{10}, 5, 0.2, 1, 1, 1},
		// IDCG packs all 3 relevant items: 1/(1 + 1/log2 3 + 1/2).
		{"relevant items missing from the list", seq(10, 10), []int32{10, 20, 21}, 5, 0.2, 1.0 / 3, 0.46927872602275644, 1},
		// Precision divides by K even when the list is shorter.
		{"short list", []int32{10, 11}, []int32{11}, 10, 0.1, 1, 0.6309297535714575, 0.5},
		{"duplicate counts once", []int32{11, 11, 12}, []int32{11}, 3, 1.0 / 3, 1, 1, 1},
		// Ideal DCG packs min(|rel|, K) = 5 hits, so 5 hits at the top is perfect.
		{"more relevant than K", seq(0, 10), seq(0, 7), 5, 1, 5.0 / 7, 1, 1},
		{"hit just beyond K", seq(0, 10), []int32{5}, 5, 0, 0, 0, 0},
		{"empty relevant", seq(0, 10), nil, 5, 0, 0, 0, 0},
		{"empty list", nil, []int32{1}, 5, 0, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Precision(tc.ranked, tc.relevant, tc.k); !near(got, tc.precision, 1e-12) {
				t.Errorf("Precision = %v, want %v", got, tc.precision)
			}
			if got := Recall(tc.ranked, tc.relevant, tc.k); !near(got, tc.recall, 1e-12) {
				t.Errorf("Recall = %v, want %v", got, tc.recall)
			}
			if got := NDCG(tc.ranked, tc.relevant, tc.k); !near(got, tc.ndcg, 1e-12) {
				t.Errorf("NDCG = %v, want %v", got, tc.ndcg)
			}
			if got := ReciprocalRank(tc.ranked, tc.relevant, tc.k); !near(got, tc.rr, 1e-12) {
				t.Errorf("ReciprocalRank = %v, want %v", got, tc.rr)
			}
		})
	}
}

func TestAccumulatorDocMRR(t *testing.T) {
	// personalize-api.md §6: first relevant at ranks 4, 2, 6 → (1/4+1/2+1/6)/3 = 0.3056.
	acc := NewAccumulator(100)
	acc.Add([]int32{0, 1, 2, 3, 4, 5}, []int32{3})
	acc.Add([]int32{0, 1, 2, 3, 4, 5}, []int32{1, 4})
	acc.Add([]int32{0, 1, 2, 3, 4, 5}, []int32{5})
	if got := acc.Metrics()[KeyMRR]; !near(got, 0.3055555555555555, 1e-12) {
		t.Errorf("MRR = %v, want 0.30556", got)
	}
}

func TestAccumulatorAverages(t *testing.T) {
	acc := NewAccumulator(10)
	acc.Add([]int32{0, 1, 2, 3, 4}, []int32{1, 4}) // hits at 2 and 5
	acc.Add([]int32{5, 6}, []int32{9})             // no hit
	acc.Add([]int32{7}, nil)                       // coverage only
	acc.Add([]int32{3, 42, -1}, []int32{})         // out-of-catalogue indexes are not coverage
	if acc.Users() != 2 {
		t.Fatalf("Users() = %d, want 2", acc.Users())
	}
	want := map[string]float64{
		KeyCoverage: 0.8, // items 0..7 of 10
		KeyMRR:      0.25,
		NDCGKey(5):  0.6240505200038379 / 2, NDCGKey(10): 0.6240505200038379 / 2,
		NDCGKey(20): 0.6240505200038379 / 2, NDCGKey(25): 0.6240505200038379 / 2,
		PrecisionKey(5): 0.2, PrecisionKey(10): 0.1, PrecisionKey(20): 0.05, PrecisionKey(25): 0.04,
		RecallKey(5): 0.5, RecallKey(10): 0.5, RecallKey(20): 0.5, RecallKey(25): 0.5,
	}
	got := acc.Metrics()
	if len(got) != len(want) {
		t.Errorf("Metrics() has %d keys, want %d: %v", len(got), len(want), got)
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || !near(g, w, 1e-12) {
			t.Errorf("Metrics()[%s] = %v, want %v", k, g, w)
		}
	}
}

func TestAccumulatorEmpty(t *testing.T) {
	got := NewAccumulator(0).Metrics()
	for k, v := range got {
		if v != 0 {
			t.Errorf("Metrics()[%s] = %v, want 0", k, v)
		}
	}
	if len(got) != 14 {
		t.Errorf("Metrics() has %d keys, want 14", len(got))
	}
}

func TestSolutionMetricKeys(t *testing.T) {
	want := []string{
		"coverage", "mean_reciprocal_rank_at_25",
		"normalized_discounted_cumulative_gain_at_10", "normalized_discounted_cumulative_gain_at_25",
		"normalized_discounted_cumulative_gain_at_5",
		"precision_at_10", "precision_at_25", "precision_at_5",
	}
	if got := SolutionMetricKeys(); !slices.Equal(got, want) {
		t.Errorf("SolutionMetricKeys() = %v, want %v", got, want)
	}
	m := NewAccumulator(1).Metrics()
	m[KeyTrainSeconds] = 3
	if got := SolutionMetrics(m); len(got) != 8 {
		t.Errorf("SolutionMetrics has %d keys, want 8: %v", len(got), got)
	}
}

// A perfect ranker puts every relevant item first.
func TestPerfectRanker(t *testing.T) {
	for _, nRel := range []int{1, 3, 7, 30} {
		acc := NewAccumulator(100)
		relevant := make([]int32, nRel)
		for i := range relevant {
			relevant[i] = int32(50 + i)
		}
		ranked := slices.Clone(relevant)
		for it := int32(0); len(ranked) < MaxK; it++ {
			ranked = append(ranked, it)
		}
		acc.Add(ranked, relevant)
		m := acc.Metrics()
		if m[KeyMRR] != 1 {
			t.Errorf("|rel|=%d: MRR = %v, want 1", nRel, m[KeyMRR])
		}
		for _, k := range Cutoffs() {
			hits := float64(min(nRel, k))
			if !near(m[NDCGKey(k)], 1, 1e-12) {
				t.Errorf("|rel|=%d: NDCG@%d = %v, want 1", nRel, k, m[NDCGKey(k)])
			}
			if !near(m[PrecisionKey(k)], hits/float64(k), 1e-12) {
				t.Errorf("|rel|=%d: precision@%d = %v, want %v", nRel, k, m[PrecisionKey(k)], hits/float64(k))
			}
			if !near(m[RecallKey(k)], hits/float64(nRel), 1e-12) {
				t.Errorf("|rel|=%d: recall@%d = %v, want %v", nRel, k, m[RecallKey(k)], hits/float64(nRel))
			}
		}
	}
}

// A random ranker (a uniform permutation of an N-item catalogue with R
// relevant items) has known expectations: precision@K = R/N, recall@K =
// K/N, NDCG@K = (R/N)·Σ_{p≤K} 1/log2(1+p) / IDCG(min(R,K)), and
// MRR@25 = Σ_p (1/p)·P(first hit at p).
func TestRandomRanker(t *testing.T) {
	const n, r, users = 40, 4, 20000
	rng := rand.New(rand.NewPCG(1, 2))
	acc := NewAccumulator(n)
	for range users {
		perm := rng.Perm(n)
		ranked := make([]int32, n)
		for i, p := range perm {
			ranked[i] = int32(p)
		}
		acc.Add(ranked, []int32{0, 1, 2, 3})
	}
	m := acc.Metrics()

	var mrr float64
	pNone := 1.0 // P(no hit in the first p-1 ranks)
	for p := 1; p <= MaxK; p++ {
		left := float64(n - p + 1)
		mrr += pNone * r / left / float64(p)
		pNone *= (left - r) / left
	}
	if !near(m[KeyMRR], mrr, 0.01) {
		t.Errorf("MRR = %v, want %v ± 0.01", m[KeyMRR], mrr)
	}
	for _, k := range Cutoffs() {
		var dcg, idcg float64
		for p := 1; p <= k; p++ {
			dcg += float64(r) / n / math.Log2(float64(1+p))
			if p <= r {
				idcg += 1 / math.Log2(float64(1+p))
			}
		}
		checks := []struct {
			key  string
			want float64
		}{
			{PrecisionKey(k), float64(r) / n},
			{RecallKey(k), float64(k) / n},
			{NDCGKey(k), dcg / idcg},
		}
		for _, c := range checks {
			if !near(m[c.key], c.want, 0.01) {
				t.Errorf("%s = %v, want %v ± 0.01", c.key, m[c.key], c.want)
			}
		}
	}
	if m[KeyCoverage] != 1 {
		t.Errorf("coverage = %v, want 1 (every item shows up in some top 25)", m[KeyCoverage])
	}
}
