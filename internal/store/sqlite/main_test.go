package sqlite

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves goroutines behind: Close must
// release every connection the store opened.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
