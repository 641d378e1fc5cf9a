// Package health decides whether the server is ready for traffic: named
// checks (store reachable, models loaded, events caught up: cmd/attune
// supplies them) each run under a deadline, their result shared by
// concurrent callers and reused for a moment, and every change of the
// answer logged with its reason, which is never sent to the caller.
//
// It imports the standard library only, and must not import net/http or
// any domain package.
package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Check is one condition of readiness.
type Check struct {
	// Name says what is checked ("store", "models", "events"); it prefixes
	// the reason logged when the check fails.
	Name string
	// Ready returns nil when the condition holds, or why it does not. It
	// must return once ctx is done.
	Ready func(ctx context.Context) error
	// Uncached checks run on every call, before an answer is reused: for
	// conditions that cost nothing to test and must take effect at once
	// (the server draining before it stops, so a load balancer takes it out
	// of rotation within one probe, not one probe plus CacheFor).
	Uncached bool
}

// Options configure a Readiness.
type Options struct {
	// Timeout bounds each check; one that overruns counts as not ready. 0
	// means 2s.
	Timeout time.Duration
	// CacheFor is how long an answer is reused before the checks run again,
	// so that unauthenticated polling of /readyz costs the store at most one
	// round of queries per CacheFor. 0 means 1s; negative means never reuse.
	CacheFor time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// ErrNotChecked is what Ready answers to a caller that stopped waiting (its
// context ended, or the checks overran every deadline) before an answer.
var ErrNotChecked = errors.New("readiness not checked: no answer in time")

// Readiness runs the checks. Its methods are safe for concurrent use.
type Readiness struct {
	checks []Check
	opts   Options
	log    *slog.Logger
	// sem is held by whoever runs the checks or reads their last answer.
	sem chan struct{}

	// The fields below are guarded by sem.
	at     time.Time // when err was computed; zero before the first run
	err    error
	logged string // the last state logged: "" before any, "ready", or the reason
}

// New returns a Readiness over checks, which run in order; the first that
// fails decides the answer.
func New(checks []Check, opts Options, log *slog.Logger) *Readiness {
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.CacheFor == 0 {
		opts.CacheFor = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Readiness{checks: checks, opts: opts, log: log, sem: make(chan struct{}, 1)}
}

// Ready returns nil when every check passes, or an error naming the first
// that failed and why. It reuses an answer younger than CacheFor; callers
// arriving while the checks run wait for that run's answer. No caller waits
// longer than every check's Timeout together (plus one): a check that
// ignores its deadline makes callers get ErrNotChecked, never hang, and the
// checks run again only once it has returned. A caller going away does not
// cut the checks short, so its hang-up is never mistaken for a slow store.
func (r *Readiness) Ready(ctx context.Context) error {
	for _, c := range r.checks {
		if c.Uncached {
			if err := c.Ready(ctx); err != nil {
				return fmt.Errorf("%s: %w", c.Name, err)
			}
		}
	}
	wait := time.NewTimer(r.opts.Timeout * time.Duration(len(r.checks)+1))
	defer wait.Stop()
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return ErrNotChecked
	case <-wait.C:
		return ErrNotChecked
	}
	if !r.at.IsZero() && r.opts.CacheFor > 0 && r.opts.Now().Sub(r.at) < r.opts.CacheFor {
		err := r.err
		<-r.sem
		return err
	}
	done := make(chan error, 1)
	// The run owns sem until the checks return, whoever stops waiting.
	go func() {
		defer func() { <-r.sem }()
		r.err = r.run(context.WithoutCancel(ctx))
		r.at = r.opts.Now()
		r.logChangeLocked(ctx)
		done <- r.err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ErrNotChecked
	case <-wait.C:
		return ErrNotChecked
	}
}

func (r *Readiness) run(ctx context.Context) error {
	for _, c := range r.checks {
		cctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
		err := c.Ready(cctx)
		if err == nil && cctx.Err() != nil {
			err = cctx.Err() // answered, but too late to count
		}
		cancel()
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("%s: no answer within %s: %w", c.Name, r.opts.Timeout, err)
			}
			return fmt.Errorf("%s: %w", c.Name, err)
		}
	}
	return nil
}

// logChangeLocked logs the answer when it differs from the last one logged.
func (r *Readiness) logChangeLocked(ctx context.Context) {
	state := "ready"
	if r.err != nil {
		state = r.err.Error()
	}
	if state == r.logged {
		return
	}
	wasReady := r.logged == "ready"
	r.logged = state
	switch {
	case r.err == nil:
		r.log.InfoContext(ctx, "ready")
	case wasReady:
		r.log.WarnContext(ctx, "no longer ready", "reason", state)
	default:
		// Not ready at start is expected while models load.
		r.log.InfoContext(ctx, "not ready", "reason", state)
	}
}
