package campaign

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/filter"
	"github.com/attune-dev/attune/internal/quota"
	"github.com/attune-dev/attune/internal/resource"
	"github.com/attune-dev/attune/internal/store"
)

// Filter is a Personalize filter: a filter expression of one dataset group.
// Meta.Parent is the dataset group ARN, so that DeleteDatasetGroup sees the
// filter as a child that must be deleted first.
type Filter struct {
	resource.Meta
	GroupARN      string
	Expression    string
	FailureReason string
	Tags          map[string]string
}

var filters = resource.Kind[Filter, *Filter]{Name: arn.Filter}

// GroupSchemas reads what filters are validated against (package dataset,
// wired by cmd/attune). Errors: errs.NotFound for an unknown dataset group.
// Safe for concurrent use.
type GroupSchemas interface {
	// FilterSchemas returns the fields of the group's Items and Users
	// datasets (a nil slice when the group has no such dataset).
	FilterSchemas(ctx context.Context, groupARN string) (filter.Schemas, error)
}

// Filters implements CreateFilter, DescribeFilter, ListFilters and
// DeleteFilter, moves created filters to ACTIVE in Run, and resolves
// ACTIVE filters for serving (Resolve) from an in-memory table, so the
// recommendation hot path reads no store. Safe for concurrent use.
type Filters struct {
	st      store.Resources
	schemas GroupSchemas
	opts    Options
	now     func() time.Time
	log     *slog.Logger
	kick    chan struct{}

	// mu guards the fields below.
	mu     sync.RWMutex
	parsed map[string]resolved // ACTIVE filters by ARN
}

// resolved is an ACTIVE filter as serving needs it.
type resolved struct {
	group string
	f     *filter.Filter
}

// NewFilters returns the filter service; call Run to activate filters.
func NewFilters(st store.Resources, schemas GroupSchemas, opts Options, now func() time.Time, log *slog.Logger) *Filters {
	if opts.Poll <= 0 {
		opts.Poll = 2 * time.Second
	}
	return &Filters{st: st, schemas: schemas, opts: opts, now: now, log: log, kick: make(chan struct{}, 1), parsed: map[string]resolved{}}
}

// CreateFilterInput is the input of Create.
type CreateFilterInput struct {
	Name, GroupARN, Expression string
	Tags                       map[string]string
}

// Create parses the expression, validates it against the dataset group's
// Items and Users schemas and stores the filter in CREATE PENDING; Run
// makes it ACTIVE. Errors: errs.Invalid (name, ARN, or an expression
// error that gives the position and what was expected), errs.NotFound
// (dataset group), errs.LimitExceeded (Options.Quotas),
// errs.AlreadyExists.
func (fs *Filters) Create(ctx context.Context, in CreateFilterInput) (*Filter, error) {
	if err := arn.CheckName("name", in.Name); err != nil {
		return nil, err
	}
	if _, err := arn.Expect("datasetGroupArn", in.GroupARN, arn.DatasetGroup, 1); err != nil {
		return nil, err
	}
	if in.Expression == "" {
		return nil, errs.E(errs.Invalid, "filterExpression is required")
	}
	f, err := filter.Parse(in.Expression)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "filterExpression: %s", errs.Message(err))
	}
	sch, err := fs.schemas.FilterSchemas(ctx, in.GroupARN)
	if err != nil {
		return nil, err
	}
	if err := f.Validate(sch); err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "filterExpression: %s", errs.Message(err))
	}
	n, err := resource.Count(ctx, fs.st, arn.Filter, in.GroupARN)
	if err != nil {
		return nil, err
	}
	if err := fs.opts.Quotas.Check(quota.FiltersPerGroup, n, in.GroupARN); err != nil {
		return nil, err
	}
	t := fs.now()
	out := &Filter{GroupARN: in.GroupARN, Expression: in.Expression, Tags: in.Tags}
	out.Meta = resource.Meta{ARN: fs.opts.Scope.Build(arn.Filter, in.Name), Name: in.Name, Parent: in.GroupARN,
		Status: StatusCreatePending, Created: t, Updated: t}
	if err := filters.Create(ctx, fs.st, out); err != nil {
		return nil, err
	}
	select {
	case fs.kick <- struct{}{}:
	default:
	}
	return out, nil
}

// Get returns a filter. Errors: errs.Invalid (ARN), errs.NotFound.
func (fs *Filters) Get(ctx context.Context, filterARN string) (*Filter, error) {
	if _, err := arn.Expect("filterArn", filterARN, arn.Filter, 1); err != nil {
		return nil, err
	}
	return filters.Get(ctx, fs.st, filterARN)
}

// List lists the filters of a dataset group ("" = all), newest first.
func (fs *Filters) List(ctx context.Context, groupARN, token string, limit int) ([]*Filter, string, error) {
	if groupARN != "" {
		if _, err := arn.Expect("datasetGroupArn", groupARN, arn.DatasetGroup, 1); err != nil {
			return nil, "", err
		}
	}
	return filters.List(ctx, fs.st, groupARN, token, limit)
}

// Delete deletes a filter; requests naming it fail from then on.
func (fs *Filters) Delete(ctx context.Context, filterARN string) error {
	if _, err := fs.Get(ctx, filterARN); err != nil {
		return err
	}
	if err := filters.Delete(ctx, fs.st, filterARN); err != nil {
		return err
	}
	fs.mu.Lock()
	delete(fs.parsed, filterARN)
	fs.mu.Unlock()
	return nil
}

