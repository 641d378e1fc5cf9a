package train

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/jobs"
	"github.com/attune-dev/attune/internal/model"
	"github.com/attune-dev/attune/internal/quota"
	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/resource"
)

// Recommender statuses beyond the CREATE ones.
const (
	StatusStopPending     = "STOP PENDING"
	StatusStopInProgress  = "STOP IN_PROGRESS"
	StatusInactive        = "INACTIVE"
	StatusStartPending    = "START PENDING"
	StatusStartInProgress = "START IN_PROGRESS"
)

// UseCase is a domain recommender recipe and how Attune realises it.
type UseCase struct {
	Name        string // e.g. aws-ecomm-recommended-for-you
	Domain      string // ECOMMERCE or VIDEO_ON_DEMAND
	Description string
	Recipe      string // the Attune recipe that serves it
	EventType   string // interactions it trains on ("" = all)
	// ExcludeEventTypes are event types whose items a user is not
	// recommended again (e.g. what they purchased or watched).
	ExcludeEventTypes []string
	NeedsItem         bool // GetRecommendations takes an itemId
}

// UseCases lists the domain use cases, as ListRecipes with a domain shows them.
func UseCases() []UseCase {
	return []UseCase{
		{"aws-ecomm-customers-who-viewed-x-also-viewed", "ECOMMERCE", "Customers who viewed X also viewed", "aws-sims", "View", []string{"Purchase"}, true},
		{"aws-ecomm-frequently-bought-together", "ECOMMERCE", "Frequently bought together", "aws-sims", "Purchase", nil, true},
		{"aws-ecomm-popular-items-by-purchases", "ECOMMERCE", "Best sellers", "aws-popularity-count", "Purchase", nil, false},
		{"aws-ecomm-popular-items-by-views", "ECOMMERCE", "Most viewed", "aws-popularity-count", "View", nil, false},
		{"aws-ecomm-recommended-for-you", "ECOMMERCE", "Recommended for you", "aws-user-personalization", "", []string{"Purchase"}, false},
		{"aws-vod-because-you-watched-x", "VIDEO_ON_DEMAND", "Because you watched X", "aws-sims", "Watch", []string{"Watch"}, true},
		{"aws-vod-more-like-x", "VIDEO_ON_DEMAND", "More like X", "aws-similar-items", "", []string{"Watch"}, true},
		{"aws-vod-most-popular", "VIDEO_ON_DEMAND", "Most popular", "aws-popularity-count", "Watch", nil, false},
		{"aws-vod-top-picks", "VIDEO_ON_DEMAND", "Top picks for you", "aws-user-personalization", "", []string{"Watch"}, false},
		{"aws-vod-trending-now", "VIDEO_ON_DEMAND", "Trending now", "aws-trending-now", "", nil, false},
	}
}

func useCase(recipeARN string) (UseCase, error) {
	p, err := arn.Parse("recipeArn", recipeARN)
	if err != nil {
		return UseCase{}, err
	}
	if p.Type == arn.Recipe && len(p.Parts) == 1 {
		for _, u := range UseCases() {
			if u.Name == p.Parts[0] {
				return u, nil
			}
		}
	}
	return UseCase{}, errs.E(errs.Invalid, "recipeArn: %s is not a domain use case recipe (see ListRecipes --domain)", errs.Quote(recipeARN))
}

// RecommenderConfig is recommenderConfig.
type RecommenderConfig struct {
	Exploration map[string]string
	MinRPS      int
	Metadata    bool
	Echo        []byte // the config as the client sent it
}

// RecommenderUpdate records the latest UpdateRecommender.
type RecommenderUpdate struct {
	Config           RecommenderConfig
	Status           string
	FailureReason    string
	Created, Updated time.Time
}

// Recommender is a domain recommender; Meta.Parent is its dataset group.
type Recommender struct {
	resource.Meta
	GroupARN      string
	RecipeARN     string
	Config        RecommenderConfig
	FailureReason string
	Metrics       map[string]float64
	ArtifactKey   string
	LatestUpdate  *RecommenderUpdate
	Tags          map[string]string
}

var recommenders = resource.Kind[Recommender, *Recommender]{Name: arn.Recommender}

// Deployer puts a model artifact behind a key that GetRecommendations
// (recommenderArn) reaches; cmd/attune adapts serving to it.
type Deployer interface {
	DeployModel(ctx context.Context, d ModelDeployment) error
	Undeploy(key string)
}

