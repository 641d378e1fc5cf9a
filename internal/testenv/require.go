package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// CIEnv names the variable .ci/run sets to 1. There every tool and service
// a test drives must be present (scripts/install-test-tools.sh installs
// them), so a missing one fails the test instead of skipping it quietly.
const CIEnv = "ATTUNE_CI"

// Missing ends a test that needs something this machine lacks: it skips
// the test with msg (say what is missing and how to install it) on a
// developer's machine, and fails it when $ATTUNE_CI is 1.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(CIEnv) == "1" {
		t.Fatalf("%s\n(%s=1: CI must run this test, not skip it; scripts/install-test-tools.sh installs what it needs)", msg, CIEnv)
	}
	t.Skip(msg)
}

// ChromiumPath is where Debian's chromium package installs the browser
// that the browser tests drive headless.
const ChromiumPath = "/usr/bin/chromium"

// Chromium returns the path of the headless browser for browser tests:
// ChromiumPath, else chromium on $PATH. Without one it ends the test
// through Missing.
func Chromium(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err == nil {
		return ChromiumPath
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	Missing(t, "Chromium not installed (%s): run scripts/install-test-tools.sh as root (apt-get install chromium)", ChromiumPath)
	return ""
}
