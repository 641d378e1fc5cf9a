// Package storetest is the conformance suite every store backend must pass.
// A backend's own tests call Run (and RunDurable when the backend persists to a
// directory) with a function that opens a fresh, empty store.
//
// Behaviour the suite pins down beyond the comments of package store, so that
// every backend agrees:
//   - Created and Updated keep at least microsecond precision; the suite only
//     uses microsecond-truncated times.
//   - ListResources orders by Created descending, then ARN ascending.
//   - Limit outside 0..100 is errs.Invalid; a page token issued for a different
//     query (kind, parent or status) is errs.InvalidNextToken.
//   - UpdateResource keeps the stored Kind and Created; a Kind that does not
//     match is errs.NotFound.
//   - A context that is already cancelled makes every method fail with an error
//     that wraps context.Canceled.
//
// It imports only the standard library, package store and package errs: it
// must not import any backend.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/store"
)

// Run runs the conformance suite. open must return a fresh, empty store for
// each call and arrange (with t.Cleanup) for it to be closed; Close must be
// idempotent because some tests close the store themselves.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	t.Run("Resources", func(t *testing.T) { runResources(t, open) })
	t.Run("Records", func(t *testing.T) { runRecords(t, open) })
	t.Run("Sessions", func(t *testing.T) { runSessions(t, open(t)) })
	t.Run("AppendLinked", func(t *testing.T) { testAppendLinked(t, open(t)) })
	t.Run("CancelledContext", func(t *testing.T) { testCancelledContext(t, open(t)) })
}

// base is the Created time of the first fixture resource. It has microsecond
// precision, the least every backend must keep.
var base = time.Date(2024, 3, 5, 7, 11, 13, 123456000, time.UTC)

// mustKind fails the test unless err is classified as want.
func mustKind(t *testing.T, what string, err error, want errs.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s = nil error, want %v", what, want)
	}
	if got := errs.KindOf(err); got != want {
		t.Fatalf("%s: error kind = %v (%v), want %v", what, got, err, want)
	}
}

// must fails the test on any error.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// testCancelledContext checks that no method succeeds with a context that is
// already cancelled: a caller that gave up must not get a write applied
// behind its back.
func testCancelledContext(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := newResource("arn:attune:ds/cancel", "dataset", "", base)
	must(t, "CreateResource", s.CreateResource(ctx, r))
	must(t, "StageChunk", s.StageChunk(ctx, bulkChunk("ds", "job", 1, "x")))

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	cases := []struct {
		name string
		call func() error
	}{
		{"CreateResource", func() error {
			return s.CreateResource(cctx, newResource("arn:attune:ds/other", "dataset", "", base))
		}},
		{"GetResource", func() error { _, err := s.GetResource(cctx, "dataset", r.ARN); return err }},
		{"UpdateResource", func() error {
			u := r
			u.Version = 1
			_, err := s.UpdateResource(cctx, u)
			return err
		}},
		{"DeleteResource", func() error { return s.DeleteResource(cctx, "dataset", r.ARN) }},
		{"ListResources", func() error {
			_, _, err := s.ListResources(cctx, store.ListQuery{Kind: "dataset"})
			return err
		}},
		{"StageChunk", func() error { return s.StageChunk(cctx, bulkChunk("ds", "job", 1, "y")) }},
		{"CommitImport", func() error { return s.CommitImport(cctx, "ds", "job", false) }},
		{"DiscardImport", func() error { return s.DiscardImport(cctx, "ds", "job") }},
		{"AppendChunks", func() error {
			_, err := s.AppendChunks(cctx, []store.Chunk{putChunk("ds", 1, "z")})
			return err
		}},
		{"ScanChunks", func() error {
			return s.ScanChunks(cctx, "ds", "", 0, func(store.Chunk) error { return nil })
		}},
		{"CountRecords", func() error { _, err := s.CountRecords(cctx, "ds"); return err }},
		{"LatestSeq", func() error { _, err := s.LatestSeq(cctx); return err }},
		{"ChunkSeqs", func() error { _, err := s.ChunkSeqs(cctx, "ds", "", 0, 10); return err }},
		{"DeleteRecords", func() error { return s.DeleteRecords(cctx, "ds") }},
		{"RewriteChunks", func() error {
			return s.RewriteChunks(cctx, "ds", func(store.Chunk) (*store.Rewrite, error) { return &store.Rewrite{}, nil })
		}},
		{"Purge", func() error { return s.Purge(cctx) }},
		{"LinkSessions", func() error { return s.LinkSessions(cctx, []store.SessionLink{{Group: "g", Session: "s", User: "u"}}) }},
		{"SessionUser", func() error { _, err := s.SessionUser(cctx, "g", "s"); return err }},
		{"UnlinkSessions", func() error { return s.UnlinkSessions(cctx, "g", []string{"u"}, nil) }},
		{"AppendLinked", func() error {
			_, err := s.AppendLinked(cctx, []store.Chunk{putChunk("ds", 1, "l")}, []store.SessionLink{{Group: "g", Session: "s", User: "u"}})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%s(cancelled ctx) = %v, want an error wrapping context.Canceled", tc.name, err)
			}
		})
	}

	// Nothing may have changed: the resource is intact and the staged chunk
	// is still staged.
	got, err := s.GetResource(ctx, "dataset", r.ARN)
	must(t, "GetResource after cancelled calls", err)
	if got.Version != 1 {
		t.Errorf("Version after cancelled update = %d, want 1", got.Version)
	}
	must(t, "CommitImport", s.CommitImport(ctx, "ds", "job", false))
	if n, err := s.CountRecords(ctx, "ds"); err != nil || n != 1 {
		t.Errorf("CountRecords(ds) = %d, %v, want 1, nil", n, err)
	}
}

// newResource returns a fixture resource; Body and Name derive from the ARN
// so that a mixed-up row is detected.
func newResource(arn, kind, parent string, created time.Time) store.Resource {
	return store.Resource{
		ARN:     arn,
		Kind:    kind,
		Name:    "name-of-" + arn,
		Parent:  parent,
		Status:  "ACTIVE",
		Created: created,
		Updated: created.Add(time.Second),
		Body:    []byte(fmt.Sprintf(`{"arn":%q}`, arn)),
	}
}

// equalResource reports how got differs from want, or "" when they match.
func equalResource(got, want store.Resource) string {
	switch {
	case got.ARN != want.ARN:
		return fmt.Sprintf("ARN = %q, want %q", got.ARN, want.ARN)
	case got.Kind != want.Kind:
		return fmt.Sprintf("Kind = %q, want %q", got.Kind, want.Kind)
	case got.Name != want.Name:
		return fmt.Sprintf("Name = %q, want %q", got.Name, want.Name)
	case got.Parent != want.Parent:
		return fmt.Sprintf("Parent = %q, want %q", got.Parent, want.Parent)
	case got.Status != want.Status:
		return fmt.Sprintf("Status = %q, want %q", got.Status, want.Status)
	case !got.Created.Equal(want.Created):
		return fmt.Sprintf("Created = %v, want %v", got.Created, want.Created)
	case !got.Updated.Equal(want.Updated):
		return fmt.Sprintf("Updated = %v, want %v", got.Updated, want.Updated)
	case string(got.Body) != string(want.Body):
		return fmt.Sprintf("Body = %q, want %q", got.Body, want.Body)
	case got.Version != want.Version:
		return fmt.Sprintf("Version = %d, want %d", got.Version, want.Version)
	}
	return ""
}