// ModelDeployment says what to serve under a key.
type ModelDeployment struct {
	Key               string
	Group             string
	ArtifactKey       string
	EventType         string
	Exploration       map[string]string
	Metadata          bool
	ExcludeEventTypes []string
}

// SetDeployer connects recommenders to serving; without it they train but
// cannot be queried.
func (s *Service) SetDeployer(d Deployer) { s.deployer = d }

// CreateRecommenderInput is the input of CreateRecommender.
type CreateRecommenderInput struct {
	Name, GroupARN, RecipeARN string
	Config                    RecommenderConfig
	Tags                      map[string]string
}

// CreateRecommender creates a recommender for a domain dataset group; it
// trains and deploys in the background.
func (s *Service) CreateRecommender(ctx context.Context, in CreateRecommenderInput) (*Recommender, error) {
	if err := arn.CheckName("name", in.Name); err != nil {
		return nil, err
	}
	uc, err := useCase(in.RecipeARN)
	if err != nil {
		return nil, err
	}
	if _, err := arn.Expect("datasetGroupArn", in.GroupARN, arn.DatasetGroup, 1); err != nil {
		return nil, err
	}
	g, err := s.st.GetResource(ctx, arn.DatasetGroup, in.GroupARN)
	if err != nil {
		if errs.KindOf(err) == errs.NotFound {
			return nil, errs.E(errs.NotFound, "Could not find dataset group %s", in.GroupARN)
		}
		return nil, err
	}
	// The dataset package stores the group's domain as "Domain" in its body.
	var body struct{ Domain string }
	_ = json.Unmarshal(g.Body, &body)
	if body.Domain != uc.Domain {
		return nil, errs.E(errs.Invalid, "recipe %s is a %s use case but dataset group %s has domain %s", uc.Name, uc.Domain, in.GroupARN, errs.Quote(body.Domain))
	}
	if !resource.Usable(g.Status) {
		return nil, errs.E(errs.InUse, "Dataset group %s is %s, not ACTIVE", in.GroupARN, g.Status)
	}
	if err := checkExploration(in.Config.Exploration); err != nil {
		return nil, err
	}
	if err := s.checkPerGroup(ctx, quota.RecommendersPerGroup, arn.Recommender, in.GroupARN); err != nil {
		return nil, err
	}
	t := s.now()
	r := &Recommender{GroupARN: in.GroupARN, RecipeARN: in.RecipeARN, Config: in.Config, Tags: in.Tags}
	r.Meta = metaOf(s.opts.Scope.Build(arn.Recommender, in.Name), in.Name, in.GroupARN, StatusCreatePending, t)
	if err := recommenders.Create(ctx, s.st, r); err != nil {
		return nil, err
	}
	s.recRunner.Kick()
	return r, nil
}

func checkExploration(m map[string]string) error {
	_, err := recipe.ParseExplorationMap(m)
	return err
}

// Recommender returns a recommender.
func (s *Service) Recommender(ctx context.Context, recARN string) (*Recommender, error) {
	if _, err := arn.Expect("recommenderArn", recARN, arn.Recommender, 1); err != nil {
		return nil, err
	}
	return recommenders.Get(ctx, s.st, recARN)
}

// Recommenders lists recommenders of a group ("" = all).
func (s *Service) Recommenders(ctx context.Context, groupARN, token string, limit int) ([]*Recommender, string, error) {
	return recommenders.List(ctx, s.st, groupARN, token, limit)
}

