package eval

import (
	"strings"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
)

func invalidf(format string, args ...any) error { return errs.E(errs.Invalid, format, args...) }

// ParseHyperparameters parses "name=value,name=value" into recipe.Params.
// Spaces around names and values are trimmed and an empty string gives empty
// Params. Values cannot contain commas. A pair without "=", an empty name or
// a name given twice is errs.Invalid naming the pair.
func ParseHyperparameters(s string) (recipe.Params, error) {
	p := recipe.Params{}
	if strings.TrimSpace(s) == "" {
		return p, nil
	}
	for pair := range strings.SplitSeq(s, ",") {
		name, value, ok := strings.Cut(pair, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case !ok || name == "":
			return nil, invalidf("hyperparameters: %q is not name=value", pair)
		case hasKey(p, name):
			return nil, invalidf("hyperparameters: %s is given twice", name)
		}
		p[name] = value
	}
	return p, nil
}

func hasKey(p recipe.Params, name string) bool {
	_, ok := p[name]
	return ok
}
