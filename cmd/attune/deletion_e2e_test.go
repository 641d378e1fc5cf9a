package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	ptypes "github.com/aws/aws-sdk-go-v2/service/personalize/types"
	"github.com/aws/aws-sdk-go-v2/service/personalizeevents"
	etypes "github.com/aws/aws-sdk-go-v2/service/personalizeevents/types"
	"github.com/aws/aws-sdk-go-v2/service/personalizeruntime"
	"github.com/jackc/pgx/v5"

	"github.com/attune-dev/attune/internal/demo"
	"github.com/attune-dev/attune/internal/testenv"
)

// storeFilesWith returns which of the SQLite store's files in dataDir (the
// database and its write-ahead log) contain marker.
func storeFilesWith(t *testing.T, dataDir, marker string) []string {
	t.Helper()
	var found []string
	for _, name := range []string{"attune.db", "attune.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dataDir, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(marker)) {
			found = append(found, name)
		}
	}
	return found
}

// writeCSV writes content to a new file in a temp folder and returns its
// file:// location.
func writeCSV(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return "file://" + p
}

// runDeletion creates a data deletion job and waits for its end.
func runDeletion(t *testing.T, ctx context.Context, pc *personalize.Client, name, group, location string) *ptypes.DataDeletionJob {
	t.Helper()
	out, err := pc.CreateDataDeletionJob(ctx, &personalize.CreateDataDeletionJobInput{JobName: aws.String(name),
		DatasetGroupArn: aws.String(group), DataSource: &ptypes.DataSource{DataLocation: aws.String(location)}, RoleArn: aws.String(testRole)})
	if err != nil {
		t.Fatalf("CreateDataDeletionJob %s: %v", name, err)
	}
	var job *ptypes.DataDeletionJob
	waitFor(t, "data deletion job "+name, func() (string, error) {
		d, err := pc.DescribeDataDeletionJob(ctx, &personalize.DescribeDataDeletionJobInput{DataDeletionJobArn: out.DataDeletionJobArn})
		if err != nil {
			return "", err
		}
		job = d.DataDeletionJob
		return aws.ToString(job.Status), nil
	}, "COMPLETED", "FAILED")
	return job
}

