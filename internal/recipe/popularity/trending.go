package popularity

import (
	"context"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
)

// TrendingNow is the aws-trending-now recipe: items whose interactions grew
// fastest from the previous window to the latest one.
type TrendingNow struct{}

// NewTrendingNow returns the aws-trending-now recipe.
func NewTrendingNow() TrendingNow { return TrendingNow{} }

// Name returns "aws-trending-now".
func (TrendingNow) Name() string { return "aws-trending-now" }

// Type returns POPULAR_ITEMS.
func (TrendingNow) Type() recipe.Type { return recipe.PopularItems }

// Description says what the recipe does.
func (TrendingNow) Description() string {
	return "Recommends the items whose interactions grew fastest between the latest trend window and the one before it."
}

const paramWindow = "trend_discovery_frequency"

// Hyperparameters returns trend_discovery_frequency: Personalize's "30 min",
// "1h", "3h", "1 day", or any "<n> min|h|day(s)".
func (TrendingNow) Hyperparameters() []recipe.Hyperparameter {
	return []recipe.Hyperparameter{{Name: paramWindow, Default: "3h", Kind: recipe.KindCategorical}}
}

// ParseWindow parses a trend window such as "30 min", "1h", "6h", "1 day" or
// "2 days".
func ParseWindow(s string) (time.Duration, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	n, err := strconv.ParseFloat(t[:i], 64)
	if err != nil || n <= 0 || math.IsInf(n, 0) {
		return 0, errs.E(errs.Invalid, "hyperparameter %s: %s is not a window like \"30 min\", \"3h\" or \"1 day\"", errs.Quote(paramWindow), errs.Quote(s))
	}
	var unit time.Duration
	switch strings.TrimSpace(t[i:]) {
	case "m", "min", "mins", "minute", "minutes":
		unit = time.Minute
	case "h", "hr", "hrs", "hour", "hours":
		unit = time.Hour
	case "d", "day", "days":
		unit = 24 * time.Hour
	default:
		return 0, errs.E(errs.Invalid, "hyperparameter %s: %s has no unit min, h or day", errs.Quote(paramWindow), errs.Quote(s))
	}
	d := time.Duration(n * float64(unit))
	if d < time.Minute || d > 365*24*time.Hour {
		return 0, errs.E(errs.Invalid, "hyperparameter %s: %s is outside [1 min, 365 days]", errs.Quote(paramWindow), errs.Quote(s))
	}
	return d, nil
}

// Fit counts each item's interactions in the latest window (ending at the
// newest interaction no later than opts.Now, or the newest interaction when
// Now is zero) and in the window before it. The trend score is the growth
// over what the previous window predicts, c1 - e, in units of its Poisson
// noise √(e+1), with e = c0 scaled by the change in total traffic: a
// doubling from 100 to 200 outranks a jump from 0 to 1, and a site-wide
// surge lifts no item by itself.
func (TrendingNow) Fit(ctx context.Context, data *recipe.Data, params recipe.Params, opts recipe.FitOptions) (recipe.Model, error) {
	window, err := windowOf(params)
	if err != nil {
		return nil, err
	}
	if err := recipe.ValidateData(data); err != nil {
		return nil, err
	}
	limit := int64(math.MaxInt64)
	if !opts.Now.IsZero() {
		limit = opts.Now.Unix()
	}
	m, err := trend(ctx, data.Interactions, window, limit)
	if err != nil {
		return nil, err
	}
	if opts.Progress != nil {
		opts.Progress(1)
	}
	return m, nil
}

// windowOf returns the trend window params ask for.
func windowOf(params recipe.Params) (time.Duration, error) {
	v, err := recipe.ParseParams(TrendingNow{}.Hyperparameters(), params)
	if err != nil {
		return 0, err
	}
	return ParseWindow(v.String(paramWindow))
}

// trend ranks in's items by their growth into the window that ends at the
// newest interaction no later than limit (see Fit).
func trend(ctx context.Context, in *recipe.Interactions, window time.Duration, limit int64) (*Model, error) {
	if len(in.Time) != in.Len() {
		return nil, errs.E(errs.Invalid, "training data: aws-trending-now needs interaction timestamps")
	}
	end := int64(math.MinInt64)
	for _, t := range in.Time {
		if t <= limit && t > end {
			end = t
		}
	}
	if end == math.MinInt64 {
		return nil, errs.E(errs.Invalid, "training data: no interaction at or before the training time")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w := int64(window / time.Second)
	c0 := make([]float64, len(in.ItemIDs))
	c1 := make([]float64, len(in.ItemIDs))
	var t0, t1 float64
	for i, t := range in.Time {
		switch {
		case t > end:
		case t > end-w:
			c1[in.Item[i]]++
			t1++
		case t > end-2*w:
			c0[in.Item[i]]++
			t0++
		}
	}
	scale := 1.0
	if t0 > 0 {
		scale = t1 / t0
	}
	scores := make([]float32, len(c0))
	tie := make([]float32, len(c0))
	for i := range scores {
		e := c0[i] * scale
		scores[i] = float32((c1[i] - e) / math.Sqrt(e+1))
		tie[i] = float32(c1[i])
	}
	return newModel("aws-trending-now", in, scores, tie), nil
}

// RefreshInterval implements recipe.Refresher: a trending model is
// re-evaluated every trend window, as Personalize updates trending items
// "for every <window> of data"; popularity-count models never are.
func (m *Model) RefreshInterval(params recipe.Params) time.Duration {
	if m.kind != "aws-trending-now" {
		return 0
	}
	w, err := windowOf(params)
	if err != nil {
		return 0
	}
	return w
}

// Refresh implements recipe.Refresher: the trend evaluated afresh on in,
// which holds the interactions known now (imported and streamed).
func (m *Model) Refresh(ctx context.Context, in *recipe.Interactions, params recipe.Params) (recipe.Model, error) {
	if m.kind != "aws-trending-now" {
		return m, nil
	}
	w, err := windowOf(params)
	if err != nil {
		return nil, err
	}
	return trend(ctx, in, w, math.MaxInt64)
}

// Decode reads a model written by Encode.
func (TrendingNow) Decode(r io.Reader) (recipe.Model, error) { return decode(r, "aws-trending-now") }

func sortOrder(order []int32, scores, tie []float32) {
	sort.SliceStable(order, func(a, b int) bool {
		i, j := order[a], order[b]
		if scores[i] != scores[j] {
			return scores[i] > scores[j]
		}
		if tie != nil && tie[i] != tie[j] {
			return tie[i] > tie[j]
		}
		return i < j
	})
}
