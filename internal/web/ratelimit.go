package web

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/ratelimit"
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

// newLoginLimiter returns the failed-sign-in limiter: a token bucket per
// client address that login attempts drain. Each attempt takes a token
// before the credentials are checked and a successful one gives it back
// (Refund), so that a burst of parallel guesses cannot all pass before the
// first failure is counted.
func newLoginLimiter(burst int, refill time.Duration, now func() time.Time) *ratelimit.Keyed {
	if burst <= 0 {
		burst = DefaultLoginBurst
	}
	if refill <= 0 {
		refill = DefaultLoginRefill
	}
	return ratelimit.New(ratelimit.Options{Rate: 1 / refill.Seconds(), Burst: burst, MaxKeys: maxLoginClients, Now: now})
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
