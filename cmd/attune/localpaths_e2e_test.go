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
	"github.com/aws/smithy-go"
)

// apiMessage returns the message of an AWS API error, or err's text.
func apiMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// confinedServer starts a server whose only local root is a fresh folder,
// and returns it with that root and a folder outside it.
func confinedServer(t *testing.T) (ts *testServer, root, outside string) {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	outside, err = filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, "", "--local-roots", root), root, outside
}

// secretsIn lists strings of the server's environment and of /etc/shadow's
// usual first line that must never appear in an answer.
func secretsIn(t *testing.T) []string {
	t.Helper()
	s := []string{"root:", "PATH=", testSecret}
	for _, kv := range os.Environ() {
		if _, v, ok := strings.Cut(kv, "="); ok && len(v) >= 12 && !strings.Contains(v, "/tmp") {
			s = append(s, v)
		}
	}
	return s
}

func assertNoSecrets(t *testing.T, what, text string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s quotes %.12q…, a piece of a file or of the environment: %.300s", what, s, text)
		}
	}
}

// TestImportOfSystemFilesRefusedAtCreate: importing /proc/self/environ or
// /etc/shadow used to fail only in the job, with the file's first line (the
// server's environment, secrets included) in failureReason. Now the call is
// refused and nothing of the file appears anywhere.
func TestImportOfSystemFilesRefusedAtCreate(t *testing.T) {
	ts, root, _ := confinedServer(t)
	ctx := t.Context()
	pc := ts.personalizeClient()
	groupARN, ds := seedGroup(t, ctx, pc, "sys")
	secrets := secretsIn(t)
	for i, loc := range []string{"file:///proc/self/environ", "file:///etc/shadow", "file:///etc/passwd", "file:///dev/zero",
		"file:///proc/self/", "file:///etc/"} {
		_, err := pc.CreateDatasetImportJob(ctx, &personalize.CreateDatasetImportJobInput{JobName: aws.String("sys-" + string(rune('a'+i))),
			DatasetArn: aws.String(ds["Interactions"]), DataSource: &types.DataSource{DataLocation: aws.String(loc)}, RoleArn: aws.String(testRole)})
		if apiCode(err) != "InvalidInputException" {
			t.Fatalf("import from %s = %v, want InvalidInputException", loc, err)
		}
		msg := apiMessage(err)
		if !strings.Contains(msg, "dataSource.dataLocation") || !strings.Contains(msg, root) {
			t.Errorf("import from %s: message %q does not name the member and the allowed folder", loc, msg)
		}
		assertNoSecrets(t, "error of "+loc, msg, secrets)
		raw := rawCall(t, ts, "CreateDatasetImportJob", `{"jobName":"raw-`+string(rune('a'+i))+`","datasetArn":"`+ds["Interactions"]+
			`","dataSource":{"dataLocation":"`+loc+`"},"roleArn":"`+testRole+`"}`)
		if !strings.Contains(raw, "InvalidInputException") {
			t.Errorf("raw import from %s = %.200s, want InvalidInputException", loc, raw)
		}
		assertNoSecrets(t, "raw answer for "+loc, raw, secrets)
	}
	// A data deletion job's user list is a file:// location like any other.
	_, err := pc.CreateDataDeletionJob(ctx, &personalize.CreateDataDeletionJobInput{JobName: aws.String("sys-del"),
		DatasetGroupArn: aws.String(groupARN), DataSource: &types.DataSource{DataLocation: aws.String("file:///proc/self/environ")}, RoleArn: aws.String(testRole)})
	if apiCode(err) != "InvalidInputException" || !strings.Contains(apiMessage(err), "dataSource.dataLocation") {
		t.Errorf("deletion job from /proc/self/environ = %v, want InvalidInputException naming dataSource.dataLocation", err)
	}
	jobs, err := pc.ListDatasetImportJobs(ctx, &personalize.ListDatasetImportJobsInput{DatasetArn: aws.String(ds["Interactions"])})
	if err != nil || len(jobs.DatasetImportJobs) != 0 {
		t.Errorf("import jobs after refused calls = %d, %v; want none", len(jobs.DatasetImportJobs), err)
	}

	// A file inside the root that is not the CSV it claims to be: the job
	// fails, and neither failureReason nor the report quotes its content.
	notCSV := filepath.Join(root, "notes.csv")
	if err := os.WriteFile(notCSV, []byte("DB_PASSWORD=s3cr3t-value-1234\nAPI_TOKEN=another-s3cr3t-5678\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	j := importAndWait(t, ctx, pc, "not-csv", ds["Interactions"], "file://"+notCSV, "")
	if aws.ToString(j.Status) != "CREATE FAILED" {
		t.Fatalf("import of a non-CSV file = %s, want CREATE FAILED", aws.ToString(j.Status))
	}
	raw := rawCall(t, ts, "DescribeDatasetImportJob", `{"datasetImportJobArn":"`+aws.ToString(j.DatasetImportJobArn)+`"}`)
	assertNoSecrets(t, "description of the failed import", raw, []string{"s3cr3t", "DB_PASSWORD", "API_TOKEN"})
	if !strings.Contains(raw, "USER_ID") {
		t.Errorf("failure reason does not name the missing column: %.400s", raw)
	}
}

// TestBatchInferenceFromSystemFolderRefused: a batch job reading file:///etc/
// used to copy every line of every file there into .out files.
func TestBatchInferenceFromSystemFolderRefused(t *testing.T) {
	ts, root, outside := confinedServer(t)
	ctx := t.Context()
	pc := ts.personalizeClient()
	version := "arn:aws:personalize:us-east-1:000000000000:solution/s/0011aabb"
	tests := []struct{ name, in, out, member string }{
		{"input /etc/", "file:///etc/", "file://" + root + "/out/", "jobInput.s3DataSource.path"},
		{"input /proc", "file:///proc/self/environ", "file://" + root + "/out/", "jobInput.s3DataSource.path"},
		{"output outside", "file://" + root + "/in/", "file://" + outside + "/out/", "jobOutput.s3DataDestination.path"},
		{"output in /etc", "file://" + root + "/in/", "file:///etc/cron.d/", "jobOutput.s3DataDestination.path"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pc.CreateBatchInferenceJob(ctx, &personalize.CreateBatchInferenceJobInput{JobName: aws.String("b" + string(rune('a'+i))),
				SolutionVersionArn: aws.String(version), RoleArn: aws.String(testRole),
				JobInput:  &types.BatchInferenceJobInput{S3DataSource: &types.S3DataConfig{Path: aws.String(tc.in)}},
				JobOutput: &types.BatchInferenceJobOutput{S3DataDestination: &types.S3DataConfig{Path: aws.String(tc.out)}}})
			if apiCode(err) != "InvalidInputException" || !strings.Contains(apiMessage(err), tc.member) {
				t.Errorf("batch job %s -> %s = %v, want InvalidInputException naming %s", tc.in, tc.out, err, tc.member)
			}
		})
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("files appeared outside the root: %v", entries)
	}
}

// waitExport creates an export job to folder and returns its final status and reason.
func waitExport(t *testing.T, ctx context.Context, pc *personalize.Client, datasetARN, job, folder string) (string, string, error) {
	t.Helper()
	out, err := pc.CreateDatasetExportJob(ctx, &personalize.CreateDatasetExportJobInput{JobName: aws.String(job), DatasetArn: aws.String(datasetARN),
		IngestionMode: types.IngestionModeAll, RoleArn: aws.String(testRole),
		JobOutput: &types.DatasetExportJobOutput{S3DataDestination: &types.S3DataConfig{Path: aws.String(folder)}}})
	if err != nil {
		return "", "", err
	}
	var reason string
	status := waitFor(t, "export "+job, func() (string, error) {
		d, err := pc.DescribeDatasetExportJob(ctx, &personalize.DescribeDatasetExportJobInput{DatasetExportJobArn: out.DatasetExportJobArn})
		if err != nil {
			return "", err
		}
		reason = aws.ToString(d.DatasetExportJob.FailureReason)
		return aws.ToString(d.DatasetExportJob.Status), nil
	}, "ACTIVE", "CREATE FAILED")
	return status, reason, nil
}

// TestExportStaysInsideRoots: an export job used to create folders and write
// <job>.csv anywhere, following symlinks, replacing what was there.
func TestExportStaysInsideRoots(t *testing.T) {
	ts, root, outside := confinedServer(t)
	ctx := t.Context()
	pc := ts.personalizeClient()
	_, ds := seedGroup(t, ctx, pc, "exp")
	if err := os.Symlink(outside, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	for i, folder := range []string{"file://" + outside + "/", "file://" + root + "/escape/", "file://" + root + "/escape/deeper/",
		"file://" + ts.DataDir + "/", "file:///etc/"} {
		_, _, err := waitExport(t, ctx, pc, ds["Interactions"], "refused-"+string(rune('a'+i)), folder)
		if apiCode(err) != "InvalidInputException" || !strings.Contains(apiMessage(err), "jobOutput.s3DataDestination.path") {
			t.Errorf("export to %s = %v, want InvalidInputException naming jobOutput.s3DataDestination.path", folder, err)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("files appeared outside the root: %v", entries)
	}

	// A file the job did not create is never replaced.
	if err := os.MkdirAll(filepath.Join(root, "exports"), 0o755); err != nil {
		t.Fatal(err)
	}
	precious := filepath.Join(root, "exports", "taken.csv")
	if err := os.WriteFile(precious, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	status, reason, err := waitExport(t, ctx, pc, ds["Interactions"], "taken", "file://"+root+"/exports/")
	if err != nil || status != "CREATE FAILED" || !strings.Contains(reason, "already exists") {
		t.Errorf("export onto an existing file = %s %q, %v; want CREATE FAILED saying it already exists", status, reason, err)
	}
	if b, _ := os.ReadFile(precious); string(b) != "precious\n" {
		t.Errorf("existing file was replaced: now %q", b)
	}
	// A symlink at the output name is not followed.
	if err := os.Symlink(filepath.Join(outside, "target.csv"), filepath.Join(root, "exports", "linked.csv")); err != nil {
		t.Fatal(err)
	}
	if status, _, err := waitExport(t, ctx, pc, ds["Interactions"], "linked", "file://"+root+"/exports/"); err != nil || status != "CREATE FAILED" {
		t.Errorf("export onto a symlink = %s, %v; want CREATE FAILED", status, err)
	}
	if _, err := os.Stat(filepath.Join(outside, "target.csv")); err == nil {
		t.Errorf("export wrote through a symlink to outside the root")
	}
	// A new file in a new folder: created 0640 in a folder created 0750.
	status, reason, err = waitExport(t, ctx, pc, ds["Interactions"], "fresh", "file://"+root+"/new/folder/")
	if err != nil || status != "ACTIVE" {
		t.Fatalf("export to a new folder = %s %q, %v; want ACTIVE", status, reason, err)
	}
	if fi, err := os.Stat(filepath.Join(root, "new", "folder", "fresh.csv")); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("export file = %v, %v; want mode 0640", fi, err)
	}
	if fi, err := os.Stat(filepath.Join(root, "new")); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("created folder = %v, %v; want mode 0750", fi, err)
	}
}

// TestTraversalRefused: ".." and friends never reach outside a root, for
// file:// and s3:// alike.
func TestTraversalRefused(t *testing.T) {
	ts, root, outside := confinedServer(t)
	ctx := t.Context()
	pc := ts.personalizeClient()
	_, ds := seedGroup(t, ctx, pc, "dots")
	if err := os.WriteFile(filepath.Join(outside, "x.csv"), []byte("USER_ID,ITEM_ID,TIMESTAMP\nu,i,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(root, filepath.Join(outside, "x.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for i, loc := range []string{"file://" + root + "/" + rel, "file://" + root + "/./x.csv", "file://" + root + "//x.csv",
		"file://" + root + "/../../../../etc/passwd", "s3://bucket/a/../b.csv", "s3://bucket/./b.csv", "s3://bucket/a//b.csv"} {
		_, err := pc.CreateDatasetImportJob(ctx, &personalize.CreateDatasetImportJobInput{JobName: aws.String("dots-" + string(rune('a'+i))),
			DatasetArn: aws.String(ds["Interactions"]), DataSource: &types.DataSource{DataLocation: aws.String(loc)}, RoleArn: aws.String(testRole)})
		if apiCode(err) != "InvalidInputException" || !strings.Contains(apiMessage(err), "dataSource.dataLocation") {
			t.Errorf("import from %s = %v, want InvalidInputException naming dataSource.dataLocation", loc, err)
		}
	}
}

// TestLocalRootsNone: with --local-roots none no file:// location is accepted.
func TestLocalRootsNone(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, "", "--local-roots", "none")
	ctx := t.Context()
	pc := ts.personalizeClient()
	_, ds := seedGroup(t, ctx, pc, "none")
	_, err := pc.CreateDatasetImportJob(ctx, &personalize.CreateDatasetImportJobInput{JobName: aws.String("none"),
		DatasetArn: aws.String(ds["Interactions"]), DataSource: &types.DataSource{DataLocation: aws.String("file://" + dir + "/x.csv")}, RoleArn: aws.String(testRole)})
	if apiCode(err) != "InvalidInputException" || !strings.Contains(apiMessage(err), "file:// locations are disabled") {
		t.Errorf("import with file:// off = %v, want InvalidInputException saying file:// locations are disabled", err)
	}
	if _, _, err := waitExport(t, ctx, pc, ds["Interactions"], "none", "file://"+dir+"/"); apiCode(err) != "InvalidInputException" {
		t.Errorf("export with file:// off = %v, want InvalidInputException", err)
	}
}

// TestDefaultLocalRoot: without --local-roots, file:// means <data-dir>/files,
// and the rest of the data dir (store, credentials) stays out of reach.
func TestDefaultLocalRoot(t *testing.T) {
	ts := startServer(t, "", "--local-roots=")
	ctx := t.Context()
	pc := ts.personalizeClient()
	_, ds := seedGroup(t, ctx, pc, "deflt")
	files := filepath.Join(ts.DataDir, "files")
	if fi, err := os.Stat(files); err != nil || !fi.IsDir() {
		t.Fatalf("default root %s: %v", files, err)
	}
	copyFile(t, "testdata/interactions.csv", filepath.Join(files, "interactions.csv"))
	if j := importAndWait(t, ctx, pc, "deflt", ds["Interactions"], "file://"+files+"/interactions.csv", ""); aws.ToString(j.Status) != "ACTIVE" {
		t.Errorf("import from the default root = %s %s, want ACTIVE", aws.ToString(j.Status), aws.ToString(j.FailureReason))
	}
	for i, loc := range []string{"file://" + ts.DataDir + "/attune.db", "file://" + t.TempDir() + "/x.csv"} {
		_, err := pc.CreateDatasetImportJob(ctx, &personalize.CreateDatasetImportJobInput{JobName: aws.String("out-" + string(rune('a'+i))),
			DatasetArn: aws.String(ds["Interactions"]), DataSource: &types.DataSource{DataLocation: aws.String(loc)}, RoleArn: aws.String(testRole)})
		if apiCode(err) != "InvalidInputException" || !strings.Contains(apiMessage(err), files) {
			t.Errorf("import from %s = %v, want InvalidInputException listing %s", loc, err, files)
		}
	}
}

// TestEchoedValuesAreCut: an invalid 1 MB name used to be echoed whole.
func TestEchoedValuesAreCut(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc := ts.personalizeClient()
	long := strings.Repeat("x!", 512<<10)
	_, err := pc.CreateDatasetGroup(ctx, &personalize.CreateDatasetGroupInput{Name: aws.String(long)})
	if apiCode(err) != "InvalidInputException" {
		t.Fatalf("CreateDatasetGroup(1 MB name) = %v, want InvalidInputException", err)
	}
	if msg := apiMessage(err); len(msg) > 400 || !strings.Contains(msg, "(1048576 bytes)") {
		t.Errorf("message is %d bytes (%.200s…), want a short one giving the length", len(msg), msg)
	}
	_, err = pc.CreateDatasetImportJob(ctx, &personalize.CreateDatasetImportJobInput{JobName: aws.String("j"),
		DatasetArn: aws.String(strings.Repeat("arn:", 50000)), DataSource: &types.DataSource{DataLocation: aws.String("s3://b/k.csv")}, RoleArn: aws.String(testRole)})
	if msg := apiMessage(err); len(msg) > 400 {
		t.Errorf("message for a 200 kB ARN is %d bytes long", len(msg))
	}
}
