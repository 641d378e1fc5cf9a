// Package campaign implements Personalize campaigns: a solution version
// deployed with its configuration (minProvisionedTPS, itemExplorationConfig,
// metadata, sync with the latest version), created and updated
// asynchronously like every Personalize resource. A background runner
// hands deployments to a Deployer (package serving, wired by cmd/attune)
// and records the outcome.
//
// It reads solution versions through the small Versions interface and must
// not import train, dataset, serving or any concrete backend.
package campaign

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/quota"
	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/resource"
	"github.com/attune-dev/attune/internal/store"
)

// Statuses of campaigns and of latestCampaignUpdate.
const (
	StatusCreatePending    = "CREATE PENDING"
	StatusCreateInProgress = "CREATE IN_PROGRESS"
	StatusActive           = "ACTIVE"
	StatusCreateFailed     = "CREATE FAILED"
)

// latestSuffix marks a solutionVersionArn that follows the solution's
// newest ACTIVE version (with syncWithLatestSolutionVersion).
const latestSuffix = "/$LATEST"

// Config is campaignConfig.
type Config struct {
	// ExplorationWeight and ExplorationAgeCutOff are itemExplorationConfig's
	// strings as given ("" when absent), validated as numbers.
	ExplorationWeight    string
	ExplorationAgeCutOff string
	EnableMetadata       bool
	SyncWithLatest       bool
	RankingInfluence     map[string]float64
}

// Update is latestCampaignUpdate: a requested change and its progress.
type Update struct {
	SolutionVersionARN string
	MinTPS             int
	Config             Config
	Status             string
	FailureReason      string
	Created, Updated   time.Time
}

// Campaign is a deployed solution version.
type Campaign struct {
	resource.Meta      // Parent is the solution ARN, so a solution with campaigns cannot be deleted
	SolutionVersionARN string
	GroupARN           string
	MinTPS             int
	Config             Config
	FailureReason      string
	Latest             *Update
	Tags               map[string]string
}

// VersionInfo is what a campaign needs to know of a solution version.
type VersionInfo struct {
	ARN, SolutionARN, GroupARN string
	Status                     string
	ArtifactKey                string
	// EventType and MinEventValue are the solution's training filter
	// (MinEventValue is NaN when there is no eventValueThreshold).
	EventType     string
	MinEventValue float64
}

// Versions reads solution versions. Errors: errs.NotFound for a missing
// version or solution; safe for concurrent use.
type Versions interface {
	// Version returns a solution version.
	Version(ctx context.Context, versionARN string) (VersionInfo, error)
	// LatestActive returns the newest ACTIVE version of a solution;
	// ok is false when it has none.
	LatestActive(ctx context.Context, solutionARN string) (v VersionInfo, ok bool, err error)
}

// Deployer loads deployments for serving (package serving). Deploy
// returns once the new model answers requests; until then the campaign's
// previous deployment keeps answering.
type Deployer interface {
	Expect(campaigns ...string)
	Deploy(ctx context.Context, d Deployment) error
	Undeploy(campaign string)
}

// Deployment is what the Deployer loads; it mirrors serving.Deployment,
// which cmd/attune converts it to.
type Deployment struct {
	Campaign, Group, SolutionVersion, ArtifactKey string
	Filter                                        corpus.Filter
	Exploration                                   *recipe.Exploration
	Metadata                                      bool
}

// Options configure the service.
type Options struct {
	Scope arn.Scope
	// Poll is how often the runner rescans besides being kicked; 0 means 2s.
	Poll time.Duration
	// Quotas caps campaigns and filters per dataset group; the zero value
	// holds Personalize's defaults.
	Quotas quota.Limits
}

// Service implements the campaign operations and runs deployments.
type Service struct {
	st     store.Resources
	vers   Versions
	deploy Deployer
	opts   Options
	now    func() time.Time
	log    *slog.Logger
	kick   chan struct{}
	// wakeups reap deleted campaigns when due; Run stops them.
	wakeups resource.Wakeups

	// smu guards served and failed (replicas.go).
	smu    sync.Mutex
	served map[string]served // campaign ARN -> deployed on this replica
	failed map[string]served // campaign ARN -> what did not load here
}

var campaigns = resource.Kind[Campaign, *Campaign]{Name: arn.Campaign}

