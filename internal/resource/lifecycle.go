package resource

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/store"
)

// Lifecycle statuses Personalize reports for its resources.
const (
	StatusCreatePending    = "CREATE PENDING"
	StatusCreateInProgress = "CREATE IN_PROGRESS"
	StatusActive           = "ACTIVE"
	StatusDeletePending    = "DELETE PENDING"
	StatusDeleteInProgress = "DELETE IN_PROGRESS"
)

// Usable reports whether a resource whose creation is bookkeeping only (a
// dataset group, dataset, solution, event tracker) may be used by the next
// call. Such a resource still shows CREATE PENDING and then ACTIVE to
// Describe, as Personalize's do, but nothing is left to do before it can be
// used, and Personalize accepts, say, CreateSolutionVersion right after
// CreateSolution: a fast client must not get ResourceInUseException for
// not having waited. A resource being deleted is not usable.
func Usable(status string) bool {
	return status == StatusActive || status == StatusCreatePending || status == StatusCreateInProgress
}

// Deleting reports whether a resource is on its way out (DELETE PENDING or
// DELETE IN_PROGRESS): Describe and List still show it, nothing may use it.
func Deleting(status string) bool {
	return status == StatusDeletePending || status == StatusDeleteInProgress
}

// DeletePendingFor is how long a deleted dataset group, solution or campaign
// stays visible as DELETE PENDING before it is removed. Personalize shows
// that phase for seconds to minutes, and clients rely on it: AWS's own
// clean-up code calls Describe right after Delete and treats a successful
// answer as "deletion under way". One second keeps a polling loop short.
const DeletePendingFor = time.Second

// MarkDeleting moves a resource to DELETE PENDING after check (run on the
// stored resource, under the update's retry) accepts it. A resource already
// being deleted is errs.InUse, as Personalize answers.
func (k Kind[T, P]) MarkDeleting(ctx context.Context, st store.Resources, arn string, now func() time.Time, check func(P) error) (P, error) {
	return k.Update(ctx, st, arn, now, func(v P) error {
		m := v.meta()
		if Deleting(m.Status) {
			return errs.E(errs.InUse, "%s %s is already being deleted (%s)", k.Name, arn, m.Status)
		}
		if check != nil {
			if err := check(v); err != nil {
				return err
			}
		}
		m.Status = StatusDeletePending
		return nil
	})
}

// Reap finishes the deletions of this kind: each resource DELETE PENDING
// for at least after moves to DELETE IN_PROGRESS and finish removes it (and
// whatever belongs to it). A resource left DELETE IN_PROGRESS by a restart
// is finished too. Errors of one resource are returned after the others
// were tried; it is called again at the next round.
func (k Kind[T, P]) Reap(ctx context.Context, st store.Resources, now func() time.Time, after time.Duration, finish func(context.Context, P) error) error {
	all, err := k.All(ctx, st, "", StatusDeletePending, StatusDeleteInProgress)
	if err != nil {
		return err
	}
	var first error
	for _, v := range all {
		m := v.meta()
		if m.Status == StatusDeletePending {
			if now().Sub(m.Updated) < after {
				continue
			}
			if v, err = k.Update(ctx, st, m.ARN, now, func(v P) error {
				if v.meta().Status != StatusDeletePending {
					return errs.E(errs.InUse, "%s %s is %s", k.Name, m.ARN, v.meta().Status)
				}
				v.meta().Status = StatusDeleteInProgress
				return nil
			}); err != nil {
				if kind := errs.KindOf(err); kind == errs.NotFound || kind == errs.InUse {
					continue // finished by someone else meanwhile
				}
				first = cmp.Or(first, err)
				continue
			}
		}
		if err := finish(ctx, v); err != nil && errs.KindOf(err) != errs.NotFound {
			first = cmp.Or(first, fmt.Errorf("finish deleting %s %s: %w", k.Name, m.ARN, err))
		}
	}
	return first
}
