package storetest

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/store"
)

func runResources(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CreateGet", func(t *testing.T) { testCreateGet(t, open(t)) })
	t.Run("Update", func(t *testing.T) { testUpdate(t, open(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, open(t)) })
	t.Run("ListFilters", func(t *testing.T) { testListFilters(t, open(t)) })
	t.Run("ListOrder", func(t *testing.T) { testListOrder(t, open(t)) })
	t.Run("ListPagination", func(t *testing.T) { testListPagination(t, open(t)) })
	t.Run("ListLimit", func(t *testing.T) { testListLimit(t, open(t)) })
	t.Run("ListBadToken", func(t *testing.T) { testListBadToken(t, open(t)) })
	t.Run("ListTokenAfterInserts", func(t *testing.T) { testListTokenAfterInserts(t, open(t)) })
}

func testCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := newResource("arn:attune:dataset-group/a", "dataset-group", "", base)
	r.Version = 42 // the store, not the caller, sets Version
	must(t, "CreateResource", s.CreateResource(ctx, r))

	got, err := s.GetResource(ctx, "dataset-group", r.ARN)
	must(t, "GetResource", err)
	want := r
	want.Version = 1
	if d := equalResource(got, want); d != "" {
		t.Errorf("GetResource after create: %s", d)
	}

	// Empty Parent and Body survive as empty, and a zero Updated as zero.
	bare := store.Resource{ARN: "arn:attune:schema/bare", Kind: "schema", Name: "bare", Created: base}
	must(t, "CreateResource(bare)", s.CreateResource(ctx, bare))
	got, err = s.GetResource(ctx, "schema", bare.ARN)
	must(t, "GetResource(bare)", err)
	bare.Version = 1
	if d := equalResource(got, bare); d != "" {
		t.Errorf("GetResource(bare): %s", d)
	}
	if !got.Updated.IsZero() {
		t.Errorf("GetResource(bare).Updated = %v, want the zero time", got.Updated)
	}

	cases := []struct {
		name string
		call func() error
		want errs.Kind
	}{
		{"duplicate ARN", func() error { return s.CreateResource(ctx, r) }, errs.AlreadyExists},
		{"duplicate ARN of another kind", func() error {
			return s.CreateResource(ctx, newResource(r.ARN, "schema", "", base))
		}, errs.AlreadyExists},
		{"get missing", func() error {
			_, err := s.GetResource(ctx, "dataset-group", "arn:attune:dataset-group/missing")
			return err
		}, errs.NotFound},
		{"get wrong kind", func() error {
			_, err := s.GetResource(ctx, "dataset", r.ARN)
			return err
		}, errs.NotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { mustKind(t, tc.name, tc.call(), tc.want) })
	}
}

