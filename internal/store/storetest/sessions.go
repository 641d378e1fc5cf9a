package storetest

import (
	"testing"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/store"
)

// runSessions checks the session → user map: upserts where the later link
// wins, groups kept apart, unlinking by user and by session, and a bad link
// that writes nothing.
func runSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	user := func(group, session string) string {
		t.Helper()
		u, err := s.SessionUser(ctx, group, session)
		must(t, "SessionUser", err)
		return u
	}
	if got := user("g1", "s1"); got != "" {
		t.Fatalf("SessionUser of an unknown session = %q, want \"\"", got)
	}
	must(t, "LinkSessions", s.LinkSessions(ctx, []store.SessionLink{
		{Group: "g1", Session: "s1", User: "u1"},
		{Group: "g1", Session: "s2", User: "u1"},
		{Group: "g1", Session: "s3", User: "u2"},
		{Group: "g2", Session: "s1", User: "other"},
		{Group: "g1", Session: "s3", User: "u3"}, // later in the same call wins
	}))
	must(t, "LinkSessions(nil)", s.LinkSessions(ctx, nil))
	mustKind(t, "LinkSessions(empty user)", s.LinkSessions(ctx, []store.SessionLink{
		{Group: "g1", Session: "s9", User: "u9"}, {Group: "g1", Session: "s1"}}), errs.Invalid)
	for _, tc := range []struct{ group, session, want string }{
		{"g1", "s1", "u1"}, {"g1", "s2", "u1"}, {"g1", "s3", "u3"}, {"g2", "s1", "other"},
		{"g1", "s9", ""}, // the bad call wrote nothing
		{"g3", "s1", ""},
	} {
		if got := user(tc.group, tc.session); got != tc.want {
			t.Errorf("SessionUser(%s, %s) = %q, want %q", tc.group, tc.session, got, tc.want)
		}
	}
	must(t, "LinkSessions(relink)", s.LinkSessions(ctx, []store.SessionLink{{Group: "g1", Session: "s1", User: "u2"}}))
	if got := user("g1", "s1"); got != "u2" {
		t.Errorf("SessionUser after relink = %q, want u2 (a later call wins)", got)
	}
	must(t, "UnlinkSessions", s.UnlinkSessions(ctx, "g1", []string{"u1"}, []string{"s3"}))
	must(t, "UnlinkSessions(nothing)", s.UnlinkSessions(ctx, "g1", nil, nil))
	for _, tc := range []struct{ group, session, want string }{
		{"g1", "s1", "u2"}, // relinked away from u1 before the unlink
		{"g1", "s2", ""},   // u1's
		{"g1", "s3", ""},   // by session
		{"g2", "s1", "other"},
	} {
		if got := user(tc.group, tc.session); got != tc.want {
			t.Errorf("after UnlinkSessions: SessionUser(%s, %s) = %q, want %q", tc.group, tc.session, got, tc.want)
		}
	}
}

// testAppendLinked checks that chunks and links written together are both
// there, and that a bad link writes neither.
func testAppendLinked(t *testing.T, s store.Store) {
	ctx := t.Context()
	seqs, err := s.AppendLinked(ctx, []store.Chunk{putChunk("d", 1, "x"), putChunk("d", 2, "y")}, []store.SessionLink{{Group: "g", Session: "s", User: "u"}})
	must(t, "AppendLinked", err)
	if len(seqs) != 2 || seqs[1] <= seqs[0] {
		t.Fatalf("AppendLinked Seqs = %v, want two increasing", seqs)
	}
	if u, err := s.SessionUser(ctx, "g", "s"); err != nil || u != "u" {
		t.Errorf("SessionUser after AppendLinked = %q, %v, want u", u, err)
	}
	_, err = s.AppendLinked(ctx, []store.Chunk{putChunk("d", 1, "z")}, []store.SessionLink{{Group: "g", Session: "s2"}})
	mustKind(t, "AppendLinked(bad link)", err, errs.Invalid)
	if n, err := s.CountRecords(ctx, "d"); err != nil || n != 3 {
		t.Errorf("CountRecords after a refused AppendLinked = %d, %v, want 3 (its chunk not written)", n, err)
	}
	if _, err := s.AppendLinked(ctx, nil, nil); err != nil {
		t.Errorf("AppendLinked(nothing) = %v", err)
	}
}
