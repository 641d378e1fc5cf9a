package serving

import (
	"cmp"
	"math"
	"slices"
	"sync/atomic"
)

// lru bounds the users and anonymous sessions whose history a histories
// keeps in memory (Options.MaxLiveUsers). Rows are evicted by the CLOCK
// approximation of least-recently-used: each row has a reference bit that
// a request or an event sets, and the eviction hand clears set bits and
// evicts the first row whose bit is clear. An evicted row's events (bulk
// and live, at most MaxHistory) go to the spill file and its row is reused;
// the user's next request or event brings them back. The zero value (no
// cap) keeps every row and touches no file.
//
// Every field is guarded by histories.mu, except that ref entries are also
// set under the read lock, atomically.
type lru struct {
	maxLive  int
	spill    *spillFile // nil without a cap
	ref      []uint32   // per row: used since the hand last passed
	rowKey   []string   // per row: its user or session id; "" when free
	rowFlags []uint8    // per row: rowSession, rowSpilled, rowBaseGone
	free     []int32
	resident int // rows in use
	hand     int32
	// bulkCounts is counts() of the bulk arrays before capLive dropped
	// evicted users from them, so that popularity does not depend on
	// who is in memory; nil when nothing was dropped.
	bulkCounts []int32
	// spillErrors counts evictions abandoned because the spill file
	// could not be written; the rows then stay in memory.
	spillErrors int
}

const (
	rowSession  uint8 = 1 << iota // the row is an anonymous session's
	rowSpilled                    // the spill file holds older events of the row's key
	rowBaseGone                   // the row's bulk events belong to an evicted user
)

// spillKey names a user or session in the spill file.
func spillKey(id string, session bool) string {
	if session {
		return "s\x00" + id
	}
	return "u\x00" + id
}

