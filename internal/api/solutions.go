package api

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/train"
)

// trainingService is what the solution operations need.
type trainingService interface {
	CreateSolution(ctx context.Context, in train.CreateSolutionInput) (*train.Solution, error)
	Solution(ctx context.Context, solutionARN string) (*train.Solution, error)
	Solutions(ctx context.Context, groupARN, token string, limit int) ([]*train.Solution, string, error)
	DeleteSolution(ctx context.Context, solutionARN string) error
	LatestVersion(ctx context.Context, solutionARN string) (*train.Version, error)
	CreateVersion(ctx context.Context, solutionARN, name, mode, trainingType string, tags map[string]string) (*train.Version, error)
	Version(ctx context.Context, versionARN string) (*train.Version, error)
	Versions(ctx context.Context, solutionARN, token string, limit int) ([]*train.Version, string, error)
	StopVersion(ctx context.Context, versionARN string) error
	Metrics(ctx context.Context, versionARN string) (map[string]float64, error)
	UpdateSolution(ctx context.Context, in train.UpdateSolutionInput) (*train.Solution, error)
}

// solutionConfigIn is solutionConfig on the wire.
type solutionConfigIn struct {
	EventValueThreshold             string            `json:"eventValueThreshold"`
	AlgorithmHyperParameters        map[string]string `json:"algorithmHyperParameters"`
	FeatureTransformationParameters map[string]string `json:"featureTransformationParameters"`
	HpoConfig                       *struct {
		HpoObjective *struct {
			Type       string `json:"type"`
			MetricName string `json:"metricName"`
		} `json:"hpoObjective"`
		HpoResourceConfig *struct {
			MaxNumberOfTrainingJobs string `json:"maxNumberOfTrainingJobs"`
			MaxParallelTrainingJobs string `json:"maxParallelTrainingJobs"`
		} `json:"hpoResourceConfig"`
		AlgorithmHyperParameterRanges *struct {
			IntegerHyperParameterRanges []struct {
				Name     string `json:"name"`
				MinValue int64  `json:"minValue"`
				MaxValue int64  `json:"maxValue"`
			} `json:"integerHyperParameterRanges"`
			ContinuousHyperParameterRanges []struct {
				Name     string  `json:"name"`
				MinValue float64 `json:"minValue"`
				MaxValue float64 `json:"maxValue"`
			} `json:"continuousHyperParameterRanges"`
			CategoricalHyperParameterRanges []struct {
				Name   string   `json:"name"`
				Values []string `json:"values"`
			} `json:"categoricalHyperParameterRanges"`
		} `json:"algorithmHyperParameterRanges"`
	} `json:"hpoConfig"`
	AutoMLConfig *struct {
		MetricName string   `json:"metricName"`
		RecipeList []string `json:"recipeList"`
	} `json:"autoMLConfig"`
	EventsConfig *struct {
		EventParametersList []struct {
			EventType           string   `json:"eventType"`
			EventValueThreshold *float64 `json:"eventValueThreshold"`
			Weight              *float64 `json:"weight"`
		} `json:"eventParametersList"`
	} `json:"eventsConfig"`
	AutoTrainingConfig *struct {
		SchedulingExpression string `json:"schedulingExpression"`
	} `json:"autoTrainingConfig"`
}

