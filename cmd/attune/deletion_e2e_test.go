package main

import (
	"bytes"
	"context"
	"fmt"
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

	"github.com/attune-dev/attune/internal/demo"
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
		out, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(campaign),
			UserId: aws.String(user), NumResults: 10})
		if err != nil {
			t.Fatalf("GetRecommendations(%s): %v", user, err)
		}
		return ids(out.ItemList)
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
		if apiCode(err) != "ServiceUnavailableException" && apiCode(err) != "ResourceNotFoundException" || time.Now().After(deadline) {
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
