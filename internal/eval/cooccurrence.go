package eval

import (
	"cmp"
	"slices"

	"github.com/attune-dev/attune/internal/recipe"
)

// CooccurrenceName labels the co-occurrence baseline in benchmark tables.
const CooccurrenceName = "raw-cooccurrence-count"

// Cooccurrence is the baseline related-items model: the items related to an
// anchor are those the most users interacted with together with the anchor,
// by raw count (no normalisation, so it leans to popular items — the bar a
// similar-items recipe must clear). It is immutable after
// NewCooccurrence and safe for concurrent use.
type Cooccurrence struct {
	userItems [][]int32 // user index -> distinct item indexes
	itemUsers [][]int32 // item index -> distinct user indexes
}

// NewCooccurrence indexes d's distinct (user, item) pairs. Counts are
// computed per query from the two adjacency lists rather than stored as an
// item×item matrix, which would not fit for a large catalogue.
func NewCooccurrence(d *recipe.Interactions) *Cooccurrence {
	c := &Cooccurrence{
		userItems: make([][]int32, len(d.UserIDs)),
		itemUsers: make([][]int32, len(d.ItemIDs)),
	}
	for i, u := range d.User {
		c.userItems[u] = append(c.userItems[u], d.Item[i])
	}
	for u, items := range c.userItems {
		slices.Sort(items)
		items = slices.Compact(items)
		c.userItems[u] = items
		for _, it := range items {
			c.itemUsers[it] = append(c.itemUsers[it], int32(u))
		}
	}
	return c
}

// Recommend returns up to n items that co-occur most often with q.Item,
// best first, ties broken by lower item index. It honours q.Exclude and
// q.Candidates, never returns the anchor, and returns nothing without a
// known anchor.
func (c *Cooccurrence) Recommend(q recipe.Query, n int) []recipe.Scored {
	if q.Item < 0 || int(q.Item) >= len(c.itemUsers) || n <= 0 {
		return nil
	}
	var allowed map[int32]bool
	if q.Candidates != nil {
		allowed = set(q.Candidates)
	}
	counts := make([]int32, len(c.itemUsers))
	var touched []int32
	for _, u := range c.itemUsers[q.Item] {
		for _, it := range c.userItems[u] {
			if counts[it] == 0 {
				touched = append(touched, it)
			}
			counts[it]++
		}
	}
	out := make([]recipe.Scored, 0, len(touched))
	for _, it := range touched {
		if it == q.Item || (allowed != nil && !allowed[it]) || (q.Exclude != nil && q.Exclude(it)) {
			continue
		}
		out = append(out, recipe.Scored{Item: it, Score: float32(counts[it])})
	}
	slices.SortFunc(out, func(a, b recipe.Scored) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Item, b.Item)
	})
	return out[:min(n, len(out))]
}
