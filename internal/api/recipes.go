package api

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/train"
)

// recipeCatalog is the read-only recipe registry.
type recipeCatalog interface {
	All() []recipe.Recipe
	Get(name string) (recipe.Recipe, bool)
}

// catalogTime is the creation time shown for built-in recipes: the service
// owns them, so they have no meaningful creation date of their own.
var catalogTime = time.Date(2019, 6, 10, 0, 0, 0, 0, time.UTC)

type recipeOut struct {
	Name                     string `json:"name"`
	RecipeArn                string `json:"recipeArn"`
	AlgorithmArn             string `json:"algorithmArn,omitempty"`
	FeatureTransformationArn string `json:"featureTransformationArn,omitempty"`
	Status                   string `json:"status"`
	Description              string `json:"description,omitempty"`
	RecipeType               string `json:"recipeType,omitempty"`
	Domain                   string `json:"domain,omitempty"`
	CreationDateTime         *epoch `json:"creationDateTime"`
	LastUpdatedDateTime      *epoch `json:"lastUpdatedDateTime"`
}

func recipeWire(r recipe.Recipe, full bool) recipeOut {
	o := recipeOut{Name: r.Name(), RecipeArn: arn.Global(arn.Recipe, r.Name()), Status: "ACTIVE",
		CreationDateTime: ts(catalogTime), LastUpdatedDateTime: ts(catalogTime)}
	if full {
		o.AlgorithmArn = arn.Global(arn.Algorithm, r.Name())
		o.Description = r.Description()
		o.RecipeType = string(r.Type())
	}
	return o
}

// useCaseWire shows a domain use case as a recipe.
func useCaseWire(u train.UseCase, full bool) recipeOut {
	o := recipeOut{Name: u.Name, RecipeArn: arn.Global(arn.Recipe, u.Name), Status: "ACTIVE", Domain: u.Domain,
		CreationDateTime: ts(catalogTime), LastUpdatedDateTime: ts(catalogTime)}
	if full {
		o.AlgorithmArn = arn.Global(arn.Algorithm, u.Recipe)
		o.Description = u.Description + " (served by Attune's " + u.Recipe + ")"
		o.RecipeType = "USER_PERSONALIZATION"
		if u.NeedsItem {
			o.RecipeType = "RELATED_ITEMS"
		} else if u.Recipe == "aws-popularity-count" || u.Recipe == "aws-trending-now" {
			o.RecipeType = "POPULAR_ITEMS"
		}
	}
	return o
}

type intRange struct {
	Name      string `json:"name"`
	MinValue  int64  `json:"minValue"`
	MaxValue  int64  `json:"maxValue"`
	IsTunable bool   `json:"isTunable"`
}

type floatRange struct {
	Name      string  `json:"name"`
	MinValue  float64 `json:"minValue"`
	MaxValue  float64 `json:"maxValue"`
	IsTunable bool    `json:"isTunable"`
}

type catRange struct {
	Name string `json:"name"`
	// Values is omitted for free-form parameters (event_weights): the model
	// has no null list.
	Values    []string `json:"values,omitempty"`
	IsTunable bool     `json:"isTunable"`
}

// recipeFromARN resolves arn:aws:personalize:::recipe/NAME.
func recipeFromARN(cat recipeCatalog, member, a, typ string) (recipe.Recipe, error) {
	p, err := arn.Parse(member, a)
	if err != nil {
		return nil, err
	}
	if p.Type != typ || len(p.Parts) != 1 {
		return nil, errs.E(errs.Invalid, "%s: %s is not a %s ARN", member, errs.Quote(a), typ)
	}
	r, ok := cat.Get(p.Parts[0])
	if !ok {
		return nil, errs.E(errs.NotFound, "Could not find %s %s", typ, a)
	}
	return r, nil
}

