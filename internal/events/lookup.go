package events

import "context"

// TrackerByTrackingID returns the event tracker that PutEvents calls with
// this trackingId reach, so that the API can authorize a call on the
// tracker's ARN. Unknown ids are errs.NotFound; a store that does not
// answer within StoreTimeout (read once, on first use) is errs.Busy. Safe for concurrent use.
func (s *Service) TrackerByTrackingID(ctx context.Context, trackingID string) (*Tracker, error) {
	var t *Tracker
	err := s.bounded(ctx, func(ctx context.Context) (err error) {
		t, err = s.byTrackingID(ctx, trackingID)
		return err
	})
	return t, err
}
