package testenv

import (
	"context"
	"net"
	"net/url"
	"os"
	"testing"
	"time"
)

// NATSEnv names the variable holding the URL of a NATS server with
// JetStream that tests may use (they keep to streams of their own).
const NATSEnv = "ATTUNE_TEST_NATS_URL"

// defaultNATSURL is tried when NATSEnv is unset.
const defaultNATSURL = "nats://127.0.0.1:4222"

// NATS returns the URL of a NATS server for tests: $ATTUNE_TEST_NATS_URL
// if set, else the default local server if something listens on
// 127.0.0.1:4222. Otherwise it skips the test (fails it in CI: Missing).
func NATS(t testing.TB) string {
	t.Helper()
	u := os.Getenv(NATSEnv)
	if u == "" {
		u = defaultNATSURL
	}
	p, err := url.Parse(u)
	if err != nil {
		t.Fatalf("testenv: %s=%q: %v", NATSEnv, u, err)
	}
	d := net.Dialer{Timeout: time.Second}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", p.Host)
	if err != nil {
		Missing(t, "no NATS server for this test: set %s=nats://host:port, or run nats-server --jetstream on 127.0.0.1:4222 (connect: %v)", NATSEnv, err)
	}
	conn.Close()
	return u
}
