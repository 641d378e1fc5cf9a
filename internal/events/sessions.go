package events

import (
	"context"
	"fmt"
	"sync"
)

// sessionUser returns the user a session of group is linked to, or "": from
// the cache, else from the store (a link made on another replica, or
// before a restart), which it then caches. Unlinked sessions are not
// cached, so a link made elsewhere is seen at the next call.
func (s *Service) sessionUser(ctx context.Context, group, session string) (string, error) {
	if u := s.sessions.user(group, session); u != "" {
		return u, nil
	}
	u, err := s.st.SessionUser(ctx, group, session)
	if err != nil {
		return "", fmt.Errorf("events: read the user of session %s: %w", session, err)
	}
	if u != "" {
		s.sessions.put(group, session, u)
	}
	return u, nil
}

// sessionKey is a session of one dataset group.
type sessionKey struct{ group, session string }

// sessionMap caches which user an anonymous session turned out to be (the
// store keeps every link), so that later anonymous events of the session
// are stored as the user's without a read. It holds at most max sessions
// and forgets the oldest first; it is safe for concurrent use.
type sessionMap struct {
	// mu guards the fields below.
	mu    sync.Mutex
	users map[sessionKey]string
	order ring[sessionKey]
}

func newSessionMap(max int) *sessionMap {
	return &sessionMap{users: map[sessionKey]string{}, order: ring[sessionKey]{max: max}}
}

// user returns the user a session belongs to, or "".
func (m *sessionMap) user(group, session string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.users[sessionKey{group, session}]
}

// put ties a session to a user; a later put with another user wins.
func (m *sessionMap) put(group, session, user string) {
	k := sessionKey{group, session}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[k]; ok {
		m.users[k] = user
		return
	}
	if old, ok := m.order.add(k); ok {
		delete(m.users, old)
	}
	m.users[k] = user
}

// forget drops the links of a group's sessions that belong to users, or
// are listed in sessions. Their slots in order stay until the ring reaches
// them; a session linked again meanwhile may then be forgotten early,
// which only costs a later anonymous event its attribution.
func (m *sessionMap) forget(group string, users, sessions map[string]struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, u := range m.users {
		if k.group != group {
			continue
		}
		_, byUser := users[u]
		_, bySession := sessions[k.session]
		if byUser || bySession {
			delete(m.users, k)
		}
	}
}
