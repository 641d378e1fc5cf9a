package campaign

import (
	"context"
	"fmt"
	"time"

	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/resource"
)

// Run loads every ACTIVE campaign, then deploys created and updated
// campaigns (and follows the newest version for campaigns synced with it)
// until ctx is done. A deployment interrupted by shutdown is redone at the
// next start, so no campaign stays IN_PROGRESS. It returns nil on
// cancellation.
func (s *Service) Run(ctx context.Context) error {
	if err := s.start(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("campaign runner: start: %w", err)
	}
	defer s.wakeups.Stop()
	tick := time.NewTicker(s.opts.Poll)
	defer tick.Stop()
	for {
		s.reconcile(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-s.kick:
		case <-tick.C:
		}
	}
}

// start resets interrupted work and loads the ACTIVE campaigns.
func (s *Service) start(ctx context.Context) error {
	all, err := campaigns.All(ctx, s.st, "")
	if err != nil {
		return err
	}
	var active []*Campaign
	for _, c := range all {
		interrupted := c.Status == StatusCreateInProgress || (c.Latest != nil && c.Latest.Status == StatusCreateInProgress)
		if interrupted {
			if _, err := campaigns.Update(ctx, s.st, c.ARN, s.now, func(c *Campaign) error {
				if c.Status == StatusCreateInProgress {
					c.Status = StatusCreatePending
				}
				if c.Latest != nil && c.Latest.Status == StatusCreateInProgress {
					c.Latest.Status = StatusCreatePending
				}
				return nil
			}); err != nil {
				return err
			}
		}
		if c.Status == StatusActive {
			active = append(active, c)
		}
	}
	arns := make([]string, len(active))
	for i, c := range active {
		arns[i] = c.ARN
	}
	s.deploy.Expect(arns...)
	for _, c := range active {
		if err := s.load(ctx, c, c.SolutionVersionARN, c.Config); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.log.ErrorContext(ctx, "load campaign at startup", "campaign", c.ARN, "err", err)
			s.finish(ctx, c.ARN, func(c *Campaign) {
				c.Status, c.FailureReason = StatusCreateFailed, "could not load the model at startup: "+errs.Message(err)
			})
			s.undeploy(c.ARN)
		}
	}
	return nil
}

func (s *Service) reconcile(ctx context.Context) {
	if err := campaigns.Reap(ctx, s.st, s.now, resource.DeletePendingFor, s.finishDelete); err != nil && ctx.Err() == nil {
		s.log.ErrorContext(ctx, "finish campaign deletions", "err", err)
	}
	all, err := campaigns.All(ctx, s.st, "")
	if err != nil {
		if ctx.Err() == nil {
			s.log.ErrorContext(ctx, "list campaigns", "err", err)
		}
		return
	}
	// Oldest first, so campaigns deploy in the order they were asked for.
	for i := len(all) - 1; i >= 0 && ctx.Err() == nil; i-- {
		c := all[i]
		switch {
		case c.Status == StatusCreatePending:
			s.create(ctx, c)
		case c.Latest != nil && c.Latest.Status == StatusCreatePending:
			s.update(ctx, c)
		case c.Status == StatusActive && c.Config.SyncWithLatest:
			s.follow(ctx, c)
		}
	}
	if ctx.Err() == nil {
		s.syncReplica(ctx)
	}
}

func (s *Service) create(ctx context.Context, c *Campaign) {
	if !s.claim(ctx, c.ARN, func(c *Campaign) bool {
		if c.Status != StatusCreatePending {
			return false
		}
		c.Status = StatusCreateInProgress
		return true
	}) {
		return
	}
	err := s.load(ctx, c, c.SolutionVersionARN, c.Config)
	if ctx.Err() != nil {
		return // shutting down: start() redoes it
	}
	s.finish(ctx, c.ARN, func(c *Campaign) {
		if err != nil {
			c.Status, c.FailureReason = StatusCreateFailed, failure(c.ARN, err)
			return
		}
		c.Status, c.FailureReason = StatusActive, ""
	})
	if err != nil {
		s.log.InfoContext(ctx, "campaign failed", "campaign", c.ARN, "err", err)
	}
}

func (s *Service) update(ctx context.Context, c *Campaign) {
	if !s.claim(ctx, c.ARN, func(c *Campaign) bool {
		if c.Latest == nil || c.Latest.Status != StatusCreatePending {
			return false
		}
		c.Latest.Status = StatusCreateInProgress
		return true
	}) {
		return
	}
	u := c.Latest
	err := s.load(ctx, c, u.SolutionVersionARN, u.Config)
	if ctx.Err() != nil {
		return
	}
	now := s.now()
	s.finish(ctx, c.ARN, func(c *Campaign) {
		if c.Latest == nil {
			return
		}
		c.Latest.Updated = now
		if err != nil {
			// The campaign keeps serving what it served before.
			c.Latest.Status, c.Latest.FailureReason = StatusCreateFailed, failure(c.ARN, err)
			return
		}
		c.Latest.Status, c.Latest.FailureReason = StatusActive, ""
		c.SolutionVersionARN, c.MinTPS, c.Config = c.Latest.SolutionVersionARN, c.Latest.MinTPS, c.Latest.Config
		c.Status, c.FailureReason = StatusActive, ""
	})
	if err != nil {
		s.log.InfoContext(ctx, "campaign update failed", "campaign", c.ARN, "err", err)
	}
}

