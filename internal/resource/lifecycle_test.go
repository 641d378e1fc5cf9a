package resource_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/resource"
	"github.com/attune-dev/attune/internal/store/sqlite"
)

type thing struct {
	resource.Meta
	Note string
}

var things = resource.Kind[thing, *thing]{Name: "thing"}

// openStore returns a SQLite store in a temporary folder, closed at the end.
func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "store"), sqlite.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestDeleteLifecycle(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	const a = "arn:aws:personalize:us-east-1:000000000000:thing/a"
	if err := things.Create(ctx, st, &thing{Meta: resource.Meta{ARN: a, Name: "a", Status: resource.StatusActive, Created: clock, Updated: clock}}); err != nil {
		t.Fatal(err)
	}
	refuse := errs.E(errs.InUse, "busy")
	if _, err := things.MarkDeleting(ctx, st, a, now, func(*thing) error { return refuse }); errs.KindOf(err) != errs.InUse {
		t.Fatalf("MarkDeleting with a refusing check = %v, want InUse", err)
	}
	if got, _ := things.Get(ctx, st, a); got.Status != resource.StatusActive {
		t.Fatalf("status after a refused delete = %s, want ACTIVE", got.Status)
	}
	if _, err := things.MarkDeleting(ctx, st, a, now, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := things.MarkDeleting(ctx, st, a, now, nil); errs.KindOf(err) != errs.InUse {
		t.Errorf("second MarkDeleting = %v, want InUse", err)
	}
	var finished []string
	finish := func(ctx context.Context, v *thing) error {
		finished = append(finished, v.Status)
		return things.Delete(ctx, st, v.ARN)
	}
	if err := things.Reap(ctx, st, now, time.Second, finish); err != nil || len(finished) != 0 {
		t.Fatalf("Reap before the pending phase is over: err %v, finished %v; want nothing done", err, finished)
	}
	if got, err := things.Get(ctx, st, a); err != nil || got.Status != resource.StatusDeletePending {
		t.Fatalf("Get while pending = %v, %v; want DELETE PENDING", got, err)
	}
	clock = clock.Add(time.Second)
	if err := things.Reap(ctx, st, now, time.Second, finish); err != nil {
		t.Fatal(err)
	}
	if len(finished) != 1 || finished[0] != resource.StatusDeleteInProgress {
		t.Errorf("finish saw %v, want one call in DELETE IN_PROGRESS", finished)
	}
	if _, err := things.Get(ctx, st, a); errs.KindOf(err) != errs.NotFound {
		t.Errorf("Get after Reap = %v, want NotFound", err)
	}
	for _, tc := range []struct {
		status string
		usable bool
	}{{resource.StatusActive, true}, {resource.StatusCreatePending, true}, {resource.StatusCreateInProgress, true},
		{"CREATE FAILED", false}, {resource.StatusDeletePending, false}, {resource.StatusDeleteInProgress, false}} {
		if got := resource.Usable(tc.status); got != tc.usable {
			t.Errorf("Usable(%q) = %v, want %v", tc.status, got, tc.usable)
		}
	}
}

func TestChildren(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	now := time.Now()
	const parent = "arn:aws:personalize:us-east-1:000000000000:parent/p"
	add := func(name, status string) {
		t.Helper()
		m := resource.Meta{ARN: "arn:aws:personalize:us-east-1:000000000000:thing/" + name, Name: name, Parent: parent, Status: status, Created: now, Updated: now}
		if err := things.Create(ctx, st, &thing{Meta: m}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(wantBlocking string, wantLeaving bool) {
		t.Helper()
		blocking, leaving, err := resource.Children(ctx, st, "thing", parent)
		if blocking != "" {
			leaving = wantLeaving // reported up to the first blocking child only
		}
		if err != nil || blocking != wantBlocking || leaving != wantLeaving {
			t.Errorf("Children = %q, %v, %v; want %q, %v", blocking, leaving, err, wantBlocking, wantLeaving)
		}
	}
	check("", false)
	add("going", resource.StatusDeletePending)
	check("", true)
	add("staying", resource.StatusActive)
	check("arn:aws:personalize:us-east-1:000000000000:thing/staying", false)
}
