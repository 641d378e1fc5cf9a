package jobs

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunnerRunsEachPendingItemOnceWithBoundedConcurrency(t *testing.T) {
	var (
		mu      sync.Mutex
		pending = map[string]bool{"a": true, "b": true, "c": true, "d": true, "e": true}
		runs    = map[string]int{}
	)
	var inFlight, peak atomic.Int32
	done := make(chan struct{})
	r := New(Options{Name: "test", Workers: 2, Poll: 5 * time.Millisecond}, slog.New(slog.NewTextHandler(io.Discard, nil)),
		func(ctx context.Context) ([]string, error) {
			mu.Lock()
			defer mu.Unlock()
			var ids []string
			for _, id := range []string{"a", "b", "c", "d", "e"} {
				if pending[id] {
					ids = append(ids, id)
				}
			}
			return ids, nil
		},
		func(ctx context.Context, id string) {
			n := inFlight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(10 * time.Millisecond)
			inFlight.Add(-1)
			mu.Lock()
			runs[id]++
			delete(pending, id)
			left := len(pending)
			mu.Unlock()
			if left == 0 {
				close(done)
			}
		}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { r.Run(ctx); close(stopped) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("items did not all run")
	}
	cancel()
	<-stopped
	for id, n := range runs {
		if n != 1 {
			t.Errorf("item %s ran %d times, want 1", id, n)
		}
	}
	if peak.Load() > 2 {
		t.Errorf("peak concurrency %d, want at most 2", peak.Load())
	}
}

func TestCancelStopsARunningItem(t *testing.T) {
	started := make(chan struct{})
	ended := make(chan error, 1)
	var once sync.Once
	r := New(Options{Poll: time.Hour}, slog.New(slog.NewTextHandler(io.Discard, nil)),
		func(ctx context.Context) ([]string, error) { return []string{"x"}, nil },
		func(ctx context.Context, id string) {
			once.Do(func() { close(started) })
			<-ctx.Done()
			ended <- ctx.Err()
		}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	<-started
	if !r.Cancel("x") {
		t.Fatal("Cancel(x) = false for a running item")
	}
	select {
	case err := <-ended:
		if err == nil {
			t.Error("item context not cancelled")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled item did not end")
	}
	if r.Cancel("nope") {
		t.Error("Cancel of an unknown item = true")
	}
}
