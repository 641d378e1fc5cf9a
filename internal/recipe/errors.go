package recipe

import "github.com/attune-dev/attune/internal/errs"

func invalid(format string, args ...any) error {
	return errs.E(errs.Invalid, "training data: "+format, args...)
}
