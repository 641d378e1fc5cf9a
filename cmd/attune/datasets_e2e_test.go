package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	"github.com/aws/aws-sdk-go-v2/service/personalize/types"
	"github.com/aws/smithy-go"
)

const (
	interactionsSchema = `{"type":"record","name":"Interactions","namespace":"com.amazonaws.personalize.schema","version":"1.0",
"fields":[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},{"name":"EVENT_TYPE","type":"string"},{"name":"TIMESTAMP","type":"long"}]}`
	usersSchema = `{"type":"record","name":"Users","namespace":"com.amazonaws.personalize.schema","version":"1.0",
"fields":[{"name":"USER_ID","type":"string"},{"name":"ROLE","type":["null","string"],"categorical":true},
{"name":"INDUSTRY","type":["null","string"],"categorical":true},{"name":"COMPANY_SIZE","type":["null","string"],"categorical":true},
{"name":"AGE","type":["null","int"]}]}`
	itemsSchema = `{"type":"record","name":"Items","namespace":"com.amazonaws.personalize.schema","version":"1.0",
"fields":[{"name":"ITEM_ID","type":"string"},{"name":"SERVICE_NAME","type":["null","string"],"categorical":true},
{"name":"CATEGORY","type":["null","string"],"categorical":true},{"name":"SERVICE_TIER","type":["null","string"],"categorical":true},
{"name":"POPULARITY_SCORE","type":["null","float"]},{"name":"TARGET_INDUSTRY","type":["null","string"],"categorical":true}]}`
)

