package testenv_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/testenv"
)

// ensurePostgres runs scripts/ensure-postgres.sh with extra environment
// variables and returns its combined output and error.
func ensurePostgres(t *testing.T, env ...string) (string, error) {
	t.Helper()
	script, err := filepath.Abs("../../scripts/ensure-postgres.sh")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), script)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestEnsurePostgresReady: where the tests' PostgreSQL answers, the script
// that .ci/run calls succeeds without changing anything.
func TestEnsurePostgresReady(t *testing.T) {
	testenv.Postgres(t) // skips without a server (fails in CI)
	if os.Getenv(testenv.PostgresEnv) != "" {
		t.Skipf("%s points elsewhere; the script checks 127.0.0.1:5432", testenv.PostgresEnv)
	}
	out, err := ensurePostgres(t, "ATTUNE_PG_PORT=5432", "ATTUNE_PG_CLUSTER=main")
	if err != nil || !strings.Contains(out, "ready on 127.0.0.1:5432") || strings.Contains(out, "starting") {
		t.Errorf("ensure-postgres.sh = %v:\n%s\nwant ready without starting anything", err, out)
	}
}

// TestEnsurePostgresRepairs drives the script's other paths on a throwaway
// cluster (created, started, repaired, then dropped): it needs root and
// Debian's postgresql-common, so it runs only with ATTUNE_TEST_PG_SCRIPT=1.
func TestEnsurePostgresRepairs(t *testing.T) {
	if os.Getenv("ATTUNE_TEST_PG_SCRIPT") != "1" {
		t.Skip("set ATTUNE_TEST_PG_SCRIPT=1 to create, break and repair a throwaway PostgreSQL cluster (needs root)")
	}
	if os.Getuid() != 0 {
		t.Fatal("ATTUNE_TEST_PG_SCRIPT=1 needs root")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cluster := fmt.Sprintf("attunetest%d", port)
	env := []string{fmt.Sprint("ATTUNE_PG_PORT=", port), "ATTUNE_PG_CLUSTER=" + cluster}
	var version string
	t.Cleanup(func() {
		if version != "" {
			if out, err := exec.Command("pg_dropcluster", "--stop", version, cluster).CombinedOutput(); err != nil {
				t.Errorf("pg_dropcluster %s %s: %v\n%s", version, cluster, err, out)
			}
		}
	})
	run := func(step string, wantOK bool, wantText string, extraEnv ...string) {
		t.Helper()
		out, err := ensurePostgres(t, append(env, extraEnv...)...)
		if (err == nil) != wantOK || !strings.Contains(out, wantText) {
			t.Fatalf("%s: ensure-postgres.sh = %v:\n%s\nwant ok=%v and %q", step, err, out, wantOK, wantText)
		}
		if version == "" {
			if m, _ := filepath.Glob("/etc/postgresql/*/" + cluster); len(m) == 1 {
				version = filepath.Base(filepath.Dir(m[0]))
			}
		}
	}
	sh := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	run("new cluster", true, "creating cluster")
	run("again", true, "ready on")
	sh("pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "stop")
	run("stopped", true, "starting cluster")
	sh("runuser", "-u", "postgres", "--", "dropdb", "-p", fmt.Sprint(port), "test")
	hba := filepath.Join("/etc/postgresql", version, cluster, "pg_hba.conf")
	sh("sed", "-i", "/added by attune/d", hba)
	sh("pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "reload")
	run("no database, no trust line", true, "ready on")
	if b, err := os.ReadFile(hba); err != nil || !strings.HasPrefix(string(b), "host all all 127.0.0.1/32 trust") {
		t.Errorf("pg_hba.conf does not start with the trust line (%v)", err)
	}
	run("cluster on another port", false, "is configured for port", fmt.Sprint("ATTUNE_PG_PORT=", port+1))
}
