package postgres

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves goroutines behind: Close must
// stop the pool's health checks and release every connection.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