// apiCode returns the AWS error code of err, or "" when it is not an API error.
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// seedGroup creates a dataset group with the seed sample's three datasets and
// waits until all are ACTIVE. It returns the group ARN and dataset ARNs by type.
func seedGroup(t *testing.T, ctx context.Context, pc *personalize.Client, name string) (string, map[string]string) {
	t.Helper()
	g, err := pc.CreateDatasetGroup(ctx, &personalize.CreateDatasetGroupInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateDatasetGroup: %v", err)
	}
	waitFor(t, "dataset group", func() (string, error) {
		out, err := pc.DescribeDatasetGroup(ctx, &personalize.DescribeDatasetGroupInput{DatasetGroupArn: g.DatasetGroupArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.DatasetGroup.Status), nil
	}, "ACTIVE")
	arns := map[string]string{}
	for _, d := range []struct{ typ, schema string }{{"Interactions", interactionsSchema}, {"Users", usersSchema}, {"Items", itemsSchema}} {
		sc, err := pc.CreateSchema(ctx, &personalize.CreateSchemaInput{Name: aws.String(name + "-" + strings.ToLower(d.typ)), Schema: aws.String(d.schema)})
		if err != nil {
			t.Fatalf("CreateSchema %s: %v", d.typ, err)
		}
		ds, err := pc.CreateDataset(ctx, &personalize.CreateDatasetInput{Name: aws.String(name + "-" + d.typ), DatasetGroupArn: g.DatasetGroupArn,
			DatasetType: aws.String(d.typ), SchemaArn: sc.SchemaArn})
		if err != nil {
			t.Fatalf("CreateDataset %s: %v", d.typ, err)
		}
		waitFor(t, "dataset "+d.typ, func() (string, error) {
			out, err := pc.DescribeDataset(ctx, &personalize.DescribeDatasetInput{DatasetArn: ds.DatasetArn})
			if err != nil {
				return "", err
			}
			return aws.ToString(out.Dataset.Status), nil
		}, "ACTIVE")
		arns[d.typ] = aws.ToString(ds.DatasetArn)
	}
	return aws.ToString(g.DatasetGroupArn), arns
}

// importAndWait runs an import job and returns its final description.
func importAndWait(t *testing.T, ctx context.Context, pc *personalize.Client, job, datasetARN, location, mode string) *types.DatasetImportJob {
	t.Helper()
	in := &personalize.CreateDatasetImportJobInput{JobName: aws.String(job), DatasetArn: aws.String(datasetARN),
		DataSource: &types.DataSource{DataLocation: aws.String(location)}, RoleArn: aws.String(testRole)}
	if mode != "" {
		in.ImportMode = types.ImportMode(mode)
	}
	out, err := pc.CreateDatasetImportJob(ctx, in)
	if err != nil {
		t.Fatalf("CreateDatasetImportJob %s: %v", job, err)
	}
	var final *types.DatasetImportJob
	waitFor(t, "import "+job, func() (string, error) {
		d, err := pc.DescribeDatasetImportJob(ctx, &personalize.DescribeDatasetImportJobInput{DatasetImportJobArn: out.DatasetImportJobArn})
		if err != nil {
			return "", err
		}
		final = d.DatasetImportJob
		return aws.ToString(d.DatasetImportJob.Status), nil
	}, "ACTIVE", "CREATE FAILED")
	return final
}

func TestDatasetWorkflowWithSDK(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc := ts.personalizeClient()
	groupARN, dsARNs := seedGroup(t, ctx, pc, "seed")
	if want := "arn:aws:personalize:us-east-1:000000000000:dataset-group/seed"; groupARN != want {
		t.Errorf("dataset group ARN = %s, want %s", groupARN, want)
	}
	if want := "arn:aws:personalize:us-east-1:000000000000:dataset/seed/INTERACTIONS"; dsARNs["Interactions"] != want {
		t.Errorf("dataset ARN = %s, want %s", dsARNs["Interactions"], want)
	}
	dir, _ := filepath.Abs("testdata")
	for typ, file := range map[string]string{"Interactions": "interactions.csv", "Users": "users.csv", "Items": "items.csv"} {
		j := importAndWait(t, ctx, pc, "seed-"+strings.ToLower(typ), dsARNs[typ], "file://"+filepath.Join(dir, file), "FULL")
		if aws.ToString(j.Status) != "ACTIVE" {
			t.Errorf("import %s: status %s, failure %q", typ, aws.ToString(j.Status), aws.ToString(j.FailureReason))
		}
		if j.ImportMode != types.ImportModeFull || aws.ToString(j.DataSource.DataLocation) == "" || j.CreationDateTime == nil {
			t.Errorf("import %s: description incomplete: %+v", typ, j)
		}
	}
	// The import report names the columns the schema does not declare.
	raw := rawCall(t, ts, "DescribeDatasetImportJob", fmt.Sprintf(`{"datasetImportJobArn":"arn:aws:personalize:us-east-1:000000000000:dataset-import-job/seed-interactions"}`))
	for _, col := range []string{"SESSION_DURATION", "DEVICE_TYPE", "LOCATION", "USER_RATING"} {
		if !strings.Contains(raw, col) {
			t.Errorf("import report does not list ignored column %s: %s", col, raw)
		}
	}

	lst, err := pc.ListDatasets(ctx, &personalize.ListDatasetsInput{DatasetGroupArn: aws.String(groupARN)})
	if err != nil || len(lst.Datasets) != 3 {
		t.Fatalf("ListDatasets = %d datasets, %v; want 3", len(lst.Datasets), err)
	}
	imps, err := pc.ListDatasetImportJobs(ctx, &personalize.ListDatasetImportJobsInput{DatasetArn: aws.String(dsARNs["Users"])})
	if err != nil || len(imps.DatasetImportJobs) != 1 || aws.ToString(imps.DatasetImportJobs[0].JobName) != "seed-users" {
		t.Fatalf("ListDatasetImportJobs = %+v, %v; want the one users job", imps, err)
	}

	// UpdateDataset swaps the schema in the background.
	sc2, err := pc.CreateSchema(ctx, &personalize.CreateSchemaInput{Name: aws.String("users-v2"), Schema: aws.String(strings.Replace(usersSchema,
		`{"name":"AGE","type":["null","int"]}`, `{"name":"AGE","type":["null","int"]},{"name":"REGION","type":["null","string"],"categorical":true}`, 1))})
	if err != nil {
		t.Fatalf("CreateSchema v2: %v", err)
	}
	if _, err := pc.UpdateDataset(ctx, &personalize.UpdateDatasetInput{DatasetArn: aws.String(dsARNs["Users"]), SchemaArn: sc2.SchemaArn}); err != nil {
		t.Fatalf("UpdateDataset: %v", err)
	}
	waitFor(t, "dataset update", func() (string, error) {
		d, err := pc.DescribeDataset(ctx, &personalize.DescribeDatasetInput{DatasetArn: aws.String(dsARNs["Users"])})
		if err != nil {
			return "", err
		}
		if d.Dataset.LatestDatasetUpdate == nil {
			return "", errors.New("no latestDatasetUpdate")
		}
		return aws.ToString(d.Dataset.LatestDatasetUpdate.Status), nil
	}, "ACTIVE")
	d, _ := pc.DescribeDataset(ctx, &personalize.DescribeDatasetInput{DatasetArn: aws.String(dsARNs["Users"])})
	if aws.ToString(d.Dataset.SchemaArn) != aws.ToString(sc2.SchemaArn) {
		t.Errorf("after UpdateDataset schemaArn = %s, want %s", aws.ToString(d.Dataset.SchemaArn), aws.ToString(sc2.SchemaArn))
	}

	// Deletes: the group is in use until its datasets are gone; a schema until no dataset uses it.
	_, err = pc.DeleteDatasetGroup(ctx, &personalize.DeleteDatasetGroupInput{DatasetGroupArn: aws.String(groupARN)})
	var inUse *types.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Errorf("DeleteDatasetGroup with datasets: err = %v, want ResourceInUseException", err)
	}
	_, err = pc.DeleteSchema(ctx, &personalize.DeleteSchemaInput{SchemaArn: sc2.SchemaArn})
	if !errors.As(err, &inUse) {
		t.Errorf("DeleteSchema in use: err = %v, want ResourceInUseException", err)
	}
	for _, a := range dsARNs {
		if _, err := pc.DeleteDataset(ctx, &personalize.DeleteDatasetInput{DatasetArn: aws.String(a)}); err != nil {
			t.Fatalf("DeleteDataset %s: %v", a, err)
		}
	}
	if _, err := pc.DeleteDatasetGroup(ctx, &personalize.DeleteDatasetGroupInput{DatasetGroupArn: aws.String(groupARN)}); err != nil {
		t.Fatalf("DeleteDatasetGroup: %v", err)
	}
	waitGone(t, "DescribeDatasetGroup after delete", func() (string, error) {
		o, err := pc.DescribeDatasetGroup(ctx, &personalize.DescribeDatasetGroupInput{DatasetGroupArn: aws.String(groupARN)})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.DatasetGroup.Status), nil
	})
	if _, err := pc.DeleteSchema(ctx, &personalize.DeleteSchemaInput{SchemaArn: sc2.SchemaArn}); err != nil {
		t.Errorf("DeleteSchema after its dataset is gone: %v", err)
	}
}