// New returns a campaign service; call Run to deploy.
func New(st store.Resources, vers Versions, deploy Deployer, opts Options, now func() time.Time, log *slog.Logger) *Service {
	if opts.Poll <= 0 {
		opts.Poll = 2 * time.Second
	}
	return &Service{st: st, vers: vers, deploy: deploy, opts: opts, now: now, log: log, kick: make(chan struct{}, 1),
		served: map[string]served{}, failed: map[string]served{}}
}

func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// CreateInput is the input of Create.
type CreateInput struct {
	Name, SolutionVersionARN string
	MinTPS                   *int
	Config                   Config
	Tags                     map[string]string
}

// Create validates and stores a campaign in CREATE PENDING; the runner
// loads it. Errors: errs.Invalid, errs.NotFound (version), errs.InUse
// (version not ACTIVE), errs.AlreadyExists.
func (s *Service) Create(ctx context.Context, in CreateInput) (*Campaign, error) {
	if err := arn.CheckName("name", in.Name); err != nil {
		return nil, err
	}
	tps, err := checkTPS(in.MinTPS, 1)
	if err != nil {
		return nil, err
	}
	if err := checkConfig(in.Config); err != nil {
		return nil, err
	}
	v, err := s.resolve(ctx, in.SolutionVersionARN, in.Config.SyncWithLatest)
	if err != nil {
		return nil, err
	}
	all, err := campaigns.All(ctx, s.st, "")
	if err != nil {
		return nil, err
	}
	inGroup := 0
	for _, c := range all {
		if c.GroupARN == v.GroupARN {
			inGroup++
		}
	}
	if err := s.opts.Quotas.Check(quota.CampaignsPerGroup, inGroup, v.GroupARN); err != nil {
		return nil, err
	}
	t := s.now()
	c := &Campaign{SolutionVersionARN: v.ARN, GroupARN: v.GroupARN, MinTPS: tps, Config: in.Config, Tags: in.Tags}
	c.Meta = resource.Meta{ARN: s.opts.Scope.Build(arn.Campaign, in.Name), Name: in.Name, Parent: v.SolutionARN,
		Status: StatusCreatePending, Created: t, Updated: t}
	if err := campaigns.Create(ctx, s.st, c); err != nil {
		return nil, err
	}
	s.wake()
	return c, nil
}

// resolve checks a solutionVersionArn and returns the version to deploy:
// with sync, "<solutionArn>/$LATEST" (or any version of the solution)
// means its newest ACTIVE version.
func (s *Service) resolve(ctx context.Context, versionARN string, sync bool) (VersionInfo, error) {
	if sol, ok := strings.CutSuffix(versionARN, latestSuffix); ok {
		if !sync {
			return VersionInfo{}, errs.E(errs.Invalid, "solutionVersionArn %s ends in $LATEST: set campaignConfig.syncWithLatestSolutionVersion to true, or name a version", errs.Quote(versionARN))
		}
		if _, err := arn.Expect("solutionVersionArn", sol, arn.Solution, 1); err != nil {
			return VersionInfo{}, err
		}
		v, ok, err := s.vers.LatestActive(ctx, sol)
		if err != nil {
			return VersionInfo{}, err
		}
		if !ok {
			return VersionInfo{}, errs.E(errs.InUse, "Solution %s has no ACTIVE solution version to deploy", sol)
		}
		return v, nil
	}
	p, err := arn.Parse("solutionVersionArn", versionARN)
	if err != nil {
		return VersionInfo{}, err
	}
	if p.Type != arn.Solution || len(p.Parts) != 2 {
		return VersionInfo{}, errs.E(errs.Invalid, "solutionVersionArn: %s is not a solution version ARN (…:solution/NAME/VERSION)", errs.Quote(versionARN))
	}
	v, err := s.vers.Version(ctx, versionARN)
	if err != nil {
		return VersionInfo{}, err
	}
	if v.Status != StatusActive {
		return VersionInfo{}, errs.E(errs.InUse, "Solution version %s is %s: only an ACTIVE solution version can be deployed", versionARN, v.Status)
	}
	return v, nil
}

func checkTPS(tps *int, def int) (int, error) {
	if tps == nil {
		return def, nil
	}
	if *tps < 1 {
		return 0, errs.E(errs.Invalid, "minProvisionedTPS must be at least 1, got %d", *tps)
	}
	return *tps, nil
}