func testUpdate(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := newResource("arn:attune:dataset/u", "dataset", "arn:attune:dataset-group/g", base)
	must(t, "CreateResource", s.CreateResource(ctx, r))

	u := r
	u.Version = 1
	u.Name = "renamed"
	u.Parent = "arn:attune:dataset-group/h"
	u.Status = "DELETE PENDING"
	u.Updated = base.Add(time.Hour)
	u.Body = []byte(`{"v":2}`)
	got, err := s.UpdateResource(ctx, u)
	must(t, "UpdateResource", err)
	want := u
	want.Version = 2
	if d := equalResource(got, want); d != "" {
		t.Errorf("UpdateResource returned: %s", d)
	}
	stored, err := s.GetResource(ctx, "dataset", r.ARN)
	must(t, "GetResource", err)
	if d := equalResource(stored, want); d != "" {
		t.Errorf("GetResource after update: %s", d)
	}

	// A second update from the fresh copy bumps again.
	stored.Status = "ACTIVE"
	got, err = s.UpdateResource(ctx, stored)
	must(t, "UpdateResource(second)", err)
	if got.Version != 3 {
		t.Errorf("UpdateResource(second).Version = %d, want 3", got.Version)
	}

	// Created is fixed at creation: an update cannot move a resource in the
	// list order.
	moved := got
	moved.Created = base.Add(24 * time.Hour)
	got, err = s.UpdateResource(ctx, moved)
	must(t, "UpdateResource(moved)", err)
	if !got.Created.Equal(base) {
		t.Errorf("UpdateResource(new Created).Created = %v, want %v", got.Created, base)
	}

	cases := []struct {
		name    string
		version int64
		kind    string
		arn     string
		want    errs.Kind
	}{
		{"stale version", 1, "dataset", r.ARN, errs.InUse},
		{"zero version", 0, "dataset", r.ARN, errs.InUse},
		{"future version", 99, "dataset", r.ARN, errs.InUse},
		{"missing ARN", 1, "dataset", "arn:attune:dataset/missing", errs.NotFound},
		{"wrong kind", got.Version, "schema", r.ARN, errs.NotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad := got
			bad.ARN, bad.Kind, bad.Version = tc.arn, tc.kind, tc.version
			bad.Status = "FAILED"
			_, err := s.UpdateResource(ctx, bad)
			mustKind(t, "UpdateResource("+tc.name+")", err, tc.want)
		})
	}
	after, err := s.GetResource(ctx, "dataset", r.ARN)
	must(t, "GetResource after failed updates", err)
	if after.Version != got.Version || after.Status != got.Status {
		t.Errorf("after failed updates: Version, Status = %d, %q, want %d, %q",
			after.Version, after.Status, got.Version, got.Status)
	}
}

func testDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := newResource("arn:attune:solution/a", "solution", "", base)
	b := newResource("arn:attune:solution/b", "solution", "", base)
	must(t, "CreateResource(a)", s.CreateResource(ctx, a))
	must(t, "CreateResource(b)", s.CreateResource(ctx, b))

	mustKind(t, "DeleteResource(wrong kind)", s.DeleteResource(ctx, "dataset", a.ARN), errs.NotFound)
	if _, err := s.GetResource(ctx, "solution", a.ARN); err != nil {
		t.Fatalf("GetResource after wrong-kind delete: %v", err)
	}
	must(t, "DeleteResource", s.DeleteResource(ctx, "solution", a.ARN))
	_, err := s.GetResource(ctx, "solution", a.ARN)
	mustKind(t, "GetResource after delete", err, errs.NotFound)
	mustKind(t, "DeleteResource twice", s.DeleteResource(ctx, "solution", a.ARN), errs.NotFound)
	mustKind(t, "DeleteResource(missing)", s.DeleteResource(ctx, "solution", "arn:attune:solution/zz"), errs.NotFound)
	if _, err := s.GetResource(ctx, "solution", b.ARN); err != nil {
		t.Errorf("GetResource(b) after deleting a: %v", err)
	}

	// The ARN is free again.
	must(t, "CreateResource(a again)", s.CreateResource(ctx, a))
	got, err := s.GetResource(ctx, "solution", a.ARN)
	must(t, "GetResource(a again)", err)
	if got.Version != 1 {
		t.Errorf("re-created Version = %d, want 1", got.Version)
	}
}

// listAll walks every page of q and returns the ARNs in order.
func listAll(t *testing.T, s store.Store, q store.ListQuery) []string {
	t.Helper()
	var arns []string
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("ListResources(%+v): no last page after %d pages", q, pages)
		}
		page, next, err := s.ListResources(t.Context(), q)
		if err != nil {
			t.Fatalf("ListResources(%+v): %v", q, err)
		}
		limit := q.Limit
		if limit == 0 {
			limit = 100
		}
		if len(page) > limit {
			t.Fatalf("ListResources(%+v) returned %d items, over the limit %d", q, len(page), limit)
		}
		if next != "" && len(page) == 0 {
			t.Fatalf("ListResources(%+v) returned an empty page with a next token", q)
		}
		for _, r := range page {
			arns = append(arns, r.ARN)
		}
		if next == "" {
			return arns
		}
		q.PageToken = next
	}
}

