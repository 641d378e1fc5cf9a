// Package archtest checks the dependency rules of the style guide (B2) with
// `go list -deps`, so that a wrong import fails CI instead of a review.
package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/attune-dev/attune"

type pkg struct {
	ImportPath string
	Deps       []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestDependencyRules(t *testing.T) {
	concrete := []string{"/internal/store/sqlite", "/internal/store/postgres", "/internal/blob/local", "/internal/blob/s3"}
	pure := []string{"/internal/errs", "/internal/schema", "/internal/recipe", "/internal/eval", "/internal/arn", "/internal/records", "/internal/filter", "/internal/iam"}
	forbiddenInPure := []string{"net/http", "database/sql", "log/slog", "os/exec"}
	pkgs := listPackages(t)
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(p.ImportPath, module)
		isTestHelper := strings.HasSuffix(rel, "test") || strings.HasPrefix(rel, "/internal/testenv")
		for _, d := range p.Deps {
			// Rule 2: only cmd/attune (and test helpers) import concrete backends.
			for _, c := range concrete {
				if d == module+c && !strings.HasPrefix(rel, "/cmd/") && !isTestHelper && !strings.HasPrefix(rel, c) {
					t.Errorf("%s imports concrete backend %s: only cmd/attune may", rel, c)
				}
			}
			// Rule 3: pure packages use no I/O frameworks.
			for _, pp := range pure {
				if (rel == pp || strings.HasPrefix(rel, pp+"/")) && !isTestHelper {
					for _, f := range forbiddenInPure {
						if d == f {
							t.Errorf("pure package %s imports %s", rel, f)
						}
					}
				}
			}
			// Rule 4: only api and web touch net/http among the domain packages.
			if d == "net/http" && strings.HasPrefix(rel, "/internal/") {
				// metrics serves the admin port (/metrics, /debug/pprof); domain
				// packages record through interfaces of their own and never import it.
				allowed := []string{"/internal/api", "/internal/web", "/internal/client", "/internal/blob/s3", "/internal/testenv", "/internal/metrics"}
				ok := false
				for _, a := range allowed {
					if rel == a || strings.HasPrefix(rel, a+"/") {
						ok = true
					}
				}
				if !ok {
					t.Errorf("%s imports net/http: only api, web and client may", rel)
				}
			}
			// Rule 6: the Prometheus client stays at the edges; domain packages
			// record through small interfaces of their own (events.Metrics, ...).
			if strings.HasPrefix(d, "github.com/prometheus/") && strings.HasPrefix(rel, "/internal/") &&
				!strings.HasPrefix(rel, "/internal/metrics") && rel != "/internal/api" && rel != "/internal/web" {
				t.Errorf("%s imports %s: only metrics, api, web and cmd/attune may", rel, d)
			}
		}
	}
}
