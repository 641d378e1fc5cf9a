package serving

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"

	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/filter"
	"github.com/attune-dev/attune/internal/schema"
)

// FilterSource resolves filter ARNs for requests (package campaign's
// Filters, wired by cmd/attune). Both methods are safe for concurrent use.
type FilterSource interface {
	// Resolve returns an ACTIVE filter's dataset group ARN and parsed
	// expression. It is called on every filtered request, so it should
	// answer from memory. Errors: errs.NotFound for an unknown filter,
	// errs.Invalid for a malformed ARN or a filter that is not ACTIVE.
	Resolve(ctx context.Context, filterARN string) (group string, f *filter.Filter, err error)
	// Schemas returns the fields of a dataset group's Items and Users
	// datasets; called only when a filter catalogue is (re)built.
	Schemas(ctx context.Context, groupARN string) (filter.Schemas, error)
}

// Promotion is one entry of GetRecommendations' promotions.
type Promotion struct {
	Name string
	// Percent is percentPromotedItems, 1..100: the share of the list
	// (rounded up) filled with items that pass the promotion's filter.
	Percent      int
	FilterARN    string
	FilterValues map[string]string
}

// Request-shape limits (personalize-api.md Appendix B).
const (
	MaxContextEntries  = 150
	MaxContextValueLen = 1000
	MaxPromotions      = 1
)

var contextKey = regexp.MustCompile(`^[A-Za-z\d_]{1,150}$`)

// checkContext validates the context map as the runtime model constrains
// it. Serving checks it itself because batch jobs and recommenders call it
// without the HTTP layer.
func checkContext(c map[string]string) error {
	if len(c) > MaxContextEntries {
		return errs.E(errs.Invalid, "context: at most %d entries, got %d", MaxContextEntries, len(c))
	}
	for k, v := range c {
		if !contextKey.MatchString(k) {
			return errs.E(errs.Invalid, "context: key %s must match [A-Za-z\\d_]{1,150}", errs.Quote(k))
		}
		if len(v) > MaxContextValueLen {
			return errs.E(errs.Invalid, "context[%s]: value longer than %d characters", k, MaxContextValueLen)
		}
	}
	return nil
}

// filterEnv is a deployment's filter.Env over its model's items (so a
// catalogue index is a model item index) and the group's users, built from
// the item and user catalogues it names; it is rebuilt when either changes.
type filterEnv struct {
	items, users *corpus.Entities
	env          *filter.Env
}

// envFor returns the deployment's filter Env for the group's current
// catalogues, building it on first use after they changed. Building reads
// the schemas once and folds each catalogue into columns: O(items + users).
func (s *Service) envFor(ctx context.Context, l *loaded) (*filter.Env, error) {
	items, users := l.g.catalog.Load(), l.g.users.Load()
	if fe := l.fenv.Load(); fe != nil && fe.items == items && fe.users == users {
		return fe.env, nil
	}
	l.fenvMu.Lock()
	defer l.fenvMu.Unlock()
	if fe := l.fenv.Load(); fe != nil && fe.items == items && fe.users == users {
		return fe.env, nil
	}
	sch, err := s.opts.Filters.Schemas(ctx, l.d.Group)
	if err != nil {
		return nil, err
	}
	env := filter.NewEnv(catalogOver(l.items, sch.Items, items), catalogOver(entityIDs(users), sch.Users, users), nil, filter.EnvOptions{})
	l.fenv.Store(&filterEnv{items: items, users: users, env: env})
	return env, nil
}

func entityIDs(e *corpus.Entities) []string {
	if e == nil {
		return nil
	}
	return e.IDs
}

// catalogOver builds a filter catalogue over ids from the entities' latest
// rows, reordering each row from the stored column order to the schema's.
func catalogOver(ids []string, fields []schema.Field, e *corpus.Entities) *filter.Catalog {
	pos := make([]int, len(fields))
	for i, f := range fields {
		pos[i] = -1
		if e != nil {
			pos[i] = e.FieldIndex(f.Name)
		}
	}
	return filter.NewCatalog(ids, fields, func(id string) []schema.Value {
		if e == nil {
			return nil
		}
		idx, ok := e.Index[id]
		if !ok {
			return nil
		}
		row := e.Values[idx]
		// NewCatalog keeps every row until it has read them all, so each
		// needs its own slice.
		buf := make([]schema.Value, len(fields))
		for i, p := range pos {
			buf[i] = schema.Value{Null: true}
			if p >= 0 && p < len(row) {
				buf[i] = row[p]
			}
		}
		return buf
	})
}

