package campaign

import (
	"context"
	"fmt"
	"github.com/attune-dev/attune/internal/quota"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/filter"
	"github.com/attune-dev/attune/internal/schema"
	"github.com/attune-dev/attune/internal/store/sqlite"
)

const (
	groupA = "arn:aws:personalize:us-east-1:000000000000:dataset-group/a"
	groupB = "arn:aws:personalize:us-east-1:000000000000:dataset-group/b"
)

// noErr marks a table case that must succeed.
const noErr errs.Kind = -1

// fakeSchemas knows groups a (Items with CATEGORY, PRICE and a textual
// DESCRIPTION; Users with TIER) and b (no Items or Users dataset).
type fakeSchemas struct{}

func (fakeSchemas) FilterSchemas(_ context.Context, group string) (filter.Schemas, error) {
	switch group {
	case groupA:
		return filter.Schemas{
			Items: []schema.Field{{Name: "ITEM_ID", Type: schema.String}, {Name: "CATEGORY", Type: schema.String, Categorical: true},
				{Name: "PRICE", Type: schema.Double}, {Name: "DESCRIPTION", Type: schema.String, Textual: true}},
			Users: []schema.Field{{Name: "USER_ID", Type: schema.String}, {Name: "TIER", Type: schema.String, Categorical: true}},
		}, nil
	case groupB:
		return filter.Schemas{}, nil
	}
	return filter.Schemas{}, errs.E(errs.NotFound, "Could not find dataset group %s", group)
}

