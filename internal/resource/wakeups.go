package resource

import (
	"sync"
	"time"
)

// Wakeups runs a runner's wake-up function at times it asks for (the end of
// a deletion's DELETE PENDING phase), on timers the runner owns: Stop, called
// when the runner's loop ends, cancels those not yet fired, so none outlives
// it. Without a Stop (a service whose loop never ran) the timers simply
// fire. The zero value is ready to use; methods are safe for concurrent use.
type Wakeups struct {
	// mu guards the fields below.
	mu      sync.Mutex
	timers  map[*time.Timer]struct{}
	stopped bool
}

// After calls wake once d has passed, unless Stop comes first. After Stop
// it does nothing.
func (w *Wakeups) After(d time.Duration, wake func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	if w.timers == nil {
		w.timers = map[*time.Timer]struct{}{}
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		w.mu.Lock()
		_, live := w.timers[t]
		delete(w.timers, t)
		w.mu.Unlock()
		if live {
			wake()
		}
	})
	w.timers[t] = struct{}{}
}

// Stop cancels every pending wake-up; later calls to After do nothing. A
// wake already running may still finish. It is idempotent.
func (w *Wakeups) Stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	for t := range w.timers {
		t.Stop()
	}
	w.timers = nil
}

// Pending returns how many wake-ups are scheduled and not yet fired.
func (w *Wakeups) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.timers)
}