func registerRecipes(ops map[string]operation, cat recipeCatalog) {
	type listIn struct {
		page
		RecipeProvider string `json:"recipeProvider"`
		Domain         string `json:"domain"`
	}
	ops["ListRecipes"] = handle(func(ctx context.Context, in *listIn) (any, error) {
		limit, err := in.limit()
		if err != nil {
			return nil, err
		}
		if in.RecipeProvider != "" && in.RecipeProvider != "SERVICE" {
			return nil, errs.E(errs.Invalid, "recipeProvider: %s is not SERVICE", errs.Quote(in.RecipeProvider))
		}
		all := cat.All()
		sort.Slice(all, func(i, j int) bool { return all[i].Name() < all[j].Name() })
		var out []recipeOut
		for _, r := range all {
			if strings.HasPrefix(r.Name(), "attune-") {
				continue // benchmark baselines, not Personalize recipes
			}
			if in.Domain != "" {
				continue // custom recipes belong to no domain
			}
			out = append(out, recipeWire(r, false))
		}
		for _, u := range train.UseCases() {
			if in.Domain == "" || in.Domain == u.Domain {
				o := useCaseWire(u, false)
				out = append(out, o)
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		start := 0
		if in.NextToken != "" {
			start = -1
			for i, r := range out {
				if r.Name == in.NextToken {
					start = i
				}
			}
			if start < 0 {
				return nil, errs.E(errs.InvalidNextToken, "invalid nextToken")
			}
		}
		end := min(start+limit, len(out))
		next := ""
		if end < len(out) {
			next = out[end].Name
		}
		if out == nil {
			out = []recipeOut{}
		}
		return listOut("recipes", out[start:end], next), nil
	})
	type describeIn struct {
		RecipeArn string `json:"recipeArn"`
	}
	ops["DescribeRecipe"] = handle(func(ctx context.Context, in *describeIn) (any, error) {
		for _, u := range train.UseCases() {
			if in.RecipeArn == arn.Global(arn.Recipe, u.Name) {
				return map[string]any{"recipe": useCaseWire(u, true)}, nil
			}
		}
		r, err := recipeFromARN(cat, "recipeArn", in.RecipeArn, arn.Recipe)
		if err != nil {
			return nil, err
		}
		return map[string]any{"recipe": recipeWire(r, true)}, nil
	})
	type algoIn struct {
		AlgorithmArn string `json:"algorithmArn"`
	}
	ops["DescribeAlgorithm"] = handle(func(ctx context.Context, in *algoIn) (any, error) {
		r, err := recipeFromARN(cat, "algorithmArn", in.AlgorithmArn, arn.Algorithm)
		if err != nil {
			return nil, err
		}
		defaults := map[string]string{}
		ints, floats, cats := []intRange{}, []floatRange{}, []catRange{}
		for _, h := range r.Hyperparameters() {
			defaults[h.Name] = h.Default
			switch h.Kind {
			case "integer":
				ints = append(ints, intRange{h.Name, int64(h.Min), int64(h.Max), h.Tunable})
			case "continuous":
				floats = append(floats, floatRange{h.Name, h.Min, h.Max, h.Tunable})
			default:
				cats = append(cats, catRange{h.Name, h.Values, h.Tunable})
			}
		}
		return map[string]any{"algorithm": map[string]any{
			"name":                   r.Name(),
			"algorithmArn":           in.AlgorithmArn,
			"algorithmImage":         map[string]any{"name": r.Name(), "dockerURI": "attune:builtin/" + r.Name()},
			"defaultHyperParameters": defaults,
			"defaultHyperParameterRanges": map[string]any{
				"integerHyperParameterRanges":     ints,
				"continuousHyperParameterRanges":  floats,
				"categoricalHyperParameterRanges": cats,
			},
			"defaultResourceConfig": map[string]string{},
			"trainingInputMode":     "File",
			"creationDateTime":      ts(catalogTime),
			"lastUpdatedDateTime":   ts(catalogTime),
		}}, nil
	})
}