// compileFilter resolves and compiles a request's (or promotion's) filter
// for the deployment. member names the request member in errors.
func (s *Service) compileFilter(ctx context.Context, l *loaded, member, filterARN string, values map[string]string) (*filter.Compiled, error) {
	dctx, cancel := context.WithTimeout(ctx, s.opts.StoreTimeout)
	defer cancel()
	c, err := s.compileFilterBounded(dctx, l, member, filterARN, values)
	if err != nil && ctx.Err() == nil && errors.Is(dctx.Err(), context.DeadlineExceeded) &&
		(errors.Is(err, context.DeadlineExceeded) || errs.KindOf(err) == errs.Internal) {
		s.log.WarnContext(ctx, "store did not answer within the store timeout", "filter", filterARN, "timeout", s.opts.StoreTimeout, "err", err)
		return nil, errs.E(errs.Busy, "the data store did not answer within %s; retry shortly", s.opts.StoreTimeout)
	}
	return c, err
}

// compileFilterBounded is compileFilter under the store deadline.
func (s *Service) compileFilterBounded(ctx context.Context, l *loaded, member, filterARN string, values map[string]string) (*filter.Compiled, error) {
	if s.opts.Filters == nil {
		return nil, errs.E(errs.NotFound, "Could not find filter %s", filterARN)
	}
	group, f, err := s.opts.Filters.Resolve(ctx, filterARN)
	if err != nil {
		return nil, err
	}
	if group != l.d.Group {
		return nil, errs.E(errs.Invalid, "%s: filter %s belongs to dataset group %s, but %s serves dataset group %s",
			member, filterARN, group, l.d.Campaign, l.d.Group)
	}
	if f.Target() != "ItemID" {
		return nil, errs.E(errs.Invalid, "%s: filter %s filters %s; recommendations need an ItemID filter", member, filterARN, f.Target())
	}
	vals, err := filter.ParseValues(values)
	if err != nil {
		return nil, err
	}
	env, err := s.envFor(ctx, l)
	if err != nil {
		return nil, err
	}
	c, err := f.Compile(env, vals)
	if err != nil {
		if errs.KindOf(err) == errs.Invalid && !strings.Contains(errs.Message(err), "filterValues") {
			return nil, errs.Wrap(errs.Invalid, err, "filterValues for %s: %s", filterARN, errs.Message(err))
		}
		return nil, err
	}
	return c, nil
}

// filterContext is what a filter tests per request: the user, the anchor
// item, and the user's interactions per event type as model item indexes,
// newest first (live PutEvents included, so a purchase just sent counts).
func (l *loaded) filterContext(userID, itemID string, u *userEvents) filter.Context {
	fc := filter.Context{UserID: userID, ItemID: itemID}
	if u == nil || len(u.raw) == 0 {
		return fc
	}
	fc.Events = map[string][]int32{}
	for i := len(u.raw) - 1; i >= 0; i-- {
		e := u.raw[i]
		it := u.modelItem(l, e.item)
		if it < 0 {
			continue
		}
		name := u.eventName(e.event)
		fc.Events[name] = append(fc.Events[name], it)
	}
	return fc
}

// excludedByEvents returns the model items the user had one of the
// deployment's ExcludeEventTypes with, sorted; nil when there are none.
func (l *loaded) excludedByEvents(u *userEvents) []int32 {
	if len(l.d.ExcludeEventTypes) == 0 || u == nil {
		return nil
	}
	var out []int32
	for _, e := range u.raw {
		name := u.eventName(e.event)
		if !slices.ContainsFunc(l.d.ExcludeEventTypes, func(t string) bool { return strings.EqualFold(t, name) }) {
			continue
		}
		if it := u.modelItem(l, e.item); it >= 0 {
			out = append(out, it)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