// checkConfig validates campaignConfig as Personalize documents it.
func checkConfig(c Config) error {
	if _, err := recipe.ParseExploration(c.ExplorationWeight, c.ExplorationAgeCutOff); err != nil {
		return errs.Wrap(errs.Invalid, err, "campaignConfig.%s", errs.Message(err))
	}
	for k, v := range c.RankingInfluence {
		if k != "POPULARITY" && k != "FRESHNESS" {
			return errs.E(errs.Invalid, "campaignConfig.rankingInfluence: key %s is not POPULARITY or FRESHNESS", errs.Quote(k))
		}
		if v < 0 || v > 1 {
			return errs.E(errs.Invalid, "campaignConfig.rankingInfluence.%s must be between 0 and 1, got %v", k, v)
		}
	}
	return nil
}

// Get returns a campaign.
func (s *Service) Get(ctx context.Context, campaignARN string) (*Campaign, error) {
	if _, err := arn.Expect("campaignArn", campaignARN, arn.Campaign, 1); err != nil {
		return nil, err
	}
	return campaigns.Get(ctx, s.st, campaignARN)
}

// List lists campaigns of a solution ("" = all), newest first.
func (s *Service) List(ctx context.Context, solutionARN, token string, limit int) ([]*Campaign, string, error) {
	if solutionARN != "" {
		if _, err := arn.Expect("solutionArn", solutionARN, arn.Solution, 1); err != nil {
			return nil, "", err
		}
	}
	return campaigns.List(ctx, s.st, solutionARN, token, limit)
}

// UpdateInput is the input of Update; nil or empty members keep the
// campaign's current value.
type UpdateInput struct {
	CampaignARN        string
	SolutionVersionARN string
	MinTPS             *int
	Config             *Config
}

// Update records a change as latestCampaignUpdate in CREATE PENDING. The
// campaign keeps serving its current version and configuration until the
// runner has loaded the new ones, then switches atomically. Errors:
// errs.NotFound, errs.Invalid, errs.InUse (campaign not ACTIVE or CREATE
// FAILED, an update already running, or a version not ACTIVE).
func (s *Service) Update(ctx context.Context, in UpdateInput) (*Campaign, error) {
	c, err := s.Get(ctx, in.CampaignARN)
	if err != nil {
		return nil, err
	}
	cfg := c.Config
	if in.Config != nil {
		cfg = *in.Config
		if err := checkConfig(cfg); err != nil {
			return nil, err
		}
	}
	tps, err := checkTPS(in.MinTPS, c.MinTPS)
	if err != nil {
		return nil, err
	}
	va := in.SolutionVersionARN
	if va == "" {
		va = c.SolutionVersionARN
	}
	v, err := s.resolve(ctx, va, cfg.SyncWithLatest)
	if err != nil {
		return nil, err
	}
	if v.SolutionARN != c.Parent {
		return nil, errs.E(errs.Invalid, "solutionVersionArn %s belongs to solution %s, not to the campaign's solution %s", v.ARN, v.SolutionARN, c.Parent)
	}
	t := s.now()
	c, err = campaigns.Update(ctx, s.st, in.CampaignARN, s.now, func(c *Campaign) error {
		if c.Status != StatusActive && c.Status != StatusCreateFailed {
			return errs.E(errs.InUse, "Campaign %s is %s: it can be updated once ACTIVE or CREATE FAILED", c.ARN, c.Status)
		}
		if c.Latest != nil && (c.Latest.Status == StatusCreatePending || c.Latest.Status == StatusCreateInProgress) {
			return errs.E(errs.InUse, "Campaign %s has an update in %s", c.ARN, c.Latest.Status)
		}
		c.Latest = &Update{SolutionVersionARN: v.ARN, MinTPS: tps, Config: cfg, Status: StatusCreatePending, Created: t, Updated: t}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.wake()
	return c, nil
}

// Delete stops serving a campaign at once and starts deleting it: it shows
// DELETE PENDING for resource.DeletePendingFor, then DELETE IN_PROGRESS,
// then disappears, as Personalize's campaigns do. Errors: errs.NotFound,
// errs.InUse when it is already being deleted.
func (s *Service) Delete(ctx context.Context, campaignARN string) error {
	if _, err := s.Get(ctx, campaignARN); err != nil {
		return err
	}
	if _, err := campaigns.MarkDeleting(ctx, s.st, campaignARN, s.now, nil); err != nil {
		return err
	}
	s.undeploy(campaignARN)
	s.wakeups.After(resource.DeletePendingFor, s.wake) // reap it as soon as it is due
	return nil
}

// finishDelete removes a campaign whose DELETE PENDING phase is over.
func (s *Service) finishDelete(ctx context.Context, c *Campaign) error {
	s.undeploy(c.ARN) // again, in case a restart came in between
	return campaigns.Delete(ctx, s.st, c.ARN)
}
