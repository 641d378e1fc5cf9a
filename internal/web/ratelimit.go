package web

import (
	"math"
	"net"
	"net/http"
	"net/netip"
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

// loginLimiter is a token bucket per client address that failed logins
// drain. Each attempt takes a token before the credentials are checked and
// a successful one gives it back, so that a burst of parallel guesses
// cannot all pass before the first failure is counted. It is safe for
// concurrent use.
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

// take takes a token for a login attempt from client and returns 0, or
// returns how long the client must wait when its bucket is empty.
func (l *loginLimiter) take(client string) time.Duration {
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
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) * float64(l.refill))
	}
	b.tokens--
	return 0
}

// refund gives back the token of an attempt that succeeded.
func (l *loginLimiter) refund(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.clients[client]; ok {
		l.levelLocked(b, l.now())
		b.tokens = math.Min(l.burst, b.tokens+1)
	}
}

// pruneLocked forgets clients whose bucket is full again (for them a fresh
// bucket is the same) and, if that frees nothing, one client at random, so
// that many addresses cannot grow the map without bound.
func (l *loginLimiter) pruneLocked(now time.Time) {
	for k, b := range l.clients {
		l.levelLocked(b, now)
		if b.tokens >= l.burst {
			delete(l.clients, k)
		}
	}
	for k := range l.clients {
		if len(l.clients) < maxLoginClients {
			break
		}
		delete(l.clients, k)
	}
}

// clientAddr is the address a client's sign-ins are counted under: the
// peer's IP (not a forwarding header, which the client controls), and for
// IPv6 its /64, which one host can usually draw addresses from at will.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
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
