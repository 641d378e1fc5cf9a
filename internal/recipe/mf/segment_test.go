package mf

import (
	"context"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/recipe"
)

// TestSegmentFindsTheUsersOfAnItemsCluster checks that the users ranked
// first for an item are the ones whose histories sit in its cluster.
func TestSegmentFindsTheUsersOfAnItemsCluster(t *testing.T) {
	// Two clusters: users 0-9 use items 0-4, users 10-19 use items 5-9.
	d := &recipe.Interactions{EventTypes: []string{""}}
	for u := range 20 {
		d.UserIDs = append(d.UserIDs, string(rune('a'+u)))
	}
	for i := range 10 {
		d.ItemIDs = append(d.ItemIDs, string(rune('A'+i)))
	}
	for u := range 20 {
		base := 0
		if u >= 10 {
			base = 5
		}
		for j := range 4 {
			d.User = append(d.User, int32(u))
			d.Item = append(d.Item, int32(base+(u+j)%5))
			d.Time = append(d.Time, int64(u*10+j))
			d.Event = append(d.Event, 0)
			d.Value = append(d.Value, 0)
		}
	}
	for _, r := range []Recipe{NewItemAffinity(), NewItemAttributeAffinity()} {
		t.Run(r.Name(), func(t *testing.T) {
			if r.Type() != recipe.UserSegmentation {
				t.Fatalf("type = %s", r.Type())
			}
			m, err := r.Fit(context.Background(), &recipe.Data{Interactions: d}, recipe.Params{"hidden_dimension": "8", "epochs": "20"},
				recipe.FitOptions{Seed: 1, Now: time.Unix(1000, 0)})
			if err != nil {
				t.Fatal(err)
			}
			seg, ok := m.(recipe.Segmenter)
			if !ok {
				t.Fatal("model is not a Segmenter")
			}
			for _, tc := range []struct {
				items  []int32
				lo, hi int32
			}{{[]int32{1}, 0, 9}, {[]int32{6, 7}, 10, 19}} {
				got := seg.Segment(tc.items, 5)
				if len(got) != 5 {
					t.Fatalf("Segment(%v) = %d users, want 5", tc.items, len(got))
				}
				for _, s := range got {
					if s.Item < tc.lo || s.Item > tc.hi {
						t.Errorf("Segment(%v) ranks user %d outside the cluster [%d,%d]: %v", tc.items, s.Item, tc.lo, tc.hi, got)
					}
				}
			}
			if got := seg.Segment([]int32{99}, 5); got != nil {
				t.Errorf("Segment(unknown item) = %v, want nil", got)
			}
		})
	}
}
