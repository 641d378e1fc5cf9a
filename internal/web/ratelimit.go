package web

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/attune-dev/attune/internal/errs"
)

// Console login limits: a client address may fail DefaultLoginBurst logins
// in a row, then one more every DefaultLoginRefill, which turns a guessing
// attack from thousands of tries a second into a few a minute while a
// person who mistyped a secret is not held up.
const (
	DefaultLoginBurst  = 5
	DefaultLoginRefill = 10 * time.Second
	// maxLoginClients bounds the limiter's memory; beyond it, clients whose
	// bucket has refilled are forgotten.
	maxLoginClients = 10000
)

// loginLimiter is a token bucket per client IP that only failed logins
// drain: a request that finds its bucket empty is refused before the
// credentials are checked. It is safe for concurrent use.
type loginLimiter struct {
	burst  float64
	refill time.Duration
	now    func() time.Time

	// mu guards the field below.
	mu      sync.Mutex
	clients map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

func newLoginLimiter(burst int, refill time.Duration, now func() time.Time) *loginLimiter {
	if burst <= 0 {
		burst = DefaultLoginBurst
	}
	if refill <= 0 {
		refill = DefaultLoginRefill
	}
	return &loginLimiter{burst: float64(burst), refill: refill, now: now, clients: map[string]*bucket{}}
}

// levelLocked brings b's tokens up to now.
func (l *loginLimiter) levelLocked(b *bucket, now time.Time) {
	b.tokens = math.Min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.refill))
	b.at = now
}

// wait returns how long the client must wait before its next login
// attempt; 0 means it may try now.
func (l *loginLimiter) wait(client string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.clients[client]
	if !ok {
		return 0
	}
	now := l.now()
	l.levelLocked(b, now)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(l.refill))
}

// failed takes a token from the client's bucket.
func (l *loginLimiter) failed(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.clients[client]
	if !ok {
		if len(l.clients) >= maxLoginClients {
			l.pruneLocked(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.clients[client] = b
	}
	l.levelLocked(b, now)
	b.tokens = math.Max(0, b.tokens-1)
}

// pruneLocked forgets clients whose bucket is full again: for them a fresh
// bucket is the same.
func (l *loginLimiter) pruneLocked(now time.Time) {
	for k, b := range l.clients {
		l.levelLocked(b, now)
		if b.tokens >= l.burst {
			delete(l.clients, k)
		}
	}
}

// clientAddr is the IP of the request's peer (not of any forwarding header,
// which the client controls).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// tooManyLogins is the error for a client that must wait; it sets
// Retry-After on w in whole seconds, rounded up.
func tooManyLogins(w http.ResponseWriter, wait time.Duration) error {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return errs.E(errs.Busy, "too many failed sign-ins from this address: try again in %d seconds", secs)
}