// TestDataDeletionJob deletes one user end to end: the user's imported and
// streamed interactions, Users row, the anonymous events of their session
// and their serving state. Afterwards they get the answer any unknown user
// gets, exports and the next training lack them, and after a restart the
// store's files hold no byte of their id (which they did before).
func TestDataDeletionJob(t *testing.T) {
	dataDir := t.TempDir()
	ts := startServer(t, dataDir)
	ctx := t.Context()
	pc, rc := ts.personalizeClient(), ts.runtimeClient()
	const (
		marker  = "gdpr-marker-user-5e1f"
		session = "gdpr-marker-session-77ab"
	)
	data := demo.Generate(demo.Options{Seed: 5})
	group := demoGroup(t, ctx, pc, "gdpr", demo.Options{Seed: 5})
	interactionsARN := "arn:aws:personalize:us-east-1:000000000000:dataset/gdpr/INTERACTIONS"
	usersARN := "arn:aws:personalize:us-east-1:000000000000:dataset/gdpr/USERS"

	// The marker user viewed items of one category only, so their personal
	// recommendations differ from a stranger's.
	var one []string
	for _, it := range data.Items {
		if it.Category == data.Items[0].Category {
			one = append(one, it.ID)
		}
	}
	var csv strings.Builder
	csv.WriteString("USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP\n")
	for i, id := range one[:min(8, len(one))] {
		fmt.Fprintf(&csv, "%s,%s,VIEWED,%d\n", marker, id, 1742000000+i*60)
	}
	if j := importAndWait(t, ctx, pc, "gdpr-marker", interactionsARN, writeCSV(t, "marker.csv", csv.String()), "INCREMENTAL"); aws.ToString(j.Status) != "ACTIVE" {
		t.Fatalf("import of the marker's interactions: %s %s", aws.ToString(j.Status), aws.ToString(j.FailureReason))
	}
	users := "USER_ID,ROLE,INDUSTRY,COMPANY_SIZE,REGION,EXPERIENCE_LEVEL,AGE\n" + marker + ",Analyst,Retail,Small,Europe,Junior,31\n"
	if j := importAndWait(t, ctx, pc, "gdpr-marker-user", usersARN, writeCSV(t, "marker-user.csv", users), "INCREMENTAL"); aws.ToString(j.Status) != "ACTIVE" {
		t.Fatalf("import of the marker's Users row: %s %s", aws.ToString(j.Status), aws.ToString(j.FailureReason))
	}
	version, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("gdpr-up"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-user-personalization-v2")})
	if st != "ACTIVE" {
		t.Fatalf("solution version ended %s", st)
	}
	campaign := deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String("gdpr-live"), SolutionVersionArn: aws.String(version)})

	// Live events: an anonymous one, then one that ties the session to the user.
	_, trackingID := createTracker(t, ctx, pc, group, "gdpr-tracker")
	ec := eventsClient(ts.URL, 0)
	for _, in := range []*personalizeevents.PutEventsInput{
		{TrackingId: aws.String(trackingID), SessionId: aws.String(session),
			EventList: []etypes.Event{{EventType: aws.String("VIEWED"), ItemId: aws.String(one[0]), SentAt: aws.Time(time.Unix(1742100000, 0))}}},
		{TrackingId: aws.String(trackingID), SessionId: aws.String(session), UserId: aws.String(marker),
			EventList: []etypes.Event{{EventType: aws.String("VIEWED"), ItemId: aws.String(one[1]), SentAt: aws.Time(time.Unix(1742100060, 0))}}},
	} {
		if _, err := ec.PutEvents(ctx, in); err != nil {
			t.Fatalf("PutEvents: %v", err)
		}
	}

	recs := func(user string) []string {
		t.Helper()
		return recommendedIDs(t, ctx, rc, campaign, user)
	}
	const stranger = "never-seen-user-0000"
	if slices.Equal(recs(marker), recs(stranger)) {
		t.Fatalf("before deletion the marker user gets a stranger's recommendations %v: the check after deletion would prove nothing", recs(marker))
	}
	if f := storeFilesWith(t, dataDir, marker); len(f) == 0 {
		t.Fatal("the marker id is not in the store's files before deletion: the byte check would prove nothing")
	}

	job := runDeletion(t, ctx, pc, "gdpr-delete", group, writeCSV(t, "delete.csv", "USER_ID\n"+marker+"\nnobody-at-all\n"))
	// 8 imported interactions, the Users row and the two streamed events.
	if aws.ToString(job.Status) != "COMPLETED" || aws.ToInt32(job.NumDeleted) != 11 {
		t.Fatalf("deletion job = %s, numDeleted %d, failure %q; want COMPLETED and 11", aws.ToString(job.Status),
			aws.ToInt32(job.NumDeleted), aws.ToString(job.FailureReason))
	}
	if aws.ToString(job.DatasetGroupArn) != group || aws.ToString(job.RoleArn) != testRole || job.DataSource == nil ||
		job.CreationDateTime == nil || job.LastUpdatedDateTime == nil || aws.ToString(job.JobName) != "gdpr-delete" {
		t.Errorf("DescribeDataDeletionJob is missing members: %+v", job)
	}
	if got, want := recs(marker), recs(stranger); !slices.Equal(got, want) {
		t.Errorf("after deletion the marker user gets %v, want what an unknown user gets, %v", got, want)
	}
	for _, mode := range []string{"ALL"} {
		_, rows := exportCSV(t, ctx, pc, interactionsARN, "gdpr-export-"+strings.ToLower(mode), mode)
		for _, r := range rows {
			if r["USER_ID"] == marker || r["SESSION_ID"] == session {
				t.Errorf("export %s still has the deleted user's row %v", mode, r)
			}
		}
		if len(rows) < len(data.Events) {
			t.Errorf("export %s has %d rows, want the other users' %d at least", mode, len(rows), len(data.Events))
		}
	}
	if _, rows := exportCSV(t, ctx, pc, usersARN, "gdpr-export-users", "ALL"); slices.ContainsFunc(rows, func(r map[string]string) bool { return r["USER_ID"] == marker }) {
		t.Error("the Users export still has the deleted user")
	}
	// A new anonymous event of the session is no longer stored as the user's.
	if _, err := ec.PutEvents(ctx, &personalizeevents.PutEventsInput{TrackingId: aws.String(trackingID), SessionId: aws.String(session),
		EventList: []etypes.Event{{EventType: aws.String("VIEWED"), ItemId: aws.String(one[2]), SentAt: aws.Time(time.Unix(1742100120, 0))}}}); err != nil {
		t.Fatal(err)
	}
	_, rows := exportCSV(t, ctx, pc, interactionsARN, "gdpr-export-after", "PUT")
	for _, r := range rows {
		if r["USER_ID"] == marker {
			t.Errorf("an anonymous event of the deleted user's session was stored as theirs: %v", r)
		}
	}
	ex := rawCall(t, ts, "ListDataDeletionJobs", `{"datasetGroupArn":"`+group+`"}`)
	if !strings.Contains(ex, `"gdpr-delete"`) || !strings.Contains(ex, `"COMPLETED"`) {
		t.Errorf("ListDataDeletionJobs = %s, want the job", ex)
	}

	// The next training lacks the user: its artifact holds no byte of the id,
	// while the one trained before did.
	version2, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("gdpr-up2"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-user-personalization-v2")})
	if st != "ACTIVE" {
		t.Fatalf("retraining ended %s", st)
	}
	before, after := artifactsWith(t, dataDir, marker, version), artifactsWith(t, dataDir, marker, version2)
	if !before || after {
		t.Errorf("marker in the artifact trained before deletion: %v (want true), after: %v (want false)", before, after)
	}

	ts.Stop(t)
	if f := storeFilesWith(t, dataDir, marker); len(f) > 0 {
		t.Errorf("the deleted user's id is still in %v after the job and a shutdown", f)
	}
	ts = startServer(t, dataDir)
	pc, rc = ts.personalizeClient(), ts.runtimeClient()
	d, err := pc.DescribeDataDeletionJob(ctx, &personalize.DescribeDataDeletionJobInput{DataDeletionJobArn: job.DataDeletionJobArn})
	if err != nil || aws.ToString(d.DataDeletionJob.Status) != "COMPLETED" {
		t.Fatalf("DescribeDataDeletionJob after restart = %+v, %v", d, err)
	}
	if f := storeFilesWith(t, dataDir, marker); len(f) > 0 {
		t.Errorf("the deleted user's id is in %v after a restart", f)
	}
	// The campaign still serves the version trained before the deletion,
	// which holds the user's factors: they must stay unused.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(campaign), UserId: aws.String(stranger)})
		if err == nil {
			break
		}
		if apiCode(err) != "ServiceUnavailable" && apiCode(err) != "ResourceNotFoundException" || time.Now().After(deadline) {
			t.Fatalf("campaign after restart: %v", err)
		}
	}
	if got, want := recs(marker), recs(stranger); !slices.Equal(got, want) {
		t.Errorf("after a restart the deleted user gets %v from the model trained before deletion, want an unknown user's %v", got, want)
	}
}

