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
