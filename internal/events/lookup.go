package events

import "context"

// TrackerByTrackingID returns the event tracker that PutEvents calls with
// this trackingId reach, so that the API can authorize a call on the
// tracker's ARN. Unknown ids are errs.NotFound. Safe for concurrent use.
func (s *Service) TrackerByTrackingID(ctx context.Context, trackingID string) (*Tracker, error) {
	return s.byTrackingID(ctx, trackingID)
}
