package events

import (
	"hash/maphash"

	"github.com/attune-dev/attune/internal/corpus"
)

// recentEvents remembers the most recent client-given event ids, so that a
// retried PutEvents (same session and eventId) is stored but not counted
// twice in serving's live state. Training drops such repeats over the stored
// rows (corpus.Builder), which holds across restarts; this set is the bounded
// live counterpart: an id older than the last max ids may count again live
// until the next model or restart.
//
// Only the writer goroutine uses it, so it has no lock.
type recentEvents struct {
	seed  maphash.Seed
	set   map[uint64]struct{}
	order ring[uint64]
}

func newRecentEvents(max int) *recentEvents {
	return &recentEvents{seed: maphash.MakeSeed(), set: make(map[uint64]struct{}, min(max, 1024)), order: ring[uint64]{max: max}}
}

// ring is the insertion order of a bounded set of keys: once max keys are
// in it, adding one evicts the oldest.
type ring[K comparable] struct {
	keys []K
	next int // the oldest key once full
	max  int
}

// add appends k and returns the key it evicted, if any.
func (r *ring[K]) add(k K) (evicted K, ok bool) {
	if len(r.keys) < r.max {
		r.keys = append(r.keys, k)
		return evicted, false
	}
	evicted = r.keys[r.next]
	r.keys[r.next] = k
	r.next = (r.next + 1) % r.max
	return evicted, true
}

// key is the identity of a client-given event id within a dataset group
// and session.
func (r *recentEvents) key(group, session, eventID string) uint64 {
	return corpus.EventKey(r.seed, group+"\x00"+session, eventID)
}

// firstSeen reports whether k is new, and remembers it, forgetting the
// oldest id when full.
func (r *recentEvents) firstSeen(k uint64) bool {
	if _, ok := r.set[k]; ok {
		return false
	}
	if old, ok := r.order.add(k); ok {
		delete(r.set, old)
	}
	r.set[k] = struct{}{}
	return true
}

// dropRepeats removes from events those whose eventIDs entry (parallel,
// "" for an id Attune generated) was already seen in the group.
func (r *recentEvents) dropRepeats(group string, events []corpus.Event, eventIDs []string) []corpus.Event {
	out := events[:0]
	for i, e := range events {
		if id := eventIDs[i]; id != "" && !r.firstSeen(r.key(group, e.Session, id)) {
			continue
		}
		out = append(out, e)
	}
	return out
}
