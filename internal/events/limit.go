package events

import (
	"github.com/attune-dev/attune/internal/errs"
)

// bucket is a token bucket of events for one tracker.
type bucket struct {
	tokens float64
	last   int64 // unix nanos of the last refill
}

// allow takes n events' tokens from the tracker's bucket, or fails with
// errs.Busy when there are not enough: a client over its rate backs off
// (the SDKs retry ThrottlingException) instead of queueing without bound.
func (s *Service) allow(trackerARN string, n int) error {
	rate := s.opts.RateLimit
	if rate <= 0 {
		return nil
	}
	burst := float64(s.opts.RateBurst)
	now := s.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[trackerARN]
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		s.buckets[trackerARN] = b
	}
	if now > b.last {
		b.tokens = min(burst, b.tokens+float64(now-b.last)/1e9*rate)
		b.last = now
	}
	if b.tokens < float64(n) {
		return errs.E(errs.Busy, "Event tracker %s is over its rate limit of %g events per second; retry later", trackerARN, rate)
	}
	b.tokens -= float64(n)
	return nil
}
