package health

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a check run outlives them: every
// run must end once its check returns.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
