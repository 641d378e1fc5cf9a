// Package jobs runs asynchronous work items (import jobs, training runs,
// batch jobs) with bounded concurrency: a loop that rescans for pending work
// when kicked or on a timer, starts each pending item once, and waits for
// them all when its context ends. Domain packages supply what "pending" and
// "run" mean; the loop is written once here.
package jobs

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Options configure a Runner.
type Options struct {
	Name    string        // for logs
	Workers int           // items run at once; 0 means 1
	Poll    time.Duration // rescan period besides kicks; 0 means 2s
}

// Runner runs pending items. Create it with New, start it with Run.
type Runner struct {
	opts Options
	log  *slog.Logger
	kick chan struct{}
	// Pending lists the ids of items waiting to run, oldest first.
	pending func(ctx context.Context) ([]string, error)
	// run runs one item to completion; ctx ends at shutdown or Cancel.
	run func(ctx context.Context, id string)
	// tick is extra periodic work (e.g. status promotion, schedules) done
	// before each scan; nil for none.
	tick func(ctx context.Context) error

	// mu guards running.
	mu      sync.Mutex
	running map[string]context.CancelFunc
}

// New returns a runner. tick may be nil.
func New(opts Options, log *slog.Logger, pending func(ctx context.Context) ([]string, error),
	run func(ctx context.Context, id string), tick func(ctx context.Context) error) *Runner {
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.Poll <= 0 {
		opts.Poll = 2 * time.Second
	}
	return &Runner{opts: opts, log: log, kick: make(chan struct{}, 1), pending: pending, run: run, tick: tick,
		running: map[string]context.CancelFunc{}}
}

// Kick asks for a rescan soon; it never blocks.
func (r *Runner) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Cancel cancels a running item's context; it reports whether it was running.
func (r *Runner) Cancel(id string) bool {
	r.mu.Lock()
	cancel := r.running[id]
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	return cancel != nil
}

// Run scans and runs until ctx is done, then waits for running items.
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, r.opts.Workers)
	t := time.NewTicker(r.opts.Poll)
	defer t.Stop()
	for {
		r.scan(ctx, &wg, sem)
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		case <-t.C:
		}
	}
}

func (r *Runner) scan(ctx context.Context, wg *sync.WaitGroup, sem chan struct{}) {
	if r.tick != nil {
		if err := r.tick(ctx); err != nil && ctx.Err() == nil {
			r.log.ErrorContext(ctx, "periodic work failed", "runner", r.opts.Name, "err", err)
		}
	}
	ids, err := r.pending(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.ErrorContext(ctx, "list pending work", "runner", r.opts.Name, "err", err)
		}
		return
	}
	for _, id := range ids {
		r.mu.Lock()
		_, busy := r.running[id]
		r.mu.Unlock()
		if busy {
			continue
		}
		select {
		case sem <- struct{}{}:
		default:
			return // all workers busy; a finishing item kicks the loop
		}
		ictx, cancel := context.WithCancel(ctx)
		r.mu.Lock()
		r.running[id] = cancel
		r.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				cancel()
				r.mu.Lock()
				delete(r.running, id)
				r.mu.Unlock()
				<-sem
				r.Kick()
			}()
			r.run(ictx, id)
		}()
	}
}
