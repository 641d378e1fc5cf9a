package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/attune-dev/attune/internal/campaign"
	"github.com/attune-dev/attune/internal/health"
	"github.com/attune-dev/attune/internal/train"
)

// Readiness (/readyz) is the conjunction of these checks, in this order:
//
//   - shutdown: the server is not draining before it stops (--shutdown-delay);
//   - store: the store answers a query within the deadline;
//   - models: every ACTIVE campaign and recommender has its model loaded in
//     serving (a recommender whose model failed to load is logged and
//     skipped, so one bad artifact does not keep the server out of
//     rotation; a campaign that fails to load is marked CREATE FAILED);
//   - events: the durable event writer keeps up (its queue is at most half
//     full), and with --bus the replica has read the events other replicas
//     committed up to its last poll of the store. Acknowledged events reach
//     this replica's serving before their answer, and a loaded model's
//     histories are read from the store.
//
// The campaigns and recommenders are listed from the store, so a server
// that has just started is not ready until its runners have loaded them.

// campaignLister lists campaigns (campaign.Service).
type campaignLister interface {
	List(ctx context.Context, solutionARN, token string, limit int) ([]*campaign.Campaign, string, error)
}

// recommenderLister lists recommenders (train.Service).
type recommenderLister interface {
	Recommenders(ctx context.Context, groupARN, token string, limit int) ([]*train.Recommender, string, error)
}

// deployedModels says what serving has loaded (serving.Service).
type deployedModels interface {
	Deployed(key string) string
}

// eventBacklog is the events writer's queue and the fan-out's catch-up
// (events.Service).
type eventBacklog interface {
	Backlog() (queued, capacity int)
	CaughtUp() error
}

// readinessDeps are what the checks read.
type readinessDeps struct {
	campaigns    campaignLister
	recommenders recommenderLister
	serving      deployedModels
	events       eventBacklog
	failed       *loadFailures
	// draining, when set, fails readiness first: the server is stopping
	// (--shutdown-delay). nil means never.
	draining *atomic.Bool
}

// newReadiness returns the checker behind /readyz.
func newReadiness(d readinessDeps, log *slog.Logger) *health.Readiness {
	return health.New([]health.Check{
		{Name: "shutdown", Uncached: true, Ready: func(context.Context) error {
			if d.draining != nil && d.draining.Load() {
				return errors.New("the server is shutting down")
			}
			return nil
		}},
		{Name: "store", Ready: func(ctx context.Context) error {
			_, _, err := d.campaigns.List(ctx, "", "", 1)
			return err
		}},
		{Name: "models", Ready: d.modelsLoaded},
		{Name: "events", Ready: func(context.Context) error {
			if q, c := d.events.Backlog(); q > c/2 {
				return fmt.Errorf("%d of %d PutEvents/PutItems/PutUsers requests wait for the writer", q, c)
			}
			return d.events.CaughtUp()
		}},
	}, health.Options{}, log)
}

// modelsLoaded fails naming the first ACTIVE campaign or recommender whose
// model serving has not loaded yet.
func (d readinessDeps) modelsLoaded(ctx context.Context) error {
	for token := ""; ; {
		page, next, err := d.campaigns.List(ctx, "", token, 100)
		if err != nil {
			return fmt.Errorf("list campaigns: %w", err)
		}
		for _, c := range page {
			if c.Status == campaign.StatusActive && d.serving.Deployed(c.ARN) == "" {
				return fmt.Errorf("campaign %s: model not loaded yet", c.ARN)
			}
		}
		if token = next; token == "" {
			break
		}
	}
	for token := ""; ; {
		page, next, err := d.recommenders.Recommenders(ctx, "", token, 100)
		if err != nil {
			return fmt.Errorf("list recommenders: %w", err)
		}
		for _, r := range page {
			if r.Status == train.StatusActive && d.serving.Deployed(r.ARN) == "" && !d.failed.has(r.ARN) {
				return fmt.Errorf("recommender %s: model not loaded yet", r.ARN)
			}
		}
		if token = next; token == "" {
			return nil
		}
	}
}

// loadFailures remembers the recommenders whose last model load failed.
type loadFailures struct {
	// mu guards the field below.
	mu   sync.Mutex
	keys map[string]bool
}

func (f *loadFailures) set(key string, failed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keys == nil {
		f.keys = map[string]bool{}
	}
	if failed {
		f.keys[key] = true
	} else {
		delete(f.keys, key)
	}
}

func (f *loadFailures) has(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.keys[key]
}

// failureTrackingDeployer records in failed whether each recommender's
// latest model load failed, for the readiness check.
type failureTrackingDeployer struct {
	train.Deployer
	failed *loadFailures
}

// DeployModel implements train.Deployer.
func (d failureTrackingDeployer) DeployModel(ctx context.Context, m train.ModelDeployment) error {
	err := d.Deployer.DeployModel(ctx, m)
	if ctx.Err() == nil {
		d.failed.set(m.Key, err != nil)
	}
	return err
}

// Undeploy implements train.Deployer.
func (d failureTrackingDeployer) Undeploy(key string) {
	d.failed.set(key, false)
	d.Deployer.Undeploy(key)
}
