package health

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestReadiness(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	var storeErr, modelsErr atomic.Pointer[error]
	var calls atomic.Int32
	set := func(p *atomic.Pointer[error], err error) { p.Store(&err) }
	set(&storeErr, nil)
	set(&modelsErr, errors.New("campaign c1 not loaded"))
	var logs bytes.Buffer
	r := New([]Check{
		{Name: "store", Ready: func(context.Context) error { calls.Add(1); return *storeErr.Load() }},
		{Name: "models", Ready: func(context.Context) error { return *modelsErr.Load() }},
	}, Options{Now: clock.Now}, slog.New(slog.NewTextHandler(&logs, nil)))
	ctx := context.Background()

	steps := []struct {
		name    string
		advance time.Duration
		change  func()
		want    string // "" = ready, else a substring of the error
		calls   int32  // store checks run so far
	}{
		{"loading", 0, nil, "models: campaign c1 not loaded", 1},
		{"cached within a second", 500 * time.Millisecond, func() { set(&modelsErr, nil) }, "models: campaign c1", 1},
		{"loaded", 600 * time.Millisecond, nil, "", 2},
		{"store down", 2 * time.Second, func() { set(&storeErr, errors.New("connection refused")) }, "store: connection refused", 3},
		{"store back", 2 * time.Second, func() { set(&storeErr, nil) }, "", 4},
	}
	for _, st := range steps {
		clock.Add(st.advance)
		if st.change != nil {
			st.change()
		}
		err := r.Ready(ctx)
		if (st.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), st.want)) {
			t.Errorf("%s: Ready() = %v, want %q", st.name, err, st.want)
		}
		if got := calls.Load(); got != st.calls {
			t.Errorf("%s: store checked %d times, want %d", st.name, got, st.calls)
		}
	}
	// Changes are logged once each: not ready, ready, no longer ready, ready.
	want := []string{`msg="not ready"`, `msg=ready`, `msg="no longer ready"`, `msg=ready`}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("logged %d lines, want %d:\n%s", len(lines), len(want), logs.String())
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("log line %d = %q, want %s", i, lines[i], w)
		}
	}
}

func TestReadinessTimeout(t *testing.T) {
	r := New([]Check{{Name: "store", Ready: func(ctx context.Context) error {
		<-ctx.Done() // a hung database
		return ctx.Err()
	}}}, Options{Timeout: 20 * time.Millisecond, CacheFor: -1}, slog.New(slog.DiscardHandler))
	start := time.Now()
	err := r.Ready(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "store: no answer within") {
		t.Errorf("Ready() with a hung check = %v, want a deadline error naming the check", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Ready() took %s with a 20ms timeout", d)
	}
}

func TestReadinessCallerGoesAway(t *testing.T) {
	release := make(chan struct{})
	var runs atomic.Int32
	r := New([]Check{{Name: "slow", Ready: func(ctx context.Context) error {
		runs.Add(1)
		<-release
		return nil
	}}}, Options{Timeout: time.Minute}, slog.New(slog.DiscardHandler))
	first := make(chan error, 1)
	cctx, cancel := context.WithCancel(context.Background())
	go func() { first <- r.Ready(cctx) }()
	for runs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	// A second caller that gives up while the first run is on.
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer wcancel()
	if err := r.Ready(wctx); !errors.Is(err, ErrNotChecked) {
		t.Errorf("waiting caller that gave up: Ready() = %v, want ErrNotChecked", err)
	}
	cancel() // the first caller hangs up: it stops waiting, its checks go on
	if err := <-first; !errors.Is(err, ErrNotChecked) {
		t.Errorf("caller that hung up mid-check: Ready() = %v, want ErrNotChecked", err)
	}
	close(release)
	if err := r.Ready(context.Background()); err != nil || runs.Load() != 1 {
		t.Errorf("Ready() after = %v with %d runs, want nil from the run the hung-up caller started", err, runs.Load())
	}
}

func TestReadinessCheckIgnoringItsDeadline(t *testing.T) {
	release := make(chan struct{})
	var runs atomic.Int32
	r := New([]Check{{Name: "stuck", Ready: func(context.Context) error {
		runs.Add(1)
		<-release // a driver call that ignores ctx
		return nil
	}}}, Options{Timeout: 10 * time.Millisecond, CacheFor: -1}, slog.New(slog.DiscardHandler))
	for i := range 3 {
		if err := r.Ready(context.Background()); !errors.Is(err, ErrNotChecked) {
			t.Errorf("call %d with a stuck check: Ready() = %v, want ErrNotChecked", i, err)
		}
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("stuck check started %d times, want 1 (no pile-up)", n)
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for r.Ready(context.Background()) != nil {
		if time.Now().After(deadline) {
			t.Fatal("not ready after the stuck check returned")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestUncachedCheckTakesEffectAtOnce: a draining server answers not ready at
// the next call, even while a ready answer is still being reused.
func TestUncachedCheckTakesEffectAtOnce(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	var draining atomic.Bool
	var storeCalls atomic.Int32
	r := New([]Check{
		{Name: "shutdown", Uncached: true, Ready: func(context.Context) error {
			if draining.Load() {
				return errors.New("shutting down")
			}
			return nil
		}},
		{Name: "store", Ready: func(context.Context) error { storeCalls.Add(1); return nil }},
	}, Options{Now: clock.Now}, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	if err := r.Ready(ctx); err != nil {
		t.Fatalf("Ready() = %v, want nil", err)
	}
	draining.Store(true)
	clock.Add(100 * time.Millisecond) // the ready answer is still fresh
	if err := r.Ready(ctx); err == nil || !strings.Contains(err.Error(), "shutdown: shutting down") {
		t.Errorf("Ready() while draining = %v, want shutdown: shutting down", err)
	}
	if got := storeCalls.Load(); got != 1 {
		t.Errorf("store checked %d times, want 1 (the cached checks are not rerun)", got)
	}
}