func testListFilters(t *testing.T, s store.Store) {
	ctx := t.Context()
	g1, g2 := "arn:attune:dataset-group/g1", "arn:attune:dataset-group/g2"
	fixtures := []struct {
		arn, kind, parent, status string
	}{
		{"arn:attune:dataset-group/g1", "dataset-group", "", "ACTIVE"},
		{"arn:attune:dataset-group/g2", "dataset-group", "", "CREATE PENDING"},
		{"arn:attune:dataset/d1", "dataset", g1, "ACTIVE"},
		{"arn:attune:dataset/d2", "dataset", g1, "CREATE FAILED"},
		{"arn:attune:dataset/d3", "dataset", g2, "ACTIVE"},
		{"arn:attune:dataset/d4", "dataset", g2, "CREATE PENDING"},
		{"arn:attune:schema/s1", "schema", "", "ACTIVE"},
	}
	for i, f := range fixtures {
		r := newResource(f.arn, f.kind, f.parent, base.Add(time.Duration(i)*time.Minute))
		r.Status = f.status
		must(t, "CreateResource("+f.arn+")", s.CreateResource(ctx, r))
	}

	cases := []struct {
		name string
		q    store.ListQuery
		want []string // newest first
	}{
		{"kind", store.ListQuery{Kind: "dataset"},
			[]string{"arn:attune:dataset/d4", "arn:attune:dataset/d3", "arn:attune:dataset/d2", "arn:attune:dataset/d1"}},
		{"other kind", store.ListQuery{Kind: "dataset-group"},
			[]string{"arn:attune:dataset-group/g2", "arn:attune:dataset-group/g1"}},
		{"parent", store.ListQuery{Kind: "dataset", Parent: g1},
			[]string{"arn:attune:dataset/d2", "arn:attune:dataset/d1"}},
		{"parent of another kind", store.ListQuery{Kind: "schema", Parent: g1}, nil},
		{"one status", store.ListQuery{Kind: "dataset", Status: []string{"ACTIVE"}},
			[]string{"arn:attune:dataset/d3", "arn:attune:dataset/d1"}},
		{"two statuses", store.ListQuery{Kind: "dataset", Status: []string{"CREATE PENDING", "CREATE FAILED"}},
			[]string{"arn:attune:dataset/d4", "arn:attune:dataset/d2"}},
		{"parent and status", store.ListQuery{Kind: "dataset", Parent: g2, Status: []string{"ACTIVE"}},
			[]string{"arn:attune:dataset/d3"}},
		{"unknown status", store.ListQuery{Kind: "dataset", Status: []string{"NOPE"}}, nil},
		{"unknown kind", store.ListQuery{Kind: "campaign"}, nil},
		{"paged", store.ListQuery{Kind: "dataset", Limit: 1},
			[]string{"arn:attune:dataset/d4", "arn:attune:dataset/d3", "arn:attune:dataset/d2", "arn:attune:dataset/d1"}},
		{"paged filter", store.ListQuery{Kind: "dataset", Status: []string{"ACTIVE", "CREATE PENDING"}, Limit: 2},
			[]string{"arn:attune:dataset/d4", "arn:attune:dataset/d3", "arn:attune:dataset/d1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := listAll(t, s, tc.q); !slices.Equal(got, tc.want) {
				t.Errorf("ListResources(%+v) = %q, want %q", tc.q, got, tc.want)
			}
		})
	}

	// A page carries the whole resource, not only the envelope.
	page, next, err := s.ListResources(ctx, store.ListQuery{Kind: "schema"})
	must(t, "ListResources(schema)", err)
	want := newResource("arn:attune:schema/s1", "schema", "", base.Add(6*time.Minute))
	want.Version = 1
	if len(page) != 1 || next != "" {
		t.Fatalf("ListResources(schema) = %d items, next %q, want 1 item and no token", len(page), next)
	}
	if d := equalResource(page[0], want); d != "" {
		t.Errorf("ListResources(schema)[0]: %s", d)
	}
}