func (c *solutionConfigIn) domain() (train.Config, error) {
	var out train.Config
	if c == nil {
		return out, nil
	}
	out.EventValueThreshold = c.EventValueThreshold
	out.HyperParameters = c.AlgorithmHyperParameters
	out.FeatureParameters = c.FeatureTransformationParameters
	if h := c.HpoConfig; h != nil {
		if h.HpoObjective != nil {
			out.HPOMetric = h.HpoObjective.MetricName
			if t := h.HpoObjective.Type; t != "" && t != "Maximize" {
				return out, errs.E(errs.Invalid, "solutionConfig.hpoConfig.hpoObjective.type: only Maximize is supported, got %s", errs.Quote(t))
			}
		}
		if r := h.HpoResourceConfig; r != nil && r.MaxNumberOfTrainingJobs != "" {
			n, err := strconv.Atoi(r.MaxNumberOfTrainingJobs)
			if err != nil || n < 1 || n > 40 {
				return out, errs.E(errs.Invalid, "solutionConfig.hpoConfig.hpoResourceConfig.maxNumberOfTrainingJobs must be 1 to 40, got %s", errs.Quote(r.MaxNumberOfTrainingJobs))
			}
			out.HPOMaxJobs = n
		}
		if r := h.AlgorithmHyperParameterRanges; r != nil {
			for _, x := range r.IntegerHyperParameterRanges {
				out.IntRanges = append(out.IntRanges, train.IntRange{Name: x.Name, Min: x.MinValue, Max: x.MaxValue})
			}
			for _, x := range r.ContinuousHyperParameterRanges {
				out.FloatRanges = append(out.FloatRanges, train.FloatRange{Name: x.Name, Min: x.MinValue, Max: x.MaxValue})
			}
			for _, x := range r.CategoricalHyperParameterRanges {
				out.CatRanges = append(out.CatRanges, train.CategoricalRange{Name: x.Name, Values: x.Values})
			}
		}
	}
	if a := c.AutoMLConfig; a != nil {
		out.AutoMLMetric, out.AutoMLRecipes = a.MetricName, a.RecipeList
	}
	if e := c.EventsConfig; e != nil {
		if len(e.EventParametersList) > 10 {
			return out, errs.E(errs.Invalid, "solutionConfig.eventsConfig.eventParametersList: at most 10 entries")
		}
		for i, p := range e.EventParametersList {
			if p.EventType == "" {
				return out, errs.E(errs.Invalid, "solutionConfig.eventsConfig.eventParametersList[%d].eventType is required", i)
			}
			if p.Weight != nil && (*p.Weight < 0 || *p.Weight > 1) {
				return out, errs.E(errs.Invalid, "solutionConfig.eventsConfig.eventParametersList[%d].weight must be between 0 and 1", i)
			}
			out.Events = append(out.Events, train.EventParameters{EventType: p.EventType, EventValueThreshold: p.EventValueThreshold, Weight: p.Weight})
		}
	}
	if a := c.AutoTrainingConfig; a != nil {
		out.ScheduleExpression = a.SchedulingExpression
	}
	return out, nil
}

type versionSummaryOut struct {
	SolutionVersionArn  string  `json:"solutionVersionArn"`
	Status              string  `json:"status"`
	TrainingMode        string  `json:"trainingMode,omitempty"`
	TrainingType        string  `json:"trainingType,omitempty"`
	CreationDateTime    *epoch  `json:"creationDateTime,omitempty"`
	LastUpdatedDateTime *epoch  `json:"lastUpdatedDateTime,omitempty"`
	FailureReason       *string `json:"failureReason,omitempty"`
}

func versionSummary(v *train.Version) versionSummaryOut {
	return versionSummaryOut{SolutionVersionArn: v.ARN, Status: v.Status, TrainingMode: v.TrainingMode, TrainingType: v.TrainingType,
		CreationDateTime: ts(v.Created), LastUpdatedDateTime: ts(v.Updated), FailureReason: optString(v.FailureReason)}
}

func solutionWire(sol *train.Solution, latest *train.Version) map[string]any {
	out := map[string]any{
		"name": sol.Name, "solutionArn": sol.ARN, "performHPO": sol.PerformHPO, "performAutoML": sol.PerformAutoML,
		"performAutoTraining": sol.PerformAutoTraining, "performIncrementalUpdate": sol.PerformIncremental,
		"datasetGroupArn": sol.GroupARN, "status": sol.Status,
		"creationDateTime": ts(sol.Created), "lastUpdatedDateTime": ts(sol.Updated),
	}
	if sol.RecipeARN != "" {
		out["recipeArn"] = sol.RecipeARN
	}
	if sol.EventType != "" {
		out["eventType"] = sol.EventType
	}
	if len(sol.ConfigEcho) > 0 {
		out["solutionConfig"] = json.RawMessage(sol.ConfigEcho)
	}
	if sol.BestRecipeARN != "" {
		out["autoMLResult"] = map[string]string{"bestRecipeArn": sol.BestRecipeARN}
	}
	if latest != nil {
		out["latestSolutionVersion"] = versionSummary(latest)
	}
	if u := sol.LatestUpdate; u != nil {
		cfg := map[string]any{}
		if u.ScheduleExpression != "" {
			cfg["autoTrainingConfig"] = map[string]string{"schedulingExpression": u.ScheduleExpression}
		}
		if len(u.Events) > 0 {
			cfg["eventsConfig"] = map[string]any{"eventParametersList": eventsWire(u.Events)}
		}
		out["latestSolutionUpdate"] = map[string]any{"solutionUpdateConfig": cfg, "status": u.Status,
			"performAutoTraining": u.PerformAutoTraining, "performIncrementalUpdate": u.PerformIncremental,
			"creationDateTime": ts(u.Created), "lastUpdatedDateTime": ts(u.Updated)}
	}
	return out
}

func eventsWire(es []train.EventParameters) []map[string]any {
	out := make([]map[string]any, len(es))
	for i, e := range es {
		out[i] = map[string]any{"eventType": e.EventType}
		if e.EventValueThreshold != nil {
			out[i]["eventValueThreshold"] = *e.EventValueThreshold
		}
		if e.Weight != nil {
			out[i]["weight"] = *e.Weight
		}
	}
	return out
}

