package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"

	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/personalize"

	"github.com/attune-dev/attune/internal/store/sqlite"
)

// rawCall sends a control-plane request signed with the test credentials and
// returns the status line and body, for checks the SDK hides.
func rawCall(t *testing.T, ts *testServer, op, body string) string {
	t.Helper()
	resp := signedPost(t, ts.URL+"/", "AmazonPersonalize."+op, body, testAccessKey, testSecret)
	return resp
}

func signedPost(t *testing.T, url, target, body, key, secret string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	if key != "" {
		sum := sha256.Sum256([]byte(body))
		err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret},
			req, hex.EncodeToString(sum[:]), "personalize", "us-east-1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Status + " " + resp.Header.Get("X-Amzn-ErrorType") + " " + string(b)
}

func TestAuthentication(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	cases := []struct {
		name       string
		key, sec   string
		wantStatus string
		wantType   string
	}{
		{"unsigned", "", "", "403", "MissingAuthenticationTokenException"},
		{"unknown key", "AKIANOBODY0000000000", testSecret, "403", "UnrecognizedClientException"},
		{"wrong secret", testAccessKey, "wrong", "403", "InvalidSignatureException"},
		{"good", testAccessKey, testSecret, "200", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := signedPost(t, ts.URL+"/", "AmazonPersonalize.ListDatasetGroups", "{}", tc.key, tc.sec)
			if !strings.HasPrefix(got, tc.wantStatus) || !strings.Contains(got, tc.wantType) {
				t.Errorf("answer = %q, want status %s and %s", got, tc.wantStatus, tc.wantType)
			}
		})
	}
	// The SDK sees the same errors with a wrong key.
	bad := personalize.NewFromConfig(sdkConfig("AKIANOBODY0000000000", "x"), func(o *personalize.Options) { o.BaseEndpoint = aws.String(ts.URL) })
	_, err := bad.ListDatasetGroups(ctx, &personalize.ListDatasetGroupsInput{})
	if apiCode(err) != "UnrecognizedClientException" {
		t.Errorf("SDK with unknown key: %v, want UnrecognizedClientException", err)
	}
	// A tampered body fails even with a valid signature header.
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/", strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", "AmazonPersonalize.ListDatasetGroups")
	sum := sha256.Sum256([]byte(`{}`))
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret}, req,
		hex.EncodeToString(sum[:]), "personalize", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	req.Body = io.NopCloser(bytes.NewReader([]byte(`{"maxResults":1}`)))
	req.ContentLength = int64(len(`{"maxResults":1}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Amzn-ErrorType") != "InvalidSignatureException" {
		t.Errorf("tampered body: %s %s, want 403 InvalidSignatureException", resp.Status, resp.Header.Get("X-Amzn-ErrorType"))
	}
}

// countRecords opens a stopped server's store and counts a dataset's rows.
func countRecords(t *testing.T, dataDir, datasetARN string) int64 {
	t.Helper()
	st, err := sqlite.Open(context.Background(), dataDir, sqlite.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := st.CountRecords(context.Background(), datasetARN)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir)
	ctx := t.Context()
	pc := ts.personalizeClient()
	_, dsARNs := seedGroup(t, ctx, pc, "durable")
	abs, _ := filepath.Abs("testdata/items.csv")
	j := importAndWait(t, ctx, pc, "items", dsARNs["Items"], "file://"+abs, "")
	if aws.ToString(j.Status) != "ACTIVE" {
		t.Fatalf("import: %s %s", aws.ToString(j.Status), aws.ToString(j.FailureReason))
	}
	ts.Stop(t)
	ts2 := startServer(t, dir)
	pc2 := ts2.personalizeClient()
	out, err := pc2.DescribeDatasetImportJob(ctx, &personalize.DescribeDatasetImportJobInput{DatasetImportJobArn: j.DatasetImportJobArn})
	if err != nil || aws.ToString(out.DatasetImportJob.Status) != "ACTIVE" {
		t.Fatalf("after restart: %v %+v", err, out)
	}
	lst, err := pc2.ListDatasets(ctx, &personalize.ListDatasetsInput{})
	if err != nil || len(lst.Datasets) != 3 {
		t.Fatalf("after restart ListDatasets = %v, %v", lst, err)
	}
	ts2.Stop(t)
	if n := countRecords(t, dir, dsARNs["Items"]); n != 28 {
		t.Errorf("items rows after restart = %d, want 28", n)
	}
}