func TestControlPlaneErrors(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc := ts.personalizeClient()
	groupARN, dsARNs := seedGroup(t, ctx, pc, "errs")
	badSchema := `{"type":"record","name":"Interactions","fields":[{"name":"USER_ID","type":"string"},{"name":"PRICE","type":"decimal"}]}`
	cases := []struct {
		name     string
		call     func() error
		wantCode string
		wantMsg  string
	}{
		{"duplicate group", func() error {
			_, err := pc.CreateDatasetGroup(ctx, &personalize.CreateDatasetGroupInput{Name: aws.String("errs")})
			return err
		}, "ResourceAlreadyExistsException", "errs"},
		{"bad name", func() error {
			_, err := pc.CreateDatasetGroup(ctx, &personalize.CreateDatasetGroupInput{Name: aws.String("-bad name")})
			return err
		}, "InvalidInputException", "name"},
		{"missing group", func() error {
			_, err := pc.DescribeDatasetGroup(ctx, &personalize.DescribeDatasetGroupInput{DatasetGroupArn: aws.String(groupARN + "x")})
			return err
		}, "ResourceNotFoundException", groupARN + "x"},
		{"bad arn", func() error {
			_, err := pc.DescribeDataset(ctx, &personalize.DescribeDatasetInput{DatasetArn: aws.String("not-an-arn")})
			return err
		}, "InvalidInputException", "datasetArn"},
		{"bad schema names the field", func() error {
			_, err := pc.CreateSchema(ctx, &personalize.CreateSchemaInput{Name: aws.String("bad"), Schema: aws.String(badSchema)})
			return err
		}, "InvalidInputException", "PRICE"},
		{"schema unfit for dataset type", func() error {
			sc, err := pc.CreateSchema(ctx, &personalize.CreateSchemaInput{Name: aws.String("users-only"), Schema: aws.String(usersSchema)})
			if err != nil {
				return err
			}
			g, err := pc.CreateDatasetGroup(ctx, &personalize.CreateDatasetGroupInput{Name: aws.String("other")})
			if err != nil {
				return err
			}
			waitFor(t, "group", func() (string, error) {
				o, err := pc.DescribeDatasetGroup(ctx, &personalize.DescribeDatasetGroupInput{DatasetGroupArn: g.DatasetGroupArn})
				if err != nil {
					return "", err
				}
				return aws.ToString(o.DatasetGroup.Status), nil
			}, "ACTIVE")
			_, err = pc.CreateDataset(ctx, &personalize.CreateDatasetInput{Name: aws.String("x"), DatasetGroupArn: g.DatasetGroupArn,
				DatasetType: aws.String("Interactions"), SchemaArn: sc.SchemaArn})
			return err
		}, "InvalidInputException", "ITEM_ID"},
		{"second interactions dataset", func() error {
			sc, err := pc.CreateSchema(ctx, &personalize.CreateSchemaInput{Name: aws.String("int2"), Schema: aws.String(interactionsSchema)})
			if err != nil {
				return err
			}
			_, err = pc.CreateDataset(ctx, &personalize.CreateDatasetInput{Name: aws.String("again"), DatasetGroupArn: aws.String(groupARN),
				DatasetType: aws.String("INTERACTIONS"), SchemaArn: sc.SchemaArn})
			return err
		}, "ResourceAlreadyExistsException", "INTERACTIONS"},
		{"bad import mode", func() error {
			_, err := pc.CreateDatasetImportJob(ctx, &personalize.CreateDatasetImportJobInput{JobName: aws.String("j"), DatasetArn: aws.String(dsARNs["Users"]),
				RoleArn: aws.String(testRole), DataSource: &types.DataSource{DataLocation: aws.String("file:///tmp/x.csv")}, ImportMode: "SOMETIMES"})
			return err
		}, "InvalidInputException", "importMode"},
		{"bad location", func() error {
			_, err := pc.CreateDatasetImportJob(ctx, &personalize.CreateDatasetImportJobInput{JobName: aws.String("j"), DatasetArn: aws.String(dsARNs["Users"]),
				RoleArn: aws.String(testRole), DataSource: &types.DataSource{DataLocation: aws.String("ftp://host/x.csv")}})
			return err
		}, "InvalidInputException", "dataLocation"},
		{"maxResults out of range", func() error {
			_, err := pc.ListDatasetGroups(ctx, &personalize.ListDatasetGroupsInput{MaxResults: aws.Int32(500)})
			return err
		}, "InvalidInputException", "maxResults"},
		{"bad next token", func() error {
			_, err := pc.ListDatasetGroups(ctx, &personalize.ListDatasetGroupsInput{NextToken: aws.String("garbage")})
			return err
		}, "InvalidNextTokenException", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if got := apiCode(err); got != tc.wantCode {
				t.Fatalf("error code = %q (%v), want %s", got, err, tc.wantCode)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tc.wantMsg)
			}
		})
	}
	// Unknown operations get a clear error, not a 404 page.
	if got := rawCall(t, ts, "CreateTimeMachine", `{}`); !strings.Contains(got, "UnknownOperationException") || !strings.Contains(got, "CreateTimeMachine") {
		t.Errorf("unknown operation answer = %s", got)
	}
}

