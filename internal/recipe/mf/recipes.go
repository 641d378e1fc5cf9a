// Package mf implements the user-personalization and personalized-ranking
// recipes on implicit-feedback matrix factorisation (iALS with
// conjugate-gradient or exact solves), blended with an EASE item-item model
// where the catalogue is small enough and an item-to-item transition model
// of the user's latest items. Users are folded in at query time from their
// history, so users unseen at training get personal results. It is pure:
// standard library, internal/recipe and internal/errs only; it never imports
// a sibling recipe package.
package mf

import (
	"context"
	"io"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
)

// flavour selects the components and hyperparameters of a recipe.
type flavour int

const (
	full  flavour = iota // iALS + EASE + transitions + recency + event weights
	plain                // iALS only: the attune-ials baseline
)

// Recipe is an iALS-based recipe; the constructors below give the registered
// names.
type Recipe struct {
	name, desc string
	typ        recipe.Type
	flavour    flavour
	v2         bool
}

// NewUserPersonalization returns aws-user-personalization.
func NewUserPersonalization() Recipe {
	return Recipe{name: "aws-user-personalization", typ: recipe.UserPersonalization, desc: "Personalized top-N from " +
		"implicit matrix factorisation folded in from the user's history, blended with an EASE item-item model and " +
		"item-to-item transitions, with event weights, recency and exploration of new items."}
}

// NewUserPersonalizationV2 returns aws-user-personalization-v2: the same
// model, with v2's apply_recency_bias and no exploration.
func NewUserPersonalizationV2() Recipe {
	r := NewUserPersonalization()
	r.name, r.v2 = "aws-user-personalization-v2", true
	return r
}

// NewPersonalizedRanking returns aws-personalized-ranking: the
// user-personalization model, re-ranking a given candidate list.
func NewPersonalizedRanking() Recipe {
	return Recipe{name: "aws-personalized-ranking", typ: recipe.PersonalizedRanking, desc: "Re-ranks a given list " +
		"of items for a user with the user-personalization model."}
}

// NewPersonalizedRankingV2 returns aws-personalized-ranking-v2.
func NewPersonalizedRankingV2() Recipe {
	r := NewPersonalizedRanking()
	r.name, r.v2 = "aws-personalized-ranking-v2", true
	return r
}

// NewIALS returns attune-ials, plain implicit ALS without recency, event
// weights or blending: the benchmark baseline.
func NewIALS() Recipe {
	return Recipe{name: "attune-ials", typ: recipe.UserPersonalization, flavour: plain,
		desc: "Plain implicit-feedback ALS (Hu, Koren and Volinsky 2008) with fold-in; a baseline."}
}

// Name returns the recipe name.
func (r Recipe) Name() string { return r.name }

// Type returns the recipe type.
func (r Recipe) Type() recipe.Type { return r.typ }

// Description says what the recipe does.
func (r Recipe) Description() string { return r.desc }

// Hyperparameter names.
const (
	pDim        = "hidden_dimension"
	pEpochs     = "epochs"
	pReg        = "regularization"
	pAlpha      = "alpha"
	pCG         = "cg_steps"
	pWorkers    = "workers"
	pRecency    = "recency_mask"
	pRecencyV2  = "apply_recency_bias"
	pHalfLife   = "recency_half_life_days"
	pEvents     = "event_weights"
	pMinHist    = "min_user_history_length_percentile"
	pMaxHist    = "max_user_history_length_percentile"
	pEASEWeight = "ease_weight"
	pEASELambda = "ease_lambda"
	pEASEMax    = "ease_max_items"
	pSeqWeight  = "sequence_weight"
	pSeqWindow  = "sequence_window"
	pSeqLast    = "sequence_latest_items"
	pColdMin    = "cold_item_max_interactions"
	pExplWeight = "exploration_weight"
	pExplAge    = "exploration_item_age_cut_off"
)

