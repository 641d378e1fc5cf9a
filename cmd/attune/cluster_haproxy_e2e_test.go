package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/testenv"
)

// startHAProxy runs HAProxy with deploy/haproxy.cfg, the load balancer of
// deploy/compose.yaml, with its servers (attune-a, attune-b) pointed at the
// given replicas and its port at a free loopback one. It returns the URL
// clients use.
func startHAProxy(t *testing.T, servers map[string]string) string {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		testenv.Missing(t, "haproxy not on $PATH (Debian package haproxy; scripts/install-test-tools.sh installs it)")
	}
	conf, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cfg := regexp.MustCompile(`(?m)^(\s*bind )\S+`).ReplaceAllString(string(conf), "${1}"+addr)
	for name, at := range servers {
		re := regexp.MustCompile(`(?m)^(\s*server ` + regexp.QuoteMeta(name) + ` )\S+`)
		if !re.MatchString(cfg) {
			t.Fatalf("haproxy.cfg has no server %s", name)
		}
		cfg = re.ReplaceAllString(cfg, "${1}"+at)
	}
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-db", "-f", path)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy did not start:\n%s", out.String())
		}
	}
}

// TestClusterHAProxy runs deploy/haproxy.cfg in front of two replicas and
// restarts each replica in turn under load through it: no request fails.
// A stopping replica drains (--shutdown-delay: /readyz fails while it still
// serves) until HAProxy has taken it out of rotation; HAProxy sends to it
// again once its /readyz answers, and retries requests whose connection
// failed on the other replica.
func TestClusterHAProxy(t *testing.T) {
	c := newCluster(t)
	// As compose.yaml: HAProxy checks every second and takes a replica out
	// after two failed checks (plus up to 1 s of /readyz's answer cache).
	c.flags = []string{"--shutdown-delay", "4s"}
	a, b, campaignARN, trackingID := c.twoReplicas(t, "haproxy", 34)
	lb := startHAProxy(t, map[string]string{"attune-a": a.addr, "attune-b": b.addr})
	// Both replicas in rotation before the load starts (checks every second).
	time.Sleep(2500 * time.Millisecond)
	cfg := sdkConfig(testAccessKey, testSecret)
	cfg.HTTPClient = &http.Client{}
	sent, failed, firstErr := underLoad(t, cfg, lb, campaignARN, trackingID, func() {
		for _, r := range []*replica{a, b} {
			r.stop(t)
			r.run(t)
			r.waitReady(t)
			time.Sleep(2500 * time.Millisecond) // back in HAProxy's rotation
		}
	})
	t.Logf("HAProxy (deploy/haproxy.cfg), rolling restart of A then B: %d requests, %d failed", sent, failed)
	if failed != 0 {
		t.Errorf("%d of %d requests through HAProxy failed during the rolling restart; first: %v", failed, sent, firstErr)
	}
	if !strings.HasPrefix(lb, "http://127.0.0.1:") {
		t.Errorf("haproxy listens on %s, want loopback", lb)
	}
}