func TestPagination(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc := ts.personalizeClient()
	const n = 7
	for i := range n {
		if _, err := pc.CreateSchema(ctx, &personalize.CreateSchemaInput{Name: aws.String(fmt.Sprintf("s%d", i)), Schema: aws.String(interactionsSchema)}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	pages := 0
	p := personalize.NewListSchemasPaginator(pc, &personalize.ListSchemasInput{MaxResults: aws.Int32(3)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(out.Schemas) > 3 {
			t.Errorf("page of %d schemas, want at most 3", len(out.Schemas))
		}
		for _, s := range out.Schemas {
			seen[aws.ToString(s.Name)]++
		}
	}
	if pages != 3 || len(seen) != n {
		t.Errorf("paginated %d pages and %d distinct schemas, want 3 and %d", pages, len(seen), n)
	}
	for name, c := range seen {
		if c != 1 {
			t.Errorf("schema %s listed %d times", name, c)
		}
	}
}

func TestImportRejectsTooManyBadRowsAndKeepsData(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc := ts.personalizeClient()
	_, dsARNs := seedGroup(t, ctx, pc, "bad")
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	copyFile(t, filepath.Join("testdata", "interactions.csv"), good)
	j := importAndWait(t, ctx, pc, "good", dsARNs["Interactions"], "file://"+good, "")
	if aws.ToString(j.Status) != "ACTIVE" {
		t.Fatalf("good import: %s %s", aws.ToString(j.Status), aws.ToString(j.FailureReason))
	}
	var b strings.Builder
	b.WriteString("USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP\n")
	for i := range 20 {
		ts := "1742033100"
		if i%4 == 0 {
			ts = "1742033100000" // milliseconds: a classic mistake
		}
		fmt.Fprintf(&b, "u%d,i%d,VIEWED,%s\n", i, i, ts)
	}
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	j = importAndWait(t, ctx, pc, "bad", dsARNs["Interactions"], "file://"+bad, "FULL")
	if aws.ToString(j.Status) != "CREATE FAILED" {
		t.Fatalf("bad import status = %s, want CREATE FAILED", aws.ToString(j.Status))
	}
	reason := aws.ToString(j.FailureReason)
	for _, want := range []string{"5 of 20 rows", "row 2", "TIMESTAMP", "milliseconds"} {
		if !strings.Contains(reason, want) {
			t.Errorf("failureReason %q does not mention %q", reason, want)
		}
	}
	missing := filepath.Join(dir, "missing-col.csv")
	if err := os.WriteFile(missing, []byte("USER_ID,ITEM_ID,EVENT_TYPE\nu1,i1,VIEWED\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	j = importAndWait(t, ctx, pc, "missing", dsARNs["Interactions"], "file://"+missing, "FULL")
	if aws.ToString(j.Status) != "CREATE FAILED" || !strings.Contains(aws.ToString(j.FailureReason), "TIMESTAMP") {
		t.Errorf("missing column import = %s %q, want CREATE FAILED naming TIMESTAMP", aws.ToString(j.Status), aws.ToString(j.FailureReason))
	}
	j = importAndWait(t, ctx, pc, "nofile", dsARNs["Interactions"], "file://"+filepath.Join(dir, "nope.csv"), "FULL")
	if aws.ToString(j.Status) != "CREATE FAILED" || !strings.Contains(aws.ToString(j.FailureReason), "nope.csv") {
		t.Errorf("missing file import = %s %q, want CREATE FAILED naming the file", aws.ToString(j.Status), aws.ToString(j.FailureReason))
	}
	ts.Stop(t)
	// The failed FULL imports left the good rows in place.
	if got := countRecords(t, ts.DataDir, dsARNs["Interactions"]); got != 28 {
		t.Errorf("interactions after failed imports = %d rows, want the 28 of the good import", got)
	}
}
