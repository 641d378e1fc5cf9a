package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
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

// runOperator runs `attune ARGS` (backup or restore) with env as its
// environment and returns its stdout, stderr and error.
func runOperator(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), args, func(k string) string { return env[k] }, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// mustRunOperator is runOperator failing the test on error.
func mustRunOperator(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	out, errOut, err := runOperator(t, env, args...)
	if err != nil {
		t.Fatalf("attune %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// eventLoad sends PutEvents with unique event ids from one goroutine until
// stopped, remembering which ones the server acknowledged.
type eventLoad struct {
	mu    sync.Mutex
	acked []string
	calls []loadCall // every acknowledged call, in order
	fails []error    // every failed call
	stop  chan struct{}
	done  chan struct{}
}

func startEventLoad(ec *personalizeevents.Client, trackingID string) *eventLoad {
	return startEventLoadAs(ec, trackingID, "load")
}

// startEventLoadAs is startEventLoad with event, session and user ids that
// start with prefix, so loads run one after another never share an event id.
func startEventLoadAs(ec *personalizeevents.Client, trackingID, prefix string) *eventLoad {
	l := &eventLoad{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for n := 0; ; n++ {
			select {
			case <-l.stop:
				return
			default:
			}
			evs := make([]etypes.Event, 5)
			ids := make([]string, len(evs))
			for k := range evs {
				ids[k] = fmt.Sprintf("%s-%d-%d", prefix, n, k)
				evs[k] = etypes.Event{EventId: aws.String(ids[k]), EventType: aws.String("VIEWED"), ItemId: aws.String(fmt.Sprint("load-item-", k)),
					SentAt: aws.Time(time.Unix(1750000000+int64(n), 0))}
			}
			start := time.Now()
			_, err := ec.PutEvents(context.Background(), &personalizeevents.PutEventsInput{TrackingId: aws.String(trackingID),
				SessionId: aws.String(prefix + "-session"), UserId: aws.String(fmt.Sprint(prefix, "-user-", n%7)), EventList: evs})
			if err == nil {
				l.mu.Lock()
				l.acked = append(l.acked, ids...)
				l.calls = append(l.calls, loadCall{start: start, took: time.Since(start)})
				l.mu.Unlock()
			} else {
				l.mu.Lock()
				l.fails = append(l.fails, err)
				l.mu.Unlock()
			}
		}
	}()
	return l
}

// loadCall is one acknowledged PutEvents call of an eventLoad.
type loadCall struct {
	start time.Time
	took  time.Duration
}

// ackedSoFar returns a copy of the acknowledged event ids.
func (l *eventLoad) ackedSoFar() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.acked)
}

func (l *eventLoad) Stop() {
	close(l.stop)
	<-l.done
}

// TestBackupRestoreUnderLoad backs up a server's data dir twice while it
// serves: once with writes paused (a server on the restore answers exactly
// as the original did) and once under a PutEvents load (the restore is a
// valid store holding every event acknowledged before the backup started,
// each once). An access key made with `attune keys create` works on the
// restored data.
func TestBackupRestoreUnderLoad(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc, rc := ts.personalizeClient(), ts.runtimeClient()
	group := demoGroup(t, ctx, pc, "bk", demo.Options{Seed: 5})
	v, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("bk-up"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-user-personalization")})
	if st != "ACTIVE" {
		t.Fatalf("solution version ended %s", st)
	}
	campaign := deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String("bk-campaign"), SolutionVersionArn: aws.String(v),
		CampaignConfig: &ptypes.CampaignConfig{ItemExplorationConfig: map[string]string{"explorationWeight": "0"}}})
	_, trackingID := createTracker(t, ctx, pc, group, "bk-tracker")
	keyID, keySecret := createAccessKey(t, ts, "bk-reader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["personalize:List*","personalize:Describe*"],"Resource":"*"}]}`)
	ec := eventsClient(ts.URL, 0)
	// Events sent before the quiet backup shape the answers compared after it.
	if _, err := ec.PutEvents(ctx, &personalizeevents.PutEventsInput{TrackingId: aws.String(trackingID), SessionId: aws.String("bk-s"),
		UserId: aws.String("usr_0003"), EventList: []etypes.Event{{EventType: aws.String("PURCHASED"), ItemId: aws.String("srv_0004"), SentAt: aws.Time(time.Now())}}}); err != nil {
		t.Fatalf("PutEvents: %v", err)
	}
	users := []string{"usr_0001", "usr_0003", "usr_0010", "usr_0042", "new-user"}
	answers := func(rc *personalizeruntime.Client) map[string][]string {
		t.Helper()
		out := map[string][]string{}
		for _, u := range users {
			in := &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(campaign), UserId: aws.String(u), NumResults: 10}
			r, err := rc.GetRecommendations(ctx, in)
			// A server just started answers 503 until the campaign's model is loaded.
			for deadline := time.Now().Add(20 * time.Second); apiCode(err) == "ServiceUnavailable" && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
				r, err = rc.GetRecommendations(ctx, in)
			}
			if err != nil {
				t.Fatalf("GetRecommendations %s: %v", u, err)
			}
			out[u] = ids(r.ItemList)
		}
		return out
	}
	want := answers(rc)
	if len(want["usr_0003"]) != 10 {
		t.Fatalf("original answers %v, want 10 items per user", want)
	}

	quiet := filepath.Join(t.TempDir(), "quiet")
	out := mustRunOperator(t, nil, "backup", "--to", "file://"+quiet+"/", "--data-dir", ts.DataDir)
	if !strings.Contains(out, "Backed up") {
		t.Errorf("backup printed %q", out)
	}
	if info, err := os.Stat(quiet); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("backup folder mode = %v (%v), want 0700", info.Mode().Perm(), err)
	}

	// The second backup runs while PutEvents keeps writing.
	load := startEventLoad(eventsClient(ts.URL, 0), trackingID)
	deadline := time.Now().Add(30 * time.Second)
	for len(load.ackedSoFar()) < 500 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	before := load.ackedSoFar()
	busy := filepath.Join(t.TempDir(), "busy")
	mustRunOperator(t, nil, "backup", "--to", "file://"+busy+"/", "--data-dir", ts.DataDir)
	during := len(load.ackedSoFar()) - len(before)
	time.Sleep(100 * time.Millisecond)
	load.Stop()
	if len(before) < 500 {
		t.Fatalf("only %d events acknowledged before the backup in 30s", len(before))
	}
	if len(load.fails) > 0 {
		t.Errorf("%d PutEvents calls failed while the backup ran, first: %v", len(load.fails), load.fails[0])
	}
	t.Logf("%d events acknowledged before the busy backup, %d while it ran, %d in all", len(before), during, len(load.ackedSoFar()))
	ts.Stop(t)

	// Restore the quiet backup: the same answers, and the key still works.
	quietDir := filepath.Join(t.TempDir(), "restored-quiet")
	mustRunOperator(t, nil, "restore", "--from", "file://"+quiet+"/", "--data-dir", quietDir)
	if info, err := os.Stat(filepath.Join(quietDir, "master.key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("restored master.key: %v, %v; want mode 0600", info, err)
	}
	ts1 := startServer(t, quietDir)
	if got := answers(ts1.runtimeClient()); !mapsEqualStrings(got, want) {
		t.Errorf("restored server answers %v, want the original's %v", got, want)
	}
	if _, err := ts1.clientAs(keyID, keySecret).ListDatasetGroups(ctx, &personalize.ListDatasetGroupsInput{}); err != nil {
		t.Errorf("access key after restore: %v", err)
	}
	if _, err := ts1.clientAs(keyID, keySecret).DeleteCampaign(ctx, &personalize.DeleteCampaignInput{CampaignArn: aws.String(campaign)}); apiCode(err) != "AccessDeniedException" {
		t.Errorf("restored key beyond its policy = %v, want AccessDeniedException", err)
	}
	ts1.Stop(t)

	// Restore the busy backup: every event acknowledged before it began is
	// there exactly once.
	busyDir := filepath.Join(t.TempDir(), "restored-busy")
	mustRunOperator(t, nil, "restore", "--from", "file://"+busy+"/", "--data-dir", busyDir)
	ts2 := startServer(t, busyDir)
	interactions := "arn:aws:personalize:us-east-1:000000000000:dataset/bk/INTERACTIONS"
	_, rows := exportCSV(t, ctx, ts2.personalizeClient(), interactions, "bk-after-restore", "PUT")
	seen := map[string]int{}
	for _, r := range rows {
		seen[r["EVENT_ID"]]++
	}
	for _, id := range before {
		if seen[id] != 1 {
			t.Fatalf("event %s, acknowledged before the backup, is in the restore %d times, want once", id, seen[id])
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("event %s is in the restore %d times", id, n)
		}
	}
	if _, err := ts2.clientAs(keyID, keySecret).ListDatasetGroups(ctx, &personalize.ListDatasetGroupsInput{}); err != nil {
		t.Errorf("access key after the busy restore: %v", err)
	}
	t.Logf("busy restore holds %d PUT events (%d acknowledged before the backup)", len(rows), len(before))
}

