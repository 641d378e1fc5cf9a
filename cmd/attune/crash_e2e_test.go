package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	"github.com/aws/aws-sdk-go-v2/service/personalize/types"
)

// buildBinary compiles cmd/attune once per test run.
func buildBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "attune")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startProcess runs the real binary on dataDir and returns it with its URL.
func startProcess(t testing.TB, bin, dataDir string, extra ...string) (*exec.Cmd, string) {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--addr-file", addrFile, "--log-level", "warn"},
		withTestLocalRoots(t, extra)...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "ATTUNE_ROOT_ACCESS_KEY_ID="+testAccessKey, "ATTUNE_ROOT_SECRET_ACCESS_KEY="+testSecret)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(addrFile); err == nil && len(b) > 0 {
			return cmd, "http://" + string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("binary did not start:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestKill9LosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary; skipped with -short")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	cmd, url := startProcess(t, bin, dir)
	ts := &testServer{URL: url}
	pc := ts.personalizeClient()
	ctx := t.Context()
	_, dsARNs := seedGroup(t, ctx, pc, "crash")

	// A large import that the kill interrupts mid-way.
	var b strings.Builder
	b.WriteString("USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP\n")
	const rows = 300000
	for i := range rows {
		fmt.Fprintf(&b, "usr_%06d,itm_%05d,VIEWED,%d\n", i%5000, (i*7)%20000, 1700000000+i)
	}
	big := filepath.Join(t.TempDir(), "big.csv")
	if err := os.WriteFile(big, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	job, err := pc.CreateDatasetImportJob(ctx, &personalize.CreateDatasetImportJobInput{JobName: aws.String("big"),
		DatasetArn: aws.String(dsARNs["Interactions"]), DataSource: &types.DataSource{DataLocation: aws.String("file://" + big)}, RoleArn: aws.String(testRole)})
	if err != nil {
		t.Fatal(err)
	}
	// Acknowledged creates right before the kill.
	var acked []string
	for i := range 20 {
		out, err := pc.CreateSchema(ctx, &personalize.CreateSchemaInput{Name: aws.String(fmt.Sprintf("acked-%d", i)), Schema: aws.String(interactionsSchema)})
		if err != nil {
			t.Fatal(err)
		}
		acked = append(acked, aws.ToString(out.SchemaArn))
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	cmd2, url2 := startProcess(t, bin, dir)
	pc2 := (&testServer{URL: url2}).personalizeClient()
	for _, a := range acked {
		if _, err := pc2.DescribeSchema(ctx, &personalize.DescribeSchemaInput{SchemaArn: aws.String(a)}); err != nil {
			t.Errorf("acknowledged schema %s lost after kill -9: %v", a, err)
		}
	}
	// The interrupted import does not stay IN_PROGRESS: it runs again and finishes.
	final := waitFor(t, "interrupted import", func() (string, error) {
		out, err := pc2.DescribeDatasetImportJob(ctx, &personalize.DescribeDatasetImportJobInput{DatasetImportJobArn: job.DatasetImportJobArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.DatasetImportJob.Status), nil
	}, "ACTIVE", "CREATE FAILED")
	if final != "ACTIVE" {
		t.Fatalf("interrupted import ended %s", final)
	}
	// Graceful stop, then count: every row exactly once, although the first
	// run had staged part of the file before the kill.
	if err := cmd2.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd2.Wait(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	if n := countRecords(t, dir, dsARNs["Interactions"]); n != rows {
		t.Errorf("rows after crash and rerun = %d, want %d", n, rows)
	}
}
