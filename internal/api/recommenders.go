package api

import (
	"context"
	"encoding/json"

	"github.com/attune-dev/attune/internal/train"
)

// recommenderService is what the recommender operations need.
type recommenderService interface {
	CreateRecommender(ctx context.Context, in train.CreateRecommenderInput) (*train.Recommender, error)
	Recommender(ctx context.Context, recARN string) (*train.Recommender, error)
	Recommenders(ctx context.Context, groupARN, token string, limit int) ([]*train.Recommender, string, error)
	UpdateRecommender(ctx context.Context, recARN string, cfg train.RecommenderConfig) (*train.Recommender, error)
	StopRecommender(ctx context.Context, recARN string) (*train.Recommender, error)
	StartRecommender(ctx context.Context, recARN string) (*train.Recommender, error)
	DeleteRecommender(ctx context.Context, recARN string) error
}

type recommenderConfigIn struct {
	ItemExplorationConfig              map[string]string `json:"itemExplorationConfig"`
	MinRecommendationRequestsPerSecond *int              `json:"minRecommendationRequestsPerSecond"`
	EnableMetadataWithRecommendations  bool              `json:"enableMetadataWithRecommendations"`
	TrainingDataConfig                 json.RawMessage   `json:"trainingDataConfig"`
}

func recommenderConfig(raw json.RawMessage) (train.RecommenderConfig, error) {
	var cfg train.RecommenderConfig
	if len(raw) == 0 || string(raw) == "null" {
		return cfg, nil
	}
	var in recommenderConfigIn
	if err := decode(raw, &in); err != nil {
		return cfg, err
	}
	cfg.Exploration, cfg.Metadata, cfg.Echo = in.ItemExplorationConfig, in.EnableMetadataWithRecommendations, raw
	cfg.MinRPS = 1
	if in.MinRecommendationRequestsPerSecond != nil {
		if *in.MinRecommendationRequestsPerSecond < 1 {
			return cfg, errInvalid("recommenderConfig.minRecommendationRequestsPerSecond must be at least 1")
		}
		cfg.MinRPS = *in.MinRecommendationRequestsPerSecond
	}
	return cfg, nil
}

func recommenderWire(r *train.Recommender, full bool) map[string]any {
	out := map[string]any{"name": r.Name, "recommenderArn": r.ARN, "datasetGroupArn": r.GroupARN, "recipeArn": r.RecipeARN,
		"status": r.Status, "creationDateTime": ts(r.Created), "lastUpdatedDateTime": ts(r.Updated)}
	if len(r.Config.Echo) > 0 {
		out["recommenderConfig"] = json.RawMessage(r.Config.Echo)
	}
	if !full {
		return out
	}
	if r.FailureReason != "" {
		out["failureReason"] = r.FailureReason
	}
	if len(r.Metrics) > 0 && r.Status != train.StatusCreatePending && r.Status != train.StatusCreateInProgress {
		out["modelMetrics"] = r.Metrics
	}
	if u := r.LatestUpdate; u != nil {
		lu := map[string]any{"status": u.Status, "creationDateTime": ts(u.Created), "lastUpdatedDateTime": ts(u.Updated)}
		if len(u.Config.Echo) > 0 {
			lu["recommenderConfig"] = json.RawMessage(u.Config.Echo)
		}
		if u.FailureReason != "" {
			lu["failureReason"] = u.FailureReason
		}
		out["latestRecommenderUpdate"] = lu
	}
	return out
}

func registerRecommenders(ops map[string]operation, svc recommenderService) {
	type createIn struct {
		Name              string          `json:"name"`
		DatasetGroupArn   string          `json:"datasetGroupArn"`
		RecipeArn         string          `json:"recipeArn"`
		RecommenderConfig json.RawMessage `json:"recommenderConfig"`
		Tags              []tag           `json:"tags"`
	}
	ops["CreateRecommender"] = handle(func(ctx context.Context, in *createIn) (any, error) {
		tags, err := tagsIn(in.Tags)
		if err != nil {
			return nil, err
		}
		cfg, err := recommenderConfig(in.RecommenderConfig)
		if err != nil {
			return nil, err
		}
		r, err := svc.CreateRecommender(ctx, train.CreateRecommenderInput{Name: in.Name, GroupARN: in.DatasetGroupArn, RecipeARN: in.RecipeArn, Config: cfg, Tags: tags})
		if err != nil {
			return nil, err
		}
		return map[string]any{"recommenderArn": r.ARN}, nil
	})
	type arnIn struct {
		RecommenderArn string `json:"recommenderArn"`
	}
	ops["DescribeRecommender"] = handle(func(ctx context.Context, in *arnIn) (any, error) {
		r, err := svc.Recommender(ctx, in.RecommenderArn)
		if err != nil {
			return nil, err
		}
		return map[string]any{"recommender": recommenderWire(r, true)}, nil
	})
	type listIn struct {
		page
		DatasetGroupArn string `json:"datasetGroupArn"`
	}
	ops["ListRecommenders"] = handle(func(ctx context.Context, in *listIn) (any, error) {
		limit, err := in.limit()
		if err != nil {
			return nil, err
		}
		rs, next, err := svc.Recommenders(ctx, in.DatasetGroupArn, in.NextToken, limit)
		if err != nil {
			return nil, err
		}
		out := make([]map[string]any, len(rs))
		for i, r := range rs {
			out[i] = recommenderWire(r, false)
		}
		return listOut("recommenders", out, next), nil
	})
	type updateIn struct {
		RecommenderArn    string          `json:"recommenderArn"`
		RecommenderConfig json.RawMessage `json:"recommenderConfig"`
	}
	ops["UpdateRecommender"] = handle(func(ctx context.Context, in *updateIn) (any, error) {
		cfg, err := recommenderConfig(in.RecommenderConfig)
		if err != nil {
			return nil, err
		}
		r, err := svc.UpdateRecommender(ctx, in.RecommenderArn, cfg)
		if err != nil {
			return nil, err
		}
		return map[string]any{"recommenderArn": r.ARN}, nil
	})
	ops["StopRecommender"] = handle(func(ctx context.Context, in *arnIn) (any, error) {
		r, err := svc.StopRecommender(ctx, in.RecommenderArn)
		if err != nil {
			return nil, err
		}
		return map[string]any{"recommenderArn": r.ARN}, nil
	})
	ops["StartRecommender"] = handle(func(ctx context.Context, in *arnIn) (any, error) {
		r, err := svc.StartRecommender(ctx, in.RecommenderArn)
		if err != nil {
			return nil, err
		}
		return map[string]any{"recommenderArn": r.ARN}, nil
	})
	ops["DeleteRecommender"] = handle(func(ctx context.Context, in *arnIn) (any, error) {
		return nil, svc.DeleteRecommender(ctx, in.RecommenderArn)
	})
}
