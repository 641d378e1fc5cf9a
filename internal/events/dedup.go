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
	seed maphash.Seed
	set  map[uint64]struct{}
	ring []uint64 // insertion order; next is the slot to reuse
	next int
	max  int
}

func newRecentEvents(max int) *recentEvents {
	return &recentEvents{seed: maphash.MakeSeed(), set: make(map[uint64]struct{}, min(max, 1024)), max: max}
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
	if len(r.ring) < r.max {
		r.ring = append(r.ring, k)
	} else {
		delete(r.set, r.ring[r.next])
		r.ring[r.next] = k
		r.next = (r.next + 1) % r.max
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