func newFilters(t *testing.T) *Filters {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return NewFilters(st, fakeSchemas{}, Options{Scope: arn.Scope{Region: "us-east-1", Account: "000000000000"}, Poll: 10 * time.Millisecond},
		time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func runFilters(t *testing.T, fs *Filters) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fs.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
}

func waitStatus(t *testing.T, fs *Filters, a, want string) *Filter {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, err := fs.Get(t.Context(), a)
		if err != nil {
			t.Fatalf("Get(%s) = %v", a, err)
		}
		if f.Status == want {
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("filter %s is %s, want %s", a, f.Status, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCreateFilterValidation(t *testing.T) {
	fs := newFilters(t)
	tests := []struct {
		name, group, expr string
		kind              errs.Kind
		msg               string // a fragment the client-safe message must hold
	}{
		{"interactions", groupA, `EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("PURCHASED")`, noErr, ""},
		{"parameter", groupA, `INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)`, noErr, ""},
		{"current user", groupA, `EXCLUDE ItemID WHERE Items.PRICE > 100 IF CurrentUser.TIER = "free"`, noErr, ""},
		{"syntax error names the position", groupA, `INCLUDE ItemID WHERE Items.CATEGORY IN ("a"`, errs.Invalid, "filterExpression"},
		{"unknown field", groupA, `INCLUDE ItemID WHERE Items.COLOUR IN ("red")`, errs.Invalid, "COLOUR"},
		{"textual field", groupA, `INCLUDE ItemID WHERE Items.DESCRIPTION IN ("x")`, errs.Invalid, "DESCRIPTION"},
		{"no Items dataset", groupB, `INCLUDE ItemID WHERE Items.CATEGORY IN ("a")`, errs.Invalid, ""},
		{"unknown group", "arn:aws:personalize:us-east-1:000000000000:dataset-group/zz", `EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")`, errs.NotFound, ""},
		{"not a group ARN", "arn:aws:personalize:us-east-1:000000000000:campaign/c", `EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")`, errs.Invalid, ""},
		{"empty expression", groupA, ``, errs.Invalid, "filterExpression"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := fs.Create(t.Context(), CreateFilterInput{Name: fmt.Sprintf("f%d", i), GroupARN: tc.group, Expression: tc.expr})
			if tc.kind == noErr {
				if err != nil || f.Status != StatusCreatePending || f.Parent != tc.group {
					t.Fatalf("Create(%q) = %+v, %v; want CREATE PENDING under %s", tc.expr, f, err, tc.group)
				}
				return
			}
			if errs.KindOf(err) != tc.kind || !strings.Contains(errs.Message(err), tc.msg) {
				t.Fatalf("Create(%q) = %v (%v), want %v mentioning %q", tc.expr, err, errs.KindOf(err), tc.kind, tc.msg)
			}
		})
	}
	t.Run("position", func(t *testing.T) {
		_, err := fs.Create(t.Context(), CreateFilterInput{Name: "pos", GroupARN: groupA, Expression: `INCLUDE ItemID WHER Items.CATEGORY IN ("a")`})
		if !strings.Contains(errs.Message(err), "15") {
			t.Errorf("Create with WHER = %q, want the byte offset 15 of the bad keyword", errs.Message(err))
		}
	})
}

func TestFilterLifecycle(t *testing.T) {
	fs := newFilters(t)
	runFilters(t, fs)
	ctx := t.Context()
	f, err := fs.Create(ctx, CreateFilterInput{Name: "no-purchased", GroupARN: groupA, Expression: `EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("PURCHASED")`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Create(ctx, CreateFilterInput{Name: "no-purchased", GroupARN: groupA, Expression: `EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")`}); errs.KindOf(err) != errs.AlreadyExists {
		t.Errorf("duplicate Create = %v, want AlreadyExists", err)
	}
	waitStatus(t, fs, f.ARN, StatusActive)
	group, parsed, err := fs.Resolve(ctx, f.ARN)
	if err != nil || group != groupA || parsed.Target() != "ItemID" {
		t.Fatalf("Resolve = %q, %v, %v; want group a and an ItemID filter", group, parsed, err)
	}
	if _, _, err := fs.Resolve(ctx, f.ARN+"x"); errs.KindOf(err) != errs.NotFound {
		t.Errorf("Resolve(unknown) = %v, want NotFound", err)
	}
	if err := fs.Delete(ctx, f.ARN); err != nil {
		t.Fatal(err)
	}
	if _, _, err := fs.Resolve(ctx, f.ARN); errs.KindOf(err) != errs.NotFound {
		t.Errorf("Resolve after Delete = %v, want NotFound", err)
	}
	if err := fs.Delete(ctx, f.ARN); errs.KindOf(err) != errs.NotFound {
		t.Errorf("second Delete = %v, want NotFound", err)
	}
}

// TestFilterUsableRightAfterCreate: a client that uses a filter right after
// CreateFilter (no runner here, so it is still CREATE PENDING) gets it
// validated at once, as a bookkeeping-only resource should be.
func TestFilterUsableRightAfterCreate(t *testing.T) {
	fs := newFilters(t) // no runner: nothing activates the filters in the background
	ctx := t.Context()
	cases := []struct {
		name, expr string
		wantKind   errs.Kind // of Resolve; 0 for success
		wantStatus string
	}{
		{"valid", `EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")`, 0, StatusActive},
		{"price condition", `INCLUDE ItemID WHERE Items.PRICE > 3`, 0, StatusActive},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := fs.Create(ctx, CreateFilterInput{Name: fmt.Sprint("p", i), GroupARN: groupA, Expression: tc.expr})
			if err != nil {
				t.Fatal(err)
			}
			if f.Status != StatusCreatePending {
				t.Fatalf("Create status = %s, want %s", f.Status, StatusCreatePending)
			}
			_, _, err = fs.Resolve(ctx, f.ARN)
			if errs.KindOf(err) != tc.wantKind && !(tc.wantKind == 0 && err == nil) {
				t.Errorf("Resolve(pending) = %v, want kind %v", err, tc.wantKind)
			}
			got, err := fs.Get(ctx, f.ARN)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tc.wantStatus {
				t.Errorf("status after Resolve = %s, want %s", got.Status, tc.wantStatus)
			}
		})
	}
}

func TestFilterLimitAndPagination(t *testing.T) {
	fs := newFilters(t)
	ctx := t.Context()
	for i := range quota.Default(quota.FiltersPerGroup) {
		if _, err := fs.Create(ctx, CreateFilterInput{Name: fmt.Sprintf("f%02d", i), GroupARN: groupA,
			Expression: fmt.Sprintf(`EXCLUDE ItemID WHERE Items.PRICE > %d`, i)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := fs.Create(ctx, CreateFilterInput{Name: "one-too-many", GroupARN: groupA, Expression: `EXCLUDE ItemID WHERE Items.PRICE > 99`})
	if errs.KindOf(err) != errs.LimitExceeded {
		t.Errorf("Create #%d = %v, want LimitExceeded", quota.Default(quota.FiltersPerGroup)+1, err)
	}
	if _, err := fs.Create(ctx, CreateFilterInput{Name: "other-group", GroupARN: groupB, Expression: `EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")`}); err != nil {
		t.Errorf("Create in another group = %v; the quota is per group", err)
	}
	seen := map[string]bool{}
	token := ""
	for pages := 0; ; pages++ {
		page, next, err := fs.List(ctx, groupA, token, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page {
			if seen[f.ARN] || f.GroupARN != groupA {
				t.Errorf("List page %d: %s repeated or from another group", pages, f.ARN)
			}
			seen[f.ARN] = true
		}
		if next == "" {
			break
		}
		token = next
	}
	if len(seen) != quota.Default(quota.FiltersPerGroup) {
		t.Errorf("List(group a) paged through %d filters, want %d", len(seen), quota.Default(quota.FiltersPerGroup))
	}
}

// TestFilterDeletedByAnotherReplica: a filter resolved (and cached) on
// replica B and deleted through replica A, over one store, is refused on
// B within B's poll.
func TestFilterDeletedByAnotherReplica(t *testing.T) {
	a := newFilters(t)
	b := NewFilters(a.st, fakeSchemas{}, a.opts, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	runFilters(t, a)
	runFilters(t, b)
	ctx := t.Context()
	f, err := a.Create(ctx, CreateFilterInput{Name: "shared", GroupARN: groupA, Expression: `EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("PURCHASED")`})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, a, f.ARN, StatusActive)
	if _, _, err := b.Resolve(ctx, f.ARN); err != nil {
		t.Fatalf("B: Resolve = %v", err)
	}
	if err := a.Delete(ctx, f.ARN); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		_, _, err := b.Resolve(ctx, f.ARN)
		if errs.KindOf(err) == errs.NotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B: Resolve of the filter deleted on A = %v 5 s later, want NotFound", err)
		}
	}
}
