package serving

import "time"

// Metrics receives model load times (metrics.Metrics implements it). Its
// methods must be safe for concurrent use and must not block.
type Metrics interface {
	// ModelLoaded records one successful Deploy: artifact read, group
	// refresh and swap.
	ModelLoaded(d time.Duration)
}

// noMetrics records nothing.
type noMetrics struct{}

func (noMetrics) ModelLoaded(time.Duration) {}

// LiveUsers returns, per loaded campaign or recommender, the users and
// anonymous sessions whose histories serving holds in memory (its dataset
// group's, shared by every campaign of the group). It takes each history's
// read lock briefly, so it is meant for a metrics scrape, not the request
// path.
func (s *Service) LiveUsers() map[string]int {
	table := *s.table.Load()
	counts := make(map[string]int, len(table))
	byGroup := map[*group]int{}
	for campaign, sl := range table {
		l := sl.cur.Load()
		if l == nil {
			continue // expected but not loaded yet
		}
		n, ok := byGroup[l.g]
		if !ok {
			if h := l.g.hist.Load(); h != nil {
				n = h.liveUsers()
			}
			byGroup[l.g] = n
		}
		counts[campaign] = n
	}
	return counts
}

// liveUsers counts the users and anonymous sessions h holds.
func (h *histories) liveUsers() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.users) + len(h.sessions)
}