// artifactsWith reports whether a solution version's artifact files
// contain marker.
func artifactsWith(t *testing.T, dataDir, marker, versionARN string) bool {
	t.Helper()
	id := versionARN[strings.LastIndex(versionARN, "/")+1:]
	found, seen := false, false
	err := filepath.WalkDir(filepath.Join(dataDir, "artifacts"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(p, id) {
			return err
		}
		seen = true
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		found = found || bytes.Contains(b, []byte(marker))
		return nil
	})
	if err != nil || !seen {
		t.Fatalf("artifact of %s: %v (found %v)", versionARN, err, seen)
	}
	return found
}

// TestDeleteDatasetAndGroupPurgeBytes checks that DeleteDataset and
// DeleteDatasetGroup leave no byte of deleted records in the store's
// files, where the records were before.
func TestDeleteDatasetAndGroupPurgeBytes(t *testing.T) {
	dataDir := t.TempDir()
	ts := startServer(t, dataDir)
	ctx := t.Context()
	pc := ts.personalizeClient()
	const (
		inDataset = "purge-marker-dataset-31c9"
		inGroup   = "purge-marker-group-84d2"
	)
	rows := func(user string) string {
		var b strings.Builder
		b.WriteString("USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP\n")
		for i := range 50 {
			fmt.Fprintf(&b, "%s,item-%d,VIEWED,%d\n", user, i, 1742000000+i)
		}
		return b.String()
	}
	_, a := seedGroup(t, ctx, pc, "purge-a")
	groupB, b := seedGroup(t, ctx, pc, "purge-b")
	importAndWait(t, ctx, pc, "purge-a-rows", a["Interactions"], writeCSV(t, "a.csv", rows(inDataset)), "FULL")
	importAndWait(t, ctx, pc, "purge-b-rows", b["Interactions"], writeCSV(t, "b.csv", rows(inGroup)), "FULL")
	for _, m := range []string{inDataset, inGroup} {
		if len(storeFilesWith(t, dataDir, m)) == 0 {
			t.Fatalf("marker %s not in the store's files before deletion: the check would prove nothing", m)
		}
	}

	if _, err := pc.DeleteDataset(ctx, &personalize.DeleteDatasetInput{DatasetArn: aws.String(a["Interactions"])}); err != nil {
		t.Fatalf("DeleteDataset: %v", err)
	}
	if f := storeFilesWith(t, dataDir, inDataset); len(f) > 0 {
		t.Errorf("DeleteDataset returned but the records' bytes are still in %v", f)
	}
	for _, typ := range []string{"Interactions", "Users", "Items"} {
		if _, err := pc.DeleteDataset(ctx, &personalize.DeleteDatasetInput{DatasetArn: aws.String(b[typ])}); err != nil {
			t.Fatalf("DeleteDataset %s: %v", typ, err)
		}
	}
	if _, err := pc.DeleteDatasetGroup(ctx, &personalize.DeleteDatasetGroupInput{DatasetGroupArn: aws.String(groupB)}); err != nil {
		t.Fatalf("DeleteDatasetGroup: %v", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for { // the group may be deleted in the background
		_, err := pc.DescribeDatasetGroup(ctx, &personalize.DescribeDatasetGroupInput{DatasetGroupArn: aws.String(groupB)})
		if apiCode(err) == "ResourceNotFoundException" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dataset group still there after 60s: %v", err)
		}
		time.Sleep(25 * time.Millisecond)
	}
	ts.Stop(t)
	for _, m := range []string{inDataset, inGroup} {
		if f := storeFilesWith(t, dataDir, m); len(f) > 0 {
			t.Errorf("marker %s still in %v after deletion and shutdown", m, f)
		}
	}
	ts = startServer(t, dataDir)
	for _, m := range []string{inDataset, inGroup} {
		if f := storeFilesWith(t, dataDir, m); len(f) > 0 {
			t.Errorf("marker %s in %v after a restart", m, f)
		}
	}
}

// TestDataDeletionJobErrors covers bad input at create time and bad user
// lists at run time: errors name the member, row and column, never the
// file's content.
func TestDataDeletionJobErrors(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc := ts.personalizeClient()
	group, _ := seedGroup(t, ctx, pc, "dl-errs")
	good := writeCSV(t, "ok.csv", "USER_ID\nu1\n")
	create := func(name, grp, loc, role string) error {
		in := &personalize.CreateDataDeletionJobInput{JobName: aws.String(name), DatasetGroupArn: aws.String(grp),
			DataSource: &ptypes.DataSource{DataLocation: aws.String(loc)}}
		if role != "" {
			in.RoleArn = aws.String(role)
		}
		_, err := pc.CreateDataDeletionJob(ctx, in)
		return err
	}
	cases := []struct {
		name, job, group, loc, role string
		code, member                string
	}{
		{"bad location", "j2", group, "ftp://x/y.csv", testRole, "InvalidInputException", "dataSource.dataLocation"},
		{"bad name", "-j", group, good, testRole, "InvalidInputException", "jobName"},
		{"unknown group", "j3", "arn:aws:personalize:us-east-1:000000000000:dataset-group/nope", good, testRole, "ResourceNotFoundException", "nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := create(tc.job, tc.group, tc.loc, tc.role)
			if apiCode(err) != tc.code || !strings.Contains(err.Error(), tc.member) {
				t.Errorf("CreateDataDeletionJob = %v, want %s naming %s", err, tc.code, tc.member)
			}
		})
	}
	// The SDK refuses to send a request without roleArn; a raw one gets the server's answer.
	if raw := rawCall(t, ts, "CreateDataDeletionJob", `{"jobName":"j1","datasetGroupArn":"`+group+`","dataSource":{"dataLocation":"`+good+`"}}`); !strings.Contains(raw, "InvalidInputException") || !strings.Contains(raw, "roleArn") {
		t.Errorf("CreateDataDeletionJob without roleArn = %s, want InvalidInputException naming roleArn", raw)
	}
	const secret = "top-secret-cell-value-9x"
	bad := []struct{ name, content, want string }{
		{"header", "EMAIL\n" + secret + "\n", "row 1"},
		{"two columns", "USER_ID\n" + secret + ",extra\n", "row 2"},
		{"empty id", "USER_ID\nu1\n\"\"\n", "row 3 column USER_ID"},
		{"bare quote", "USER_ID\nab\"" + secret + "\n", "line 2"},
		{"long id", "USER_ID\n" + strings.Repeat(secret, 20) + "\n", "row 2 column USER_ID"},
	}
	for i, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			job := runDeletion(t, ctx, pc, fmt.Sprintf("bad-%d", i), group, writeCSV(t, "bad.csv", tc.content))
			reason := aws.ToString(job.FailureReason)
			if aws.ToString(job.Status) != "FAILED" || !strings.Contains(reason, tc.want) || strings.Contains(reason, secret) {
				t.Errorf("job = %s, failureReason %q; want FAILED naming %q without quoting the file", aws.ToString(job.Status), reason, tc.want)
			}
		})
	}
	// Listing: every job of the group, newest first, in pages.
	var names []string
	var token *string
	for {
		out, err := pc.ListDataDeletionJobs(ctx, &personalize.ListDataDeletionJobsInput{DatasetGroupArn: aws.String(group), MaxResults: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatalf("ListDataDeletionJobs: %v", err)
		}
		for _, j := range out.DataDeletionJobs {
			names = append(names, aws.ToString(j.JobName))
			if aws.ToString(j.DatasetGroupArn) != group || j.CreationDateTime == nil {
				t.Errorf("summary %+v lacks members", j)
			}
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if want := []string{"bad-4", "bad-3", "bad-2", "bad-1", "bad-0"}; !slices.Equal(names, want) {
		t.Errorf("ListDataDeletionJobs pages = %v, want %v", names, want)
	}
	if _, err := pc.DescribeDataDeletionJob(ctx, &personalize.DescribeDataDeletionJobInput{
		DataDeletionJobArn: aws.String("arn:aws:personalize:us-east-1:000000000000:data-deletion-job/none")}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("DescribeDataDeletionJob(unknown) = %v, want ResourceNotFoundException", err)
	}
}

// TestQuotas checks Personalize's default quota on dataset groups and that
// --quota changes it, with LimitExceededException naming the quota.
func TestQuotas(t *testing.T) {
	ctx := t.Context()
	t.Run("default dataset groups", func(t *testing.T) {
		ts := startServer(t, "")
		pc := ts.personalizeClient()
		for i := range 5 {
			if _, err := pc.CreateDatasetGroup(ctx, &personalize.CreateDatasetGroupInput{Name: aws.String(fmt.Sprintf("g%d", i))}); err != nil {
				t.Fatalf("CreateDatasetGroup #%d: %v", i+1, err)
			}
		}
		_, err := pc.CreateDatasetGroup(ctx, &personalize.CreateDatasetGroupInput{Name: aws.String("g5")})
		if apiCode(err) != "LimitExceededException" || !strings.Contains(err.Error(), "dataset-groups (5 per account)") {
			t.Errorf("6th CreateDatasetGroup = %v, want LimitExceededException naming dataset-groups and 5", err)
		}
	})
	t.Run("configured", func(t *testing.T) {
		ts := startServer(t, "", "--quota", "dataset-groups=1", "--quota", "pending-data-deletion-jobs-per-dataset-group=1")
		pc := ts.personalizeClient()
		seedGroup(t, ctx, pc, "q")
		_, err := pc.CreateDatasetGroup(ctx, &personalize.CreateDatasetGroupInput{Name: aws.String("q2")})
		if apiCode(err) != "LimitExceededException" || !strings.Contains(err.Error(), "dataset-groups (1 per account)") {
			t.Errorf("2nd CreateDatasetGroup = %v, want LimitExceededException naming dataset-groups and 1", err)
		}
	})
	t.Run("bad flag", func(t *testing.T) {
		var out syncBuffer
		err := run(ctx, []string{"serve", "--data-dir", t.TempDir(), "--quota", "dataset-groups=0"}, func(string) string { return "" }, &out, &out)
		if err == nil || !strings.Contains(err.Error(), "dataset-groups") {
			t.Errorf("serve --quota dataset-groups=0 = %v, want a usage error naming the quota", err)
		}
	})
}

// TestDataDeletionJobPostgres runs a data deletion job on the PostgreSQL
// backend: the rows leave every chunk (no stored chunk contains the id),
// and DeleteDataset leaves none either. What VACUUM does and does not
// guarantee about the files is in the README.
func TestDataDeletionJobPostgres(t *testing.T) {
	dsn := testenv.Postgres(t) // skips with a message when PostgreSQL is not reachable
	schema := fmt.Sprintf("attune_del_%d", rand.Uint32())
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		conn.Close(context.Background())
	})
	ts := startServer(t, t.TempDir(), "--store", dsn, "--store-schema", schema)
	ctx := t.Context()
	pc := ts.personalizeClient()
	const marker = "pg-marker-user-0c3d"
	group, arns := seedGroup(t, ctx, pc, "pgdel")
	var b strings.Builder
	b.WriteString("USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP\n")
	for i := range 40 {
		fmt.Fprintf(&b, "%s,item-%d,VIEWED,%d\nother-%d,item-%d,VIEWED,%d\n", marker, i, 1742000000+i, i, i, 1742000000+i)
	}
	importAndWait(t, ctx, pc, "pgdel-rows", arns["Interactions"], writeCSV(t, "rows.csv", b.String()), "FULL")
	stored := func() int {
		t.Helper()
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+schema+".chunks WHERE position($1::bytea in data) > 0", []byte(marker)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if stored() == 0 {
		t.Fatal("no chunk holds the marker before deletion: the check would prove nothing")
	}
	job := runDeletion(t, ctx, pc, "pgdel-job", group, writeCSV(t, "del.csv", "USER_ID\n"+marker+"\n"))
	if aws.ToString(job.Status) != "COMPLETED" || aws.ToInt32(job.NumDeleted) != 40 {
		t.Fatalf("deletion job = %s, numDeleted %d (%s); want COMPLETED, 40", aws.ToString(job.Status), aws.ToInt32(job.NumDeleted), aws.ToString(job.FailureReason))
	}
	if n := stored(); n != 0 {
		t.Errorf("%d chunks still hold the deleted user's id", n)
	}
	if _, rows := exportCSV(t, ctx, pc, arns["Interactions"], "pgdel-export", "ALL"); len(rows) != 40 {
		t.Errorf("export after deletion has %d rows, want the other users' 40", len(rows))
	}
}