// follow deploys the solution's newest ACTIVE version to a campaign with
// syncWithLatestSolutionVersion when it is not the one served.
func (s *Service) follow(ctx context.Context, c *Campaign) {
	v, ok, err := s.vers.LatestActive(ctx, c.Parent)
	if err != nil || !ok || v.ARN == c.SolutionVersionARN {
		if err != nil && ctx.Err() == nil && errs.KindOf(err) != errs.NotFound {
			s.log.ErrorContext(ctx, "latest solution version", "campaign", c.ARN, "err", err)
		}
		return
	}
	if err := s.load(ctx, c, v.ARN, c.Config); err != nil {
		if ctx.Err() == nil {
			s.log.ErrorContext(ctx, "sync campaign with the latest solution version", "campaign", c.ARN, "version", v.ARN, "err", err)
		}
		return
	}
	s.finish(ctx, c.ARN, func(c *Campaign) { c.SolutionVersionARN = v.ARN })
	s.log.InfoContext(ctx, "campaign synced with the latest solution version", "campaign", c.ARN, "version", v.ARN)
}

// claim applies a state change if fn allows it; false means someone else
// changed the campaign first (or it was deleted).
func (s *Service) claim(ctx context.Context, campaignARN string, fn func(*Campaign) bool) bool {
	ok := false
	_, err := campaigns.Update(ctx, s.st, campaignARN, s.now, func(c *Campaign) error {
		ok = fn(c)
		return nil
	})
	if err != nil {
		if ctx.Err() == nil && errs.KindOf(err) != errs.NotFound {
			s.log.ErrorContext(ctx, "claim campaign", "campaign", campaignARN, "err", err)
		}
		return false
	}
	return ok
}

// finish records an outcome; a campaign deleted (or being deleted)
// meanwhile is undeployed and keeps its DELETE status.
func (s *Service) finish(ctx context.Context, campaignARN string, fn func(*Campaign)) {
	_, err := campaigns.Update(context.WithoutCancel(ctx), s.st, campaignARN, s.now, func(c *Campaign) error {
		if resource.Deleting(c.Status) {
			return errs.E(errs.NotFound, "campaign %s is being deleted", c.ARN)
		}
		fn(c)
		return nil
	})
	if errs.KindOf(err) == errs.NotFound {
		s.undeploy(campaignARN)
		return
	}
	if err != nil {
		s.log.ErrorContext(ctx, "record campaign status", "campaign", campaignARN, "err", err)
	}
}

// load deploys versionARN with cfg for campaign c.
func (s *Service) load(ctx context.Context, c *Campaign, versionARN string, cfg Config) error {
	v, err := s.vers.Version(ctx, versionARN)
	if err != nil {
		return err
	}
	if v.Status != StatusActive || v.ArtifactKey == "" {
		return errs.E(errs.InUse, "Solution version %s is %s: only an ACTIVE solution version can be deployed", versionARN, v.Status)
	}
	d := Deployment{Campaign: c.ARN, Group: v.GroupARN, SolutionVersion: v.ARN, ArtifactKey: v.ArtifactKey,
		Filter: corpus.Filter{EventType: v.EventType, MinEventValue: v.MinEventValue}, Exploration: exploration(cfg),
		Metadata: cfg.EnableMetadata}
	if err := s.deploy.Deploy(ctx, d); err != nil {
		return err
	}
	s.deployed(c.ARN, versionARN, cfg)
	return nil
}

// exploration turns itemExplorationConfig into the model query's setting:
// nil when the weight is explicitly 0 (no exploration); zero fields take
// the model's trained defaults.
func exploration(cfg Config) *recipe.Exploration {
	e, _ := recipe.ParseExploration(cfg.ExplorationWeight, cfg.ExplorationAgeCutOff) // validated at create/update
	return e
}

// failure is the failureReason of a campaign whose model did not load:
// the client-safe message, or for an internal error a generic reason (the
// cause is logged by the caller).
func failure(campaignARN string, err error) string {
	if errs.KindOf(err) == errs.Internal {
		return "internal error while loading the model (campaign " + campaignARN + "); the cause is in the server log"
	}
	return errs.Message(err)
}
