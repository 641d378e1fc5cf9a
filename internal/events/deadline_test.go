package events_test

import (
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/events"
)

// TestHungStoreAnswersBusy: while the store hangs (ignoring its context),
// PutEvents, PutItems and PutUsers answer errs.Busy once StoreTimeout has
// passed instead of waiting for it, and once the store recovers the next
// call is stored again.
func TestHungStoreAnswersBusy(t *testing.T) {
	const timeout = 150 * time.Millisecond
	f := newFixture(t, events.Options{StoreTimeout: timeout}, true)
	hang := make(chan struct{})
	f.st.hang.Store(&hang)
	released := false
	release := func() {
		if !released {
			released = true
			close(hang)
		}
	}
	t.Cleanup(release)

	calls := []struct {
		name string
		call func() error
	}{
		{"PutEvents", func() error {
			return f.svc.PutEvents(t.Context(), events.PutEventsInput{TrackingID: f.tracking, SessionID: "s1", UserID: "u1",
				Events: []events.Event{event("i1")}})
		}},
		{"PutItems", func() error {
			return f.svc.PutItems(t.Context(), f.datasets["Items"], []events.Entity{{ID: "i1", Properties: ptr(`{"price":1}`)}})
		}},
		{"PutUsers", func() error {
			return f.svc.PutUsers(t.Context(), f.datasets["Users"], []events.Entity{{ID: "u1"}})
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- c.call() }()
			select {
			case err := <-done:
				if k := errs.KindOf(err); k != errs.Busy {
					t.Fatalf("%s on a hung store = %v (kind %v), want kind Busy", c.name, err, k)
				}
			case <-time.After(30 * time.Second):
				// Far above the 150 ms deadline: only a call that ignores
				// the deadline gets here.
				t.Fatalf("%s on a hung store did not answer", c.name)
			}
		})
	}
	release()
	f.st.hang.Store(nil)
	// The writer may still be releasing the commits that hung; a call
	// queued behind them succeeds once they are done.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		err := calls[0].call()
		if err == nil {
			break
		}
		if errs.KindOf(err) != errs.Busy || time.Now().After(deadline) {
			t.Fatalf("PutEvents after the store recovered = %v, want nil", err)
		}
	}
	if rows := f.rows(t, "Interactions"); len(rows) == 0 {
		t.Fatal("no interaction stored after the store recovered")
	}
}
