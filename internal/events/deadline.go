package events

import (
	"context"
	"errors"

	"github.com/attune-dev/attune/internal/errs"
)

// bounded runs one Put* call under Options.StoreTimeout. Every store call
// it makes receives the deadline, and submit stops waiting for the group
// commit when it passes, so a hung or slow store turns into errs.Busy
// (ThrottlingException, which clients retry with back-off) rather than a
// request that never answers. A write whose wait timed out may still
// commit afterwards; a retry with the same eventId is then stored twice
// but counted once (see submit).
func (s *Service) bounded(ctx context.Context, fn func(context.Context) error) error {
	dctx, cancel := context.WithTimeout(ctx, s.opts.StoreTimeout)
	defer cancel()
	err := fn(dctx)
	if err != nil && ctx.Err() == nil && errors.Is(dctx.Err(), context.DeadlineExceeded) &&
		(errors.Is(err, context.DeadlineExceeded) || errs.KindOf(err) == errs.Internal) {
		s.log.WarnContext(ctx, "store did not answer within the store timeout", "timeout", s.opts.StoreTimeout, "err", err)
		return errs.E(errs.Busy, "the data store did not answer within %s; retry shortly", s.opts.StoreTimeout)
	}
	return err
}
