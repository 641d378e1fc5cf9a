package serving

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/recipe"
)

// hevent is one interaction of a history in the group's own id space (item
// and event-type indexes interned by the history, not by any model), so
// that every campaign of a dataset group can share one history whatever
// its model's item table.
type hevent struct {
	item  int32
	event uint16
	time  int64
	value float32 // NaN when the interaction has no EVENT_VALUE
}

// histories holds each user's (and anonymous session's) most recent
// interactions of one dataset group. The bulk loaded at campaign load is
// stored column-wise in compressed sparse rows, about 10 bytes per kept
// interaction (14 with EVENT_VALUE), not as one object per interaction;
// events observed later are appended per user.
type histories struct {
	maxPerUser int

	// Base rows, immutable after build: row r's events are
	// [ptr[r], ptr[r+1]) of the column slices, oldest first.
	ptr    []uint32
	items  []int32
	events []uint16
	toff   []uint32  // seconds after tbase
	values []float32 // nil when no loaded interaction had a value
	tbase  int64

	// mu guards the fields below.
	mu         sync.RWMutex
	users      map[string]int32 // USER_ID -> row
	sessions   map[string]int32 // sessionId of anonymous events -> row
	itemIndex  map[string]int32
	itemIDs    []string
	eventIndex map[string]uint16
	eventNames []string
	live       map[int32][]hevent // events observed after the build, per row
	rows       int32              // rows in use (base rows first)
	lru                           // the live-user cap, when set (history_live.go)
}

// loadHistories scans every committed chunk of an interactions dataset and
// keeps the newest maxPerUser interactions of each user. It returns the
// sequence number of the last chunk read.
func loadHistories(ctx context.Context, sc corpus.ChunkScanner, datasetARN string, maxPerUser int) (*histories, int64, error) {
	in, through, err := corpus.LoadInteractions(ctx, sc, datasetARN, corpus.NoFilter)
	if err != nil {
		return nil, 0, fmt.Errorf("load histories: %w", err)
	}
	return buildHistories(in, maxPerUser), through, nil
}

// buildHistories groups interactions by user (a counting sort), orders each
// user's events by time and keeps the newest maxPerUser.
func buildHistories(in *recipe.Interactions, maxPerUser int) *histories {
	h := &histories{maxPerUser: maxPerUser, users: make(map[string]int32, len(in.UserIDs)), sessions: map[string]int32{},
		itemIndex: make(map[string]int32, len(in.ItemIDs)), itemIDs: in.ItemIDs, eventIndex: map[string]uint16{},
		eventNames: in.EventTypes, live: map[int32][]hevent{}, rows: int32(len(in.UserIDs))}
	for i, id := range in.UserIDs {
		h.users[id] = int32(i)
	}
	for i, id := range in.ItemIDs {
		h.itemIndex[id] = int32(i)
	}
	for i, e := range in.EventTypes {
		h.eventIndex[e] = uint16(i)
	}
	nu, n := len(in.UserIDs), in.Len()
	start := make([]uint32, nu+1)
	for _, u := range in.User {
		start[u+1]++
	}
	for u := range nu {
		start[u+1] += start[u]
	}
	order := make([]int32, n)
	fill := slices.Clone(start[:nu])
	hasValue := false
	tmin := int64(0)
	for i, u := range in.User {
		order[fill[u]] = int32(i)
		fill[u]++
		if v := in.Value[i]; v == v {
			hasValue = true
		}
		if i == 0 || in.Time[i] < tmin {
			tmin = in.Time[i]
		}
	}
	fill = nil
	h.tbase = tmin
	h.ptr = make([]uint32, nu+1)
	for u := range nu {
		h.ptr[u+1] = h.ptr[u] + uint32(min(int(start[u+1]-start[u]), maxPerUser))
	}
	kept := int(h.ptr[nu])
	h.items, h.events, h.toff = make([]int32, kept), make([]uint16, kept), make([]uint32, kept)
	if hasValue {
		h.values = make([]float32, kept)
	}
	for u := range nu {
		seg := order[start[u]:start[u+1]]
		// Imports are usually in time order already; sort only when not.
		if !slices.IsSortedFunc(seg, func(a, b int32) int { return cmpInt64(in.Time[a], in.Time[b]) }) {
			slices.SortStableFunc(seg, func(a, b int32) int { return cmpInt64(in.Time[a], in.Time[b]) })
		}
		seg = seg[len(seg)-int(h.ptr[u+1]-h.ptr[u]):]
		for j, i := range seg {
			p := int(h.ptr[u]) + j
			h.items[p], h.events[p], h.toff[p] = in.Item[i], in.Event[i], uint32(in.Time[i]-tmin)
			if hasValue {
				h.values[p] = in.Value[i]
			}
		}
	}
	return h
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// appendRow returns the events of row r, oldest first, appended to dst: the
// newest maxPerUser of its base and live events. h.mu must be held.
func (h *histories) appendRowLocked(dst []hevent, r int32) []hevent {
	live := h.live[r]
	if int(r) < len(h.ptr)-1 && !h.baseGoneLocked(r) {
		lo, hi := int(h.ptr[r]), int(h.ptr[r+1])
		lo = max(lo, hi-max(h.maxPerUser-len(live), 0))
		for p := lo; p < hi; p++ {
			e := hevent{item: h.items[p], event: h.events[p], time: h.tbase + int64(h.toff[p]), value: nan32}
			if h.values != nil {
				e.value = h.values[p]
			}
			dst = append(dst, e)
		}
	}
	if len(live) > h.maxPerUser {
		live = live[len(live)-h.maxPerUser:]
	}
	return append(dst, live...)
}

// user returns the history of a user id, or else of an anonymous session
// with that id (Personalize serves anonymous visitors by their sessionId
// passed as userId), appended to dst.
func (h *histories) user(dst []hevent, id string) []hevent {
	if h.spill != nil {
		return h.userCapped(dst, id)
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if r, ok := h.users[id]; ok {
		return h.appendRowLocked(dst, r)
	}
	if r, ok := h.sessions[id]; ok {
		return h.appendRowLocked(dst, r)
	}
	return dst
}

// itemID returns the external id of a history item index.
func (h *histories) itemName(i int32) string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.itemIDs[i]
}

// eventName returns the EVENT_TYPE of an event-type index.
func (h *histories) eventName(i uint16) string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.eventNames[i]
}

