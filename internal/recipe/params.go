package recipe

import (
	"math"
	"strconv"
	"strings"

	"github.com/attune-dev/attune/internal/errs"
)

// Hyperparameter kinds, as DescribeRecipe spells them.
const (
	KindInteger     = "integer"
	KindContinuous  = "continuous"
	KindCategorical = "categorical"
)

// Values are hyperparameters checked against a recipe's specs: every spec has
// a value, given or defaulted. Getters panic on a name that is not in the
// specs, since that is a bug in the recipe rather than bad input.
type Values struct {
	m map[string]string
}

// ParseParams validates p against specs: an unknown name, a malformed number,
// a value outside [Min, Max] or a categorical value not in Values gives an
// errs.Invalid error naming the hyperparameter. A categorical spec with no
// Values accepts any string (the recipe validates its syntax itself).
func ParseParams(specs []Hyperparameter, p Params) (Values, error) {
	v := Values{m: make(map[string]string, len(specs))}
	byName := make(map[string]Hyperparameter, len(specs))
	for _, s := range specs {
		byName[s.Name] = s
		v.m[s.Name] = s.Default
	}
	for name, raw := range p {
		s, ok := byName[name]
		if !ok {
			return Values{}, errs.E(errs.Invalid, "hyperparameter %s: unknown for this recipe", errs.Quote(name))
		}
		raw = strings.TrimSpace(raw)
		if err := checkValue(s, raw); err != nil {
			return Values{}, err
		}
		v.m[name] = raw
	}
	return v, nil
}

func checkValue(s Hyperparameter, raw string) error {
	switch s.Kind {
	case KindInteger:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return errs.E(errs.Invalid, "hyperparameter %s: %s is not an integer", errs.Quote(s.Name), errs.Quote(raw))
		}
		if float64(n) < s.Min || float64(n) > s.Max {
			return errs.E(errs.Invalid, "hyperparameter %s: %d is outside [%g, %g]", errs.Quote(s.Name), n, s.Min, s.Max)
		}
	case KindContinuous:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil || math.IsNaN(f) {
			return errs.E(errs.Invalid, "hyperparameter %s: %s is not a number", errs.Quote(s.Name), errs.Quote(raw))
		}
		if f < s.Min || f > s.Max {
			return errs.E(errs.Invalid, "hyperparameter %s: %g is outside [%g, %g]", errs.Quote(s.Name), f, s.Min, s.Max)
		}
	case KindCategorical:
		if len(s.Values) == 0 {
			return nil
		}
		for _, a := range s.Values {
			if strings.EqualFold(a, raw) {
				return nil
			}
		}
		return errs.E(errs.Invalid, "hyperparameter %s: %s is not one of %s", errs.Quote(s.Name), errs.Quote(raw), strings.Join(s.Values, ", "))
	}
	return nil
}

func (v Values) get(name string) string {
	s, ok := v.m[name]
	if !ok {
		panic("recipe: hyperparameter " + name + " is not in the recipe's specs")
	}
	return s
}

// Int returns an integer hyperparameter.
func (v Values) Int(name string) int {
	n, _ := strconv.Atoi(v.get(name))
	return n
}

// Float returns a continuous hyperparameter.
func (v Values) Float(name string) float64 {
	f, _ := strconv.ParseFloat(v.get(name), 64)
	return f
}

// Bool returns a "true"/"false" categorical hyperparameter.
func (v Values) Bool(name string) bool { return strings.EqualFold(v.get(name), "true") }

// String returns a hyperparameter's raw value.
func (v Values) String(name string) string { return v.get(name) }

// BoolParam is a spec for a boolean hyperparameter.
func BoolParam(name string, def bool, tunable bool) Hyperparameter {
	return Hyperparameter{Name: name, Default: strconv.FormatBool(def), Kind: KindCategorical,
		Values: []string{"true", "false"}, Tunable: tunable}
}

// IntParam is a spec for an integer hyperparameter in [lo, hi].
func IntParam(name string, def int, lo, hi int, tunable bool) Hyperparameter {
	return Hyperparameter{Name: name, Default: strconv.Itoa(def), Kind: KindInteger,
		Min: float64(lo), Max: float64(hi), Tunable: tunable}
}

// FloatParam is a spec for a continuous hyperparameter in [lo, hi].
func FloatParam(name string, def, lo, hi float64, tunable bool) Hyperparameter {
	return Hyperparameter{Name: name, Default: strconv.FormatFloat(def, 'g', -1, 64), Kind: KindContinuous,
		Min: lo, Max: hi, Tunable: tunable}
}

// ParseEventWeights parses an event_weights hyperparameter such as
// "PURCHASED=3,VIEWED=1" into a weight per event-type index of eventTypes.
// Event types it does not name get weight 1; "" gives all ones. Names are
// matched case-insensitively; a name absent from the data is allowed (the
// data may simply lack that event), a malformed or negative weight is not.
func ParseEventWeights(name, s string, eventTypes []string) ([]float32, error) {
	w := make([]float32, len(eventTypes))
	for i := range w {
		w[i] = 1
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return w, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, val, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if !ok || k == "" || err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, errs.E(errs.Invalid, "hyperparameter %s: %s is not EVENT_TYPE=weight with a weight ≥ 0", errs.Quote(name), errs.Quote(strings.TrimSpace(part)))
		}
		for i, et := range eventTypes {
			if strings.EqualFold(et, k) {
				w[i] = float32(f)
			}
		}
	}
	return w, nil
}

// ExcludeInteractedItems names the USER_PERSONALIZATION hyperparameter
// ("true"/"false", default "false") that makes serving leave out the items
// a user already interacted with. Personalize's default is to recommend
// them (a 12-item catalogue yields 12 items); it is read by serving from
// the model's stored hyperparameters, never by Fit.
const ExcludeInteractedItems = "exclude_interacted_items"

// ExcludeInteractedParam is the spec of ExcludeInteractedItems.
func ExcludeInteractedParam() Hyperparameter {
	return BoolParam(ExcludeInteractedItems, false, false)
}

// ExcludesInteracted reports whether params ask to leave out the items a
// user interacted with (ExcludeInteractedItems is "true", any case).
func ExcludesInteracted(params map[string]string) bool {
	return strings.EqualFold(strings.TrimSpace(params[ExcludeInteractedItems]), "true")
}
