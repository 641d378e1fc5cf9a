// Package testenv gives tests of any package the external services Attune
// talks to: an S3-compatible server (versitygw, started per test) and a
// PostgreSQL DSN. Each helper skips the test, with instructions, when its
// service is not available, so `go test` passes on a bare machine and CI
// runs everything. It is for tests only; production code must not import it.
package testenv

import (
	"context"
	"net"
	"os"
	"testing"
	"time"
)

// PostgresEnv names the variable holding the DSN of a PostgreSQL server
// that tests may use (and fill with scratch databases or tables).
const PostgresEnv = "ATTUNE_TEST_POSTGRES_DSN"

// defaultPostgresDSN is tried when PostgresEnv is unset: the conventional
// local server, as CI's service container provides it.
const defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Postgres returns the DSN of a PostgreSQL server for tests: $ATTUNE_TEST_POSTGRES_DSN
// if set, else the default local server if something listens on
// 127.0.0.1:5432. Otherwise it skips the test (fails it in CI: Missing).
func Postgres(t *testing.T) string {
	t.Helper()
	if dsn := os.Getenv(PostgresEnv); dsn != "" {
		return dsn
	}
	d := net.Dialer{Timeout: time.Second}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", "127.0.0.1:5432")
	if err != nil {
		Missing(t, "no PostgreSQL for this test: set %s=postgres://user:pass@host:port/db?sslmode=disable, "+
			"or run a server on 127.0.0.1:5432 with database \"test\" (connect: %v)", PostgresEnv, err)
	}
	conn.Close()
	return defaultPostgresDSN
}