func versionWire(v *train.Version, sol *train.Solution) map[string]any {
	out := map[string]any{
		"name": v.Name, "solutionVersionArn": v.ARN, "solutionArn": v.SolutionARN, "datasetGroupArn": v.GroupARN,
		"status": v.Status, "trainingMode": v.TrainingMode, "trainingType": v.TrainingType,
		"creationDateTime": ts(v.Created), "lastUpdatedDateTime": ts(v.Updated),
	}
	if v.RecipeARN != "" {
		out["recipeArn"] = v.RecipeARN
	}
	if v.Status == train.StatusActive || v.TrainingHours > 0 {
		out["trainingHours"] = v.TrainingHours
	}
	if v.FailureReason != "" {
		out["failureReason"] = v.FailureReason
	}
	if len(v.TunedParams) > 0 {
		out["tunedHPOParams"] = map[string]any{"algorithmHyperParameters": v.TunedParams}
	}
	if sol != nil {
		out["performHPO"], out["performAutoML"], out["performIncrementalUpdate"] = sol.PerformHPO, sol.PerformAutoML, sol.PerformIncremental
		if sol.EventType != "" {
			out["eventType"] = sol.EventType
		}
		if len(sol.ConfigEcho) > 0 {
			out["solutionConfig"] = json.RawMessage(sol.ConfigEcho)
		}
		if v.RecipeARN == "" && sol.BestRecipeARN != "" {
			out["recipeArn"] = sol.BestRecipeARN
		}
	}
	return out
}