func testListOrder(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Three groups of resources sharing a Created time, created in an order
	// that is neither the ARN order nor its reverse, so that a backend which
	// relies on insertion order fails.
	var want []store.Resource
	for i, name := range []string{"m", "c", "x", "a", "q", "b", "z", "k", "e"} {
		created := base.Add(time.Duration(i%3) * time.Millisecond) // sub-second ties
		r := newResource("arn:attune:recommender/"+name, "recommender", "", created)
		must(t, "CreateResource", s.CreateResource(ctx, r))
		want = append(want, r)
	}
	slices.SortFunc(want, func(a, b store.Resource) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ARN, b.ARN)
	})
	var wantARNs []string
	for _, r := range want {
		wantARNs = append(wantARNs, r.ARN)
	}
	for _, limit := range []int{0, 1, 2, 4} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			q := store.ListQuery{Kind: "recommender", Limit: limit}
			if got := listAll(t, s, q); !slices.Equal(got, wantARNs) {
				t.Errorf("ListResources(%+v) = %q, want %q", q, got, wantARNs)
			}
		})
	}
}

func testListPagination(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 523
	parent := "arn:attune:dataset-group/p"
	want := make(map[string]bool)
	for i := range n {
		// Every fifth resource shares its Created time with the one before,
		// so page boundaries fall inside ties.
		created := base.Add(time.Duration(i-i%5/4) * time.Second)
		r := newResource(fmt.Sprintf("arn:attune:event-tracker/%04d", (i*37)%n), "event-tracker", parent, created)
		must(t, "CreateResource", s.CreateResource(ctx, r))
		want[r.ARN] = true
	}
	// Noise of another kind and another parent must not leak into the pages.
	for i := range 20 {
		must(t, "CreateResource(noise)", s.CreateResource(ctx,
			newResource(fmt.Sprintf("arn:attune:filter/%d", i), "filter", parent, base)))
		must(t, "CreateResource(noise)", s.CreateResource(ctx,
			newResource(fmt.Sprintf("arn:attune:event-tracker/other-%d", i), "event-tracker", "other", base)))
	}

	for _, limit := range []int{1, 7, 100} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			q := store.ListQuery{Kind: "event-tracker", Parent: parent, Limit: limit}
			got := listAll(t, s, q)
			seen := make(map[string]int)
			for _, arn := range got {
				seen[arn]++
			}
			for arn, c := range seen {
				if c != 1 {
					t.Errorf("%s seen %d times", arn, c)
				}
				if !want[arn] {
					t.Errorf("%s listed but not expected", arn)
				}
			}
			if len(seen) != n || len(got) != n {
				t.Errorf("listed %d items (%d distinct), want %d", len(got), len(seen), n)
			}
		})
	}
}

func testListLimit(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i := range 150 {
		must(t, "CreateResource", s.CreateResource(ctx,
			newResource(fmt.Sprintf("arn:attune:campaign/%03d", i), "campaign", "", base.Add(time.Duration(i)*time.Second))))
	}
	cases := []struct {
		limit    int
		wantLen  int
		wantNext bool
	}{
		{0, 100, true},
		{1, 1, true},
		{100, 100, true},
		{150, 0, false}, // invalid
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("limit %d", tc.limit), func(t *testing.T) {
			page, next, err := s.ListResources(ctx, store.ListQuery{Kind: "campaign", Limit: tc.limit})
			if tc.limit > 100 {
				mustKind(t, "ListResources(limit over 100)", err, errs.Invalid)
				return
			}
			must(t, "ListResources", err)
			if len(page) != tc.wantLen || (next != "") != tc.wantNext {
				t.Errorf("ListResources(Limit %d) = %d items, next %q, want %d items, next %v",
					tc.limit, len(page), next, tc.wantLen, tc.wantNext)
			}
		})
	}
	_, _, err := s.ListResources(ctx, store.ListQuery{Kind: "campaign", Limit: -1})
	mustKind(t, "ListResources(Limit -1)", err, errs.Invalid)

	// Exactly one full page: the last page may or may not carry a token, but
	// following it must give an empty last page.
	got := listAll(t, s, store.ListQuery{Kind: "campaign", Limit: 50})
	if len(got) != 150 {
		t.Errorf("listed %d campaigns in pages of 50, want 150", len(got))
	}
}

