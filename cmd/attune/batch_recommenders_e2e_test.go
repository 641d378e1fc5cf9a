package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	"github.com/aws/aws-sdk-go-v2/service/personalize/types"
	"github.com/aws/aws-sdk-go-v2/service/personalizeruntime"

	"github.com/attune-dev/attune/internal/demo"
)

// runBatch creates a batch inference job, waits for it and returns its
// description and the output lines of one input file.
func runBatch(t *testing.T, ctx context.Context, pc *personalize.Client, name, versionARN, in, out, file string) (*types.BatchInferenceJob, []map[string]any) {
	t.Helper()
	j, err := pc.CreateBatchInferenceJob(ctx, &personalize.CreateBatchInferenceJobInput{JobName: aws.String(name), SolutionVersionArn: aws.String(versionARN),
		NumResults: aws.Int32(5), RoleArn: aws.String(testRole),
		JobInput:  &types.BatchInferenceJobInput{S3DataSource: &types.S3DataConfig{Path: aws.String("file://" + in)}},
		JobOutput: &types.BatchInferenceJobOutput{S3DataDestination: &types.S3DataConfig{Path: aws.String("file://" + out)}}})
	if err != nil {
		t.Fatalf("CreateBatchInferenceJob: %v", err)
	}
	var desc *types.BatchInferenceJob
	waitFor(t, "batch job "+name, func() (string, error) {
		o, err := pc.DescribeBatchInferenceJob(ctx, &personalize.DescribeBatchInferenceJobInput{BatchInferenceJobArn: j.BatchInferenceJobArn})
		if err != nil {
			return "", err
		}
		desc = o.BatchInferenceJob
		return aws.ToString(desc.Status), nil
	}, "ACTIVE", "CREATE FAILED")
	if aws.ToString(desc.Status) != "ACTIVE" {
		t.Fatalf("batch job %s failed: %s", name, aws.ToString(desc.FailureReason))
	}
	f, err := os.Open(filepath.Join(out, file+".out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	return desc, lines
}

func TestBatchInferenceJobs(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc := ts.personalizeClient()
	group := demoGroup(t, ctx, pc, "batch", demo.Options{Seed: 21})
	up, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("batch-up"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-user-personalization")})
	if st != "ACTIVE" {
		t.Fatal(st)
	}
	sims, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("batch-sims"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-sims")})
	if st != "ACTIVE" {
		t.Fatal(st)
	}
	in := t.TempDir()
	var b strings.Builder
	for u := 1; u <= 50; u++ {
		fmt.Fprintf(&b, "{\"userId\":\"usr_%04d\"}\n", u)
	}
	b.WriteString("{\"itemId\":\"srv_001\"}\n") // no userId: an error line for user-personalization
	b.WriteString("this is not json\n")
	b.WriteString("{\"userId\":\"someone-new\"}\n") // unknown user: popular items, not an error
	if err := os.WriteFile(filepath.Join(in, "users.jsonl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	desc, lines := runBatch(t, ctx, pc, "up-job", up, in+"/", t.TempDir(), "users.jsonl")
	if len(lines) != 53 {
		t.Fatalf("%d output lines, want one per input line (53)", len(lines))
	}
	errorsSeen := 0
	for i, l := range lines {
		if l["error"] != nil {
			errorsSeen++
			continue
		}
		out, _ := l["output"].(map[string]any)
		items, _ := out["recommendedItems"].([]any)
		scores, _ := out["scores"].([]any)
		if len(items) != 5 || len(scores) != 5 {
			t.Errorf("line %d: %d items, %d scores; want 5 and 5: %v", i, len(items), len(scores), l)
		}
	}
	if errorsSeen != 2 {
		t.Errorf("%d error lines, want 2 (missing userId, not JSON)", errorsSeen)
	}
	if s, _ := lines[50]["error"].(string); !strings.Contains(s, "userId") {
		t.Errorf("missing-userId line error = %v", lines[50]["error"])
	}
	if desc.NumResults == nil || *desc.NumResults != 5 {
		t.Errorf("DescribeBatchInferenceJob numResults = %v", desc.NumResults)
	}

	itemsIn := t.TempDir()
	if err := os.WriteFile(filepath.Join(itemsIn, "items.json"), []byte("{\"itemId\":\"srv_001\"}\n{\"itemId\":\"srv_010\"}\n{\"userId\":\"usr_0001\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, lines = runBatch(t, ctx, pc, "sims-job", sims, filepath.Join(itemsIn, "items.json"), t.TempDir(), "items.json")
	if len(lines) != 3 || lines[0]["error"] != nil || lines[2]["error"] == nil {
		t.Errorf("related-items batch output = %v", lines)
	}
	jobs, err := pc.ListBatchInferenceJobs(ctx, &personalize.ListBatchInferenceJobsInput{SolutionVersionArn: aws.String(up)})
	if err != nil || len(jobs.BatchInferenceJobs) != 1 {
		t.Errorf("ListBatchInferenceJobs for the version = %v, %v", jobs, err)
	}
}

// ecommerceGroup creates an ECOMMERCE dataset group whose interactions use
// Personalize's View / Purchase event types.
func ecommerceGroup(t *testing.T, ctx context.Context, pc *personalize.Client, name string) string {
	t.Helper()
	d := demo.Generate(demo.Options{Seed: 31})
	var b strings.Builder
	if err := d.WriteInteractions(&b); err != nil {
		t.Fatal(err)
	}
	csv := strings.NewReplacer(",VIEWED,", ",View,", ",PURCHASED,", ",Purchase,", ",TRIAL_STARTED,", ",AddToCart,").Replace(b.String())
	file := filepath.Join(t.TempDir(), "interactions.csv")
	if err := os.WriteFile(file, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := pc.CreateDatasetGroup(ctx, &personalize.CreateDatasetGroupInput{Name: aws.String(name), Domain: types.DomainEcommerce})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "group", func() (string, error) {
		o, err := pc.DescribeDatasetGroup(ctx, &personalize.DescribeDatasetGroupInput{DatasetGroupArn: g.DatasetGroupArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.DatasetGroup.Status), nil
	}, "ACTIVE")
	sc, err := pc.CreateSchema(ctx, &personalize.CreateSchemaInput{Name: aws.String(name + "-int"), Schema: aws.String(demo.InteractionsSchema), Domain: types.DomainEcommerce})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := pc.CreateDataset(ctx, &personalize.CreateDatasetInput{Name: aws.String(name + "-int"), DatasetGroupArn: g.DatasetGroupArn,
		DatasetType: aws.String("Interactions"), SchemaArn: sc.SchemaArn})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "dataset", func() (string, error) {
		o, err := pc.DescribeDataset(ctx, &personalize.DescribeDatasetInput{DatasetArn: ds.DatasetArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.Dataset.Status), nil
	}, "ACTIVE")
	if j := importAndWait(t, ctx, pc, name+"-int", aws.ToString(ds.DatasetArn), "file://"+file, ""); aws.ToString(j.Status) != "ACTIVE" {
		t.Fatal(aws.ToString(j.FailureReason))
	}
	return aws.ToString(g.DatasetGroupArn)
}

func waitRecommender(t *testing.T, ctx context.Context, pc *personalize.Client, a string, final ...string) *types.Recommender {
	t.Helper()
	var r *types.Recommender
	waitFor(t, "recommender", func() (string, error) {
		o, err := pc.DescribeRecommender(ctx, &personalize.DescribeRecommenderInput{RecommenderArn: aws.String(a)})
		if err != nil {
			return "", err
		}
		r = o.Recommender
		return aws.ToString(r.Status), nil
	}, final...)
	return r
}

func TestRecommendersLifecycle(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc := ts.personalizeClient()
	rc := ts.runtimeClient()
	group := ecommerceGroup(t, ctx, pc, "shop")

	recipes, err := pc.ListRecipes(ctx, &personalize.ListRecipesInput{Domain: types.DomainEcommerce})
	if err != nil || len(recipes.Recipes) != 5 {
		t.Fatalf("ListRecipes(ECOMMERCE) = %d recipes, %v; want the 5 use cases", len(recipes.Recipes), err)
	}
	// A custom recipe or a use case of the other domain is refused.
	_, err = pc.CreateRecommender(ctx, &personalize.CreateRecommenderInput{Name: aws.String("wrong"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-vod-top-picks")})
	var ii *types.InvalidInputException
	if !errors.As(err, &ii) {
		t.Errorf("VOD use case on an ECOMMERCE group: %v, want InvalidInputException", err)
	}

	cases := []struct {
		name, recipe string
		req          *personalizeruntime.GetRecommendationsInput
	}{
		{"for-you", "aws-ecomm-recommended-for-you", &personalizeruntime.GetRecommendationsInput{UserId: aws.String("usr_0003")}},
		{"most-viewed", "aws-ecomm-popular-items-by-views", &personalizeruntime.GetRecommendationsInput{UserId: aws.String("usr_0003")}},
		{"also-viewed", "aws-ecomm-customers-who-viewed-x-also-viewed", &personalizeruntime.GetRecommendationsInput{ItemId: aws.String("srv_001"), UserId: aws.String("usr_0003")}},
	}
	arns := map[string]string{}
	for _, tc := range cases {
		r, err := pc.CreateRecommender(ctx, &personalize.CreateRecommenderInput{Name: aws.String(tc.name), DatasetGroupArn: aws.String(group),
			RecipeArn: aws.String("arn:aws:personalize:::recipe/" + tc.recipe)})
		if err != nil {
			t.Fatalf("CreateRecommender %s: %v", tc.name, err)
		}
		arns[tc.name] = aws.ToString(r.RecommenderArn)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := waitRecommender(t, ctx, pc, arns[tc.name], "ACTIVE", "CREATE FAILED")
			if aws.ToString(r.Status) != "ACTIVE" {
				t.Fatalf("recommender %s: %s", tc.name, aws.ToString(r.FailureReason))
			}
			if len(r.ModelMetrics) < 8 {
				t.Errorf("modelMetrics = %v, want Personalize's metric keys", r.ModelMetrics)
			}
			tc.req.RecommenderArn = aws.String(arns[tc.name])
			out, err := rc.GetRecommendations(ctx, tc.req)
			if err != nil || len(out.ItemList) == 0 {
				t.Fatalf("GetRecommendations via %s: %v %v", tc.name, out, err)
			}
		})
	}
	// Stop: no longer served; Start: served again.
	forYou := arns["for-you"]
	if _, err := pc.StopRecommender(ctx, &personalize.StopRecommenderInput{RecommenderArn: aws.String(forYou)}); err != nil {
		t.Fatal(err)
	}
	waitRecommender(t, ctx, pc, forYou, "INACTIVE")
	if _, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{RecommenderArn: aws.String(forYou), UserId: aws.String("usr_0003")}); err == nil {
		t.Error("a stopped recommender still answers")
	}
	if _, err := pc.StartRecommender(ctx, &personalize.StartRecommenderInput{RecommenderArn: aws.String(forYou)}); err != nil {
		t.Fatal(err)
	}
	waitRecommender(t, ctx, pc, forYou, "ACTIVE")
	out, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{RecommenderArn: aws.String(forYou), UserId: aws.String("usr_0003")})
	if err != nil || len(out.ItemList) == 0 {
		t.Fatalf("after StartRecommender: %v %v", out, err)
	}
	// Update retrains; the old model serves meanwhile.
	if _, err := pc.UpdateRecommender(ctx, &personalize.UpdateRecommenderInput{RecommenderArn: aws.String(forYou),
		RecommenderConfig: &types.RecommenderConfig{ItemExplorationConfig: map[string]string{"explorationWeight": "0.1"}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "recommender update", func() (string, error) {
		o, err := pc.DescribeRecommender(ctx, &personalize.DescribeRecommenderInput{RecommenderArn: aws.String(forYou)})
		if err != nil || o.Recommender.LatestRecommenderUpdate == nil {
			return "", err
		}
		return aws.ToString(o.Recommender.LatestRecommenderUpdate.Status), nil
	}, "ACTIVE", "CREATE FAILED")
	lst, err := pc.ListRecommenders(ctx, &personalize.ListRecommendersInput{DatasetGroupArn: aws.String(group)})
	if err != nil || len(lst.Recommenders) != 3 {
		t.Errorf("ListRecommenders = %v, %v", lst, err)
	}
	for _, a := range arns {
		if _, err := pc.DeleteRecommender(ctx, &personalize.DeleteRecommenderInput{RecommenderArn: aws.String(a)}); err != nil {
			t.Errorf("DeleteRecommender %s: %v", a, err)
		}
	}
}

func TestBatchSegmentJobs(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc := ts.personalizeClient()
	group := demoGroup(t, ctx, pc, "segments", demo.Options{Seed: 41})
	up, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("seg-up"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-user-personalization")})
	if st != "ACTIVE" {
		t.Fatal(st)
	}
	aff, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("seg-aff"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-item-attribute-affinity")})
	if st != "ACTIVE" {
		t.Fatal(st)
	}
	in := t.TempDir()
	lines := `{"itemId":"srv_001"}
{"itemAttributes":"ITEMS.CATEGORY = \"Cloud\" AND ITEMS.SERVICE_TIER = \"Premium\""}
{"itemAttributes":"ITEMS.NOPE = \"x\""}
{"userId":"usr_0001"}
`
	if err := os.WriteFile(filepath.Join(in, "q.json"), []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	create := func(name, version string) *personalize.CreateBatchSegmentJobOutput {
		out, err := pc.CreateBatchSegmentJob(ctx, &personalize.CreateBatchSegmentJobInput{JobName: aws.String(name), SolutionVersionArn: aws.String(version),
			NumResults: aws.Int32(10), RoleArn: aws.String(testRole),
			JobInput:  &types.BatchSegmentJobInput{S3DataSource: &types.S3DataConfig{Path: aws.String("file://" + in + "/")}},
			JobOutput: &types.BatchSegmentJobOutput{S3DataDestination: &types.S3DataConfig{Path: aws.String("file://" + filepath.Join(t.TempDir(), name) + "/")}}})
		if err != nil {
			t.Fatalf("CreateBatchSegmentJob %s: %v", name, err)
		}
		return out
	}
	wait := func(a *string) *types.BatchSegmentJob {
		var j *types.BatchSegmentJob
		waitFor(t, "segment job", func() (string, error) {
			o, err := pc.DescribeBatchSegmentJob(ctx, &personalize.DescribeBatchSegmentJobInput{BatchSegmentJobArn: a})
			if err != nil {
				return "", err
			}
			j = o.BatchSegmentJob
			return aws.ToString(j.Status), nil
		}, "ACTIVE", "CREATE FAILED")
		return j
	}
	// A user-personalization version cannot build segments.
	if j := wait(create("wrong-recipe", up).BatchSegmentJobArn); aws.ToString(j.Status) != "CREATE FAILED" || !strings.Contains(aws.ToString(j.FailureReason), "USER_SEGMENTATION") {
		t.Errorf("segment job on user-personalization = %s %q, want CREATE FAILED naming USER_SEGMENTATION", aws.ToString(j.Status), aws.ToString(j.FailureReason))
	}
	j := wait(create("good", aff).BatchSegmentJobArn)
	if aws.ToString(j.Status) != "ACTIVE" {
		t.Fatalf("segment job: %s", aws.ToString(j.FailureReason))
	}
	f, err := os.ReadFile(filepath.Join(strings.TrimPrefix(aws.ToString(j.JobOutput.S3DataDestination.Path), "file://"), "q.json.out"))
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(f)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	if len(out) != 4 {
		t.Fatalf("%d output lines, want 4", len(out))
	}
	for i, wantErr := range []bool{false, false, true, true} {
		if (out[i]["error"] != nil) != wantErr {
			t.Errorf("line %d error = %v, want error: %v", i, out[i]["error"], wantErr)
		}
		if !wantErr {
			users, _ := out[i]["output"].(map[string]any)["recommendedUsers"].([]any)
			if len(users) != 10 {
				t.Errorf("line %d: %d users, want 10", i, len(users))
			}
		}
	}
	lst, err := pc.ListBatchSegmentJobs(ctx, &personalize.ListBatchSegmentJobsInput{SolutionVersionArn: aws.String(aff)})
	if err != nil || len(lst.BatchSegmentJobs) != 1 {
		t.Errorf("ListBatchSegmentJobs = %v, %v", lst, err)
	}
}
