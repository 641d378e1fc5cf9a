package serving

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/schema"
)

// BenchmarkRecommend100k measures one in-process GetRecommendations (no
// HTTP, no signature) on a 100k-item, 64-factor user-personalization-v2
// model: the serving cost the runtime benchmark in cmd/attune adds HTTP to.
// The sub-benchmarks compare no filter with an Interactions filter (whose
// bitmap depends on the user, so it is folded per request) and a
// parameterised Items filter (compiled once per value, then one bit test
// per candidate) keeping a tenth of the catalogue.
//
//	go test -run x -bench Recommend100k ./internal/serving
func BenchmarkRecommend100k(b *testing.B) {
	const items, users, n, categories = 100000, 20000, 400000, 10
	f := &fixture{sc: &chunks{}, reg: recipeRegistry()}
	var err error
	if f.bucket, err = newBucket(b.TempDir()); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([][]schema.Value, 0, n)
	for i := range n {
		u := i % users
		r := rng.Float64()
		item := (u%200)*(items/200) + int(r*r*float64(items/200))
		event := "VIEWED"
		if i%10 == 0 {
			event = "PURCHASED"
		}
		rows = append(rows, []schema.Value{str(fmt.Sprintf("u%06d", u)), str(fmt.Sprintf("i%06d", item)), str(event), {Int: int64(1000 + i)}})
	}
	f.sc.add(interactions, interactionFields, rows)
	itemRows := make([][]schema.Value, items)
	for i := range itemRows {
		itemRows[i] = []schema.Value{str(fmt.Sprintf("i%06d", i)), str(fmt.Sprintf("cat%d", i%categories))}
	}
	f.sc.add(itemsDataset, itemFields, itemRows)
	f.loadData(b)
	key := f.train(b, "aws-user-personalization-v2", "big", recipe.Params{"hidden_dimension": "64", "epochs": "2"})
	s := New(f.sc, f.bucket, f.reg, Options{Filters: fakeFilters{
		"no-purchased": `EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("PURCHASED")`,
		"category":     `INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)`,
	}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	deploy(b, s, campaignUP, key, false)
	for _, bc := range []struct {
		name   string
		filter string
		values map[string]string
	}{
		{"none", "", nil},
		{"exclude-purchased", filterARN("no-purchased"), nil},
		{"category", filterARN("category"), map[string]string{"CATEGORY": `"cat3"`}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			// Per-request latencies give p50/p99 besides ns/op, so filtered
			// and unfiltered tails can be compared (issue 6's ratio).
			var lat []time.Duration
			for i := 0; b.Loop(); i++ {
				start := time.Now()
				if _, err := s.Recommend(context.Background(), Request{Campaign: campaignUP, UserID: fmt.Sprintf("u%06d", i%users),
					FilterARN: bc.filter, FilterValues: bc.values}); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
