package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/reqlog"
	"github.com/attune-dev/attune/internal/sigv4"
)

const (
	// cookieName holds the session token.
	cookieName = "attune_console"
	// linkTTL is how long a one-time login link stays valid.
	linkTTL = time.Minute
)

// sessions keeps session tokens and one-time login-link tokens in memory,
// each with its expiry and the access key id that signed in (its owner).
type sessions struct {
	now   func() time.Time
	mu    sync.Mutex
	live  map[string]time.Time
	links map[string]time.Time
	owner map[string]string // token (session or link) → access key id
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, live: map[string]time.Time{}, links: map[string]time.Time{}, owner: map[string]string{}}
}

// newToken returns 32 random bytes, URL-safe base64.
func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (s *sessions) add(m map[string]time.Time, ttl time.Duration, owner string) (string, time.Time, error) {
	tok, err := newToken()
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.now()
	exp := now.Add(ttl)
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range m { // prune expired tokens so the maps stay small
		if !now.Before(e) {
			delete(m, k)
			delete(s.owner, k)
		}
	}
	m[tok] = exp
	s.owner[tok] = owner
	return tok, exp, nil
}

// valid returns the owner of a live session token.
func (s *sessions) valid(tok string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.live[tok]
	if ok && !s.now().Before(exp) {
		delete(s.live, tok)
		delete(s.owner, tok)
		return "", false
	}
	return s.owner[tok], ok
}

// redeem consumes a login-link token: it works once, before its expiry, and
// returns the owner of the session that issued it.
func (s *sessions) redeem(tok string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.links[tok]
	owner := s.owner[tok]
	delete(s.links, tok)
	delete(s.owner, tok)
	return owner, ok && s.now().Before(exp)
}

func (s *sessions) remove(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.live, tok)
	delete(s.owner, tok)
}

// checkCredentials reports whether the pair is one of creds, comparing
// secrets in constant time (an unknown key id is compared against a dummy so
// it takes as long as a wrong secret).
func checkCredentials(creds map[string]string, keyID, secret string) bool {
	want, ok := creds[keyID]
	if !ok {
		want = "\x00attune-console-unknown-access-key"
	}
	match := subtle.ConstantTimeCompare([]byte(want), []byte(secret)) == 1
	return ok && keyID != "" && match
}

// startSession creates a session for the access key owner and sets its cookie.
func (c *console) startSession(w http.ResponseWriter, r *http.Request, owner string) error {
	tok, exp, err := c.sessions.add(c.sessions.live, c.opts.SessionTTL, owner)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: tok, Path: "/console/", Expires: exp,
		MaxAge: int(c.opts.SessionTTL / time.Second), HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	return nil
}

func sessionToken(r *http.Request) string {
	if ck, err := r.Cookie(cookieName); err == nil {
		return ck.Value
	}
	return ""
}

// authed rejects requests without a valid session, or whose key has since
// been deleted.
func (c *console) authed(h func(w http.ResponseWriter, r *http.Request) error) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		who, err := c.caller(r)
		if err != nil {
			return err
		}
		if rq := reqlog.From(r.Context()); rq != nil {
			rq.SetAccessKeyID(who.keyID) // lines logged for this request name the signed-in key
		}
		return h(w, r)
	}
}

type loginIn struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

func (c *console) login(w http.ResponseWriter, r *http.Request) error {
	// The limit comes first, so a client that must wait has neither its
	// body read nor its guess checked.
	client := clientAddr(r)
	if wait := c.logins.Take(client, 1); wait > 0 {
		c.opts.Log.WarnContext(r.Context(), "console sign-in refused: too many failures", "client", r.RemoteAddr)
		return tooManyLogins(w, wait)
	}
	var in loginIn
	if err := decode(r, &in); err != nil {
		return err
	}
	if !c.checkLogin(in.AccessKeyID, in.SecretAccessKey) {
		c.opts.Log.WarnContext(r.Context(), "console sign-in failed", "accessKeyId", sigv4.LoggableKeyID(in.AccessKeyID), "client", r.RemoteAddr)
		return errs.E(errs.Unauthenticated, "unknown access key id or wrong secret access key")
	}
	c.logins.Refund(client, 1)
	if err := c.startSession(w, r, in.AccessKeyID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	return nil
}

func (c *console) logout(w http.ResponseWriter, r *http.Request) error {
	if tok := sessionToken(r); tok != "" {
		c.sessions.remove(tok)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/console/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	return nil
}

// loginLink issues a one-time token, valid for linkTTL, that a page opened
// as /console/?session=TOKEN exchanges for a session cookie (for a browser
// started by a script that signed in through the API).
func (c *console) loginLink(w http.ResponseWriter, r *http.Request) error {
	who, err := c.caller(r)
	if err != nil {
		return err
	}
	tok, exp, err := c.sessions.add(c.sessions.links, linkTTL, who.keyID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": tok, "url": "/console/?session=" + tok, "expires": exp.UTC().Format(time.RFC3339)})
	return nil
}

type exchangeIn struct {
	Token string `json:"token"`
}

func (c *console) exchange(w http.ResponseWriter, r *http.Request) error {
	var in exchangeIn
	if err := decode(r, &in); err != nil {
		return err
	}
	owner, ok := c.sessions.redeem(in.Token)
	if in.Token == "" || !ok {
		return errs.E(errs.Unauthenticated, "login link is unknown, used or expired")
	}
	if err := c.startSession(w, r, owner); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	return nil
}