// capLive turns on the live-user cap: rows beyond maxLive, those whose
// newest bulk interaction is oldest first, are evicted at once and the
// bulk arrays are rebuilt without them, so memory holds maxLive users'
// histories from the start. dir is where the spill file goes ("" for the
// system's temporary folder). maxLive <= 0 leaves h uncapped.
func (h *histories) capLive(maxLive int, dir string) error {
	if maxLive <= 0 {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.maxLive, h.spill = maxLive, newSpillFile(dir)
	h.spill.closeWith(h)
	n := int(h.rows)
	h.ref, h.rowKey, h.rowFlags = make([]uint32, n), make([]string, n), make([]uint8, n)
	for id, r := range h.users {
		h.rowKey[r] = id
	}
	for id, r := range h.sessions {
		h.rowKey[r], h.rowFlags[r] = id, rowSession
	}
	h.resident = len(h.users) + len(h.sessions)
	if h.resident <= maxLive {
		return nil
	}
	// Keep the users active most recently.
	rows := make([]int32, 0, h.resident)
	for r := range int32(n) {
		if h.rowKey[r] != "" {
			rows = append(rows, r)
		}
	}
	last := func(r int32) int64 {
		if int(r) >= len(h.ptr)-1 {
			return math.MaxInt64 // a live row: keep it
		}
		if p := h.ptr[r+1]; p > h.ptr[r] {
			return int64(h.toff[p-1])
		}
		return -1
	}
	slices.SortFunc(rows, func(a, b int32) int { return cmp.Compare(last(b), last(a)) })
	for _, r := range rows[maxLive:] {
		if err := h.evictRowLocked(r); err != nil {
			return err
		}
	}
	h.bulkCounts = make([]int32, len(h.itemIDs))
	for _, it := range h.items {
		h.bulkCounts[it]++
	}
	h.compactBaseLocked()
	return nil
}

// compactBaseLocked rebuilds the bulk arrays without evicted rows and
// renumbers the rows left, so that evicted users' bulk events leave memory.
func (h *histories) compactBaseLocked() {
	nb := len(h.ptr) - 1
	renum := make([]int32, nb)
	kept, events := 0, 0
	for r := range nb {
		renum[r] = -1
		if h.rowKey[r] != "" && h.rowFlags[r]&rowBaseGone == 0 {
			renum[r] = int32(kept)
			kept++
			events += int(h.ptr[r+1] - h.ptr[r])
		}
	}
	ptr := make([]uint32, kept+1)
	items, evs, toff := make([]int32, 0, events), make([]uint16, 0, events), make([]uint32, 0, events)
	var values []float32
	if h.values != nil {
		values = make([]float32, 0, events)
	}
	for r := range nb {
		if renum[r] < 0 {
			continue
		}
		lo, hi := h.ptr[r], h.ptr[r+1]
		items, evs, toff = append(items, h.items[lo:hi]...), append(evs, h.events[lo:hi]...), append(toff, h.toff[lo:hi]...)
		if values != nil {
			values = append(values, h.values[lo:hi]...)
		}
		ptr[renum[r]+1] = uint32(len(items))
	}
	h.ptr, h.items, h.events, h.toff, h.values = ptr, items, evs, toff, values
	// Every row is renumbered: live rows after the kept bulk ones.
	n := int32(kept)
	moved := func(r int32) int32 {
		if int(r) < nb {
			return renum[r]
		}
		n++
		return n - 1
	}
	users := make(map[string]int32, min(len(h.users), h.maxLive))
	sessions := make(map[string]int32, len(h.sessions))
	live := make(map[int32][]hevent, len(h.live))
	rowKey, rowFlags := make([]string, 0, h.maxLive), make([]uint8, 0, h.maxLive)
	assign := func(id string, r int32, m map[string]int32) {
		nr := moved(r)
		m[id] = nr
		if l, ok := h.live[r]; ok {
			live[nr] = l
		}
		for int(nr) >= len(rowKey) {
			rowKey, rowFlags = append(rowKey, ""), append(rowFlags, 0)
		}
		rowKey[nr], rowFlags[nr] = id, h.rowFlags[r]
	}
	for r := range int32(nb) { // bulk rows first, in order
		if id := h.rowKey[r]; id != "" {
			if h.rowFlags[r]&rowSession != 0 {
				assign(id, r, sessions)
			} else {
				assign(id, r, users)
			}
		}
	}
	for id, r := range h.users {
		if int(r) >= nb {
			assign(id, r, users)
		}
	}
	for id, r := range h.sessions {
		if int(r) >= nb {
			assign(id, r, sessions)
		}
	}
	h.users, h.sessions, h.live = users, sessions, live
	h.rowKey, h.rowFlags, h.ref = rowKey, rowFlags, make([]uint32, len(rowKey))
	h.rows, h.free, h.hand = int32(len(rowKey)), nil, 0
	h.resident = len(users) + len(sessions)
}

// baseGoneLocked reports whether row r's bulk events are not its own.
func (h *histories) baseGoneLocked(r int32) bool {
	return int(r) < len(h.rowFlags) && h.rowFlags[r]&rowBaseGone != 0
}

// touchLocked marks a row as recently used (also valid under the read lock).
func (h *histories) touchLocked(r int32) {
	if int(r) < len(h.ref) {
		atomic.StoreUint32(&h.ref[r], 1)
	}
}

// newRowLocked returns a row for a new user or session: a freed one when
// the cap recycles rows, else the next. A key whose older events were
// spilled is marked so that reads bring them back.
func (h *histories) newRowLocked(id string, session bool) int32 {
	if h.spill == nil {
		r := h.rows
		h.rows++
		return r
	}
	var r int32
	if n := len(h.free); n > 0 {
		r, h.free = h.free[n-1], h.free[:n-1]
		h.rowFlags[r] &= rowBaseGone // a recycled bulk row keeps its old events hidden
	} else {
		r = h.rows
		h.rows++
		h.ref, h.rowKey, h.rowFlags = append(h.ref, 0), append(h.rowKey, ""), append(h.rowFlags, 0)
	}
	h.rowKey[r] = id
	if session {
		h.rowFlags[r] |= rowSession
	}
	if h.spill.has(spillKey(id, session)) {
		h.rowFlags[r] |= rowSpilled
	}
	h.ref[r] = 1
	h.resident++
	return r
}

// freeRowLocked releases a row whose key the caller removed from users or
// sessions.
func (h *histories) freeRowLocked(r int32) {
	delete(h.live, r)
	if h.spill == nil {
		return
	}
	h.rowKey[r] = ""
	h.rowFlags[r] &= rowBaseGone
	if int(r) < len(h.ptr)-1 {
		h.rowFlags[r] |= rowBaseGone
	}
	h.ref[r] = 0
	h.free = append(h.free, r)
	h.resident--
}

// unspillLocked drops the spilled events of a user or session.
func (h *histories) unspillLocked(id string, session bool) {
	if h.spill != nil {
		h.spill.remove(spillKey(id, session))
	}
}

// evictLocked evicts rows until at most maxLive remain.
func (h *histories) evictLocked() {
	if h.spill == nil {
		return
	}
	for h.resident > h.maxLive && h.rows > 0 {
		// Two sweeps clear every reference bit, so one finds a victim.
		victim := int32(-1)
		for range 2 * h.rows {
			r := h.hand
			h.hand = (h.hand + 1) % h.rows
			if h.rowKey[r] == "" {
				continue
			}
			if h.ref[r] != 0 {
				h.ref[r] = 0
				continue
			}
			victim = r
			break
		}
		if victim < 0 || h.evictRowLocked(victim) != nil {
			return
		}
	}
	if err := h.spill.compactIfWasteful(); err != nil {
		h.spillErrors++
	}
}

// evictRowLocked writes row r's events to the spill file and frees it. On
// a write error the row stays.
func (h *histories) evictRowLocked(r int32) error {
	id, session := h.rowKey[r], h.rowFlags[r]&rowSession != 0
	key := spillKey(id, session)
	evs := h.appendRowLocked(nil, r)
	if h.rowFlags[r]&rowSpilled != 0 {
		var err error
		if evs, err = h.mergeSpilledLocked(evs, key); err != nil {
			h.spillErrors++
			return err
		}
	}
	if err := h.spill.put(key, evs); err != nil {
		h.spillErrors++
		return err
	}
	if session {
		delete(h.sessions, id)
	} else {
		delete(h.users, id)
	}
	h.freeRowLocked(r)
	return nil
}

// mergeSpilledLocked returns key's spilled events followed by evs, in time
// order, the newest maxPerUser, and removes the spilled record.
func (h *histories) mergeSpilledLocked(evs []hevent, key string) ([]hevent, error) {
	old, found, err := h.spill.take(nil, key)
	if err != nil || !found {
		return evs, err
	}
	all := append(old, evs...)
	slices.SortStableFunc(all, func(a, b hevent) int { return cmp.Compare(a.time, b.time) })
	if len(all) > h.maxPerUser {
		all = all[len(all)-h.maxPerUser:]
	}
	return all, nil
}

// takeSpilledSessionLocked appends the spilled events of an anonymous
// session that a user just signed in from to dst and forgets the session.
func (h *histories) takeSpilledSessionLocked(dst []hevent, session string) []hevent {
	if h.spill == nil {
		return dst
	}
	out, _, err := h.spill.take(dst, spillKey(session, true))
	if err != nil {
		h.spillErrors++
		return dst
	}
	return out
}

// userCapped is user for capped histories: a user (or session) evicted
// earlier is brought back from the spill file, which may evict another.
func (h *histories) userCapped(dst []hevent, id string) []hevent {
	h.mu.RLock()
	r, session, ok := h.rowOfLocked(id)
	if ok && h.rowFlags[r]&rowSpilled == 0 {
		h.touchLocked(r)
		out := h.appendRowLocked(dst, r)
		h.mu.RUnlock()
		return out
	}
	spilled := ok || h.spill.has(spillKey(id, false)) || h.spill.has(spillKey(id, true))
	h.mu.RUnlock()
	if !spilled {
		return dst
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if r, session, ok = h.rowOfLocked(id); !ok {
		// Evicted: bring the user (else the session) back.
		var evs []hevent
		var found bool
		var err error
		for _, session = range []bool{false, true} {
			if evs, found, err = h.spill.take(nil, spillKey(id, session)); err != nil {
				h.spillErrors++
				return dst
			} else if found {
				break
			}
		}
		if !found {
			return dst
		}
		r = h.newRowLocked(id, session)
		if session {
			h.sessions[id] = r
		} else {
			h.users[id] = r
		}
		h.rowFlags[r] &^= rowSpilled
		h.live[r] = evs
	} else if h.rowFlags[r]&rowSpilled != 0 {
		// Events arrived while it was evicted: put the older ones first.
		evs, err := h.mergeSpilledLocked(h.live[r], spillKey(id, session))
		if err != nil {
			return h.appendRowLocked(dst, r)
		}
		h.live[r] = evs
		h.rowFlags[r] &^= rowSpilled
	}
	out := h.appendRowLocked(dst, r)
	h.evictLocked()
	return out
}

// rowOfLocked finds the row of a user id, else of a session id.
func (h *histories) rowOfLocked(id string) (r int32, session, ok bool) {
	if r, ok := h.users[id]; ok {
		return r, false, true
	}
	if r, ok := h.sessions[id]; ok {
		return r, true, true
	}
	return 0, false, false
}
