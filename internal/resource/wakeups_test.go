package resource

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestWakeups(t *testing.T) {
	var w Wakeups
	fired := make(chan struct{}, 4)
	w.After(time.Millisecond, func() { fired <- struct{}{} })
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Fatal("wake-up not called")
	}
	for deadline := time.Now().Add(10 * time.Second); w.Pending() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Pending() = %d after the wake-up fired, want 0", w.Pending())
		}
	}

	var late atomic.Int32
	w.After(time.Hour, func() { late.Add(1) })
	if got := w.Pending(); got != 1 {
		t.Fatalf("Pending() = %d, want 1", got)
	}
	w.Stop()
	w.Stop() // idempotent
	w.After(time.Millisecond, func() { late.Add(1) })
	if got := w.Pending(); got != 0 {
		t.Errorf("Pending() after Stop = %d, want 0 (the timer cancelled, After a no-op)", got)
	}
	time.Sleep(20 * time.Millisecond)
	if got := late.Load(); got != 0 {
		t.Errorf("%d wake-ups ran after Stop, want 0", got)
	}
}
