package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/testenv"
)

// startDemo runs `attune demo` in-process on a loopback port, as a newcomer
// would (no credentials in the environment), and returns its output once
// it is ready, and a function that stops it.
func startDemo(t *testing.T, dataDir string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--log-level", "warn"},
			func(string) string { return "" }, out, out)
	}()
	stop := func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("demo stopped with error: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("demo did not stop within 30s")
		}
	}
	deadline := time.Now().Add(120 * time.Second)
	for !strings.Contains(out.String(), "Press Ctrl-C") {
		select {
		case err := <-done:
			t.Fatalf("demo exited before it was ready: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("demo not ready after 120s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return out.String(), stop
}

// TestDemoAsANewcomer runs the demo on a fresh data dir, pastes the
// printed AWS CLI commands into a shell, then runs the demo again on the
// same dir and checks that it reuses everything.
func TestDemoAsANewcomer(t *testing.T) {
	dir := t.TempDir()
	out, stop := startDemo(t, dir)
	var export string
	var cmds []string
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "export AWS_ACCESS_KEY_ID="):
			export = line
		case strings.HasPrefix(line, "aws "):
			cmds = append(cmds, line)
		}
	}
	if export == "" || len(cmds) != 5 || !strings.Contains(cmds[4], "--metadata-columns") {
		stop()
		t.Fatalf("demo output lacks the export line or the 4 AWS CLI commands plus the metadata variant:\n%s", out)
	}
	for _, c := range cmds[:4] {
		if strings.Contains(c, "--metadata-columns") {
			t.Errorf("command %q is printed for every CLI but Debian's AWS CLI v2 2.9 rejects --metadata-columns", c)
		}
	}
	// Every AWS CLI found here runs the commands printed for all CLIs; the
	// metadata variant must work with v1 and be refused by a v2 too old for
	// it exactly as the banner says (an unknown option), not otherwise.
	clis := awsCLIs(t)
	for _, name := range []string{"pip", "debian"} {
		t.Run("pasted into the "+name+" AWS CLI", func(t *testing.T) {
			bin := clis[name]
			if bin == "" {
				testenv.Missing(t, "the %s AWS CLI is not installed: the pasted commands are not run with it (scripts/install-test-tools.sh installs it)", name)
			}
			version, _ := exec.Command(bin, "--version").CombinedOutput()
			wants := []string{`"itemList"`, `"personalizedRanking"`, `"status": "ACTIVE"`, `"normalized_discounted_cumulative_gain_at_10"`}
			for i, c := range cmds[:4] {
				if b, err := runPasted(bin, export, c); err != nil || !strings.Contains(string(b), wants[i]) {
					t.Errorf("pasted %q: %v\n%s\nwant output containing %s", c, err, b, wants[i])
				}
			}
			b, err := runPasted(bin, export, cmds[4])
			switch {
			case err == nil && strings.Contains(string(b), `"SERVICE_NAME"`):
			case strings.HasPrefix(string(version), "aws-cli/2.") && strings.Contains(string(b), "Unknown options: --metadata-columns"):
				if !strings.Contains(out, "Debian's v2 2.9 predates --metadata-columns") {
					t.Errorf("%s refuses --metadata-columns but the banner does not say so", strings.Fields(string(version))[0])
				}
				t.Logf("%s refuses --metadata-columns, as the banner says", strings.Fields(string(version))[0])
			default:
				t.Errorf("pasted %q into %s: %v\n%s\nwant item metadata (SERVICE_NAME)", cmds[4], version, err, b)
			}
		})
	}
	stop()

	again, stop2 := startDemo(t, dir)
	defer stop2()
	for _, fresh := range []string{"created", "importing", "training", "deploying"} {
		if strings.Contains(again, "  - "+fresh) {
			t.Errorf("second demo run on the same data dir did %q again:\n%s", fresh, again)
		}
	}
	if !strings.Contains(again, export) {
		t.Errorf("second demo run printed other credentials than the first")
	}
}

// runPasted runs one printed command line as a newcomer's shell would,
// after the printed export line, with cli in place of "aws".
func runPasted(cli, export, line string) ([]byte, error) {
	cmd := exec.Command("sh", "-c", export+"\n"+strings.Replace(line, "aws ", cli+" ", 1))
	// Keep the user's own AWS profile out of the newcomer's view.
	cmd.Env = []string{"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER="}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd.CombinedOutput()
}
