package events_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/attune-dev/attune/internal/events"
)

// TestRetriedEventsCountOnceLive sends events again with the same eventId,
// as a client retrying a timed-out PutEvents does: every copy is stored
// (training skips the repeats over stored rows), but serving is told of
// each event once.
func TestRetriedEventsCountOnceLive(t *testing.T) {
	f := newFixture(t, events.Options{MaxRecentEventIDs: 4}, true)
	put := func(session string, evs ...events.Event) {
		t.Helper()
		if err := f.svc.PutEvents(t.Context(), events.PutEventsInput{TrackingID: f.tracking, SessionID: session, UserID: "u1", Events: evs}); err != nil {
			t.Fatal(err)
		}
	}
	withID := func(id, item string) events.Event {
		e := event(item)
		e.EventID = id
		return e
	}
	put("s1", withID("e1", "i1"), withID("e2", "i2"))
	put("s1", withID("e1", "i1"), withID("e2", "i2")) // the whole call retried
	put("s1", withID("e3", "i3"), withID("e3", "i3")) // a repeat within one call
	put("s2", withID("e1", "i4"))                     // same id, another session: a different event
	put("s1", event("i5"), event("i5"))               // no eventId: generated ids, both count
	for i := range 4 {                                // push e1..e3 of s1 out of the bounded set
		put("s3", withID(fmt.Sprint("x", i), "i6"))
	}
	put("s1", withID("e1", "i1")) // too old to be remembered live: counts again

	var got []string
	for _, e := range f.obs.events() {
		got = append(got, e.Session+"/"+e.Item)
	}
	want := []string{"s1/i1", "s1/i2", "s1/i3", "s2/i4", "s1/i5", "s1/i5", "s3/i6", "s3/i6", "s3/i6", "s3/i6", "s1/i1"}
	if !slices.Equal(got, want) {
		t.Errorf("observed %v, want %v", got, want)
	}
	if rows := f.rows(t, "Interactions"); len(rows) != 14 {
		t.Errorf("stored %d rows, want all 14 (repeats are kept; training skips them)", len(rows))
	}
}