// counts returns how often each history item occurs among the kept bulk
// interactions, as the popularity order of backfill.
func (h *histories) counts() []int32 {
	h.mu.RLock()
	n := len(h.itemIDs)
	bulk := h.bulkCounts
	h.mu.RUnlock()
	if bulk != nil {
		return slices.Clone(bulk) // counted before the cap evicted users
	}
	out := make([]int32, n)
	for _, it := range h.items {
		if int(it) < n {
			out[it]++
		}
	}
	return out
}

// observe appends live events. An event with a user goes to that user; one
// without goes to its session. The first event that carries both moves
// the session's history into the user's, as Personalize merges a visitor's
// anonymous history when they sign in.
func (h *histories) observe(evs []corpus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ev := range evs {
		if ev.Item == "" {
			continue // an event about no item cannot inform item scores
		}
		var row int32
		switch {
		case ev.User != "":
			r, ok := h.users[ev.User]
			if !ok {
				r = h.newRowLocked(ev.User, false)
				h.users[ev.User] = r
			}
			if ev.Session != "" {
				if s, ok := h.sessions[ev.Session]; ok && s != r {
					h.live[r] = append(h.live[r], h.appendRowLocked(nil, s)...)
					delete(h.sessions, ev.Session)
					h.freeRowLocked(s)
				} else if !ok {
					h.live[r] = h.takeSpilledSessionLocked(h.live[r], ev.Session)
				}
			}
			row = r
		case ev.Session != "":
			r, ok := h.sessions[ev.Session]
			if !ok {
				r = h.newRowLocked(ev.Session, true)
				h.sessions[ev.Session] = r
			}
			row = r
		default:
			continue
		}
		it, ok := h.itemIndex[ev.Item]
		if !ok {
			it = int32(len(h.itemIDs))
			h.itemIDs = append(h.itemIDs, ev.Item)
			h.itemIndex[ev.Item] = it
		}
		et, ok := h.eventIndex[ev.Type]
		if !ok {
			et = uint16(len(h.eventNames))
			h.eventNames = append(h.eventNames, ev.Type)
			h.eventIndex[ev.Type] = et
		}
		l := append(h.live[row], hevent{item: it, event: et, time: ev.Time, value: ev.Value})
		// Live events are bounded like the base: keep the newest only.
		if len(l) > 2*h.maxPerUser {
			l = slices.Clone(l[len(l)-h.maxPerUser:])
		}
		h.live[row] = l
		h.touchLocked(row)
	}
	h.evictLocked()
}

// snapshot returns the item and event-type tables as they are now; indexes
// below their lengths never change meaning.
func (h *histories) snapshot() (items []string, events []string) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.itemIDs[:len(h.itemIDs):len(h.itemIDs)], h.eventNames[:len(h.eventNames):len(h.eventNames)]
}

// bytes estimates the memory the base arrays hold, for logs.
func (h *histories) bytes() int {
	return 4*len(h.ptr) + 4*len(h.items) + 2*len(h.events) + 4*len(h.toff) + 4*len(h.values)
}