func registerSolutions(ops map[string]operation, svc trainingService) {
	type createIn struct {
		Name                     string          `json:"name"`
		PerformHPO               bool            `json:"performHPO"`
		PerformAutoML            bool            `json:"performAutoML"`
		PerformAutoTraining      *bool           `json:"performAutoTraining"`
		PerformIncrementalUpdate bool            `json:"performIncrementalUpdate"`
		RecipeArn                string          `json:"recipeArn"`
		DatasetGroupArn          string          `json:"datasetGroupArn"`
		EventType                string          `json:"eventType"`
		SolutionConfig           json.RawMessage `json:"solutionConfig"`
		Tags                     []tag           `json:"tags"`
	}
	ops["CreateSolution"] = handle(func(ctx context.Context, in *createIn) (any, error) {
		tags, err := tagsIn(in.Tags)
		if err != nil {
			return nil, err
		}
		var cfgIn *solutionConfigIn
		if len(in.SolutionConfig) > 0 && string(in.SolutionConfig) != "null" {
			cfgIn = new(solutionConfigIn)
			if err := decode(in.SolutionConfig, cfgIn); err != nil {
				return nil, errs.Wrap(errs.Invalid, err, "solutionConfig: %s", errs.Message(err))
			}
		}
		cfg, err := cfgIn.domain()
		if err != nil {
			return nil, err
		}
		sol, err := svc.CreateSolution(ctx, train.CreateSolutionInput{Name: in.Name, GroupARN: in.DatasetGroupArn, RecipeARN: in.RecipeArn,
			EventType: in.EventType, PerformHPO: in.PerformHPO, PerformAutoML: in.PerformAutoML, PerformAutoTraining: in.PerformAutoTraining,
			PerformIncremental: in.PerformIncrementalUpdate, Config: cfg, ConfigEcho: in.SolutionConfig, Tags: tags})
		if err != nil {
			return nil, err
		}
		return map[string]any{"solutionArn": sol.ARN}, nil
	})
	type solIn struct {
		SolutionArn string `json:"solutionArn"`
	}
	ops["DescribeSolution"] = handle(func(ctx context.Context, in *solIn) (any, error) {
		sol, err := svc.Solution(ctx, in.SolutionArn)
		if err != nil {
			return nil, err
		}
		latest, err := svc.LatestVersion(ctx, sol.ARN)
		if err != nil {
			return nil, err
		}
		return map[string]any{"solution": solutionWire(sol, latest)}, nil
	})
	type listIn struct {
		page
		DatasetGroupArn string `json:"datasetGroupArn"`
	}
	ops["ListSolutions"] = handle(func(ctx context.Context, in *listIn) (any, error) {
		limit, err := in.limit()
		if err != nil {
			return nil, err
		}
		sols, next, err := svc.Solutions(ctx, in.DatasetGroupArn, in.NextToken, limit)
		if err != nil {
			return nil, err
		}
		out := make([]map[string]any, len(sols))
		for i, sol := range sols {
			out[i] = map[string]any{"name": sol.Name, "solutionArn": sol.ARN, "status": sol.Status,
				"creationDateTime": ts(sol.Created), "lastUpdatedDateTime": ts(sol.Updated)}
			if sol.RecipeARN != "" {
				out[i]["recipeArn"] = sol.RecipeARN
			}
		}
		return listOut("solutions", out, next), nil
	})
	ops["DeleteSolution"] = handle(func(ctx context.Context, in *solIn) (any, error) {
		return nil, svc.DeleteSolution(ctx, in.SolutionArn)
	})
	type createVersionIn struct {
		Name         string `json:"name"`
		SolutionArn  string `json:"solutionArn"`
		TrainingMode string `json:"trainingMode"`
		Tags         []tag  `json:"tags"`
	}
	ops["CreateSolutionVersion"] = handle(func(ctx context.Context, in *createVersionIn) (any, error) {
		tags, err := tagsIn(in.Tags)
		if err != nil {
			return nil, err
		}
		v, err := svc.CreateVersion(ctx, in.SolutionArn, in.Name, in.TrainingMode, train.TypeManual, tags)
		if err != nil {
			return nil, err
		}
		return map[string]any{"solutionVersionArn": v.ARN}, nil
	})
	type versionIn struct {
		SolutionVersionArn string `json:"solutionVersionArn"`
	}
	ops["DescribeSolutionVersion"] = handle(func(ctx context.Context, in *versionIn) (any, error) {
		v, err := svc.Version(ctx, in.SolutionVersionArn)
		if err != nil {
			return nil, err
		}
		sol, err := svc.Solution(ctx, v.SolutionARN)
		if err != nil && errs.KindOf(err) != errs.NotFound {
			return nil, err
		}
		return map[string]any{"solutionVersion": versionWire(v, sol)}, nil
	})
	type listVersionsIn struct {
		page
		SolutionArn string `json:"solutionArn"`
	}
	ops["ListSolutionVersions"] = handle(func(ctx context.Context, in *listVersionsIn) (any, error) {
		limit, err := in.limit()
		if err != nil {
			return nil, err
		}
		vs, next, err := svc.Versions(ctx, in.SolutionArn, in.NextToken, limit)
		if err != nil {
			return nil, err
		}
		out := make([]versionSummaryOut, len(vs))
		for i, v := range vs {
			out[i] = versionSummary(v)
		}
		return listOut("solutionVersions", out, next), nil
	})
	ops["StopSolutionVersionCreation"] = handle(func(ctx context.Context, in *versionIn) (any, error) {
		return nil, svc.StopVersion(ctx, in.SolutionVersionArn)
	})
	type updateIn struct {
		SolutionArn              string `json:"solutionArn"`
		PerformAutoTraining      *bool  `json:"performAutoTraining"`
		PerformIncrementalUpdate *bool  `json:"performIncrementalUpdate"`
		SolutionUpdateConfig     *struct {
			AutoTrainingConfig *struct {
				SchedulingExpression string `json:"schedulingExpression"`
			} `json:"autoTrainingConfig"`
			EventsConfig json.RawMessage `json:"eventsConfig"`
		} `json:"solutionUpdateConfig"`
	}
	ops["UpdateSolution"] = handle(func(ctx context.Context, in *updateIn) (any, error) {
		u := train.UpdateSolutionInput{SolutionARN: in.SolutionArn, PerformAutoTraining: in.PerformAutoTraining,
			PerformIncremental: in.PerformIncrementalUpdate}
		if c := in.SolutionUpdateConfig; c != nil {
			if c.AutoTrainingConfig != nil {
				u.ScheduleExpression = &c.AutoTrainingConfig.SchedulingExpression
			}
			if len(c.EventsConfig) > 0 {
				var cfg solutionConfigIn
				if err := decode([]byte(`{"eventsConfig":`+string(c.EventsConfig)+`}`), &cfg); err != nil {
					return nil, err
				}
				d, err := cfg.domain()
				if err != nil {
					return nil, err
				}
				u.Events = d.Events
				if u.Events == nil {
					u.Events = []train.EventParameters{}
				}
			}
		}
		sol, err := svc.UpdateSolution(ctx, u)
		if err != nil {
			return nil, err
		}
		return map[string]any{"solutionArn": sol.ARN}, nil
	})
	ops["GetSolutionMetrics"] = handle(func(ctx context.Context, in *versionIn) (any, error) {
		m, err := svc.Metrics(ctx, in.SolutionVersionArn)
		if err != nil {
			return nil, err
		}
		return map[string]any{"solutionVersionArn": in.SolutionVersionArn, "metrics": m}, nil
	})
}
