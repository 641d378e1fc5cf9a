package events

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
)

func TestRejectReason(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"bad input", errs.E(errs.Invalid, "eventList[1].itemId is required"), RejectInvalid},
		{"dataset not active", errs.E(errs.InUse, "Dataset is CREATE PENDING"), RejectInvalid},
		{"unknown tracker", errs.E(errs.NotFound, "no tracker"), RejectNotFound},
		{"rate limit", errs.E(errs.Busy, "over its rate limit"), RejectThrottled},
		{"shutting down", errs.E(errs.Unavailable, "shutting down"), RejectUnavailable},
		{"client gone", fmt.Errorf("wait: %w", context.Canceled), RejectCanceled},
		{"store failed", errors.New("disk I/O error"), RejectInternal},
	} {
		if got := rejectReason(tc.err); got != tc.want {
			t.Errorf("rejectReason(%s) = %q, want %q", tc.name, got, tc.want)
		}
	}
}
