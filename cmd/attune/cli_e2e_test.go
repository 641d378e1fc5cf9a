package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/testenv"
)

// awsCLIs are the AWS CLIs installed here: pip's v1 first on PATH and
// Debian's v2 at /usr/bin/aws (scripts/install-test-tools.sh installs it).
func awsCLIs(t *testing.T) map[string]string {
	t.Helper()
	clis := map[string]string{}
	if p, err := exec.LookPath("aws"); err == nil && p != "/usr/bin/aws" {
		clis["pip"] = p
	}
	if _, err := os.Stat("/usr/bin/aws"); err == nil {
		clis["debian"] = "/usr/bin/aws"
	}
	if len(clis) == 0 {
		testenv.Missing(t, "no AWS CLI installed: run scripts/install-test-tools.sh (pip awscli v1 or Debian's awscli v2)")
	}
	return clis
}

// cli runs one AWS CLI command against the server and decodes its JSON output.
func cli(t *testing.T, bin, url string, args ...string) (map[string]any, string, error) {
	t.Helper()
	return cliAs(t, testAccessKey, testSecret, bin, url, args...)
}

// cliAs is cli signed with another key pair.
func cliAs(t *testing.T, accessKey, secret, bin, url string, args ...string) (map[string]any, string, error) {
	t.Helper()
	args = append(args, "--endpoint-url", url, "--output", "json")
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+accessKey, "AWS_SECRET_ACCESS_KEY="+secret,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var out map[string]any
	if s := strings.TrimSpace(stdout.String()); s != "" {
		if jerr := json.Unmarshal([]byte(s), &out); jerr != nil {
			t.Fatalf("%s %v: output is not JSON: %v\n%s", bin, args, jerr, s)
		}
	}
	return out, stderr.String(), err
}

func TestAWSCLIDataWorkflow(t *testing.T) {
	clis := awsCLIs(t)
	ts := startServer(t, "")
	dir, _ := filepath.Abs("testdata")
	schemaFile := filepath.Join(t.TempDir(), "interactions.json")
	if err := os.WriteFile(schemaFile, []byte(interactionsSchema), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, bin := range clis {
		t.Run(name, func(t *testing.T) {
			must := func(args ...string) map[string]any {
				t.Helper()
				out, stderr, err := cli(t, bin, ts.URL, args...)
				if err != nil {
					t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
				}
				return out
			}
			g := must("personalize", "create-dataset-group", "--name", "cli-"+name)
			groupARN, _ := g["datasetGroupArn"].(string)
			if !strings.HasSuffix(groupARN, ":dataset-group/cli-"+name) {
				t.Fatalf("create-dataset-group returned %v", g)
			}
			waitCLI(t, func() string {
				return dig(must("personalize", "describe-dataset-group", "--dataset-group-arn", groupARN), "datasetGroup", "status")
			})
			sc := must("personalize", "create-schema", "--name", "cli-int-"+name, "--schema", "file://"+schemaFile)
			ds := must("personalize", "create-dataset", "--name", "cli-int-"+name, "--dataset-group-arn", groupARN,
				"--dataset-type", "Interactions", "--schema-arn", sc["schemaArn"].(string))
			dsARN := ds["datasetArn"].(string)
			waitCLI(t, func() string {
				return dig(must("personalize", "describe-dataset", "--dataset-arn", dsARN), "dataset", "status")
			})
			// Debian's CLI v2.9.19 requires --role-arn on import jobs; Attune accepts and ignores it.
			job := must("personalize", "create-dataset-import-job", "--job-name", "cli-import-"+name, "--dataset-arn", dsARN,
				"--data-source", "dataLocation=file://"+filepath.Join(dir, "interactions.csv"),
				"--role-arn", "arn:aws:iam::000000000000:role/attune", "--import-mode", "FULL")
			jobARN := job["datasetImportJobArn"].(string)
			waitCLI(t, func() string {
				return dig(must("personalize", "describe-dataset-import-job", "--dataset-import-job-arn", jobARN), "datasetImportJob", "status")
			})
			lst := must("personalize", "list-dataset-groups")
			if gs, _ := lst["datasetGroups"].([]any); len(gs) == 0 {
				t.Errorf("list-dataset-groups = %v", lst)
			}
			_, stderr, err := cli(t, bin, ts.URL, "personalize", "describe-dataset-group", "--dataset-group-arn", groupARN+"-missing")
			if err == nil || !strings.Contains(stderr, "ResourceNotFoundException") {
				t.Errorf("describe missing group: err %v, stderr %q; want ResourceNotFoundException", err, stderr)
			}
		})
	}
}

func waitCLI(t *testing.T, status func() string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		s := status()
		switch s {
		case "ACTIVE":
			return
		case "CREATE FAILED":
			t.Fatalf("resource failed")
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %q after 60s", s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func dig(m map[string]any, keys ...string) string {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[k]
	}
	s, _ := cur.(string)
	return s
}
