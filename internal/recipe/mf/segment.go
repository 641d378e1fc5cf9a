package mf

import (
	"github.com/attune-dev/attune/internal/recipe"
)

// NewItemAffinity returns aws-item-affinity (USER_SEGMENTATION): the users
// most likely to interact with an item, scored by the dot product of user
// and item factors of a plain iALS model.
func NewItemAffinity() Recipe {
	return Recipe{name: "aws-item-affinity", typ: recipe.UserSegmentation, flavour: plain,
		desc: "User segments for items: users ranked by affinity to an item (iALS factors)."}
}

// NewItemAttributeAffinity returns aws-item-attribute-affinity
// (USER_SEGMENTATION): the users most likely to interact with items having
// given attribute values, scored against the mean factor of those items.
func NewItemAttributeAffinity() Recipe {
	return Recipe{name: "aws-item-attribute-affinity", typ: recipe.UserSegmentation, flavour: plain,
		desc: "User segments for item attributes: users ranked by affinity to the items that have the attributes (iALS factors)."}
}

// Segment implements recipe.Segmenter: the n trained users with the
// highest affinity to the mean factor of items, best first. Scored.Item
// holds a user index.
func (m *Model) Segment(items []int32, n int) []recipe.Scored {
	if len(items) == 0 || n <= 0 || len(m.users) == 0 {
		return nil
	}
	target := make([]float32, m.k)
	count := 0
	for _, it := range items {
		if it < 0 || int(it) >= len(m.items) {
			continue
		}
		recipe.Axpy(1, m.itemF[int(it)*m.k:int(it+1)*m.k], target)
		count++
	}
	if count == 0 {
		return nil
	}
	for i := range target {
		target[i] /= float32(count)
	}
	return recipe.SelectDot(m.userF, m.k, target, 1, n, &recipe.Query{})
}
