package main

import (
	"encoding/json"
	"os"
	"os/exec"
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
