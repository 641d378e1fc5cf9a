package serving

// Forget makes users of a dataset group unknown to serving, as a data
// deletion job requires: their histories and the anonymous sessions linked
// to them leave the in-memory state at once, the loaded models' factors for
// them are ignored from the next request on (a model trained before the
// deletion still holds them until it is retrained and redeployed, so this
// lasts for as long as the group is loaded), and the group's histories and
// catalogues are rebuilt from the store in the background so that
// popularity counts and Users metadata no longer include them. A user who
// sends events afterwards starts a new history.
func (s *Service) Forget(groupARN string, users, sessions map[string]struct{}) {
	s.mu.Lock()
	g := s.groups[groupARN]
	s.mu.Unlock()
	if g == nil {
		// Nothing of the group is in memory; a later deploy reads the
		// store, which no longer holds the users, and so serves no
		// factors of theirs (see newLoaded).
		return
	}
	g.mu.Lock()
	merged := make(map[string]struct{}, len(users))
	if old := g.forgotten.Load(); old != nil {
		for u := range *old {
			merged[u] = struct{}{}
		}
	}
	for u := range users {
		merged[u] = struct{}{}
	}
	g.forgotten.Store(&merged)
	if h := g.hist.Load(); h != nil {
		h.forget(users, sessions)
	}
	g.mu.Unlock()
	g.histStale.Store(true)
	s.queueReload(g)
}

// isForgotten reports whether Forget was told about a user of the group.
func (g *group) isForgotten(user string) bool {
	f := g.forgotten.Load()
	if f == nil {
		return false
	}
	_, ok := (*f)[user]
	return ok
}

// forget drops the rows of users and sessions: later lookups find nothing,
// and their live events are released. Base rows stay in the arrays,
// unreachable, until the histories are rebuilt.
func (h *histories) forget(users, sessions map[string]struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for u := range users {
		if r, ok := h.users[u]; ok {
			delete(h.users, u)
			h.freeRowLocked(r)
		}
		h.unspillLocked(u, false)
	}
	for sess := range sessions {
		if r, ok := h.sessions[sess]; ok {
			delete(h.sessions, sess)
			h.freeRowLocked(r)
		}
		h.unspillLocked(sess, true)
	}
}

// hasUser reports whether a user has a history row.
func (h *histories) hasUser(id string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	_, ok := h.users[id]
	return ok || (h.spill != nil && h.spill.has(spillKey(id, false)))
}
