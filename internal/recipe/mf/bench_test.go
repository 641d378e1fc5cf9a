package mf

import (
	"context"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/recipe/recipetest"
)

// BenchmarkTrainALS measures one iALS epoch (3 CG steps, k=64) on a
// power-law data set of ATTUNE_BENCH_N interactions (default 10M) and
// reports seconds per epoch, µs per interaction per epoch and peak heap
// bytes per interaction beyond the input arrays and factors:
//
//	go test ./internal/recipe/mf -run XXX -bench TrainALS -benchtime 1x
func BenchmarkTrainALS(b *testing.B) {
	n := 10_000_000
	if s := os.Getenv("ATTUNE_BENCH_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	users, items := n/50, n/100
	in := recipetest.PowerLaw(1, users, items, n)
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	})
	const k, epochs = 64, 1
	b.ResetTimer()
	start := time.Now()
	var build time.Duration
	for b.Loop() {
		t0 := time.Now()
		byUser := recipe.BuildCSR(users, in.User, in.Item, func(int) float32 { return 1 })
		byItem := byUser.Transpose(items)
		build += time.Since(t0)
		_, err := TrainALS(context.Background(), byUser, byItem, ALSOptions{Factors: k, Epochs: epochs, Reg: 30, Alpha: 5,
			CGSteps: 3, Workers: runtime.GOMAXPROCS(0), Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
	}
	total := time.Since(start)
	close(stop)
	wg.Wait()
	// TrainALS runs epochs alternations plus a final user pass: count that
	// pass as half an epoch.
	perEpoch := (total - build).Seconds() / float64(b.N) / (epochs + 0.5)
	b.ReportMetric(perEpoch, "s/epoch")
	b.ReportMetric(perEpoch/float64(n)*1e6, "µs/interaction/epoch")
	b.ReportMetric(build.Seconds()/float64(b.N), "s/csr-build")
	factors := uint64((users + items) * k * 4)
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapInuse+factors))/float64(n), "extra-bytes/interaction")
	b.ReportMetric(float64(peak.Load())/1e6, "peak-heap-MB")
}

// BenchmarkRecommend measures serving: the top 25 of 100k items at k=64 for
// a known user (dot products + heap selection) and for a user folded in from
// a 50-event history.
func BenchmarkRecommend(b *testing.B) {
	const items, k = 100_000, 64
	rng := rand.New(rand.NewPCG(1, 1))
	m := &Model{name: "bench", typ: recipe.UserPersonalization, k: k, alpha: 5, maxHist: 2000, wMF: 1,
		items: make([]string, items), users: make([]string, 1), itemF: make([]float32, items*k), userF: make([]float32, k)}
	for i := range m.itemF {
		m.itemF[i] = float32(rng.NormFloat64() * 0.1)
	}
	for i := range m.userF {
		m.userF[i] = float32(rng.NormFloat64())
	}
	m.gram = Gram(m.itemF, k, 30, 1)
	m.popular = make([]int32, items)
	hist := make([]recipe.Event, 50)
	for i := range hist {
		hist[i] = recipe.Event{Item: int32(rng.IntN(items)), Time: int64(i)}
	}
	b.Run("known-user", func(b *testing.B) {
		for b.Loop() {
			m.Recommend(recipe.Query{User: 0, Item: -1}, 25)
		}
	})
	b.Run("fold-in-50", func(b *testing.B) {
		for b.Loop() {
			m.Recommend(recipe.Query{User: -1, Item: -1, History: hist}, 25)
		}
	})
	b.Run("fold-in-only-50", func(b *testing.B) {
		agg, _ := m.history(hist)
		s := &scratch{}
		for b.Loop() {
			m.foldIn(agg, s)
		}
	})
	b.Run("rank-100-candidates", func(b *testing.B) {
		cands := make([]int32, 100)
		for i := range cands {
			cands[i] = int32(rng.IntN(items))
		}
		for b.Loop() {
			m.Recommend(recipe.Query{User: -1, Item: -1, History: hist, Candidates: cands}, 100)
		}
	})
	// The aws-user-personalization shape for a catalogue too large for
	// EASE: factors blended with transitions of the latest items, both
	// standardised.
	const keep = 20
	seq := &recipe.CSR{Ptr: make([]int64, items+1)}
	for i := 0; i < items; i++ {
		for j := 0; j < keep; j++ {
			seq.Idx = append(seq.Idx, int32((i*7919+j*104729)%items))
			seq.Val = append(seq.Val, rng.Float32())
		}
		slices.Sort(seq.Idx[i*keep:])
		seq.Ptr[i+1] = int64(len(seq.Idx))
	}
	blended := &Model{name: "bench", typ: recipe.UserPersonalization, k: k, alpha: 5, maxHist: 2000, wMF: 1,
		items: m.items, users: m.users, itemF: m.itemF, userF: m.userF, gram: m.gram, popular: m.popular}
	blended.wSeq, blended.seq, blended.seqLast, blended.seqDecay = 0.2, seq, 5, 0.7
	b.Run("blend-transitions-fold-in-50", func(b *testing.B) {
		for b.Loop() {
			blended.Recommend(recipe.Query{User: -1, Item: -1, History: hist}, 25)
		}
	})
}
