package serving

import (
	"context"
	"math"

	"github.com/attune-dev/attune/internal/recipe"
)

// refreshed returns the campaign's model re-evaluated on the interactions
// known now when it is a recipe.Refresher whose interval has passed, and l
// otherwise. Personalize updates aws-trending-now's items every trend
// discovery window from imported and streamed interactions, without a new
// solution version; here the first request after each window does it, from
// the group's in-memory histories (the newest MaxHistory interactions of
// each user, PutEvents included), applying the solution's event filter.
// The new model serves this and later requests; if re-evaluation fails
// (say, every event was filtered out) l keeps serving until the next
// window, and the failure is logged.
func (s *Service) refreshed(ctx context.Context, campaign string, l *loaded) *loaded {
	if l.refreshEvery <= 0 {
		return l
	}
	now := s.opts.Now()
	if now.UnixNano() < l.refreshAt.Load() || !l.refreshMu.TryLock() {
		return l // not due, or another request is re-evaluating it
	}
	defer l.refreshMu.Unlock()
	if now.UnixNano() < l.refreshAt.Load() {
		return l
	}
	l.refreshAt.Store(now.Add(l.refreshEvery).UnixNano())
	h := l.g.hist.Load()
	if h == nil {
		return l
	}
	in := h.interactions(l.d.Filter.EventType, l.d.Filter.MinEventValue)
	m, err := l.m.(recipe.Refresher).Refresh(ctx, in, l.meta.Params)
	if err != nil {
		s.log.WarnContext(ctx, "re-evaluate model", "campaign", campaign, "recipe", l.meta.Recipe, "err", err)
		return l
	}
	nl := newLoaded(l.d, l.meta, m, l.g, now)
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl := (*s.table.Load())[campaign]; sl == nil || !sl.cur.CompareAndSwap(l, nl) {
		return l // undeployed or redeployed meanwhile
	}
	return nl
}

// interactions returns every kept interaction (bulk and live) of the
// histories as training data, keeping only eventType when it is not "" and
// values of at least minValue when it is not NaN. Users are not needed by
// the models refreshed from it and are left out.
func (h *histories) interactions(eventType string, minValue float64) *recipe.Interactions {
	h.mu.RLock()
	defer h.mu.RUnlock()
	in := &recipe.Interactions{ItemIDs: h.itemIDs[:len(h.itemIDs):len(h.itemIDs)],
		EventTypes: h.eventNames[:len(h.eventNames):len(h.eventNames)]}
	add := func(item int32, event uint16, t int64, v float32) {
		if eventType != "" && h.eventNames[event] != eventType {
			return
		}
		if !math.IsNaN(minValue) && !(float64(v) >= minValue) {
			return
		}
		in.User = append(in.User, 0)
		in.Item = append(in.Item, item)
		in.Time = append(in.Time, t)
		in.Event = append(in.Event, event)
		in.Value = append(in.Value, v)
	}
	for r := range int32(len(h.ptr) - 1) {
		if h.baseGoneLocked(r) {
			continue // evicted by the live-user cap
		}
		for p := h.ptr[r]; p < h.ptr[r+1]; p++ {
			v := nan32
			if h.values != nil {
				v = h.values[p]
			}
			add(h.items[p], h.events[p], h.tbase+int64(h.toff[p]), v)
		}
	}
	for _, evs := range h.live {
		for _, e := range evs {
			add(e.item, e.event, e.time, e.value)
		}
	}
	return in
}
