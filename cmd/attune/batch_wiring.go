package main

import (
	"context"
	"math"
	"strconv"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/batch"
	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/serving"
	"github.com/attune-dev/attune/internal/train"
)

// batchScorer answers batch inference jobs with serving, loading the job's
// solution version under the job's own key (batch and serving are siblings
// and meet here, style B2).
type batchScorer struct {
	tr  *train.Service
	sv  *serving.Service
	reg *recipe.Registry
}

// Load implements batch.Scorer.
func (b batchScorer) Load(ctx context.Context, key, versionARN string, explore map[string]string) (string, error) {
	v, err := b.tr.Version(ctx, versionARN)
	if err != nil {
		return "", err
	}
	if v.Status != train.StatusActive {
		return "", errs.E(errs.InUse, "solution version %s is %s, not ACTIVE", versionARN, v.Status)
	}
	sol, err := b.tr.Solution(ctx, v.SolutionARN)
	if err != nil {
		return "", err
	}
	recipeARN := v.RecipeARN
	if recipeARN == "" {
		recipeARN = sol.BestRecipeARN
	}
	p, err := arn.Parse("recipeArn", recipeARN)
	if err != nil {
		return "", err
	}
	r, ok := b.reg.Get(p.Parts[len(p.Parts)-1])
	if !ok {
		return "", errs.E(errs.Invalid, "recipe %s is not known to this build", recipeARN)
	}
	if r.Name() == "aws-trending-now" {
		return "", errs.E(errs.Invalid, "aws-trending-now does not support batch inference jobs, as in Personalize")
	}
	exp, err := recipe.ParseExplorationMap(explore)
	if err != nil {
		return "", err
	}
	f := corpus.Filter{EventType: sol.EventType, MinEventValue: math.NaN()}
	if t := sol.Config.EventValueThreshold; t != "" {
		f.MinEventValue, _ = strconv.ParseFloat(t, 64)
	}
	if err := b.sv.Deploy(ctx, serving.Deployment{Campaign: key, Group: v.GroupARN, SolutionVersion: v.ARN,
		ArtifactKey: v.ArtifactKey, Filter: f, Exploration: exp}); err != nil {
		return "", err
	}
	return string(r.Type()), nil
}

// Unload implements batch.Scorer.
func (b batchScorer) Unload(key string) { b.sv.Undeploy(key) }

// Answer implements batch.Scorer.
func (b batchScorer) Answer(ctx context.Context, key string, q batch.Query) (batch.Answer, error) {
	req := serving.Request{Campaign: key, UserID: q.UserID, ItemID: q.ItemID, NumResults: q.NumResults, InputList: q.ItemList}
	var res *serving.Result
	var err error
	if len(q.ItemList) > 0 {
		res, err = b.sv.Rank(ctx, req)
	} else {
		res, err = b.sv.Recommend(ctx, req)
	}
	if err != nil {
		return batch.Answer{}, err
	}
	var a batch.Answer
	for _, it := range res.Items {
		a.Items = append(a.Items, it.ID)
		a.Scores = append(a.Scores, it.Score)
	}
	return a, nil
}

// recommenderDeployer serves recommenders' models under their ARNs.
type recommenderDeployer struct{ sv *serving.Service }

// DeployModel implements train.Deployer.
func (d recommenderDeployer) DeployModel(ctx context.Context, m train.ModelDeployment) error {
	exp, err := recipe.ParseExplorationMap(m.Exploration)
	if err != nil {
		return err
	}
	return d.sv.Deploy(ctx, serving.Deployment{Campaign: m.Key, Group: m.Group, SolutionVersion: m.Key, ArtifactKey: m.ArtifactKey,
		Filter: corpus.Filter{EventType: m.EventType, MinEventValue: math.NaN()}, Exploration: exp, Metadata: m.Metadata})
}

// Undeploy implements train.Deployer.
func (d recommenderDeployer) Undeploy(key string) { d.sv.Undeploy(key) }