// Hyperparameters lists the recipe's hyperparameters with defaults and
// ranges. Personalize's names are used where Personalize has one.
func (r Recipe) Hyperparameters() []recipe.Hyperparameter {
	hp := []recipe.Hyperparameter{
		recipe.IntParam(pDim, 64, 4, 512, true),
		recipe.IntParam(pEpochs, 12, 1, 200, true),
		recipe.FloatParam(pReg, 30, 0.001, 1e6, true),
		recipe.FloatParam(pAlpha, 5, 0.001, 1e6, true),
		recipe.IntParam(pCG, 3, 0, 32, false),
		recipe.IntParam(pWorkers, 0, 0, 1024, false),
	}
	if r.typ == recipe.UserPersonalization {
		hp = append(hp, recipe.ExcludeInteractedParam())
	}
	if r.flavour == plain {
		return hp
	}
	if r.v2 {
		hp = append(hp, recipe.BoolParam(pRecencyV2, true, true))
	} else {
		hp = append(hp, recipe.BoolParam(pRecency, true, true))
	}
	hp = append(hp,
		recipe.FloatParam(pHalfLife, 180, 0.001, 36500, true),
		recipe.Hyperparameter{Name: pEvents, Default: "", Kind: recipe.KindCategorical},
		recipe.FloatParam(pMinHist, 0, 0, 1, false),
		recipe.FloatParam(pMaxHist, 1, 0, 1, false),
		recipe.FloatParam(pEASEWeight, 2, 0, 100, true),
		recipe.FloatParam(pEASELambda, 300, 0.001, 1e7, true),
		recipe.IntParam(pEASEMax, 3000, 0, 20000, false),
		recipe.FloatParam(pSeqWeight, 0.2, 0, 100, true),
		recipe.IntParam(pSeqWindow, 3, 1, 50, true),
		recipe.IntParam(pSeqLast, 5, 1, 100, true),
		recipe.IntParam(pColdMin, 5, 0, 1000, false),
	)
	if !r.v2 && r.typ == recipe.UserPersonalization {
		hp = append(hp,
			recipe.FloatParam(pExplWeight, 0.3, 0, 1, false),
			recipe.FloatParam(pExplAge, 30, 0.001, 36500, false))
	}
	return hp
}

