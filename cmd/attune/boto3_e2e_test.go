package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/testenv"
)

// boto3Script runs a Python script of testdata/boto3 against ts with boto3,
// the endpoint given through the AWS_ENDPOINT_URL_* variables as a user
// moving from Personalize sets them, and returns its output. Without python3
// or boto3 it ends the test through testenv.Missing (a failure in CI).
func boto3Script(t *testing.T, ts *testServer, script string, env ...string) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Missing(t, "python3 is not installed")
	}
	if err := exec.Command(py, "-c", "import boto3").Run(); err != nil {
		testenv.Missing(t, "boto3 is not installed: pip install boto3")
	}
	path, err := filepath.Abs(filepath.Join("testdata", "boto3", script))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), py, path)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+testAccessKey, "AWS_SECRET_ACCESS_KEY="+testSecret,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_ENDPOINT_URL_PERSONALIZE="+ts.URL, "AWS_ENDPOINT_URL_PERSONALIZE_RUNTIME="+ts.URL,
		"AWS_ENDPOINT_URL_PERSONALIZE_EVENTS="+ts.URL, "AWS_MAX_ATTEMPTS=1")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return string(out)
}

// TestBoto3NotebookShapes sends the request shapes of AWS's sample
// notebooks that failed against Attune (issue 19, items 1, 2, 3, 6 and 8)
// through boto3, with no sleep between a Create and the call using it.
func TestBoto3NotebookShapes(t *testing.T) {
	ts := startServer(t, "")
	out := boto3Script(t, ts, "notebook_shapes.py", "NB_DIR="+t.TempDir())
	for _, step := range []string{
		"ok create chain without waiting",
		"ok lower-case CSV headers and a one-member union imported",
		"ok create_solution_version right after create_solution",
		"ok put_events with itemId in properties right after create_event_tracker",
		"ok conflicting itemId refused",
		"ok filter used right after create_filter",
		"ok batch output written next to its input; scores never null",
		"ok output folder inside the input folder refused",
		"ok clean-up finished in",
	} {
		if !strings.Contains(out, step) {
			t.Errorf("step %q missing from the script's output:\n%s", step, out)
		}
	}
	t.Log(out)
}
