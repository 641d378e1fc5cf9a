package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/attune-dev/attune/internal/testenv"
)

func TestImportFromS3(t *testing.T) {
	s3srv := testenv.S3(t) // skips with a message when versitygw is not installed
	s3srv.CreateBucket(t, "attune-data")
	seed := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	s3srv.PutObject(t, "attune-data", "seed/interactions.csv", seed("interactions.csv"))
	s3srv.PutObject(t, "attune-data", "seed/items.csv", seed("items.csv"))
	// A folder import takes every CSV under the prefix.
	lines := strings.SplitAfter(string(seed("users.csv")), "\n")
	s3srv.PutObject(t, "attune-data", "users/part-1.csv", []byte(strings.Join(lines[:15], "")))
	s3srv.PutObject(t, "attune-data", "users/part-2.csv", []byte(lines[0]+strings.Join(lines[15:], "")))
	s3srv.PutObject(t, "attune-data", "users/README.txt", []byte("not a CSV: skipped"))

	env := map[string]string{"AWS_ENDPOINT_URL_S3": s3srv.Endpoint, "AWS_ACCESS_KEY_ID": s3srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY": s3srv.SecretKey, "AWS_REGION": s3srv.Region}
	ts := startServerEnv(t, "", env)
	ctx := t.Context()
	pc := ts.personalizeClient()
	_, dsARNs := seedGroup(t, ctx, pc, "s3")
	cases := []struct {
		job, typ, location, wantStatus, wantReason string
	}{
		{"s3-interactions", "Interactions", "s3://attune-data/seed/interactions.csv", "ACTIVE", ""},
		{"s3-items", "Items", "s3://attune-data/seed/items.csv", "ACTIVE", ""},
		{"s3-users-folder", "Users", "s3://attune-data/users/", "ACTIVE", ""},
		{"s3-missing", "Items", "s3://attune-data/seed/nope.csv", "CREATE FAILED", "nope.csv"},
		{"s3-no-bucket", "Items", "s3://no-such-bucket/x.csv", "CREATE FAILED", "no-such-bucket"},
	}
	for _, tc := range cases {
		t.Run(tc.job, func(t *testing.T) {
			j := importAndWait(t, ctx, pc, tc.job, dsARNs[tc.typ], tc.location, "")
			if got := aws.ToString(j.Status); got != tc.wantStatus || !strings.Contains(aws.ToString(j.FailureReason), tc.wantReason) {
				t.Errorf("import %s = %s %q, want %s mentioning %q", tc.location, got, aws.ToString(j.FailureReason), tc.wantStatus, tc.wantReason)
			}
		})
	}
	ts.Stop(t)
	if n := countRecords(t, ts.DataDir, dsARNs["Users"]); n != 28 {
		t.Errorf("users rows from the two-file folder = %d, want 28", n)
	}
	if n := countRecords(t, ts.DataDir, dsARNs["Items"]); n != 28 {
		t.Errorf("items rows = %d, want 28 (failed imports change nothing)", n)
	}

	// Wrong S3 credentials fail the job with a reason, not a crash.
	env["AWS_SECRET_ACCESS_KEY"] = "wrong-secret"
	ts2 := startServerEnv(t, ts.DataDir, env)
	pc2 := ts2.personalizeClient()
	j := importAndWait(t, ctx, pc2, "s3-denied", dsARNs["Items"], "s3://attune-data/seed/items.csv", "")
	if aws.ToString(j.Status) != "CREATE FAILED" || aws.ToString(j.FailureReason) == "" {
		t.Errorf("import with a wrong S3 secret = %s %q, want CREATE FAILED with a reason", aws.ToString(j.Status), aws.ToString(j.FailureReason))
	}
	t.Logf("wrong-secret failure reason: %s", aws.ToString(j.FailureReason))
}
