package events

import (
	"github.com/attune-dev/attune/internal/errs"
)

// allow takes n events' tokens from the tracker's bucket, or fails with
// errs.Busy when there are not enough: a client over its rate backs off
// (the SDKs retry ThrottlingException) instead of queueing without bound.
// In a cluster the bucket holds this replica's share of the tracker's
// budget (SetRateShare).
func (s *Service) allow(trackerARN string, n int) error {
	if s.limits.Take(trackerARN, n) == 0 {
		return nil
	}
	return errs.E(errs.Busy, "Event tracker %s is over its rate limit of %g events per second; retry later", trackerARN, s.opts.RateLimit)
}

// SetRateShare makes this replica's per-tracker bucket hold share (0 < share
// <= 1) of the configured RateLimit, so that replicas that each take their
// share hold the limit cluster-wide. The burst is shared too but never falls
// below one full PutEvents call (10 events).
func (s *Service) SetRateShare(share float64) {
	if s.opts.RateLimit <= 0 || share <= 0 {
		return
	}
	share = min(share, 1)
	s.limits.SetRate(s.opts.RateLimit*share, max(10, int(float64(s.opts.RateBurst)*share+0.5)))
}
