// Package recipe is the contract between training, evaluation and serving and
// the recommendation algorithms: a Recipe fits a Model on compact interaction
// arrays. It is pure: stdlib and numeric code only, no net/http, database/sql,
// os.Getenv, global logger or time.Now (clock and seed come in as arguments).
// Concrete recipes live in subpackages and are registered by cmd/attune.
package recipe

import (
	"context"
	"io"
	"time"
)

// Type is Personalize's recipeType; it decides which runtime call a model serves.
type Type string

// Recipe types.
const (
	UserPersonalization Type = "USER_PERSONALIZATION"
	PersonalizedRanking Type = "PERSONALIZED_RANKING"
	RelatedItems        Type = "RELATED_ITEMS"
	PopularItems        Type = "POPULAR_ITEMS"
	UserSegmentation    Type = "USER_SEGMENTATION"
)

// Interactions is a training set in compact form: one entry per interaction
// in parallel slices, ids mapped to dense int32 indexes. Memory is about
// 4+4+8+2+4 = 22 bytes per interaction plus the id strings.
type Interactions struct {
	UserIDs    []string // dense user index -> external USER_ID
	ItemIDs    []string // dense item index -> external ITEM_ID
	EventTypes []string // dense event-type index -> EVENT_TYPE ("" when the dataset has none)

	User  []int32   // user index of interaction i
	Item  []int32   // item index of interaction i
	Time  []int64   // TIMESTAMP, epoch seconds
	Event []uint16  // event-type index
	Value []float32 // EVENT_VALUE; NaN when absent
}

// Len returns the number of interactions.
func (d *Interactions) Len() int { return len(d.User) }

// ItemMeta is item metadata for cold start and related items: per item index,
// its categorical values (multi-valued fields already split on '|'),
// numeric values and creation time.
type ItemMeta struct {
	Categorical map[string][][]string // field -> item index -> values
	Numeric     map[string][]float64  // field -> item index -> value (NaN = null)
	Created     []int64               // CREATION_TIMESTAMP per item index; 0 = unknown
	// Text holds the free-text fields (schema "textual": true or
	// "itemName": true) whole: field -> item index -> text ("" = null).
	// They are in Categorical too, split on '|', for the recipes that
	// match values exactly.
	Text map[string][]string
}

// Data is everything a recipe may train on.
type Data struct {
	Interactions *Interactions
	Items        *ItemMeta // nil when there is no Items dataset
}

// Params are Personalize-style hyperparameters: names to string values.
type Params map[string]string

// Hyperparameter documents one hyperparameter of a recipe, as DescribeRecipe
// and DescribeAlgorithm show it.
type Hyperparameter struct {
	Name     string
	Default  string
	Kind     string   // "integer", "continuous" or "categorical"
	Min, Max float64  // range for integer and continuous
	Values   []string // allowed values for categorical
	Tunable  bool     // searched by performHPO
}

// FitOptions carries what a pure recipe may not fetch itself.
type FitOptions struct {
	Seed int64
	Now  time.Time // the training clock (recency, trending windows)
	// Progress, when set, is called with the fraction done in [0,1].
	Progress func(done float64)
}

// Recipe trains models. Implementations must be safe for concurrent Fit calls.
type Recipe interface {
	Name() string // e.g. "aws-user-personalization"
	Type() Type
	Description() string
	Hyperparameters() []Hyperparameter
	// Fit trains on data. It validates params and returns an errs.Invalid
	// error naming a bad hyperparameter; it stops early when ctx is done.
	Fit(ctx context.Context, data *Data, params Params, opts FitOptions) (Model, error)
	// Decode reads a model written by Model.Encode of this recipe.
	Decode(r io.Reader) (Model, error)
}

// Event is one interaction in a query-time user history.
type Event struct {
	Item  int32 // item index; -1 for an item unknown to the model
	Time  int64
	Event uint16
}

// Query asks a model for items.
type Query struct {
	User    int32   // user index known at training, or -1 (fold-in from History)
	History []Event // the user's interactions, oldest first, including ones newer than training
	Item    int32   // for RELATED_ITEMS: the anchor item index; -1 otherwise
	// Candidates, when not nil, restricts scoring to these item indexes
	// (PERSONALIZED_RANKING, filters).
	Candidates []int32
	// Exclude, when not nil, drops items for which it returns true.
	Exclude func(item int32) bool
	Now     int64 // request time, epoch seconds
	// Exploration, when not nil, mixes new items into the results as a
	// campaign's itemExplorationConfig asks. Nil means no exploration, as
	// for offline metrics, which Personalize computes without a campaign.
	Exploration *Exploration
	// Context is the request's context map (e.g. DEVICE -> "mobile"),
	// validated by serving. No Attune model uses it yet: they score from
	// the user's interactions only. It is passed so that a model trained
	// on contextual interactions can.
	Context map[string]string
}

