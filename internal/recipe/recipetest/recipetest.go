// Package recipetest generates small seeded synthetic data sets for recipe
// tests and benchmarks, so no test needs real data. It imports only the
// standard library and internal/recipe.
package recipetest

import (
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/attune-dev/attune/internal/recipe"
)

// Clustered returns users and items split into clusters: each user interacts
// with perUser distinct items, nearly all (90%) from their own cluster, one
// event per time step in a per-user random order. Items get a categorical
// GENRE value equal to their cluster, so metadata carries the same signal.
// User u is in cluster u % clusters, item i in cluster i % clusters.
func Clustered(seed uint64, users, items, clusters, perUser int) *recipe.Data {
	rng := rand.New(rand.NewPCG(seed, 7))
	in := &recipe.Interactions{EventTypes: []string{"VIEWED", "PURCHASED"}}
	for u := 0; u < users; u++ {
		in.UserIDs = append(in.UserIDs, "u"+strconv.Itoa(u))
	}
	genre := make([][]string, items)
	for i := 0; i < items; i++ {
		in.ItemIDs = append(in.ItemIDs, "i"+strconv.Itoa(i))
		genre[i] = []string{"g" + strconv.Itoa(i%clusters)}
	}
	t := int64(1_700_000_000)
	for u := 0; u < users; u++ {
		c := u % clusters
		seen := map[int]bool{}
		for len(seen) < min(perUser, items) {
			var it int
			if rng.Float64() < 0.9 {
				// Zipf-ish within the cluster: low ranks are more popular.
				r := int(math.Floor(math.Pow(rng.Float64(), 2) * float64(items/clusters)))
				it = r*clusters + c
			} else {
				it = rng.IntN(items)
			}
			if it >= items || seen[it] {
				continue
			}
			seen[it] = true
			t += 60
			in.User = append(in.User, int32(u))
			in.Item = append(in.Item, int32(it))
			in.Time = append(in.Time, t)
			in.Event = append(in.Event, uint16(rng.IntN(2)))
			in.Value = append(in.Value, float32(math.NaN()))
		}
	}
	return &recipe.Data{Interactions: in, Items: &recipe.ItemMeta{
		Categorical: map[string][][]string{"GENRE": genre},
		Created:     make([]int64, items),
	}}
}

// PowerLaw returns n interactions of users users over items items with
// Zipf-distributed item popularity (exponent about 1) and uniformly chosen
// users: the shape of real catalogues, for speed benchmarks. Item ids are
// not materialised as distinct strings beyond what the id tables need.
func PowerLaw(seed uint64, users, items, n int) *recipe.Interactions {
	rng := rand.New(rand.NewPCG(seed, 11))
	zipf := rand.NewZipf(rng, 1.05, 2, uint64(items-1))
	in := &recipe.Interactions{EventTypes: []string{""},
		User: make([]int32, n), Item: make([]int32, n), Time: make([]int64, n), Event: make([]uint16, n)}
	in.UserIDs = make([]string, users)
	for u := range in.UserIDs {
		in.UserIDs[u] = "u" + strconv.Itoa(u)
	}
	in.ItemIDs = make([]string, items)
	for i := range in.ItemIDs {
		in.ItemIDs[i] = "i" + strconv.Itoa(i)
	}
	for i := 0; i < n; i++ {
		in.User[i] = int32(rng.IntN(users))
		in.Item[i] = int32(zipf.Uint64())
		in.Time[i] = 1_700_000_000 + int64(i)
	}
	return in
}
