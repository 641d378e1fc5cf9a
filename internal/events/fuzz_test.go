package events_test

import (
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/events"
)

// FuzzPutEventsProperties sends arbitrary properties (and itemId members)
// through PutEvents validation: it must never panic, refuse only with
// errs.Invalid, and accept an event only when it ends up with an item.
func FuzzPutEventsProperties(f *testing.F) {
	for _, s := range []struct{ item, props string }{
		{"", `{"itemId": "270"}`}, {"i1", `{"itemId": "i1", "eventValue": 3}`}, {"i1", `{"itemId": "i2"}`},
		{"", `{"ItemId": ["a"]}`}, {"", `{"eventValue": "x", "itemId": null}`}, {"i1", `{"numberOfRatings": 12}`},
		{"", `{"timestamp": 1}`}, {"i1", `{}`}, {"", `[`}, {"", `{"eventAttributionSource": "s", "itemId": "x"}`},
	} {
		f.Add(s.item, s.props)
	}
	fx := newFixture(f, events.Options{}, true)
	f.Fuzz(func(t *testing.T, item, props string) {
		ev := events.Event{EventType: "click", ItemID: item, SentAt: ptr(1.7e9), Properties: &props}
		err := fx.svc.PutEvents(t.Context(), events.PutEventsInput{TrackingID: fx.tracking, SessionID: "s", UserID: "u", Events: []events.Event{ev}})
		if err != nil {
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("PutEvents(itemId %q, properties %q) = %v, want nil or Invalid", item, props, err)
			}
			return
		}
		if item == "" && !strings.Contains(strings.ToLower(props), "itemid") {
			t.Fatalf("PutEvents(properties %q) accepted an event with no item", props)
		}
	})
}
