package mf

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/attune-dev/attune/internal/recipe"
)

// clusteredModel returns a matrix-factorisation model whose n item
// factors (k = 64) lie around 200 random centres, as trained factors of a
// catalogue with genres do, with users drawn the same way.
func clusteredModel(n, users int, seed uint64) *Model {
	const k, centres = 64, 200
	rng := rand.New(rand.NewPCG(seed, 7))
	cent := make([]float32, centres*k)
	for i := range cent {
		cent[i] = float32(rng.NormFloat64())
	}
	draw := func(dst []float32) {
		c := rng.IntN(centres)
		scale := float32(0.5 + rng.Float64())
		for j := range dst {
			dst[j] = scale*cent[c*k+j] + 0.4*float32(rng.NormFloat64())
		}
	}
	m := &Model{typ: recipe.UserPersonalization, k: k, alpha: 1, maxHist: 100, wMF: 1, pool: new(sync.Pool),
		items: make([]string, n), users: make([]string, users), itemF: make([]float32, n*k), userF: make([]float32, users*k),
		created: make([]int64, n), popular: make([]int32, n)}
	for i := range n {
		m.items[i] = fmt.Sprint("i", i)
		m.popular[i] = int32(i)
		draw(m.itemF[i*k : (i+1)*k])
	}
	for u := range users {
		m.users[u] = fmt.Sprint("u", u)
		draw(m.userF[u*k : (u+1)*k])
	}
	m.gram = make([]float64, k*k)
	for i := range n {
		y := m.itemF[i*k : (i+1)*k]
		for a := range k {
			for b := range k {
				m.gram[a*k+b] += float64(y[a]) * float64(y[b])
			}
		}
	}
	for a := range k {
		m.gram[a*k+a] += 1
	}
	return m
}

func TestIndexRecall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 100k-item index")
	}
	m := clusteredModel(100000, 50, 1)
	ixm, ok := m.WithIndex(recipe.IndexOptions{Seed: 1}).(*Model)
	if !ok || ixm.ix == nil {
		t.Fatal("WithIndex on 100k items built no index")
	}
	var hits, total int
	for u := range int32(50) {
		q := recipe.Query{User: u, Item: -1}
		exact := m.Recommend(q, 25)
		approx := ixm.Recommend(q, 25)
		in := map[int32]bool{}
		for _, s := range approx {
			in[s.Item] = true
		}
		for _, s := range exact {
			if in[s.Item] {
				hits++
			}
		}
		total += len(exact)
	}
	if recall := float64(hits) / float64(total); recall < 0.95 {
		t.Errorf("recall@25 of the indexed top-25 = %.3f, want ≥ 0.95", recall)
	} else {
		t.Logf("recall@25 = %.3f", recall)
	}
}

// TestIndexBlendExact checks that the indexed path scores items as the full
// scan does, blend and exploration included: scanning every cluster, it must
// return the full scan's answer.
func TestIndexBlendExact(t *testing.T) {
	m := blendModel()
	ixm := m.WithIndex(recipe.IndexOptions{MinItems: 1000, Share: math.Nextafter(1, 0), Seed: 1}).(*Model)
	if ixm.ix == nil {
		t.Fatal("no index built")
	}
	for _, tc := range blendQueries() {
		t.Run(tc.name, func(t *testing.T) {
			want := m.Recommend(tc.q, 25)
			got := ixm.Recommend(tc.q, 25)
			if len(got) != len(want) {
				t.Fatalf("indexed Recommend returned %d items, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i].Item != want[i].Item || got[i].Explored != want[i].Explored ||
					math.Abs(float64(got[i].Score-want[i].Score)) > 1e-4*max(1, math.Abs(float64(want[i].Score))) {
					t.Errorf("item %d = %+v, want %+v", i, got[i], want[i])
				}
			}
		})
	}
}

type blendQuery struct {
	name string
	q    recipe.Query
}

func blendQueries() []blendQuery {
	return []blendQuery{
		{"history", recipe.Query{User: -1, Item: -1, History: []recipe.Event{{Item: 5, Time: 1}, {Item: 900, Time: 2}, {Item: 77, Time: 3}}}},
		{"explore", recipe.Query{User: -1, Item: -1, History: []recipe.Event{{Item: 12, Time: 1}, {Item: 13, Time: 2}},
			Exploration: &recipe.Exploration{}}},
		{"exclude", recipe.Query{User: 1, Item: -1, History: []recipe.Event{{Item: 40, Time: 1}},
			Exclude: func(it int32) bool { return it%3 == 0 }}},
	}
}

// blendModel is a 3000-item model blending factors with transitions, whose
// newest 100 items are new for exploration.
func blendModel() *Model {
	const n = 3000
	m := clusteredModel(n, 10, 2)
	m.wSeq, m.seqLast, m.seqDecay = 0.5, 3, 0.5
	rng := rand.New(rand.NewPCG(3, 3))
	ptr := []int64{0}
	var idx []int32
	var val []float32
	for range n {
		row := map[int32]bool{}
		for len(row) < 5 {
			row[int32(rng.IntN(n))] = true
		}
		for _, j := range slices.Sorted(maps.Keys(row)) {
			idx = append(idx, j)
			val = append(val, 0.1+rng.Float32())
		}
		ptr = append(ptr, int64(len(idx)))
	}
	m.seq = &recipe.CSR{Ptr: ptr, Idx: idx, Val: val}
	for i := range m.created {
		m.created[i] = int64(i) // the newest items are the last ones
	}
	m.end, m.explW, m.explAge = n, 0.2, 100.0/86400
	return m
}

// TestIndexBlendPartial scans a fifth of the items: every item returned
// must carry the full scan's score for it, transitions and exploration
// included (items outside the scanned clusters are scored separately).
func TestIndexBlendPartial(t *testing.T) {
	m := blendModel()
	ixm := m.WithIndex(recipe.IndexOptions{MinItems: 1000, Share: 0.2, Seed: 1}).(*Model)
	for _, q := range blendQueries() {
		exact := map[int32]float32{}
		for _, s := range m.Recommend(q.q, len(m.items)) {
			exact[s.Item] = s.Score
		}
		got := ixm.Recommend(q.q, 25)
		if len(got) != 25 {
			t.Fatalf("%s: %d items, want 25", q.name, len(got))
		}
		for _, s := range got {
			if want, ok := exact[s.Item]; !s.Explored && (!ok || math.Abs(float64(s.Score-want)) > 1e-4*max(1, math.Abs(float64(want)))) {
				t.Errorf("%s: item %d scored %v, full scan %v (%v)", q.name, s.Item, s.Score, want, ok)
			}
		}
	}
}

func TestWithIndexSmallCatalogue(t *testing.T) {
	m := clusteredModel(2000, 2, 4)
	if got := m.WithIndex(recipe.IndexOptions{}); got != recipe.Model(m) {
		t.Errorf("WithIndex on 2000 items = a copy, want the model itself (exact scoring)")
	}
}

// BenchmarkIndexedRecommend compares a full scan with the index on the
// 100k×64 clustered model (user vectors, no history).
func BenchmarkIndexedRecommend(b *testing.B) {
	m := clusteredModel(100000, 50, 1)
	ixm := m.WithIndex(recipe.IndexOptions{Seed: 1})
	for _, bc := range []struct {
		name string
		m    recipe.Model
	}{{"exact", m}, {"indexed", ixm}} {
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				bc.m.Recommend(recipe.Query{User: int32(i % 50), Item: -1}, 25)
			}
		})
	}
}