func testdataPath(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mapsEqualStrings(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// TestBackupRefusals checks what backup and restore refuse, and that the
// messages say why.
func TestBackupRefusals(t *testing.T) {
	ts := startServer(t, "")
	folder := filepath.Join(t.TempDir(), "b")
	mustRunOperator(t, nil, "backup", "--to", "file://"+folder+"/", "--data-dir", ts.DataDir)
	target := t.TempDir()
	if err := os.WriteFile(filepath.Join(target, "keep.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string // in the error
	}{
		{"backup into a used folder", []string{"backup", "--to", "file://" + folder + "/", "--data-dir", ts.DataDir}, "empty folder"},
		{"backup of PostgreSQL", []string{"backup", "--to", "file://" + t.TempDir() + "/x/", "--store", "postgres://127.0.0.1/test"}, "pg_dump"},
		{"backup into the data dir", []string{"backup", "--to", "file://" + ts.DataDir + "/backups/", "--data-dir", ts.DataDir}, "contain each other"},
		{"backup to a file", []string{"backup", "--to", "file://" + t.TempDir() + "/x.tar", "--data-dir", ts.DataDir}, "ending in '/'"},
		{"backup without --to", []string{"backup", "--data-dir", ts.DataDir}, "--to is required"},
		{"backup of an empty dir", []string{"backup", "--to", "file://" + t.TempDir() + "/y/", "--data-dir", t.TempDir()}, "no store"},
		{"restore into a non-empty dir", []string{"restore", "--from", "file://" + folder + "/", "--data-dir", target}, "not empty"},
		{"restore from a non-backup", []string{"restore", "--from", "file://" + t.TempDir() + "/", "--data-dir", filepath.Join(t.TempDir(), "n")}, "manifest.json"},
		{"restore with a relative path", []string{"restore", "--from", "file://backups/", "--data-dir", filepath.Join(t.TempDir(), "n")}, "absolute"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runOperator(t, nil, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("attune %s = %v, want an error mentioning %q", strings.Join(tc.args, " "), err, tc.want)
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(target, "keep.txt")); err != nil || string(b) != "x" {
		t.Errorf("refused restore touched the existing file: %q, %v", b, err)
	}
}

// TestBackupToS3 backs up to and restores from an S3 bucket (versitygw).
func TestBackupToS3(t *testing.T) {
	s3srv := testenv.S3(t)
	s3srv.CreateBucket(t, "attune-backups")
	env := map[string]string{"AWS_ENDPOINT_URL_S3": s3srv.Endpoint, "AWS_ACCESS_KEY_ID": s3srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY": s3srv.SecretKey, "AWS_REGION": s3srv.Region}
	ts := startServer(t, "")
	ctx := t.Context()
	pc := ts.personalizeClient()
	_, ds := seedGroup(t, ctx, pc, "bks3")
	if j := importAndWait(t, ctx, pc, "bks3-interactions", ds["Interactions"], "file://"+testdataPath(t, "interactions.csv"), ""); aws.ToString(j.Status) != "ACTIVE" {
		t.Fatalf("import: %s", aws.ToString(j.FailureReason))
	}
	mustRunOperator(t, env, "backup", "--to", "s3://attune-backups/nightly/1/", "--data-dir", ts.DataDir)
	if _, _, err := runOperator(t, env, "backup", "--to", "s3://attune-backups/nightly/1/", "--data-dir", ts.DataDir); err == nil || !strings.Contains(err.Error(), "empty folder") {
		t.Errorf("second backup to the same prefix = %v, want a refusal", err)
	}
	ts.Stop(t)
	want := countRecords(t, ts.DataDir, ds["Interactions"])

	restored := filepath.Join(t.TempDir(), "restored")
	mustRunOperator(t, env, "restore", "--from", "s3://attune-backups/nightly/1/", "--data-dir", restored)
	if got := countRecords(t, restored, ds["Interactions"]); got != want || want == 0 {
		t.Errorf("restored interactions = %d, want %d", got, want)
	}
	ts2 := startServer(t, restored)
	if _, err := ts2.personalizeClient().DescribeDataset(ctx, &personalize.DescribeDatasetInput{DatasetArn: aws.String(ds["Items"])}); err != nil {
		t.Errorf("DescribeDataset on the restored server: %v", err)
	}
}

// TestBackupOfRunningBinary is the operator's case: `attune backup` runs as
// its own process beside a real server process that is importing nothing
// but taking PutEvents, and the server is then killed with SIGKILL. The
// restore, served by the binary, holds the bulk data and every event
// acknowledged before the backup began, each once.
func TestBackupOfRunningBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the real binary; skipped with -short")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	server, url := startProcess(t, bin, dir)
	ctx := t.Context()
	pc := (&testServer{URL: url}).personalizeClient()
	group, ds := seedGroup(t, ctx, pc, "bkbin")
	const rows = 200000
	var b strings.Builder
	b.WriteString("USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP\n")
	for i := range rows {
		fmt.Fprintf(&b, "u%d,i%d,VIEWED,%d\n", i%5000, i%20000, 1700000000+i)
	}
	csvPath := filepath.Join(t.TempDir(), "interactions.csv")
	if err := os.WriteFile(csvPath, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if j := importAndWait(t, ctx, pc, "bkbin-import", ds["Interactions"], "file://"+csvPath, ""); aws.ToString(j.Status) != "ACTIVE" {
		t.Fatalf("import: %s", aws.ToString(j.FailureReason))
	}
	_, trackingID := createTracker(t, ctx, pc, group, "bkbin-tracker")
	load := startEventLoad(eventsClient(url, 0), trackingID)
	deadline := time.Now().Add(30 * time.Second)
	for len(load.ackedSoFar()) < 300 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	before := load.ackedSoFar()
	folder := filepath.Join(t.TempDir(), "backup")
	operator := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("attune %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	operator("backup", "--to", "file://"+folder+"/", "--data-dir", dir)
	time.Sleep(50 * time.Millisecond)
	if err := server.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = server.Wait()
	load.Stop()
	if len(before) < 300 {
		t.Fatalf("only %d events acknowledged before the backup", len(before))
	}

	restored := filepath.Join(t.TempDir(), "restored")
	operator("restore", "--from", "file://"+folder+"/", "--data-dir", restored)
	server2, url2 := startProcess(t, bin, restored)
	_, events := exportCSV(t, ctx, (&testServer{URL: url2}).personalizeClient(), ds["Interactions"], "bkbin-after", "PUT")
	seen := map[string]int{}
	for _, r := range events {
		seen[r["EVENT_ID"]]++
	}
	for _, id := range before {
		if seen[id] != 1 {
			t.Fatalf("event %s, acknowledged before the backup, is in the restore %d times, want once", id, seen[id])
		}
	}
	_ = server2.Process.Kill()
	_ = server2.Wait()
	if n := countRecords(t, restored, ds["Interactions"]); n != int64(rows+len(events)) {
		t.Errorf("restored interactions = %d, want the %d imported and the %d sent", n, rows, len(events))
	}
	t.Logf("%d events acknowledged before the backup, %d in the restore, %d in all", len(before), len(events), len(load.ackedSoFar()))
}