// Exploration is Personalize's itemExplorationConfig. A zero field takes the
// model's exploration_weight / exploration_item_age_cut_off hyperparameter.
type Exploration struct {
	Weight        float64 // share of results given to new items, in [0, 1]
	AgeCutOffDays float64 // items created at most this many days ago are new
}

// Scored is a recommended item with its model score (higher is better).
type Scored struct {
	Item  int32
	Score float32
	// Explored marks an item placed by exploration (a new item given a
	// slot for discovery) rather than for its score; the runtime reports
	// it with the reason "Exploration".
	Explored bool
	// Popular marks an item a model added from its popularity fallback
	// (FillPopular) because it had too few items of its own to offer, e.g.
	// when filters excluded most of them; reported as "Popular item".
	Popular bool
}

// Contribution is one history item's share in an item's score.
type Contribution struct {
	Item   int32   // the history item (model index)
	Weight float32 // its share of the positive contributions, in (0, 1]
}

// Explainer is implemented by models that can say which of a user's
// history items made an item score high, for Attune's "because you
// viewed X" explanations. It is optional: serving type-asserts it.
type Explainer interface {
	// Explain returns up to k history items of q.History that contributed
	// most to item's score, largest first; only positive contributions
	// count. It must be cheap enough to call for every returned item.
	Explain(q Query, item int32, k int) []Contribution
}

// BatchExplainer is an Explainer that explains several items of one
// answer at once, sharing the work that depends on the query only.
type BatchExplainer interface {
	// ExplainEach returns Explain(q, items[i], k) for each i.
	ExplainEach(q Query, items []int32, k int) [][]Contribution
}

// Model is a trained, immutable model; safe for concurrent use.
type Model interface {
	// Recommend returns up to n items, best first.
	Recommend(q Query, n int) []Scored
	// Items returns the model's item index -> ITEM_ID table.
	Items() []string
	// Users returns the model's user index -> USER_ID table.
	Users() []string
	// Encode writes the model in its recipe's binary format.
	Encode(w io.Writer) error
}

// Refresher is a Model that follows newer interactions without a new
// solution version, as Personalize's aws-trending-now does: it finds the
// trending items again every trend window, from imported and streamed
// interactions alike. Serving re-evaluates such a model once per interval.
type Refresher interface {
	// RefreshInterval returns how often a model trained with params is
	// re-evaluated; 0 means never.
	RefreshInterval(params Params) time.Duration
	// Refresh evaluates the model afresh on in, with the params it was
	// trained with. It fails with errs.Invalid when in cannot be used.
	Refresh(ctx context.Context, in *Interactions, params Params) (Model, error)
}

// Registry maps recipe names to recipes. It is built once by cmd/attune and
// read-only afterwards, so it needs no lock.
type Registry struct {
	byName map[string]Recipe
	order  []string
}

// NewRegistry returns a registry of rs; a duplicate name panics, since it is a
// wiring bug in cmd/attune, not a runtime condition.
func NewRegistry(rs ...Recipe) *Registry {
	reg := &Registry{byName: make(map[string]Recipe, len(rs))}
	for _, r := range rs {
		if _, dup := reg.byName[r.Name()]; dup {
			panic("recipe: duplicate recipe " + r.Name())
		}
		reg.byName[r.Name()] = r
		reg.order = append(reg.order, r.Name())
	}
	return reg
}

// Get returns the recipe called name.
func (reg *Registry) Get(name string) (Recipe, bool) {
	r, ok := reg.byName[name]
	return r, ok
}

// All returns the recipes in registration order.
func (reg *Registry) All() []Recipe {
	out := make([]Recipe, 0, len(reg.order))
	for _, n := range reg.order {
		out = append(out, reg.byName[n])
	}
	return out
}

// Segmenter is implemented by USER_SEGMENTATION models: Segment returns the
// n users (Scored.Item holds a user index into Users()) most likely to
// interact with the given items, best first.
type Segmenter interface {
	Segment(items []int32, n int) []Scored
}
