package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	ptypes "github.com/aws/aws-sdk-go-v2/service/personalize/types"
	"github.com/aws/aws-sdk-go-v2/service/personalizeevents"
	etypes "github.com/aws/aws-sdk-go-v2/service/personalizeevents/types"
	"github.com/aws/aws-sdk-go-v2/service/personalizeruntime"

	"github.com/attune-dev/attune/internal/demo"
	"github.com/attune-dev/attune/internal/testenv"
)

// matrixSteps are the steps every client of the matrix reports, in order.
var matrixSteps = []string{"dataset group", "schema and dataset", "import", "trained", "campaign",
	"get recommendations", "put events", "clean-up"}

// matrixInputs writes the workflow's files: interactions.csv (demo data) and
// interactions.json (its schema).
func matrixInputs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	d := demo.Generate(demo.Options{Users: 60, Interactions: 2000, Seed: 29})
	f, err := os.Create(filepath.Join(dir, "interactions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WriteInteractions(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "interactions.json"), []byte(demo.InteractionsSchema), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkSteps fails unless out has an "ok <step>" line for every matrix step.
func checkSteps(t *testing.T, client, out string) {
	t.Helper()
	for _, s := range matrixSteps {
		if !strings.Contains(out, "ok "+s+"\n") {
			t.Errorf("%s: step %q missing:\n%s", client, s, out)
		}
	}
}

// TestClientMatrix runs one scripted workflow (create group, schema and
// dataset, import, train, campaign, get-recommendations, put-events,
// clean-up) with each client a Personalize user may have: the AWS CLI v1
// (pip) and v2 (Debian), boto3, the AWS SDK for Go v2 and the AWS SDK for
// JavaScript v3 in node. A client that is not installed fails the test under
// ATTUNE_CI=1 (scripts/install-test-tools.sh installs them all).
func TestClientMatrix(t *testing.T) {
	ts := startServer(t, "")
	dir := matrixInputs(t)
	t.Run("aws-cli-v1", func(t *testing.T) {
		p, err := exec.LookPath("aws")
		if err != nil || p == "/usr/bin/aws" {
			testenv.Missing(t, "pip's AWS CLI v1 is not on PATH: pip install awscli")
		}
		checkSteps(t, "aws-cli-v1", cliWorkflow(t, p, ts.URL, dir, "m-cli1"))
	})
	t.Run("aws-cli-v2", func(t *testing.T) {
		if _, err := os.Stat("/usr/bin/aws"); err != nil {
			testenv.Missing(t, "Debian's AWS CLI v2 is not installed at /usr/bin/aws: run scripts/install-test-tools.sh")
		}
		checkSteps(t, "aws-cli-v2", cliWorkflow(t, "/usr/bin/aws", ts.URL, dir, "m-cli2"))
	})
	t.Run("boto3", func(t *testing.T) {
		checkSteps(t, "boto3", boto3Script(t, ts, "workflow.py", "WF_DIR="+dir, "WF_NAME=m-boto3"))
	})
	t.Run("go-sdk-v2", func(t *testing.T) {
		checkSteps(t, "go-sdk-v2", goSDKWorkflow(t, ts, dir, "m-go"))
	})
	t.Run("js-sdk-v3", func(t *testing.T) {
		checkSteps(t, "js-sdk-v3", nodeScript(t, ts, "workflow.mjs", "WF_DIR="+dir, "WF_NAME=m-js"))
	})
}

// nodeModulesDir is where scripts/install-test-tools.sh installs the
// packages of testdata/node (npm ci into $ATTUNE_NODE_DIR, by default
// ~/.cache/attune-tools/node).
func nodeModulesDir() string {
	if d := os.Getenv("ATTUNE_NODE_DIR"); d != "" {
		return filepath.Join(d, "node_modules")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "attune-tools", "node", "node_modules")
}

// nodeScript runs a script of testdata/node with node against ts and
// returns its output. ES modules resolve packages from the script's own
// folder (NODE_PATH does not apply), so the script runs from a temporary
// folder beside a link to the installed node_modules.
func nodeScript(t *testing.T, ts *testServer, script string, env ...string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Missing(t, "node is not installed (apt-get install nodejs npm)")
	}
	mods := nodeModulesDir()
	if _, err := os.Stat(filepath.Join(mods, "@aws-sdk", "client-personalize", "package.json")); err != nil {
		testenv.Missing(t, "the AWS SDK for JavaScript v3 is not installed in %s: run scripts/install-test-tools.sh", mods)
	}
	run := t.TempDir()
	copyFile(t, filepath.Join("testdata", "node", script), filepath.Join(run, script))
	copyFile(t, filepath.Join("testdata", "node", "package.json"), filepath.Join(run, "package.json"))
	if err := os.Symlink(mods, filepath.Join(run, "node_modules")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, filepath.Join(run, script))
	cmd.Env = append(os.Environ(), "ATTUNE_URL="+ts.URL, "AWS_ACCESS_KEY_ID="+testAccessKey, "AWS_SECRET_ACCESS_KEY="+testSecret,
		"AWS_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, out)
	}
	return string(out)
}

// cliWorkflow runs the matrix workflow with one AWS CLI and returns its
// "ok <step>" lines.
func cliWorkflow(t *testing.T, bin, url, dir, name string) string {
	t.Helper()
	var log strings.Builder
	ok := func(step string) { log.WriteString("ok " + step + "\n") }
	must := func(args ...string) map[string]any {
		t.Helper()
		out, stderr, err := cli(t, bin, url, args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return out
	}
	// wait polls a describe command until the status at keys is final
	// ("GONE": until it answers ResourceNotFoundException).
	wait := func(final string, args []string, keys ...string) {
		t.Helper()
		deadline := time.Now().Add(120 * time.Second)
		for {
			out, stderr, err := cli(t, bin, url, args...)
			switch {
			case err != nil && final == "GONE" && strings.Contains(stderr, "ResourceNotFoundException"):
				return
			case err != nil:
				t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
			}
			st := dig(out, keys...)
			if st == final {
				return
			}
			if strings.Contains(st, "FAILED") || time.Now().After(deadline) {
				t.Fatalf("aws %s: status %q, want %s", strings.Join(args, " "), st, final)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	p := func(args ...string) []string { return append([]string{"personalize"}, args...) }

	group := dig(must(p("create-dataset-group", "--name", name)...), "datasetGroupArn")
	wait("ACTIVE", p("describe-dataset-group", "--dataset-group-arn", group), "datasetGroup", "status")
	if gs, _ := must(p("list-dataset-groups")...)["datasetGroups"].([]any); len(gs) == 0 {
		t.Errorf("list-dataset-groups lists no group")
	}
	if _, stderr, err := cli(t, bin, url, p("describe-dataset-group", "--dataset-group-arn", group+"-missing")...); err == nil ||
		!strings.Contains(stderr, "ResourceNotFoundException") {
		t.Errorf("describe a missing group: err %v, stderr %q; want ResourceNotFoundException", err, stderr)
	}
	ok("dataset group")
	schema := dig(must(p("create-schema", "--name", name+"-int", "--schema", "file://"+filepath.Join(dir, "interactions.json"))...), "schemaArn")
	dataset := dig(must(p("create-dataset", "--name", name+"-int", "--dataset-group-arn", group, "--dataset-type", "Interactions",
		"--schema-arn", schema)...), "datasetArn")
	wait("ACTIVE", p("describe-dataset", "--dataset-arn", dataset), "dataset", "status")
	ok("schema and dataset")
	// Debian's CLI v2.9.19 requires --role-arn on import jobs; Attune accepts and ignores it.
	job := dig(must(p("create-dataset-import-job", "--job-name", name+"-import", "--dataset-arn", dataset,
		"--data-source", "dataLocation=file://"+filepath.Join(dir, "interactions.csv"), "--role-arn", testRole, "--import-mode", "FULL")...),
		"datasetImportJobArn")
	wait("ACTIVE", p("describe-dataset-import-job", "--dataset-import-job-arn", job), "datasetImportJob", "status")
	ok("import")
	solution := dig(must(p("create-solution", "--name", name, "--dataset-group-arn", group,
		"--recipe-arn", "arn:aws:personalize:::recipe/aws-user-personalization")...), "solutionArn")
	version := dig(must(p("create-solution-version", "--solution-arn", solution)...), "solutionVersionArn")
	wait("ACTIVE", p("describe-solution-version", "--solution-version-arn", version), "solutionVersion", "status")
	ok("trained")
	campaign := dig(must(p("create-campaign", "--name", name, "--solution-version-arn", version, "--min-provisioned-tps", "1")...), "campaignArn")
	wait("ACTIVE", p("describe-campaign", "--campaign-arn", campaign), "campaign", "status")
	ok("campaign")
	recs := must("personalize-runtime", "get-recommendations", "--campaign-arn", campaign, "--user-id", "usr_0001", "--num-results", "5")
	items, _ := recs["itemList"].([]any)
	if len(items) != 5 || dig(recs, "recommendationId") == "" {
		t.Fatalf("get-recommendations = %v", recs)
	}
	ok("get recommendations")
	tracker := must(p("create-event-tracker", "--name", name, "--dataset-group-arn", group)...)
	first, _ := items[0].(map[string]any)
	must("personalize-events", "put-events", "--tracking-id", dig(tracker, "trackingId"), "--user-id", "usr_0001",
		"--session-id", "s-"+name, "--event-list", `[{"eventType":"VIEWED","itemId":"`+dig(first, "itemId")+`","sentAt":`+
			strconv.FormatInt(time.Now().Unix(), 10)+`}]`)
	ok("put events")
	must(p("delete-campaign", "--campaign-arn", campaign)...)
	wait("GONE", p("describe-campaign", "--campaign-arn", campaign))
	must(p("delete-solution", "--solution-arn", solution)...)
	wait("GONE", p("describe-solution", "--solution-arn", solution))
	must(p("delete-event-tracker", "--event-tracker-arn", dig(tracker, "eventTrackerArn"))...)
	wait("GONE", p("describe-event-tracker", "--event-tracker-arn", dig(tracker, "eventTrackerArn")))
	must(p("delete-dataset", "--dataset-arn", dataset)...)
	wait("GONE", p("describe-dataset", "--dataset-arn", dataset))
	must(p("delete-dataset-group", "--dataset-group-arn", group)...)
	wait("GONE", p("describe-dataset-group", "--dataset-group-arn", group))
	must(p("delete-schema", "--schema-arn", schema)...)
	ok("clean-up")
	return log.String()
}

// goSDKWorkflow runs the matrix workflow with the AWS SDK for Go v2.
func goSDKWorkflow(t *testing.T, ts *testServer, dir, name string) string {
	t.Helper()
	ctx := t.Context()
	pc, rc := ts.personalizeClient(), ts.runtimeClient()
	ec := personalizeevents.NewFromConfig(sdkConfig(testAccessKey, testSecret), func(o *personalizeevents.Options) { o.BaseEndpoint = aws.String(ts.URL) })
	var log strings.Builder
	ok := func(step string) { log.WriteString("ok " + step + "\n") }
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// wait polls describe until it reports final ("GONE": until
	// ResourceNotFoundException).
	wait := func(what, final string, describe func(context.Context) (string, error)) {
		t.Helper()
		waitFor(t, what, func() (string, error) {
			st, err := describe(ctx)
			var nf *ptypes.ResourceNotFoundException
			if final == "GONE" && errors.As(err, &nf) {
				return "GONE", nil
			}
			return st, err
		}, final, "CREATE FAILED")
	}
	g, err := pc.CreateDatasetGroup(ctx, &personalize.CreateDatasetGroupInput{Name: aws.String(name)})
	check("CreateDatasetGroup", err)
	groupStatus := func(ctx context.Context) (string, error) {
		o, err := pc.DescribeDatasetGroup(ctx, &personalize.DescribeDatasetGroupInput{DatasetGroupArn: g.DatasetGroupArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.DatasetGroup.Status), nil
	}
	wait("group", "ACTIVE", groupStatus)
	ok("dataset group")
	sc, err := pc.CreateSchema(ctx, &personalize.CreateSchemaInput{Name: aws.String(name + "-int"), Schema: aws.String(demo.InteractionsSchema)})
	check("CreateSchema", err)
	ds, err := pc.CreateDataset(ctx, &personalize.CreateDatasetInput{Name: aws.String(name + "-int"), DatasetGroupArn: g.DatasetGroupArn,
		DatasetType: aws.String("Interactions"), SchemaArn: sc.SchemaArn})
	check("CreateDataset", err)
	datasetStatus := func(ctx context.Context) (string, error) {
		o, err := pc.DescribeDataset(ctx, &personalize.DescribeDatasetInput{DatasetArn: ds.DatasetArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.Dataset.Status), nil
	}
	wait("dataset", "ACTIVE", datasetStatus)
	ok("schema and dataset")
	if j := importAndWait(t, ctx, pc, name+"-import", aws.ToString(ds.DatasetArn), "file://"+filepath.Join(dir, "interactions.csv"), ""); aws.ToString(j.Status) != "ACTIVE" {
		t.Fatal(aws.ToString(j.FailureReason))
	}
	ok("import")
	version, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String(name), DatasetGroupArn: g.DatasetGroupArn,
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-user-personalization")})
	if st != "ACTIVE" {
		t.Fatalf("solution version %s", st)
	}
	ok("trained")
	c, err := pc.CreateCampaign(ctx, &personalize.CreateCampaignInput{Name: aws.String(name), SolutionVersionArn: aws.String(version),
		MinProvisionedTPS: aws.Int32(1)})
	check("CreateCampaign", err)
	campaignStatus := func(ctx context.Context) (string, error) {
		o, err := pc.DescribeCampaign(ctx, &personalize.DescribeCampaignInput{CampaignArn: c.CampaignArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.Campaign.Status), nil
	}
	wait("campaign", "ACTIVE", campaignStatus)
	ok("campaign")
	recs, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: c.CampaignArn, UserId: aws.String("usr_0001"),
		NumResults: 5})
	check("GetRecommendations", err)
	if len(recs.ItemList) != 5 || aws.ToString(recs.RecommendationId) == "" {
		t.Fatalf("GetRecommendations = %+v", recs)
	}
	ok("get recommendations")
	tr, err := pc.CreateEventTracker(ctx, &personalize.CreateEventTrackerInput{Name: aws.String(name), DatasetGroupArn: g.DatasetGroupArn})
	check("CreateEventTracker", err)
	_, err = ec.PutEvents(ctx, &personalizeevents.PutEventsInput{TrackingId: tr.TrackingId, UserId: aws.String("usr_0001"),
		SessionId: aws.String("s-" + name), EventList: []etypes.Event{{EventType: aws.String("VIEWED"), ItemId: recs.ItemList[0].ItemId,
			SentAt: aws.Time(time.Now())}}})
	check("PutEvents", err)
	ok("put events")
	_, err = pc.DeleteCampaign(ctx, &personalize.DeleteCampaignInput{CampaignArn: c.CampaignArn})
	check("DeleteCampaign", err)
	wait("campaign deletion", "GONE", campaignStatus)
	sol, err := pc.DescribeSolutionVersion(ctx, &personalize.DescribeSolutionVersionInput{SolutionVersionArn: aws.String(version)})
	check("DescribeSolutionVersion", err)
	_, err = pc.DeleteSolution(ctx, &personalize.DeleteSolutionInput{SolutionArn: sol.SolutionVersion.SolutionArn})
	check("DeleteSolution", err)
	wait("solution deletion", "GONE", func(ctx context.Context) (string, error) {
		o, err := pc.DescribeSolution(ctx, &personalize.DescribeSolutionInput{SolutionArn: sol.SolutionVersion.SolutionArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.Solution.Status), nil
	})
	_, err = pc.DeleteEventTracker(ctx, &personalize.DeleteEventTrackerInput{EventTrackerArn: tr.EventTrackerArn})
	check("DeleteEventTracker", err)
	wait("tracker deletion", "GONE", func(ctx context.Context) (string, error) {
		o, err := pc.DescribeEventTracker(ctx, &personalize.DescribeEventTrackerInput{EventTrackerArn: tr.EventTrackerArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.EventTracker.Status), nil
	})
	_, err = pc.DeleteDataset(ctx, &personalize.DeleteDatasetInput{DatasetArn: ds.DatasetArn})
	check("DeleteDataset", err)
	wait("dataset deletion", "GONE", datasetStatus)
	_, err = pc.DeleteDatasetGroup(ctx, &personalize.DeleteDatasetGroupInput{DatasetGroupArn: g.DatasetGroupArn})
	check("DeleteDatasetGroup", err)
	wait("group deletion", "GONE", groupStatus)
	_, err = pc.DeleteSchema(ctx, &personalize.DeleteSchemaInput{SchemaArn: sc.SchemaArn})
	check("DeleteSchema", err)
	ok("clean-up")
	return log.String()
}
