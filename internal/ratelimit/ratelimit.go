// Package ratelimit is Attune's one keyed rate limiter: a token bucket of
// golang.org/x/time/rate per key (an event tracker, a client address),
// created on first use, with the number of keys bounded. Callers that must
// hold a limit across several replicas give each replica its share of the
// budget with SetRate.
//
// It imports only the standard library and golang.org/x/time/rate; the
// clock comes in through Options.Now.
package ratelimit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Options configure a Keyed limiter.
type Options struct {
	// Rate is the sustained number of tokens per second of each key; 0 or
	// less means unlimited (Take always succeeds).
	Rate float64
	// Burst is the number of tokens a key may take at once (its bucket
	// size); 0 means max(1, Rate).
	Burst int
	// MaxKeys bounds the keys remembered; beyond it, keys whose bucket is
	// full again (a fresh bucket is the same) are forgotten, and if none is,
	// arbitrary ones. 0 means 100,000.
	MaxKeys int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Keyed is a token bucket per key. All methods are safe for concurrent use.
type Keyed struct {
	now     func() time.Time
	maxKeys int

	// mu guards the fields below.
	mu    sync.Mutex
	limit rate.Limit
	burst int
	keys  map[string]*rate.Limiter
}

// New returns a limiter with every key's bucket full.
func New(o Options) *Keyed {
	if o.MaxKeys <= 0 {
		o.MaxKeys = 100_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	k := &Keyed{now: o.Now, maxKeys: o.MaxKeys, keys: map[string]*rate.Limiter{}}
	k.limit, k.burst = limitOf(o.Rate, o.Burst)
	return k
}

func limitOf(perSecond float64, burst int) (rate.Limit, int) {
	if perSecond <= 0 {
		return rate.Inf, 0
	}
	if burst <= 0 {
		burst = max(1, int(math.Ceil(perSecond)))
	}
	return rate.Limit(perSecond), burst
}

// Unlimited reports whether every Take succeeds.
func (k *Keyed) Unlimited() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.limit == rate.Inf
}

// Rate returns the current tokens per second and burst of each key (0, 0
// when unlimited).
func (k *Keyed) Rate() (perSecond float64, burst int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.limit == rate.Inf {
		return 0, 0
	}
	return float64(k.limit), k.burst
}

// SetRate changes the rate and burst of every key, existing and future,
// from now on (tokens already in a bucket above the new burst are dropped
// at the next Take). perSecond <= 0 means unlimited.
func (k *Keyed) SetRate(perSecond float64, burst int) {
	l, b := limitOf(perSecond, burst)
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if l == k.limit && b == k.burst {
		return
	}
	k.limit, k.burst = l, b
	for _, lim := range k.keys {
		lim.SetLimitAt(now, l)
		lim.SetBurstAt(now, b)
	}
}

// Take takes n tokens from key's bucket and returns 0, or takes nothing and
// returns how long until n tokens will be there. When n exceeds the burst
// it can never succeed and returns math.MaxInt64.
func (k *Keyed) Take(key string, n int) (wait time.Duration) {
	// The clock is read under the lock: rate.Limiter moves its notion of
	// "last" back when handed an earlier time than a previous call's, and
	// then counts the time in between twice, so concurrent callers must
	// reach it in the order of their timestamps.
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	lim := k.limiterLocked(key, now)
	if lim == nil {
		return 0
	}
	r := lim.ReserveN(now, n)
	if !r.OK() {
		return math.MaxInt64
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// Refund gives back n tokens that Take took for key, up to the burst: a
// login attempt that turned out right, say.
func (k *Keyed) Refund(key string, n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if lim := k.keys[key]; lim != nil {
		// rate.Limiter has no refund; reserving -n tokens adds n (a
		// Reservation's CancelAt only restores tokens before its time to
		// act has passed). The limiter caps its tokens at the burst again
		// at its next use.
		lim.ReserveN(k.now(), -n)
	}
}

// limiterLocked returns key's limiter, creating it with a full bucket, or
// nil when the limiter is unlimited.
func (k *Keyed) limiterLocked(key string, now time.Time) *rate.Limiter {
	if k.limit == rate.Inf {
		return nil
	}
	lim := k.keys[key]
	if lim == nil {
		if len(k.keys) >= k.maxKeys {
			k.pruneLocked(now)
		}
		lim = rate.NewLimiter(k.limit, k.burst)
		k.keys[key] = lim
	}
	return lim
}

// pruneLocked forgets keys whose bucket is full again and, if that frees
// nothing, arbitrary ones, so that many keys cannot grow the map without
// bound.
func (k *Keyed) pruneLocked(now time.Time) {
	for key, lim := range k.keys {
		if lim.TokensAt(now) >= float64(k.burst) {
			delete(k.keys, key)
		}
	}
	for key := range k.keys {
		if len(k.keys) < k.maxKeys {
			break
		}
		delete(k.keys, key)
	}
}

// Len returns the number of keys remembered.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.keys)
}

// Forget drops key's bucket (a deleted tracker); a later Take starts full.
func (k *Keyed) Forget(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.keys, key)
}
