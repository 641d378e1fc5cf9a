package main

import (
	"context"
	"math"
	"strconv"

	"slices"
	"strings"
	"sync"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/batch"
	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/model"
	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/serving"
	"github.com/attune-dev/attune/internal/store"
	"github.com/attune-dev/attune/internal/train"
)

// batchScorer answers batch inference jobs with serving, loading the job's
// solution version under the job's own key (batch and serving are siblings
// and meet here, style B2).
type batchScorer struct {
	tr        *train.Service
	sv        *serving.Service
	reg       *recipe.Registry
	st        store.Store
	artifacts blob.Bucket
	scope     arn.Scope

	// mu guards segments: segmentation models are used here directly,
	// since serving answers with items, not users.
	mu       sync.Mutex
	segments map[string]*segmentModel
}

// segmentModel is a loaded USER_SEGMENTATION model with its item catalogue.
type segmentModel struct {
	seg   recipe.Segmenter
	users []string
	items map[string]int32
	meta  *corpus.Entities // the group's Items dataset, for itemAttributes; nil if none
}

// Load implements batch.Scorer.
func (b *batchScorer) Load(ctx context.Context, key, versionARN string, explore map[string]string) (string, error) {
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
	if r.Type() == recipe.UserSegmentation {
		return string(r.Type()), b.loadSegment(ctx, key, v)
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

func (b *batchScorer) loadSegment(ctx context.Context, key string, v *train.Version) error {
	_, m, err := model.Read(ctx, b.artifacts, v.ArtifactKey, b.reg)
	if err != nil {
		return err
	}
	seg, ok := m.(recipe.Segmenter)
	if !ok {
		return errs.E(errs.Invalid, "the model of %s cannot build user segments", v.ARN)
	}
	sm := &segmentModel{seg: seg, users: m.Users(), items: map[string]int32{}}
	for i, id := range m.Items() {
		sm.items[id] = int32(i)
	}
	p, err := arn.Parse("datasetGroupArn", v.GroupARN)
	if err != nil {
		return err
	}
	itemsARN := b.scope.Build(arn.Dataset, p.Parts[0], "ITEMS")
	if _, err := b.st.GetResource(ctx, arn.Dataset, itemsARN); err == nil {
		if sm.meta, err = corpus.LoadEntities(ctx, b.st, itemsARN, "ITEM_ID"); err != nil {
			return err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.segments == nil {
		b.segments = map[string]*segmentModel{}
	}
	b.segments[key] = sm
	return nil
}

// Segment implements batch.Scorer.
func (b *batchScorer) Segment(ctx context.Context, key string, q batch.SegmentQuery) ([]string, error) {
	b.mu.Lock()
	sm := b.segments[key]
	b.mu.Unlock()
	if sm == nil {
		return nil, errs.E(errs.NotFound, "no segmentation model loaded for %s", key)
	}
	var items []int32
	switch {
	case q.ItemID != "":
		it, ok := sm.items[q.ItemID]
		if !ok {
			return nil, errs.E(errs.Invalid, "item %q is not in the model's training data", q.ItemID)
		}
		items = []int32{it}
	default:
		if sm.meta == nil {
			return nil, errs.E(errs.Invalid, "itemAttributes needs an Items dataset in the dataset group")
		}
		for _, a := range q.Attributes {
			if sm.meta.FieldIndex(a.Field) < 0 {
				return nil, errs.E(errs.Invalid, "the Items dataset has no column %q", a.Field)
			}
		}
		for id, it := range sm.items {
			if matchesAll(sm.meta.Metadata(id, attributeFields(q.Attributes)), q.Attributes) {
				items = append(items, it)
			}
		}
		if len(items) == 0 {
			return []string{}, nil
		}
	}
	var out []string
	for _, s := range sm.seg.Segment(items, q.NumResults) {
		out = append(out, sm.users[s.Item])
	}
	return out, nil
}

func attributeFields(as []batch.Attribute) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Field
	}
	return out
}

// matchesAll reports whether an item's metadata has every attribute value;
// multi-valued categorical fields ('|') match when any value does.
func matchesAll(meta map[string]string, as []batch.Attribute) bool {
	for _, a := range as {
		v, ok := meta[a.Field]
		if !ok || !slices.Contains(strings.Split(v, "|"), a.Value) {
			return false
		}
	}
	return true
}

// Unload implements batch.Scorer.
func (b *batchScorer) Unload(key string) {
	b.mu.Lock()
	_, seg := b.segments[key]
	delete(b.segments, key)
	b.mu.Unlock()
	if !seg {
		b.sv.Undeploy(key)
	}
}

// Answer implements batch.Scorer.
func (b *batchScorer) Answer(ctx context.Context, key string, q batch.Query) (batch.Answer, error) {
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
