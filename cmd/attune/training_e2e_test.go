package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	"github.com/aws/aws-sdk-go-v2/service/personalize/types"

	"github.com/attune-dev/attune/internal/demo"
	"github.com/attune-dev/attune/internal/eval"
)

// demoGroup creates a dataset group named name with the demo generator's
// interactions, users and items imported, and returns its ARN.
func demoGroup(t *testing.T, ctx context.Context, pc *personalize.Client, name string, o demo.Options) string {
	t.Helper()
	return demoGroupWith(t, ctx, pc, name, o, demo.ItemsSchema)
}

// textualItemsSchema is the demo Items schema with SERVICE_NAME as a
// textual field instead of a categorical one.
var textualItemsSchema = strings.Replace(demo.ItemsSchema, `{"name":"SERVICE_NAME","type":["null","string"],"categorical":true}`,
	`{"name":"SERVICE_NAME","type":["null","string"],"textual":true}`, 1)

// demoGroupWith is demoGroup with another Items schema for the same columns.
func demoGroupWith(t *testing.T, ctx context.Context, pc *personalize.Client, name string, o demo.Options, itemsSchema string) string {
	t.Helper()
	d := demo.Generate(o)
	dir := t.TempDir()
	files := map[string]func(f *os.File) error{
		"interactions.csv": func(f *os.File) error { return d.WriteInteractions(f) },
		"users.csv":        func(f *os.File) error { return d.WriteUsers(f) },
		"items.csv":        func(f *os.File) error { return d.WriteItems(f) },
	}
	for file, write := range files {
		f, err := os.Create(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if err := write(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	g, err := pc.CreateDatasetGroup(ctx, &personalize.CreateDatasetGroupInput{Name: aws.String(name)})
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
	for _, ds := range []struct{ typ, schema, file string }{
		{"Interactions", demo.InteractionsSchema, "interactions.csv"},
		{"Users", demo.UsersSchema, "users.csv"},
		{"Items", itemsSchema, "items.csv"},
	} {
		sc, err := pc.CreateSchema(ctx, &personalize.CreateSchemaInput{Name: aws.String(name + "-" + ds.typ), Schema: aws.String(ds.schema)})
		if err != nil {
			t.Fatal(err)
		}
		out, err := pc.CreateDataset(ctx, &personalize.CreateDatasetInput{Name: aws.String(name + "-" + ds.typ), DatasetGroupArn: g.DatasetGroupArn,
			DatasetType: aws.String(ds.typ), SchemaArn: sc.SchemaArn})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "dataset", func() (string, error) {
			o, err := pc.DescribeDataset(ctx, &personalize.DescribeDatasetInput{DatasetArn: out.DatasetArn})
			if err != nil {
				return "", err
			}
			return aws.ToString(o.Dataset.Status), nil
		}, "ACTIVE")
		j := importAndWait(t, ctx, pc, name+"-"+strings.ToLower(ds.typ), aws.ToString(out.DatasetArn), "file://"+filepath.Join(dir, ds.file), "")
		if aws.ToString(j.Status) != "ACTIVE" {
			t.Fatalf("import %s: %s", ds.typ, aws.ToString(j.FailureReason))
		}
	}
	return aws.ToString(g.DatasetGroupArn)
}

// trainVersion creates a solution and a version and waits for the version's final status.
func trainVersion(t *testing.T, ctx context.Context, pc *personalize.Client, in *personalize.CreateSolutionInput) (string, string) {
	t.Helper()
	sol, err := pc.CreateSolution(ctx, in)
	if err != nil {
		t.Fatalf("CreateSolution %s: %v", aws.ToString(in.Name), err)
	}
	waitFor(t, "solution", func() (string, error) {
		o, err := pc.DescribeSolution(ctx, &personalize.DescribeSolutionInput{SolutionArn: sol.SolutionArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.Solution.Status), nil
	}, "ACTIVE")
	v, err := pc.CreateSolutionVersion(ctx, &personalize.CreateSolutionVersionInput{SolutionArn: sol.SolutionArn})
	if err != nil {
		t.Fatalf("CreateSolutionVersion: %v", err)
	}
	st := waitFor(t, "solution version", func() (string, error) {
		o, err := pc.DescribeSolutionVersion(ctx, &personalize.DescribeSolutionVersionInput{SolutionVersionArn: v.SolutionVersionArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.SolutionVersion.Status), nil
	}, "ACTIVE", "CREATE FAILED")
	return aws.ToString(v.SolutionVersionArn), st
}

func TestEveryRecipeTrainsAndReportsMetrics(t *testing.T) {
	// One solution per custom recipe, more than the default quota of 10.
	ts := startServer(t, "", "--quota", "solutions-per-dataset-group=20")
	ctx := t.Context()
	pc := ts.personalizeClient()
	// SERVICE_NAME is textual, so aws-semantic-similarity has text to relate.
	group := demoGroupWith(t, ctx, pc, "train", demo.Options{Seed: 7}, textualItemsSchema)
	recipes, err := pc.ListRecipes(ctx, &personalize.ListRecipesInput{})
	if err != nil {
		t.Fatal(err)
	}
	custom := 0
	for _, r := range recipes.Recipes {
		if r.Domain == "" {
			custom++
		}
	}
	if custom < 8 {
		t.Fatalf("ListRecipes = %d custom recipes, want the 8 Personalize recipes", custom)
	}
	for _, r := range recipes.Recipes {
		if r.Domain != "" {
			continue // domain use cases are for recommenders, not solutions
		}
		name := aws.ToString(r.Name)
		t.Run(name, func(t *testing.T) {
			va, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("sol-" + name),
				DatasetGroupArn: aws.String(group), RecipeArn: r.RecipeArn})
			if st != "ACTIVE" {
				o, _ := pc.DescribeSolutionVersion(ctx, &personalize.DescribeSolutionVersionInput{SolutionVersionArn: aws.String(va)})
				t.Fatalf("version %s: %s", st, aws.ToString(o.SolutionVersion.FailureReason))
			}
			m, err := pc.GetSolutionMetrics(ctx, &personalize.GetSolutionMetricsInput{SolutionVersionArn: aws.String(va)})
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range eval.SolutionMetricKeys() {
				v, ok := m.Metrics[k]
				if !ok || v < 0 || v > 1 {
					t.Errorf("metric %s = %v (present %v), want a value in [0,1]", k, v, ok)
				}
			}
			o, err := pc.DescribeSolutionVersion(ctx, &personalize.DescribeSolutionVersionInput{SolutionVersionArn: aws.String(va)})
			if err != nil || o.SolutionVersion.TrainingHours == nil || aws.ToString(o.SolutionVersion.RecipeArn) != aws.ToString(r.RecipeArn) {
				t.Errorf("DescribeSolutionVersion = %+v, %v", o, err)
			}
		})
	}
	// Personalized models beat popularity on data with structure.
	up := metricsOf(t, ctx, pc, "sol-aws-user-personalization")
	pop := metricsOf(t, ctx, pc, "sol-aws-popularity-count")
	if up[eval.NDCGKey(10)] <= pop[eval.NDCGKey(10)] {
		t.Errorf("user-personalization NDCG@10 %.3f does not beat popularity %.3f", up[eval.NDCGKey(10)], pop[eval.NDCGKey(10)])
	}
	t.Logf("demo data NDCG@10: user-personalization %.3f, popularity %.3f", up[eval.NDCGKey(10)], pop[eval.NDCGKey(10)])
}

func metricsOf(t *testing.T, ctx context.Context, pc *personalize.Client, solution string) map[string]float64 {
	t.Helper()
	vs, err := pc.ListSolutionVersions(ctx, &personalize.ListSolutionVersionsInput{SolutionArn: aws.String("arn:aws:personalize:us-east-1:000000000000:solution/" + solution)})
	if err != nil || len(vs.SolutionVersions) == 0 {
		t.Fatalf("ListSolutionVersions %s: %v", solution, err)
	}
	m, err := pc.GetSolutionMetrics(ctx, &personalize.GetSolutionMetricsInput{SolutionVersionArn: vs.SolutionVersions[0].SolutionVersionArn})
	if err != nil {
		t.Fatal(err)
	}
	return m.Metrics
}

func TestSolutionErrorsAndStates(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc := ts.personalizeClient()
	group := demoGroup(t, ctx, pc, "solerr", demo.Options{Seed: 3, Users: 150, Interactions: 3000})
	upARN := aws.String("arn:aws:personalize:::recipe/aws-user-personalization")

	_, err := pc.CreateSolution(ctx, &personalize.CreateSolutionInput{Name: aws.String("bad-hp"), DatasetGroupArn: aws.String(group), RecipeArn: upARN,
		SolutionConfig: &types.SolutionConfig{AlgorithmHyperParameters: map[string]string{"hidden_dimension": "9999"}}})
	var ii *types.InvalidInputException
	if !errors.As(err, &ii) || !strings.Contains(err.Error(), "hidden_dimension") {
		t.Errorf("bad hyperparameter: %v, want InvalidInputException naming hidden_dimension", err)
	}
	_, err = pc.CreateSolution(ctx, &personalize.CreateSolutionInput{Name: aws.String("unknown-hp"), DatasetGroupArn: aws.String(group), RecipeArn: upARN,
		SolutionConfig: &types.SolutionConfig{AlgorithmHyperParameters: map[string]string{"warp_speed": "9"}}})
	if !errors.As(err, &ii) || !strings.Contains(err.Error(), "warp_speed") {
		t.Errorf("unknown hyperparameter: %v, want InvalidInputException naming warp_speed", err)
	}
	_, err = pc.CreateSolution(ctx, &personalize.CreateSolutionInput{Name: aws.String("no-recipe"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-mind-reading")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("unknown recipe: %v, want ResourceNotFoundException", err)
	}

	// HPO over a small documented space.
	va, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("hpo"), DatasetGroupArn: aws.String(group), RecipeArn: upARN,
		PerformHPO: aws.Bool(true), SolutionConfig: &types.SolutionConfig{
			HpoConfig: &types.HPOConfig{HpoResourceConfig: &types.HPOResourceConfig{MaxNumberOfTrainingJobs: aws.String("3")},
				AlgorithmHyperParameterRanges: &types.HyperParameterRanges{IntegerHyperParameterRanges: []types.IntegerHyperParameterRange{
					{Name: aws.String("hidden_dimension"), MinValue: 32, MaxValue: 64}}}},
		}})
	if st != "ACTIVE" {
		t.Fatalf("HPO version ended %s", st)
	}
	o, err := pc.DescribeSolutionVersion(ctx, &personalize.DescribeSolutionVersionInput{SolutionVersionArn: aws.String(va)})
	if err != nil || o.SolutionVersion.TunedHPOParams == nil || o.SolutionVersion.TunedHPOParams.AlgorithmHyperParameters["hidden_dimension"] == "" {
		t.Errorf("HPO version has no tuned hidden_dimension: %+v %v", o.SolutionVersion.TunedHPOParams, err)
	}

	// Metrics of a version that is not ACTIVE: ResourceInUse. Stopping a pending version: CREATE STOPPED.
	sol, _ := pc.DescribeSolution(ctx, &personalize.DescribeSolutionInput{SolutionArn: aws.String("arn:aws:personalize:us-east-1:000000000000:solution/hpo")})
	v2, err := pc.CreateSolutionVersion(ctx, &personalize.CreateSolutionVersionInput{SolutionArn: sol.Solution.SolutionArn})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.StopSolutionVersionCreation(ctx, &personalize.StopSolutionVersionCreationInput{SolutionVersionArn: v2.SolutionVersionArn}); err != nil {
		t.Fatal(err)
	}
	final := waitFor(t, "stopped version", func() (string, error) {
		o, err := pc.DescribeSolutionVersion(ctx, &personalize.DescribeSolutionVersionInput{SolutionVersionArn: v2.SolutionVersionArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.SolutionVersion.Status), nil
	}, "CREATE STOPPED", "ACTIVE")
	if final == "CREATE STOPPED" {
		_, err = pc.GetSolutionMetrics(ctx, &personalize.GetSolutionMetricsInput{SolutionVersionArn: v2.SolutionVersionArn})
		var inUse *types.ResourceInUseException
		if !errors.As(err, &inUse) {
			t.Errorf("metrics of a stopped version: %v, want ResourceInUseException", err)
		}
	}
	// A solution with campaigns or versions in training cannot be deleted; one without can.
	if _, err := pc.DeleteSolution(ctx, &personalize.DeleteSolutionInput{SolutionArn: sol.Solution.SolutionArn}); err != nil {
		t.Errorf("DeleteSolution: %v", err)
	}
	waitGone(t, "DescribeSolution after delete", func() (string, error) {
		o, err := pc.DescribeSolution(ctx, &personalize.DescribeSolutionInput{SolutionArn: sol.Solution.SolutionArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.Solution.Status), nil
	})
	if _, err := pc.DescribeSolutionVersion(ctx, &personalize.DescribeSolutionVersionInput{SolutionVersionArn: aws.String(va)}); !errors.As(err, &nf) {
		t.Errorf("version of a deleted solution: %v, want ResourceNotFoundException", err)
	}
}

func TestTooLittleDataFailsClearly(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc := ts.personalizeClient()
	_, ds := seedGroup(t, ctx, pc, "tiny")
	abs, _ := filepath.Abs("testdata/interactions.csv")
	importAndWait(t, ctx, pc, "tiny", ds["Interactions"], "file://"+abs, "")
	_, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("tiny"),
		DatasetGroupArn: aws.String("arn:aws:personalize:us-east-1:000000000000:dataset-group/tiny"),
		RecipeArn:       aws.String("arn:aws:personalize:::recipe/aws-popularity-count")})
	if st != "CREATE FAILED" {
		t.Fatalf("training on 28 interactions ended %s, want CREATE FAILED", st)
	}
	vs, _ := pc.ListSolutionVersions(ctx, &personalize.ListSolutionVersionsInput{SolutionArn: aws.String("arn:aws:personalize:us-east-1:000000000000:solution/tiny")})
	if r := aws.ToString(vs.SolutionVersions[0].FailureReason); !strings.Contains(r, "1000") {
		t.Errorf("failure reason %q does not explain the minimum", r)
	}
}

func TestRestartDuringTrainingEndsClearly(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir)
	ctx := t.Context()
	pc := ts.personalizeClient()
	group := demoGroup(t, ctx, pc, "restart", demo.Options{Seed: 5})
	sol, err := pc.CreateSolution(ctx, &personalize.CreateSolutionInput{Name: aws.String("r"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-user-personalization")})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "solution", func() (string, error) {
		o, err := pc.DescribeSolution(ctx, &personalize.DescribeSolutionInput{SolutionArn: sol.SolutionArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.Solution.Status), nil
	}, "ACTIVE")
	v, err := pc.CreateSolutionVersion(ctx, &personalize.CreateSolutionVersionInput{SolutionArn: sol.SolutionArn})
	if err != nil {
		t.Fatal(err)
	}
	ts.Stop(t) // most likely mid-training
	ts2 := startServer(t, dir)
	pc2 := ts2.personalizeClient()
	st := waitFor(t, "version after restart", func() (string, error) {
		o, err := pc2.DescribeSolutionVersion(ctx, &personalize.DescribeSolutionVersionInput{SolutionVersionArn: v.SolutionVersionArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.SolutionVersion.Status), nil
	}, "ACTIVE", "CREATE FAILED")
	if st != "ACTIVE" {
		t.Errorf("version interrupted by a restart ended %s, want ACTIVE after rerun", st)
	}
}