// Resolve returns an ACTIVE filter's dataset group and parsed expression
// (serving's FilterSource). Known filters are answered from memory.
// Errors: errs.Invalid for a malformed ARN or a filter that is not ACTIVE
// yet, errs.NotFound for an unknown one.
func (fs *Filters) Resolve(ctx context.Context, filterARN string) (string, *filter.Filter, error) {
	fs.mu.RLock()
	r, ok := fs.parsed[filterARN]
	fs.mu.RUnlock()
	if ok {
		return r.group, r.f, nil
	}
	f, err := fs.Get(ctx, filterARN)
	if err != nil {
		return "", nil, err
	}
	if f.Status == StatusCreatePending {
		// Validating a filter is quick: a client that uses it right after
		// CreateFilter gets it checked now instead of an error.
		if activated, err := fs.activateOne(ctx, f); err != nil {
			return "", nil, err
		} else if activated != nil {
			f = activated
		} else if f, err = fs.Get(ctx, filterARN); err != nil {
			return "", nil, err
		}
	}
	if f.Status != StatusActive {
		return "", nil, errs.E(errs.Invalid, "Filter %s is %s; a filter can be used once it is ACTIVE", filterARN, f.Status)
	}
	r, err = fs.remember(f)
	if err != nil {
		return "", nil, err
	}
	return r.group, r.f, nil
}

// Schemas returns the Items and Users fields of a dataset group, which
// serving needs to build filter catalogues (categorical fields split on
// '|', textual ones left out).
func (fs *Filters) Schemas(ctx context.Context, groupARN string) (filter.Schemas, error) {
	return fs.schemas.FilterSchemas(ctx, groupARN)
}

// remember parses an ACTIVE filter into the in-memory table.
func (fs *Filters) remember(f *Filter) (resolved, error) {
	p, err := filter.Parse(f.Expression)
	if err != nil {
		// Create parsed it; failing now means the stored text was altered.
		return resolved{}, fmt.Errorf("filter %s: stored expression: %w", f.ARN, err)
	}
	r := resolved{group: f.GroupARN, f: p}
	fs.mu.Lock()
	fs.parsed[f.ARN] = r
	fs.mu.Unlock()
	return r, nil
}

// Run moves created filters to ACTIVE (after validating them once more
// against the current schemas, which may have changed through
// UpdateDataset) until ctx is done. It returns nil on cancellation.
func (fs *Filters) Run(ctx context.Context) error {
	tick := time.NewTicker(fs.opts.Poll)
	defer tick.Stop()
	for {
		if err := fs.activate(ctx); err != nil && ctx.Err() == nil {
			fs.log.ErrorContext(ctx, "activate filters", "err", err)
		}
		if err := fs.forgetDeleted(ctx); err != nil && ctx.Err() == nil {
			fs.log.ErrorContext(ctx, "list filters", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-fs.kick:
		case <-tick.C:
		}
	}
}

// forgetDeleted drops parsed filters that are no longer stored: another
// replica sharing the store deleted them (filters never change otherwise),
// so requests naming them fail here too within Options.Poll. A filter
// remembered while the store was read may be dropped too; the next request
// naming it reads it again.
func (fs *Filters) forgetDeleted(ctx context.Context) error {
	all, err := filters.All(ctx, fs.st, "")
	if err != nil {
		return err
	}
	stored := make(map[string]bool, len(all))
	for _, f := range all {
		stored[f.ARN] = true
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for a := range fs.parsed {
		if !stored[a] {
			delete(fs.parsed, a)
		}
	}
	return nil
}

func (fs *Filters) activate(ctx context.Context) error {
	pending, err := filters.All(ctx, fs.st, "", StatusCreatePending)
	if err != nil {
		return err
	}
	for _, f := range pending {
		if _, err := fs.activateOne(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// activateOne validates a CREATE PENDING filter against its group's schemas
// and makes it ACTIVE or CREATE FAILED. It returns the filter as stored
// afterwards, or nil when it was deleted or handled meanwhile.
func (fs *Filters) activateOne(ctx context.Context, f *Filter) (*Filter, error) {
	status, reason := StatusActive, ""
	p, err := filter.Parse(f.Expression)
	if err == nil {
		var sch filter.Schemas
		if sch, err = fs.schemas.FilterSchemas(ctx, f.GroupARN); err == nil {
			err = p.Validate(sch)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errs.KindOf(err) == errs.Internal {
			return nil, fmt.Errorf("filter %s: %w", f.ARN, err) // retried at the next round
		}
		status, reason = StatusCreateFailed, errs.Message(err)
	}
	updated, err := filters.Update(ctx, fs.st, f.ARN, fs.now, func(f *Filter) error {
		if f.Status != StatusCreatePending {
			return errs.E(errs.InUse, "filter %s is %s", f.ARN, f.Status)
		}
		f.Status, f.FailureReason = status, reason
		return nil
	})
	switch {
	case errs.KindOf(err) == errs.NotFound || errs.KindOf(err) == errs.InUse:
		return nil, nil // deleted or handled meanwhile
	case err != nil:
		return nil, err
	}
	if updated.Status == StatusActive {
		if _, err := fs.remember(updated); err != nil {
			return nil, err
		}
	}
	return updated, nil
}
