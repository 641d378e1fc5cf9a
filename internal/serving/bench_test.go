package serving

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/schema"
)

// BenchmarkRecommend100k measures one in-process GetRecommendations (no
// HTTP, no signature) on a 100k-item, 64-factor user-personalization-v2
// model: the serving cost the runtime benchmark in cmd/attune adds HTTP to.
//
//	go test -run x -bench Recommend100k ./internal/serving
func BenchmarkRecommend100k(b *testing.B) {
	const items, users, n = 100000, 20000, 400000
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
		rows = append(rows, []schema.Value{str(fmt.Sprintf("u%06d", u)), str(fmt.Sprintf("i%06d", item)), str("VIEWED"), {Int: int64(1000 + i)}})
	}
	f.sc.add(interactions, interactionFields, rows)
	f.loadData(b)
	key := f.train(b, "aws-user-personalization-v2", "big", recipe.Params{"hidden_dimension": "64", "epochs": "2"})
	s := f.service(b)
	deploy(b, s, campaignUP, key, false)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := s.Recommend(context.Background(), Request{Campaign: campaignUP, UserID: fmt.Sprintf("u%06d", i%users)}); err != nil {
			b.Fatal(err)
		}
	}
}