func testListBadToken(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i := range 5 {
		must(t, "CreateResource", s.CreateResource(ctx,
			newResource(fmt.Sprintf("arn:attune:solution/%d", i), "solution", "p", base.Add(time.Duration(i)*time.Second))))
	}
	q := store.ListQuery{Kind: "solution", Parent: "p", Limit: 2}
	_, token, err := s.ListResources(ctx, q)
	must(t, "ListResources", err)
	if token == "" {
		t.Fatal("ListResources(Limit 2 of 5) returned no next token")
	}

	cases := []struct {
		name  string
		q     store.ListQuery
		token string
	}{
		{"garbage", q, "not a token!"},
		{"base64 of garbage", q, base64.RawURLEncoding.EncodeToString([]byte("hello, world"))},
		{"std base64 of garbage", q, base64.StdEncoding.EncodeToString([]byte{0xff, 0, 1, 2, 3, 4, 5, 6, 7, 8})},
		{"truncated", q, token[:len(token)/2]},
		{"extended", q, token + "AAAA"},
		{"flipped", q, flip(token)},
		{"other kind", store.ListQuery{Kind: "campaign", Parent: "p", Limit: 2}, token},
		{"other parent", store.ListQuery{Kind: "solution", Parent: "q", Limit: 2}, token},
		{"other status", store.ListQuery{Kind: "solution", Parent: "p", Status: []string{"ACTIVE"}, Limit: 2}, token},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.PageToken = tc.token
			_, _, err := s.ListResources(ctx, tc.q)
			mustKind(t, fmt.Sprintf("ListResources(token %q)", tc.token), err, errs.InvalidNextToken)
		})
	}

	// The genuine token still works, and with another Limit too.
	q.PageToken = token
	q.Limit = 100
	page, next, err := s.ListResources(ctx, q)
	must(t, "ListResources(good token)", err)
	if len(page) != 3 || next != "" {
		t.Errorf("ListResources(good token) = %d items, next %q, want 3 and no token", len(page), next)
	}
}

// flip changes one character in the middle of token.
func flip(token string) string {
	b := []byte(token)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func testListTokenAfterInserts(t *testing.T, s store.Store) {
	ctx := t.Context()
	var all []string
	for i := range 10 {
		r := newResource(fmt.Sprintf("arn:attune:batch-job/%02d", i), "batch-job", "", base.Add(time.Duration(i)*time.Second))
		must(t, "CreateResource", s.CreateResource(ctx, r))
		all = append(all, r.ARN)
	}
	slices.Reverse(all) // newest first

	q := store.ListQuery{Kind: "batch-job", Limit: 4}
	page, next, err := s.ListResources(ctx, q)
	must(t, "ListResources(first page)", err)
	if len(page) != 4 || next == "" {
		t.Fatalf("first page = %d items, next %q, want 4 items and a token", len(page), next)
	}

	// Resources created after the first page is served are newer than every
	// listed one, so they belong before the cursor and must not appear; and
	// deleting an already-listed resource must not shift the remaining pages.
	for i := range 5 {
		must(t, "CreateResource(new)", s.CreateResource(ctx,
			newResource(fmt.Sprintf("arn:attune:batch-job/new-%d", i), "batch-job", "", base.Add(time.Hour))))
	}
	must(t, "DeleteResource(listed)", s.DeleteResource(ctx, "batch-job", page[0].ARN))

	q.PageToken = next
	rest := listAll(t, s, q)
	if !slices.Equal(rest, all[4:]) {
		t.Errorf("pages after inserts = %q, want %q", rest, all[4:])
	}
}
