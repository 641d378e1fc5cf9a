package serving

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/schema"
)

// novelSet is the part of a group's item catalogue that a deployed model
// never saw: items added by PutItems or an Items import after training.
// The model cannot score them, so user-personalization campaigns explore
// them by metadata (as Personalize's exploration surfaces new items before
// the next training), matching their categorical values against the ones
// of the user's recent items.
type novelSet struct {
	catalog *corpus.Entities // the catalogue snapshot it was built from
	ids     []string
	tokens  [][]string // "FIELD=value" per categorical value
	created []int64
}

// defaultExplorationWeight is aws-user-personalization's
// explorationWeight when a campaign does not set one.
const defaultExplorationWeight = 0.3

// novelItems returns the catalogue items unknown to the model, rebuilt when
// the group's catalogue changes.
func (l *loaded) novelItems() *novelSet {
	cat := l.g.catalog.Load()
	if cat == nil {
		return nil
	}
	if ns := l.novel.Load(); ns != nil && ns.catalog == cat {
		return ns
	}
	ns := &novelSet{catalog: cat}
	ct := cat.FieldIndex("CREATION_TIMESTAMP")
	for i, id := range cat.IDs {
		if _, known := l.itemIndex[id]; known {
			continue
		}
		ns.ids = append(ns.ids, id)
		ns.tokens = append(ns.tokens, itemTokens(cat, i))
		var c int64
		if ct >= 0 && !cat.Values[i][ct].Null {
			c = cat.Values[i][ct].Int
		}
		ns.created = append(ns.created, c)
	}
	l.novel.Store(ns)
	return ns
}

// itemTokens lists an item's categorical values as FIELD=value tokens,
// multi-valued fields split on '|'.
func itemTokens(cat *corpus.Entities, i int) []string {
	var out []string
	for fi, f := range cat.Fields {
		v := cat.Values[i][fi]
		if f.Type != schema.String || f.Name == cat.IDField || v.Null {
			continue
		}
		for _, part := range strings.Split(v.Str, "|") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, f.Name+"="+part)
			}
		}
	}
	return out
}

// explorationWeight is the share of a user-personalization list given to
// exploration: the campaign's explorationWeight, else the model's
// exploration_weight (aws-user-personalization only; v2 does not explore).
func (l *loaded) explorationWeight() float64 {
	e := l.d.Exploration
	switch {
	case e == nil: // explorationWeight "0": no exploration
		return 0
	case e.Weight > 0:
		return e.Weight
	case l.meta.Recipe != "aws-user-personalization":
		return 0
	}
	if w, err := strconv.ParseFloat(l.meta.Params["exploration_weight"], 64); err == nil {
		return w
	}
	return defaultExplorationWeight
}

// exploreNew puts up to ceil(weight·n/2) catalogue items unknown to the
// model into a personal list, best metadata match with the user's recent
// items first (newest first among equals), at evenly spread positions,
// replacing the list's lowest-ranked items. They carry reason Exploration
// and no score, since the model has none for them.
func (l *loaded) exploreNew(items []Item, u *userEvents, n int) []Item {
	w := l.explorationWeight()
	if w <= 0 || len(items) == 0 {
		return items
	}
	ns := l.novelItems()
	if ns == nil || len(ns.ids) == 0 {
		return items
	}
	k := min(int(math.Ceil(w*float64(n)/2)), len(ns.ids), len(items))
	if k == 0 {
		return items
	}
	liked := map[string]int{}
	touched := map[string]bool{}
	if u != nil {
		recent := u.raw[max(0, len(u.raw)-50):]
		for _, e := range recent {
			id := u.h.itemName(e.item)
			touched[id] = true
			if ci, ok := ns.catalog.Index[id]; ok {
				for _, t := range itemTokens(ns.catalog, int(ci)) {
					liked[t]++
				}
			}
		}
	}
	type cand struct {
		i     int
		match int
	}
	var cs []cand
	for i, id := range ns.ids {
		if touched[id] {
			continue
		}
		m := 0
		for _, t := range ns.tokens[i] {
			m += liked[t]
		}
		cs = append(cs, cand{i, m})
	}
	sort.SliceStable(cs, func(a, b int) bool {
		if cs[a].match != cs[b].match {
			return cs[a].match > cs[b].match
		}
		return ns.created[cs[a].i] > ns.created[cs[b].i]
	})
	k = min(k, len(cs))
	if k == 0 {
		return items
	}
	keep := items[:len(items)-k]
	out := make([]Item, 0, len(items))
	next := 0
	for pos := 0; pos < len(items); pos++ {
		// Spread the k explored items over the list: slot j sits at
		// (j+1)·len/(k+1).
		if next < k && pos == (next+1)*len(items)/(k+1) {
			out = append(out, Item{ID: ns.ids[cs[next].i], Reason: []string{ReasonExploration}})
			next++
			continue
		}
		if len(keep) > 0 {
			out = append(out, keep[0])
			keep = keep[1:]
		}
	}
	return out
}