// Fit trains the model. It needs timestamps only for recency and
// transitions; without them those components are skipped.
func (r Recipe) Fit(ctx context.Context, data *recipe.Data, params recipe.Params, opts recipe.FitOptions) (recipe.Model, error) {
	v, err := recipe.ParseParams(r.Hyperparameters(), params)
	if err != nil {
		return nil, err
	}
	if err := recipe.ValidateData(data); err != nil {
		return nil, err
	}
	in := data.Interactions
	ni, nu := len(in.ItemIDs), len(in.UserIDs)
	workers := v.Int(pWorkers)
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	k := v.Int(pDim)
	m := &Model{pool: new(sync.Pool), name: r.name, typ: r.typ, items: in.ItemIDs, users: in.UserIDs, k: k,
		alpha: float32(v.Float(pAlpha)), maxHist: 2000, wMF: 1, seqDecay: 0.7, explAge: 30}

	oldest, newest := recipe.TimeRange(in)
	end := newest
	if !opts.Now.IsZero() && opts.Now.Unix() < end {
		end = opts.Now.Unix()
	}
	m.end = end
	weighting := recipe.Weighting{End: end}
	use := func(i int) bool { return true }
	// Without a spread of timestamps (data with no TIMESTAMP, or one
	// constant), "recent" and "next" mean nothing: recency weighting and
	// transitions would only add noise.
	hasTime := len(in.Time) == in.Len() && oldest < newest
	if r.flavour == full {
		recency := !r.v2 && v.Bool(pRecency)
		if r.v2 {
			recency = v.Bool(pRecencyV2)
		}
		if recency && hasTime {
			m.halfLife = v.Float(pHalfLife) * 86400
			weighting.HalfLife = m.halfLife
			weighting.UserEnd = recipe.UserNewest(in, end)
		}
		if weighting.EventWeights, err = recipe.ParseEventWeights(pEvents, v.String(pEvents), in.EventTypes); err != nil {
			return nil, err
		}
		if v.String(pEvents) != "" {
			m.eventW = weighting.EventWeights
		}
		if lo, hi := v.Float(pMinHist), v.Float(pMaxHist); lo > hi {
			return nil, errs.E(errs.Invalid, "hyperparameter %s: %g is above %s %g", errs.Quote(pMinHist), lo, pMaxHist, hi)
		} else if lo > 0 || hi < 1 {
			use = historyFilter(in, lo, hi)
		}
		m.wEASE = float32(v.Float(pEASEWeight))
		m.wSeq = float32(v.Float(pSeqWeight))
		m.seqLast = v.Int(pSeqLast)
		if !r.v2 && r.typ == recipe.UserPersonalization {
			m.explW, m.explAge = v.Float(pExplWeight), v.Float(pExplAge)
		}
	}
	weight := func(i int) float32 {
		if !use(i) {
			return 0
		}
		return weighting.Weight(in, i)
	}

	if m.wSeq > 0 && hasTime {
		m.seq, err = buildTransitions(ctx, in, use, transitionOptions{Window: v.Int(pSeqWindow), Beta: 0.5, Keep: 100})
		if err != nil {
			return nil, err
		}
	}
	byUser := recipe.BuildCSR(nu, in.User, in.Item, weight)
	byItem := byUser.Transpose(ni)
	progress := func(float64) {}
	if opts.Progress != nil {
		progress = func(f float64) { opts.Progress(0.9 * f) }
	}
	f, err := TrainALS(ctx, byUser, byItem, ALSOptions{Factors: k, Epochs: v.Int(pEpochs), Reg: v.Float(pReg),
		Alpha: v.Float(pAlpha), CGSteps: v.Int(pCG), Workers: workers, Seed: opts.Seed, Progress: progress})
	if err != nil {
		return nil, err
	}
	m.userF, m.itemF = f.Users, f.Items

	counts := make([]int32, ni)
	for i := range counts {
		counts[i] = int32(byItem.Ptr[i+1] - byItem.Ptr[i])
	}
	m.popular = recipe.RankByCount(counts)
	if r.flavour == full {
		coldStart(m.itemF, k, counts, data.Items, v.Int(pColdMin))
		if m.wEASE > 0 && ni <= v.Int(pEASEMax) {
			// EASE sees which items a user had, not how strongly: binary
			// input is what its closed form is tuned for.
			bin := &recipe.CSR{Ptr: byUser.Ptr, Idx: byUser.Idx, Val: ones(len(byUser.Idx))}
			if m.ease, err = recipe.EASE(ctx, bin, ni, v.Float(pEASELambda), workers); err != nil {
				return nil, err
			}
		}
	}
	m.gram = Gram(m.itemF, k, v.Float(pReg), workers)
	m.created = creationTimes(in, data.Items, end)
	if opts.Progress != nil {
		opts.Progress(1)
	}
	return m, nil
}

func ones(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// historyFilter drops the interactions of users whose history length is
// below the lo or above the hi percentile of history lengths, as
// Personalize's min/max_user_history_length_percentile do (very long
// histories are often bots).
func historyFilter(in *recipe.Interactions, lo, hi float64) func(int) bool {
	n := make([]int32, len(in.UserIDs))
	for _, u := range in.User {
		n[u]++
	}
	sorted := slices.Clone(n)
	slices.Sort(sorted)
	at := func(p float64) int32 {
		return sorted[min(len(sorted)-1, int(math.Floor(p*float64(len(sorted)-1)+0.5)))]
	}
	minN, maxN := at(lo), at(hi)
	return func(i int) bool {
		c := n[in.User[i]]
		return c >= minN && c <= maxN
	}
}

// creationTimes returns each item's creation time: CREATION_TIMESTAMP when
// known, else its first interaction, else end (Personalize treats an item
// without interactions as created at the latest interaction).
func creationTimes(in *recipe.Interactions, meta *recipe.ItemMeta, end int64) []int64 {
	c := make([]int64, len(in.ItemIDs))
	for i := range c {
		c[i] = math.MaxInt64
	}
	if len(in.Time) == in.Len() {
		for i, it := range in.Item {
			c[it] = min(c[it], in.Time[i])
		}
	}
	for i := range c {
		if meta != nil && i < len(meta.Created) && meta.Created[i] != 0 {
			c[i] = meta.Created[i]
		}
		if c[i] == math.MaxInt64 {
			c[i] = end
		}
	}
	return c
}

// Decode reads a model written by Model.Encode for this recipe.
func (r Recipe) Decode(rd io.Reader) (recipe.Model, error) { return decodeModel(rd, r.name) }
