package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	"github.com/aws/aws-sdk-go-v2/service/personalizeevents"
	etypes "github.com/aws/aws-sdk-go-v2/service/personalizeevents/types"
	"github.com/jackc/pgx/v5"

	"github.com/attune-dev/attune/internal/testenv"
)

const arnPrefix = "arn:aws:personalize:us-east-1:000000000000:"

// scopedPolicy allows describing one dataset group, listing, and asking one
// campaign for recommendations; it denies deleting anything.
const scopedPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Read", "Effect": "Allow", "Action": "personalize:Describe*", "Resource": "` + arnPrefix + `dataset-group/shop"},
    {"Sid": "List", "Effect": "Allow", "Action": "personalize:ListDatasetGroups", "Resource": "*"},
    {"Sid": "Recs", "Effect": "Allow", "Action": "personalize:GetRecommendations", "Resource": "` + arnPrefix + `campaign/shop"},
    {"Sid": "NoDelete", "Effect": "Deny", "Action": "personalize:Delete*", "Resource": "*"}
  ]
}`

// clientAs is an SDK control-plane client signed with another key.
func (ts *testServer) clientAs(id, secret string) *personalize.Client {
	return personalize.NewFromConfig(sdkConfig(id, secret), func(o *personalize.Options) { o.BaseEndpoint = aws.String(ts.URL) })
}

// TestScopedKeyAWSCLI drives a key created with `attune keys create` through
// the real AWS CLI: allowed calls succeed, others fail with
// AccessDeniedException naming the action and the resource.
func TestScopedKeyAWSCLI(t *testing.T) {
	clis := awsCLIs(t)
	ts := startServer(t, "")
	ctx := t.Context()
	root := ts.personalizeClient()
	for _, name := range []string{"shop", "other"} {
		if _, err := root.CreateDatasetGroup(ctx, &personalize.CreateDatasetGroupInput{Name: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	id, secret := createAccessKey(t, ts, "web-shop", scopedPolicy)
	for name, bin := range clis {
		t.Run(name, func(t *testing.T) {
			as := func(args ...string) (map[string]any, string, error) {
				t.Helper()
				return cliAs(t, id, secret, bin, ts.URL, args...)
			}
			out, stderr, err := as("personalize", "describe-dataset-group", "--dataset-group-arn", arnPrefix+"dataset-group/shop")
			if err != nil || dig(out, "datasetGroup", "name") != "shop" {
				t.Fatalf("allowed describe-dataset-group: %v %v\n%s", out, err, stderr)
			}
			if _, stderr, err := as("personalize", "list-dataset-groups"); err != nil {
				t.Fatalf("allowed list-dataset-groups: %v\n%s", err, stderr)
			}
			denied := []struct {
				args       []string
				action     string
				resource   string
				explicitly bool
			}{
				{[]string{"personalize", "describe-dataset-group", "--dataset-group-arn", arnPrefix + "dataset-group/other"},
					"personalize:DescribeDatasetGroup", arnPrefix + "dataset-group/other", false},
				{[]string{"personalize", "delete-dataset-group", "--dataset-group-arn", arnPrefix + "dataset-group/shop"},
					"personalize:DeleteDatasetGroup", arnPrefix + "dataset-group/shop", true},
				{[]string{"personalize", "create-dataset-group", "--name", "mine"},
					"personalize:CreateDatasetGroup", arnPrefix + "dataset-group/mine", false},
				{[]string{"personalize", "list-campaigns"}, "personalize:ListCampaigns", "*", false},
				{[]string{"personalize-runtime", "get-recommendations", "--campaign-arn", arnPrefix + "campaign/other", "--user-id", "u1"},
					"personalize:GetRecommendations", arnPrefix + "campaign/other", false},
			}
			for _, d := range denied {
				_, stderr, err := as(d.args...)
				reason := "because no identity-based policy allows the " + d.action + " action"
				if d.explicitly {
					reason = "with an explicit deny in an identity-based policy"
				}
				want := "User: arn:aws:iam::000000000000:user/web-shop is not authorized to perform: " + d.action + " on resource: " + d.resource + " " + reason
				if err == nil || !strings.Contains(stderr, "AccessDeniedException") || !strings.Contains(stderr, want) {
					t.Errorf("aws %s: err %v, stderr %q; want AccessDeniedException %q", strings.Join(d.args, " "), err, stderr, want)
				}
			}
			// Authorized, so the call reaches the campaign, which does not exist.
			_, stderr, err = as("personalize-runtime", "get-recommendations", "--campaign-arn", arnPrefix+"campaign/shop", "--user-id", "u1")
			if err == nil || !strings.Contains(stderr, "ResourceNotFoundException") {
				t.Errorf("allowed get-recommendations on a missing campaign: %v %q, want ResourceNotFoundException", err, stderr)
			}
		})
	}
	// The group the key may not delete is still there.
	if _, err := root.DescribeDatasetGroup(ctx, &personalize.DescribeDatasetGroupInput{DatasetGroupArn: aws.String(arnPrefix + "dataset-group/shop")}); err != nil {
		t.Errorf("group after denied delete: %v", err)
	}
}

// TestKeysLifecycle: a key works at once, its last use is listed, it
// survives a restart, the store holds no plaintext secret, and `keys delete`
// stops it on the running server within a second.
func TestKeysLifecycle(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	if _, err := ts.personalizeClient().CreateDatasetGroup(ctx, &personalize.CreateDatasetGroupInput{Name: aws.String("shop")}); err != nil {
		t.Fatal(err)
	}
	id, secret := createAccessKey(t, ts, "web-shop", scopedPolicy)
	describe := func(ts *testServer) error {
		_, err := ts.clientAs(id, secret).DescribeDatasetGroup(ctx, &personalize.DescribeDatasetGroupInput{DatasetGroupArn: aws.String(arnPrefix + "dataset-group/shop")})
		return err
	}
	waitKey(t, func() error { return describe(ts) }, "")
	_, err := ts.clientAs(id, secret).DeleteDatasetGroup(ctx, &personalize.DeleteDatasetGroupInput{DatasetGroupArn: aws.String(arnPrefix + "dataset-group/shop")})
	if apiCode(err) != "AccessDeniedException" {
		t.Fatalf("delete with the scoped key: %v, want AccessDeniedException", err)
	}

	// Bad policy files are refused with the statement and member named.
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"personalize:GetRecomendations","Resource":"*"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	err = run(ctx, []string{"keys", "create", "--name", "typo", "--policy-file", bad, "--data-dir", ts.DataDir}, func(string) string { return "" }, &bytes.Buffer{}, &stderr)
	if err == nil || !strings.Contains(err.Error(), "Statement[0].Action[0]") || !strings.Contains(err.Error(), "not a Personalize operation") {
		t.Errorf("keys create with a misspelt action: %v", err)
	}

	ts.Stop(t)
	ts = startServer(t, ts.DataDir)
	if err := describe(ts); err != nil {
		t.Fatalf("key after restart: %v", err)
	}
	lines := bytes.Split(bytes.TrimSpace(runKeysCLI(t, ts, "list")), []byte("\n"))
	var k keyLine
	if len(lines) != 1 || json.Unmarshal(lines[0], &k) != nil || k.AccessKeyID != id || k.Name != "web-shop" || k.LastUsed == nil || len(k.Policy) == 0 {
		t.Fatalf("keys list = %s", bytes.Join(lines, []byte("\n")))
	}
	if bytes.Contains(bytes.Join(lines, nil), []byte(secret)) {
		t.Fatal("keys list printed the secret")
	}
	for _, f := range []string{"attune.db", "attune.db-wal"} {
		data, err := os.ReadFile(filepath.Join(ts.DataDir, f))
		if err != nil && f == "attune.db" {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(secret)) {
			t.Fatalf("%s holds the secret in plain text", f)
		}
	}

	runKeysCLI(t, ts, "delete", id)
	start := time.Now()
	waitKey(t, func() error { return describe(ts) }, "UnrecognizedClientException")
	if d := time.Since(start); d > time.Second {
		t.Errorf("deleted key kept working for %v, want under a second", d)
	}
	t.Logf("deleted key refused after %v", time.Since(start))
}

// waitKey retries call for up to 2 s until its error code is want ("" = success).
func waitKey(t *testing.T, call func() error, want string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		err := call()
		if apiCode(err) == want && (want != "" || err == nil) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 2s: %v, want %q", err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKeysPostgres runs the key flow on the PostgreSQL store: created with
// `keys create --store`, usable and scoped on the server, gone after delete.
func TestKeysPostgres(t *testing.T) {
	dsn := testenv.Postgres(t)
	schema := fmt.Sprintf("attune_keys_e2e_%d", rand.Uint32())
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
	})
	storeArgs := []string{"--store", dsn, "--store-schema", schema}
	ts := startServer(t, "", storeArgs...)
	ctx := t.Context()
	if _, err := ts.personalizeClient().CreateDatasetGroup(ctx, &personalize.CreateDatasetGroupInput{Name: aws.String("shop")}); err != nil {
		t.Fatal(err)
	}
	id, secret := createAccessKey(t, ts, "pg-shop", scopedPolicy, storeArgs...)
	c := ts.clientAs(id, secret)
	waitKey(t, func() error {
		_, err := c.DescribeDatasetGroup(ctx, &personalize.DescribeDatasetGroupInput{DatasetGroupArn: aws.String(arnPrefix + "dataset-group/shop")})
		return err
	}, "")
	if _, err := c.ListCampaigns(ctx, &personalize.ListCampaignsInput{}); apiCode(err) != "AccessDeniedException" {
		t.Errorf("ListCampaigns with the scoped key: %v, want AccessDeniedException", err)
	}
	runKeysCLI(t, ts, append([]string{"delete", id}, storeArgs...)...)
	waitKey(t, func() error {
		_, err := c.ListDatasetGroups(ctx, &personalize.ListDatasetGroupsInput{})
		return err
	}, "UnrecognizedClientException")
}

// TestScopedKeyEvents: a key allowed PutEvents on one tracker sends events
// there (200) and gets AccessDeniedException (403) on another group's
// tracker and on PutItems.
func TestScopedKeyEvents(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc := ts.personalizeClient()
	group, ds := seedGroup(t, ctx, pc, "evshop")
	allowedARN, allowedID := createTracker(t, ctx, pc, group, "web")
	otherGroup, _ := seedGroup(t, ctx, pc, "evother")
	_, otherID := createTracker(t, ctx, pc, otherGroup, "app")
	id, secret := createAccessKey(t, ts, "events-only", `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":"personalize:PutEvents","Resource":"`+allowedARN+`"}]}`)
	ec := personalizeevents.NewFromConfig(sdkConfig(id, secret), func(o *personalizeevents.Options) { o.BaseEndpoint = aws.String(ts.URL) })
	put := func(trackingID string) error {
		_, err := ec.PutEvents(ctx, &personalizeevents.PutEventsInput{TrackingId: aws.String(trackingID), SessionId: aws.String("s1"), UserId: aws.String("u1"),
			EventList: []etypes.Event{{EventType: aws.String("click"), ItemId: aws.String("i1"), SentAt: aws.Time(time.Now())}}})
		return err
	}
	if err := put(allowedID); err != nil {
		t.Fatalf("PutEvents on the allowed tracker: %v", err)
	}
	err := put(otherID)
	var re *awshttp.ResponseError
	if apiCode(err) != "AccessDeniedException" || !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden ||
		!strings.Contains(err.Error(), "personalize:PutEvents on resource: "+arnPrefix+"event-tracker/") {
		t.Errorf("PutEvents on another tracker: %v, want 403 AccessDeniedException naming the tracker", err)
	}
	_, err = ec.PutItems(ctx, &personalizeevents.PutItemsInput{DatasetArn: aws.String(ds["Items"]), Items: []etypes.Item{{ItemId: aws.String("i9")}}})
	if apiCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "personalize:PutItems on resource: "+ds["Items"]) {
		t.Errorf("PutItems with an events-only key: %v, want AccessDeniedException", err)
	}
}
