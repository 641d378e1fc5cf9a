package events

import (
	"context"
	"errors"
	"time"

	"github.com/attune-dev/attune/internal/errs"
)

// Metrics receives what the events API did (metrics.Metrics implements it).
// Its methods must be safe for concurrent use and must not block.
type Metrics interface {
	// EventsIngested counts n events of a PutEvents call made durable.
	EventsIngested(n int)
	// EventsRejected counts n events of a failed PutEvents call; reason is
	// one of the Reject* constants.
	EventsRejected(reason string, n int)
	// EventEffectLag records the time from a PutEvents call's arrival until
	// its events were durable and handed to serving.
	EventEffectLag(d time.Duration)
}

// Reasons a PutEvents call fails, as EventsRejected reports them.
const (
	RejectInvalid     = "invalid"     // bad input, inactive tracker or dataset
	RejectNotFound    = "not_found"   // unknown trackingId
	RejectThrottled   = "throttled"   // tracker rate limit or full write queue
	RejectUnavailable = "unavailable" // shutting down
	RejectCanceled    = "canceled"    // the caller went away before the answer
	RejectInternal    = "internal"    // the store failed
)

// noMetrics records nothing.
type noMetrics struct{}

func (noMetrics) EventsIngested(int)           {}
func (noMetrics) EventsRejected(string, int)   {}
func (noMetrics) EventEffectLag(time.Duration) {}

// rejectReason classifies a PutEvents error into a bounded set of reasons.
func rejectReason(err error) string {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return RejectCanceled
	}
	switch errs.KindOf(err) {
	case errs.Invalid, errs.InUse:
		return RejectInvalid
	case errs.NotFound:
		return RejectNotFound
	case errs.Busy:
		return RejectThrottled
	case errs.Unavailable:
		return RejectUnavailable
	}
	return RejectInternal
}

// countEvents records the outcome of a PutEvents call of n events; it is
// deferred with a pointer to the call's error.
func (s *Service) countEvents(n int, err *error) {
	if *err != nil {
		s.opts.Metrics.EventsRejected(rejectReason(*err), n)
		return
	}
	s.opts.Metrics.EventsIngested(n)
}
