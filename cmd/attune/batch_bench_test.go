package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"

	"github.com/attune-dev/attune/internal/demo"
)

// TestBatchThroughput measures a batch inference job over 100k input lines
// (issue 6's figure: users/s). It is minutes of work, so it runs only with
// ATTUNE_BENCH_BATCH=1:
//
//	ATTUNE_BENCH_BATCH=1 go test -run TestBatchThroughput -v ./cmd/attune
func TestBatchThroughput(t *testing.T) {
	if os.Getenv("ATTUNE_BENCH_BATCH") == "" {
		t.Skip("set ATTUNE_BENCH_BATCH=1 to measure batch inference throughput over 100k users")
	}
	ts := startServer(t, "")
	ctx := t.Context()
	pc := ts.personalizeClient()
	group := demoGroup(t, ctx, pc, "batchbench", demo.Options{Seed: 5, Users: 20000, Interactions: 400000})
	v, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("bb"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-user-personalization")})
	if st != "ACTIVE" {
		t.Fatal(st)
	}
	const lines = 100000
	in := t.TempDir()
	var b strings.Builder
	for i := range lines {
		fmt.Fprintf(&b, "{\"userId\":\"usr_%04d\"}\n", 1+i%25000) // a fifth of them unknown to the model
	}
	if err := os.WriteFile(filepath.Join(in, "users.jsonl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	desc, out := runBatch(t, ctx, pc, "bench", v, in+"/", t.TempDir(), "users.jsonl")
	secs := time.Since(start).Seconds()
	if len(out) != lines {
		t.Fatalf("%d output lines, want %d", len(out), lines)
	}
	t.Logf("batch inference: %d users in %.1fs = %.0f users/s (numResults 5, 78-item catalogue; job status %s)", lines, secs, lines/secs, aws.ToString(desc.Status))
}
