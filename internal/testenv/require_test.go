package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMissing runs a test that calls Missing in a child process, once as on
// a developer's machine and once as in CI, and checks it skips, then fails.
func TestMissing(t *testing.T) {
	if os.Getenv("ATTUNE_TESTENV_CHILD") == "1" {
		Missing(t, "frobnicator not installed")
		t.Fatal("Missing returned")
	}
	for _, tc := range []struct {
		name   string
		ci     string
		failed bool
		want   string
	}{
		{"developer machine skips", "", false, "--- SKIP: TestMissing"},
		{"CI fails", "1", true, "--- FAIL: TestMissing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run", "^TestMissing$", "-test.v")
			cmd.Env = append(os.Environ(), "ATTUNE_TESTENV_CHILD=1", CIEnv+"="+tc.ci)
			out, err := cmd.CombinedOutput()
			if (err != nil) != tc.failed || !strings.Contains(string(out), tc.want) || !strings.Contains(string(out), "frobnicator not installed") {
				t.Errorf("child with %s=%q: err %v, output:\n%s\nwant %q and the message", CIEnv, tc.ci, err, out, tc.want)
			}
		})
	}
}
