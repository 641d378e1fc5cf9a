// Package resource stores typed control-plane resources in a store.Resources,
// so that each domain package keeps its own struct and gets create, get,
// update-with-retry and list without repeating the encoding. Bodies are JSON
// of the domain struct (domain types carry no json tags, so field names are
// the Go names; renaming a field is a storage migration).
package resource

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/store"
)

// Meta is the envelope every typed resource shares with the store.
type Meta struct {
	ARN     string
	Name    string
	Parent  string
	Status  string
	Created time.Time
	Updated time.Time
}

// Typed is implemented by domain resource structs that embed Meta.
type Typed interface {
	meta() *Meta
}

func (m *Meta) meta() *Meta { return m }

// Kind binds a Go type to a store kind name.
type Kind[T any, P interface {
	*T
	Typed
}] struct {
	Name string // store kind, e.g. "dataset-group"
}

func (k Kind[T, P]) encode(v P) (store.Resource, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return store.Resource{}, fmt.Errorf("encode %s: %w", k.Name, err)
	}
	m := v.meta()
	return store.Resource{ARN: m.ARN, Kind: k.Name, Name: m.Name, Parent: m.Parent, Status: m.Status,
		Created: m.Created, Updated: m.Updated, Body: body}, nil
}

func (k Kind[T, P]) decode(r store.Resource) (P, error) {
	v := P(new(T))
	if err := json.Unmarshal(r.Body, v); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", k.Name, r.ARN, err)
	}
	m := v.meta()
	m.ARN, m.Name, m.Parent, m.Status, m.Created, m.Updated = r.ARN, r.Name, r.Parent, r.Status, r.Created, r.Updated
	return v, nil
}

// Create stores v. A resource with the same ARN gives errs.AlreadyExists.
func (k Kind[T, P]) Create(ctx context.Context, st store.Resources, v P) error {
	r, err := k.encode(v)
	if err != nil {
		return err
	}
	if err := st.CreateResource(ctx, r); err != nil {
		if errs.KindOf(err) == errs.AlreadyExists {
			return errs.Wrap(errs.AlreadyExists, err, "%s %s already exists", k.Name, v.meta().Name)
		}
		return fmt.Errorf("create %s %s: %w", k.Name, v.meta().ARN, err)
	}
	return nil
}

// Get loads the resource with this ARN; missing gives errs.NotFound with a
// message naming it.
func (k Kind[T, P]) Get(ctx context.Context, st store.Resources, arn string) (P, error) {
	r, err := st.GetResource(ctx, k.Name, arn)
	if err != nil {
		if errs.KindOf(err) == errs.NotFound {
			return nil, errs.Wrap(errs.NotFound, err, "Could not find %s %s", k.Name, arn)
		}
		return nil, fmt.Errorf("get %s %s: %w", k.Name, arn, err)
	}
	return k.decode(r)
}

// Update loads the resource, applies fn and stores the result, retrying when
// a concurrent writer got there first. fn may return an error to abort; it
// must be idempotent because it can run more than once. now stamps Updated.
func (k Kind[T, P]) Update(ctx context.Context, st store.Resources, arn string, now func() time.Time, fn func(P) error) (P, error) {
	for attempt := 0; ; attempt++ {
		r, err := st.GetResource(ctx, k.Name, arn)
		if err != nil {
			if errs.KindOf(err) == errs.NotFound {
				return nil, errs.Wrap(errs.NotFound, err, "Could not find %s %s", k.Name, arn)
			}
			return nil, fmt.Errorf("update %s %s: %w", k.Name, arn, err)
		}
		v, err := k.decode(r)
		if err != nil {
			return nil, err
		}
		if err := fn(v); err != nil {
			return nil, err
		}
		v.meta().Updated = now()
		nr, err := k.encode(v)
		if err != nil {
			return nil, err
		}
		nr.Version = r.Version
		if _, err := st.UpdateResource(ctx, nr); err != nil {
			if errs.KindOf(err) == errs.InUse && attempt < 20 {
				continue // lost a race with another writer: reload and reapply
			}
			return nil, fmt.Errorf("update %s %s: %w", k.Name, arn, err)
		}
		return v, nil
	}
}

// Delete removes the resource.
func (k Kind[T, P]) Delete(ctx context.Context, st store.Resources, arn string) error {
	if err := st.DeleteResource(ctx, k.Name, arn); err != nil {
		if errs.KindOf(err) == errs.NotFound {
			return errs.Wrap(errs.NotFound, err, "Could not find %s %s", k.Name, arn)
		}
		return fmt.Errorf("delete %s %s: %w", k.Name, arn, err)
	}
	return nil
}

// List returns one page of resources of this kind, newest first.
func (k Kind[T, P]) List(ctx context.Context, st store.Resources, parent, token string, limit int) ([]P, string, error) {
	page, next, err := st.ListResources(ctx, store.ListQuery{Kind: k.Name, Parent: parent, PageToken: token, Limit: limit})
	if err != nil {
		if errs.KindOf(err) == errs.InvalidNextToken {
			return nil, "", err
		}
		return nil, "", fmt.Errorf("list %s: %w", k.Name, err)
	}
	out := make([]P, 0, len(page))
	for _, r := range page {
		v, err := k.decode(r)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
	}
	return out, next, nil
}

// All returns every resource of this kind under parent ("" = all), newest
// first, following pagination; for internal scans such as resuming jobs at
// startup or checking for children before a delete.
func (k Kind[T, P]) All(ctx context.Context, st store.Resources, parent string, status ...string) ([]P, error) {
	var out []P
	token := ""
	for {
		page, next, err := st.ListResources(ctx, store.ListQuery{Kind: k.Name, Parent: parent, Status: status, PageToken: token, Limit: 100})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", k.Name, err)
		}
		for _, r := range page {
			v, err := k.decode(r)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		if next == "" {
			return out, nil
		}
		token = next
	}
}

// Count returns how many resources of kind exist under parent ("" = all),
// keeping only those in one of the statuses when any are given. It reads
// only the envelopes, page by page, for quota checks.
func Count(ctx context.Context, st store.Resources, kind, parent string, status ...string) (int, error) {
	n, token := 0, ""
	for {
		page, next, err := st.ListResources(ctx, store.ListQuery{Kind: kind, Parent: parent, Status: status, PageToken: token, Limit: 100})
		if err != nil {
			return 0, fmt.Errorf("count %s: %w", kind, err)
		}
		n += len(page)
		if next == "" {
			return n, nil
		}
		token = next
	}
}
