package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// helmInstall is the command that builds the helm binary Helm looks for.
const helmInstall = "GOBIN=$HOME/.cache/attune-tools/bin go install helm.sh/helm/v4/cmd/helm@v4.3.2"

// Helm returns the path of the helm binary that the chart tests run
// (`helm lint`, `helm template`): helm on $PATH, else the one
// scripts/install-test-tools.sh builds. Without one it ends the test
// through Missing.
func Helm(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	if dir, err := os.UserCacheDir(); err == nil {
		p := filepath.Join(dir, "attune-tools", "bin", "helm")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	Missing(t, "helm not found on $PATH or in ~/.cache/attune-tools/bin; build it with:\n\t%s", helmInstall)
	return ""
}