// UpdateRecommender retrains with a new configuration; the old model serves
// until the new one is deployed.
func (s *Service) UpdateRecommender(ctx context.Context, recARN string, cfg RecommenderConfig) (*Recommender, error) {
	if err := checkExploration(cfg.Exploration); err != nil {
		return nil, err
	}
	if _, err := s.Recommender(ctx, recARN); err != nil {
		return nil, err
	}
	r, err := recommenders.Update(ctx, s.st, recARN, s.now, func(r *Recommender) error {
		if r.Status != StatusActive {
			return errs.E(errs.InUse, "Recommender %s is %s, not ACTIVE", r.ARN, r.Status)
		}
		if u := r.LatestUpdate; u != nil && (u.Status == StatusCreatePending || u.Status == StatusCreateInProgress) {
			return errs.E(errs.InUse, "Recommender %s already has an update in progress", r.ARN)
		}
		t := s.now()
		r.LatestUpdate = &RecommenderUpdate{Config: cfg, Status: StatusCreatePending, Created: t, Updated: t}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.recRunner.Kick()
	return r, nil
}

// StopRecommender stops serving (and automatic retraining) of an ACTIVE recommender.
func (s *Service) StopRecommender(ctx context.Context, recARN string) (*Recommender, error) {
	return s.moveRecommender(ctx, recARN, StatusActive, StatusStopPending)
}

// StartRecommender resumes an INACTIVE recommender.
func (s *Service) StartRecommender(ctx context.Context, recARN string) (*Recommender, error) {
	return s.moveRecommender(ctx, recARN, StatusInactive, StatusStartPending)
}

func (s *Service) moveRecommender(ctx context.Context, recARN, from, to string) (*Recommender, error) {
	if _, err := s.Recommender(ctx, recARN); err != nil {
		return nil, err
	}
	r, err := recommenders.Update(ctx, s.st, recARN, s.now, func(r *Recommender) error {
		if r.Status != from {
			return errs.E(errs.InUse, "Recommender %s is %s, not %s", r.ARN, r.Status, from)
		}
		r.Status = to
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.recRunner.Kick()
	return r, nil
}

// DeleteRecommender undeploys and deletes a recommender that is not busy.
func (s *Service) DeleteRecommender(ctx context.Context, recARN string) error {
	r, err := s.Recommender(ctx, recARN)
	if err != nil {
		return err
	}
	switch r.Status {
	case StatusActive, StatusInactive, StatusCreateFailed:
	default:
		return errs.E(errs.InUse, "Recommender %s is %s", r.ARN, r.Status)
	}
	if s.deployer != nil {
		s.deployer.Undeploy(r.ARN)
	}
	if r.ArtifactKey != "" {
		if err := s.artifacts.Delete(ctx, r.ArtifactKey); err != nil {
			return err
		}
	}
	return recommenders.Delete(ctx, s.st, recARN)
}

// RunRecommenders trains, deploys, stops and starts recommenders until ctx is
// done; at start it deploys every ACTIVE one and reruns interrupted work.
func (s *Service) RunRecommenders(ctx context.Context) error {
	all, err := recommenders.All(ctx, s.st, "")
	if err != nil {
		return fmt.Errorf("recommender runner: %w", err)
	}
	for _, r := range all {
		switch r.Status {
		case StatusActive:
			if err := s.deployRecommender(ctx, r, r.Config, r.ArtifactKey); err != nil {
				s.log.ErrorContext(ctx, "deploy recommender at start", "recommender", r.ARN, "err", err)
			}
		case StatusCreateInProgress, StatusStopInProgress, StatusStartInProgress:
			back := map[string]string{StatusCreateInProgress: StatusCreatePending, StatusStopInProgress: StatusStopPending,
				StatusStartInProgress: StatusStartPending}[r.Status]
			if _, err := recommenders.Update(ctx, s.st, r.ARN, s.now, func(r *Recommender) error { r.Status = back; return nil }); err != nil {
				return fmt.Errorf("recommender runner: recover %s: %w", r.ARN, err)
			}
		}
		if u := r.LatestUpdate; u != nil && u.Status == StatusCreateInProgress {
			if _, err := recommenders.Update(ctx, s.st, r.ARN, s.now, func(r *Recommender) error {
				r.LatestUpdate.Status = StatusCreatePending
				return nil
			}); err != nil {
				return fmt.Errorf("recommender runner: recover update %s: %w", r.ARN, err)
			}
		}
	}
	s.recRunner.Run(ctx)
	return nil
}

func (s *Service) pendingRecommenders(ctx context.Context) ([]string, error) {
	all, err := recommenders.All(ctx, s.st, "")
	if err != nil {
		return nil, err
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Updated.Before(all[j].Updated) })
	var ids []string
	for _, r := range all {
		pendingUpdate := r.LatestUpdate != nil && r.LatestUpdate.Status == StatusCreatePending
		switch {
		case r.Status == StatusCreatePending, r.Status == StatusStopPending, r.Status == StatusStartPending, pendingUpdate:
			ids = append(ids, r.ARN)
		}
	}
	return ids, nil
}

// runRecommender does whatever a recommender is waiting for.
func (s *Service) runRecommender(ctx context.Context, recARN string) {
	r, err := recommenders.Get(ctx, s.st, recARN)
	if err != nil {
		return
	}
	bg := context.WithoutCancel(ctx)
	set := func(fn func(r *Recommender)) {
		if _, err := recommenders.Update(bg, s.st, recARN, s.now, func(r *Recommender) error { fn(r); return nil }); err != nil {
			s.log.ErrorContext(ctx, "update recommender", "recommender", recARN, "err", err)
		}
	}
	switch {
	case r.Status == StatusStopPending:
		set(func(r *Recommender) { r.Status = StatusStopInProgress })
		if s.deployer != nil {
			s.deployer.Undeploy(r.ARN)
		}
		set(func(r *Recommender) { r.Status = StatusInactive })
	case r.Status == StatusStartPending:
		set(func(r *Recommender) { r.Status = StatusStartInProgress })
		if err := s.deployRecommender(ctx, r, r.Config, r.ArtifactKey); err != nil {
			if ctx.Err() == nil {
				set(func(r *Recommender) { r.Status, r.FailureReason = StatusInactive, errs.Message(err) })
			}
			return
		}
		set(func(r *Recommender) { r.Status, r.FailureReason = StatusActive, "" })
	case r.Status == StatusCreatePending:
		set(func(r *Recommender) { r.Status = StatusCreateInProgress })
		key, metrics, err := s.trainRecommender(ctx, r, r.Config)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			set(func(r *Recommender) { r.Status, r.FailureReason = StatusCreateFailed, errs.Message(err) })
			return
		}
		set(func(r *Recommender) {
			r.Status, r.ArtifactKey, r.Metrics, r.FailureReason = StatusActive, key, metrics, ""
		})
	case r.LatestUpdate != nil && r.LatestUpdate.Status == StatusCreatePending:
		set(func(r *Recommender) { r.LatestUpdate.Status = StatusCreateInProgress })
		old := r.ArtifactKey
		key, metrics, err := s.trainRecommender(ctx, r, r.LatestUpdate.Config)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			set(func(r *Recommender) {
				r.LatestUpdate.Status, r.LatestUpdate.FailureReason = StatusCreateFailed, errs.Message(err)
			})
			return
		}
		set(func(r *Recommender) {
			r.Config, r.ArtifactKey, r.Metrics = r.LatestUpdate.Config, key, metrics
			r.LatestUpdate.Status, r.LatestUpdate.Updated = StatusActive, s.now()
		})
		if old != "" && old != key {
			_ = s.artifacts.Delete(bg, old)
		}
	}
}

// trainRecommender trains the use case's recipe on the group and deploys it.
func (s *Service) trainRecommender(ctx context.Context, r *Recommender, cfg RecommenderConfig) (string, map[string]float64, error) {
	uc, err := useCase(r.RecipeARN)
	if err != nil {
		return "", nil, err
	}
	key := path.Join("recommenders", r.Name, randomHex(4)+".model")
	res, err := s.Fit(ctx, Spec{GroupARN: r.GroupARN, Recipes: []string{arn.Global(arn.Recipe, uc.Recipe)}, EventType: uc.EventType,
		ArtifactKey: key, Meta: model.Meta{SolutionVersionARN: r.ARN}})
	if err != nil {
		if strings.Contains(errs.Message(err), "Insufficient data") && uc.EventType != "" {
			return "", nil, errs.Wrap(errs.Invalid, err, "%s (use case %s trains on %q events)", errs.Message(err), uc.Name, uc.EventType)
		}
		return "", nil, err
	}
	if err := s.deployRecommender(ctx, r, cfg, key); err != nil {
		_ = s.artifacts.Delete(context.WithoutCancel(ctx), key)
		return "", nil, err
	}
	return key, res.Metrics, nil
}

func (s *Service) deployRecommender(ctx context.Context, r *Recommender, cfg RecommenderConfig, key string) error {
	if s.deployer == nil {
		return nil
	}
	uc, err := useCase(r.RecipeARN)
	if err != nil {
		return err
	}
	return s.deployer.DeployModel(ctx, ModelDeployment{Key: r.ARN, Group: r.GroupARN, ArtifactKey: key, EventType: uc.EventType,
		Exploration: cfg.Exploration, Metadata: cfg.Metadata, ExcludeEventTypes: uc.ExcludeEventTypes})
}

// newRecommenderRunner is called by New.
func (s *Service) newRecommenderRunner() *jobs.Runner {
	return jobs.New(jobs.Options{Name: "recommenders", Workers: 1, Poll: s.opts.Poll}, s.log, s.pendingRecommenders, s.runRecommender, nil)
}
