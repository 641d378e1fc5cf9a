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
// whatever belongs to it); finish returns errs.InUse to be called again at
// the next round (children still leaving). A resource left DELETE
// IN_PROGRESS by a restart is finished too. Errors of one resource are returned after the others
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
		switch err := finish(ctx, v); errs.KindOf(err) {
		case errs.NotFound, errs.InUse:
			// Gone already, or waiting for its children to go: retried
			// at the next round.
		default:
			if err != nil {
				first = cmp.Or(first, fmt.Errorf("finish deleting %s %s: %w", k.Name, m.ARN, err))
			}
		}
	}
	return first
}

// Children reports, among the resources of kind under parent, the ARN of
// one that is not being deleted ("" when none) and, when there is none,
// whether any that is being deleted remains. A delete is refused while a blocking child
// exists, but may start while children are on their way out: clean-up
// code deletes campaigns, then solutions, then the dataset group without
// waiting in between, and the parent is removed once they are gone.
func Children(ctx context.Context, st store.Resources, kind, parent string) (blocking string, leaving bool, err error) {
	token := ""
	for {
		page, next, err := st.ListResources(ctx, store.ListQuery{Kind: kind, Parent: parent, PageToken: token, Limit: 100})
		if err != nil {
			return "", false, fmt.Errorf("list %s of %s: %w", kind, parent, err)
		}
		for _, r := range page {
			if !Deleting(r.Status) {
				return r.ARN, leaving, nil
			}
			leaving = true
		}
		if next == "" {
			return "", leaving, nil
		}
		token = next
	}
}
