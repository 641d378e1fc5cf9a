package main

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	ptypes "github.com/aws/aws-sdk-go-v2/service/personalize/types"
	"github.com/aws/aws-sdk-go-v2/service/personalizeevents"
	etypes "github.com/aws/aws-sdk-go-v2/service/personalizeevents/types"
	"github.com/aws/smithy-go"
)

// eventsClient returns an AWS SDK personalize-events client for url.
func eventsClient(url string, maxConns int) *personalizeevents.Client {
	return personalizeevents.NewFromConfig(sdkConfig(testAccessKey, testSecret), func(o *personalizeevents.Options) {
		o.BaseEndpoint = aws.String(url)
		if maxConns > 0 {
			// The SDK's default transport keeps few idle connections per
			// host; many goroutines would then churn through new ones.
			o.HTTPClient = &http.Client{Transport: &http.Transport{MaxIdleConns: maxConns, MaxIdleConnsPerHost: maxConns}}
		}
	})
}

// createTracker creates the group's event tracker and waits until it is ACTIVE.
func createTracker(t testing.TB, ctx context.Context, pc *personalize.Client, groupARN, name string) (trackerARN, trackingID string) {
	t.Helper()
	out, err := pc.CreateEventTracker(ctx, &personalize.CreateEventTrackerInput{Name: aws.String(name), DatasetGroupArn: aws.String(groupARN)})
	if err != nil {
		t.Fatalf("CreateEventTracker: %v", err)
	}
	waitFor(t, "event tracker", func() (string, error) {
		d, err := pc.DescribeEventTracker(ctx, &personalize.DescribeEventTrackerInput{EventTrackerArn: out.EventTrackerArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(d.EventTracker.Status), nil
	}, "ACTIVE")
	return aws.ToString(out.EventTrackerArn), aws.ToString(out.TrackingId)
}

// exportCSV exports a dataset to a temp folder with the given ingestion
// mode and returns the CSV's header and rows.
func exportCSV(t *testing.T, ctx context.Context, pc *personalize.Client, datasetARN, job, mode string) ([]string, []map[string]string) {
	t.Helper()
	dir := t.TempDir()
	out, err := pc.CreateDatasetExportJob(ctx, &personalize.CreateDatasetExportJobInput{JobName: aws.String(job), DatasetArn: aws.String(datasetARN),
		IngestionMode: ptypes.IngestionMode(mode), RoleArn: aws.String(testRole),
		JobOutput: &ptypes.DatasetExportJobOutput{S3DataDestination: &ptypes.S3DataConfig{Path: aws.String("file://" + dir + "/")}}})
	if err != nil {
		t.Fatalf("CreateDatasetExportJob: %v", err)
	}
	var failure string
	final := waitFor(t, "export job", func() (string, error) {
		d, err := pc.DescribeDatasetExportJob(ctx, &personalize.DescribeDatasetExportJobInput{DatasetExportJobArn: out.DatasetExportJobArn})
		if err != nil {
			return "", err
		}
		failure = aws.ToString(d.DatasetExportJob.FailureReason)
		return aws.ToString(d.DatasetExportJob.Status), nil
	}, "ACTIVE", "CREATE FAILED")
	if final != "ACTIVE" {
		t.Fatalf("export job %s: %s", final, failure)
	}
	f, err := os.Open(filepath.Join(dir, job+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read export: %v", err)
	}
	var rows []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, v := range r {
			m[recs[0][i]] = v
		}
		rows = append(rows, m)
	}
	return recs[0], rows
}

// postEvents sends a SigV4-signed restJson1 request with a raw body, for
// inputs the SDK would refuse to send.
func postEvents(t *testing.T, url, path, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(t.Context(), creds, req, hex.EncodeToString(sum[:]), "personalize", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), string(b)
}

func TestEventTrackerLifecycle(t *testing.T) {
	ts := startServer(t, "")
	pc := ts.personalizeClient()
	ctx := t.Context()
	group, _ := seedGroup(t, ctx, pc, "trk")
	trackerARN, trackingID := createTracker(t, ctx, pc, group, "trk-tracker")

	d, err := pc.DescribeEventTracker(ctx, &personalize.DescribeEventTrackerInput{EventTrackerArn: aws.String(trackerARN)})
	if err != nil {
		t.Fatal(err)
	}
	et := d.EventTracker
	if aws.ToString(et.TrackingId) != trackingID || aws.ToString(et.DatasetGroupArn) != group || aws.ToString(et.AccountId) != "000000000000" ||
		et.CreationDateTime == nil || !strings.Contains(trackerARN, ":event-tracker/") {
		t.Errorf("DescribeEventTracker = %+v, want trackingId %s in %s", et, trackingID, group)
	}
	l, err := pc.ListEventTrackers(ctx, &personalize.ListEventTrackersInput{DatasetGroupArn: aws.String(group)})
	if err != nil || len(l.EventTrackers) != 1 || aws.ToString(l.EventTrackers[0].EventTrackerArn) != trackerARN {
		t.Fatalf("ListEventTrackers = %+v, %v; want the tracker", l, err)
	}

	cases := []struct {
		name string
		call func() error
		code string
	}{
		{"second tracker", func() error {
			_, err := pc.CreateEventTracker(ctx, &personalize.CreateEventTrackerInput{Name: aws.String("again"), DatasetGroupArn: aws.String(group)})
			return err
		}, "ResourceAlreadyExistsException"},
		{"delete group with a tracker", func() error {
			_, err := pc.DeleteDatasetGroup(ctx, &personalize.DeleteDatasetGroupInput{DatasetGroupArn: aws.String(group)})
			return err
		}, "ResourceInUseException"},
		{"describe missing", func() error {
			_, err := pc.DescribeEventTracker(ctx, &personalize.DescribeEventTrackerInput{EventTrackerArn: aws.String(trackerARN + "0")})
			return err
		}, "ResourceNotFoundException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ae smithy.APIError
			if err := tc.call(); !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
				t.Errorf("error = %v, want %s", err, tc.code)
			}
		})
	}
	if _, err := pc.DeleteEventTracker(ctx, &personalize.DeleteEventTrackerInput{EventTrackerArn: aws.String(trackerARN)}); err != nil {
		t.Fatal(err)
	}
	_, err = eventsClient(ts.URL, 0).PutEvents(ctx, &personalizeevents.PutEventsInput{TrackingId: aws.String(trackingID), SessionId: aws.String("s"),
		EventList: []etypes.Event{{EventType: aws.String("click"), ItemId: aws.String("i1"), SentAt: aws.Time(time.Now())}}})
	var re *awshttp.ResponseError
	var ae smithy.APIError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusNotFound || !errors.As(err, &ae) || ae.ErrorCode() != "ResourceNotFoundException" {
		t.Errorf("PutEvents with a deleted tracker = %v, want 404 ResourceNotFoundException", err)
	}
}

func TestPutEventsValidationErrors(t *testing.T) {
	ts := startServer(t, "")
	pc := ts.personalizeClient()
	ctx := t.Context()
	group, _ := seedGroup(t, ctx, pc, "val")
	_, trackingID := createTracker(t, ctx, pc, group, "val-tracker")
	ec := eventsClient(ts.URL, 0)
	ok := func() etypes.Event {
		return etypes.Event{EventType: aws.String("click"), ItemId: aws.String("i1"), SentAt: aws.Time(time.Unix(1700000000, 0))}
	}
	with := func(mod func(*etypes.Event)) []etypes.Event {
		e := ok()
		mod(&e)
		return []etypes.Event{ok(), e}
	}
	eleven := make([]etypes.Event, 11)
	for i := range eleven {
		eleven[i] = ok()
	}
	sdkCases := []struct {
		name   string
		events []etypes.Event
		member string
	}{
		{"missing itemId", with(func(e *etypes.Event) { e.ItemId = nil }), "eventList[1].itemId is required by the Interactions schema"},
		{"properties not JSON", with(func(e *etypes.Event) { e.Properties = aws.String("not json") }), "eventList[1].properties is not valid JSON"},
		{"unknown property", with(func(e *etypes.Event) { e.Properties = aws.String(`{"color":"red"}`) }), `eventList[1].properties: unknown property "color"`},
		{"too many events", eleven, "eventList has 11 events; at most 10 are allowed"},
	}
	for _, tc := range sdkCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ec.PutEvents(ctx, &personalizeevents.PutEventsInput{TrackingId: aws.String(trackingID), SessionId: aws.String("s"),
				UserId: aws.String("u1"), EventList: tc.events})
			var iie *etypes.InvalidInputException
			if !errors.As(err, &iie) || !strings.Contains(iie.ErrorMessage(), tc.member) {
				t.Errorf("PutEvents = %v, want InvalidInputException naming %q", err, tc.member)
			}
		})
	}
	rawCases := []struct {
		name, body string
		status     int
		code       string
		member     string
	}{
		{"sentAt as a string", `{"trackingId":"` + trackingID + `","sessionId":"s","eventList":[{"eventType":"click","itemId":"i","sentAt":1700000000},{"eventType":"click","itemId":"i","sentAt":"yesterday"}]}`,
			400, "InvalidInputException", "eventList[1].sentAt"},
		// The SDK cannot send such a time (it formats through UnixNano).
		{"sentAt in milliseconds", `{"trackingId":"` + trackingID + `","sessionId":"s","eventList":[{"eventType":"click","itemId":"i","sentAt":1700000000000}]}`,
			400, "InvalidInputException", "eventList[0].sentAt: value 1700000000000 for field TIMESTAMP looks like milliseconds"},
		{"no sentAt", `{"trackingId":"` + trackingID + `","sessionId":"s","eventList":[{"eventType":"click","itemId":"i"}]}`,
			400, "InvalidInputException", "eventList[0].sentAt is required"},
		{"unknown trackingId", `{"trackingId":"00000000-0000-0000-0000-000000000000","sessionId":"s","eventList":[{"eventType":"click","itemId":"i","sentAt":1700000000}]}`,
			404, "ResourceNotFoundException", "trackingId"},
		{"body not JSON", `{"trackingId":`, 400, "InvalidInputException", "not valid JSON"},
		{"fractional sentAt accepted", `{"trackingId":"` + trackingID + `","sessionId":"s","eventList":[{"eventType":"click","itemId":"i","sentAt":1700000000.25,"properties":"{\"device\":1}"}]}`,
			400, "InvalidInputException", `eventList[0].properties: unknown property \"device\"`},
	}
	for _, tc := range rawCases {
		t.Run(tc.name, func(t *testing.T) {
			status, code, body := postEvents(t, ts.URL, "/events", tc.body)
			if status != tc.status || code != tc.code || !strings.Contains(body, tc.member) {
				t.Errorf("POST /events = %d %s %s, want %d %s naming %q", status, code, body, tc.status, tc.code, tc.member)
			}
		})
	}
	if status, _, body := postEvents(t, ts.URL, "/events", `{"trackingId":"`+trackingID+`","sessionId":"s","eventList":[{"eventType":"click","itemId":"i","sentAt":1700000000.25}]}`); status != 200 || strings.TrimSpace(body) != "{}" {
		t.Errorf("valid POST /events = %d %s, want 200 {}", status, body)
	}
}

func TestPutItemsUsersEventsThenExport(t *testing.T) {
	ts := startServer(t, "")
	pc := ts.personalizeClient()
	ctx := t.Context()
	group, ds := seedGroup(t, ctx, pc, "exp")
	_, trackingID := createTracker(t, ctx, pc, group, "exp-tracker")
	ec := eventsClient(ts.URL, 0)
	if _, err := ec.PutItems(ctx, &personalizeevents.PutItemsInput{DatasetArn: aws.String(ds["Items"]), Items: []etypes.Item{
		{ItemId: aws.String("brand-new"), Properties: aws.String(`{"serviceName":"Backup, cloud","category":"storage","popularityScore":0.5}`)}}}); err != nil {
		t.Fatalf("PutItems: %v", err)
	}
	if _, err := ec.PutUsers(ctx, &personalizeevents.PutUsersInput{DatasetArn: aws.String(ds["Users"]), Users: []etypes.User{
		{UserId: aws.String("u42"), Properties: aws.String(`{"role":"admin","age":40}`)}}}); err != nil {
		t.Fatalf("PutUsers: %v", err)
	}
	_, err := ec.PutItems(ctx, &personalizeevents.PutItemsInput{DatasetArn: aws.String(ds["Items"]), Items: []etypes.Item{
		{ItemId: aws.String("x"), Properties: aws.String(`{"popularityScore":"high"}`)}}})
	var iie *etypes.InvalidInputException
	if !errors.As(err, &iie) || !strings.Contains(iie.ErrorMessage(), "items[0].properties.popularityScore") {
		t.Errorf("PutItems with a bad float = %v, want InvalidInputException naming items[0].properties.popularityScore", err)
	}
	if _, err := ec.PutEvents(ctx, &personalizeevents.PutEventsInput{TrackingId: aws.String(trackingID), SessionId: aws.String("s1"), UserId: aws.String("u42"),
		EventList: []etypes.Event{{EventId: aws.String("ev-1"), EventType: aws.String("VIEWED"), ItemId: aws.String("brand-new"), SentAt: aws.Time(time.Unix(1700000001, 0))}}}); err != nil {
		t.Fatalf("PutEvents: %v", err)
	}

	header, items := exportCSV(t, ctx, pc, ds["Items"], "items-put", "PUT")
	if len(items) != 1 || items[0]["ITEM_ID"] != "brand-new" || items[0]["SERVICE_NAME"] != "Backup, cloud" || items[0]["POPULARITY_SCORE"] != "0.5" {
		t.Errorf("items export = %v %v, want brand-new with its properties", header, items)
	}
	_, users := exportCSV(t, ctx, pc, ds["Users"], "users-all", "ALL")
	if len(users) != 1 || users[0]["USER_ID"] != "u42" || users[0]["AGE"] != "40" || users[0]["ROLE"] != "admin" {
		t.Errorf("users export = %v, want u42", users)
	}
	header, evs := exportCSV(t, ctx, pc, ds["Interactions"], "events-put", "PUT")
	if len(evs) != 1 || evs[0]["EVENT_ID"] != "ev-1" || evs[0]["USER_ID"] != "u42" || evs[0]["TIMESTAMP"] != "1700000001" || evs[0]["SESSION_ID"] != "s1" {
		t.Errorf("interactions export = %v %v, want ev-1", header, evs)
	}
	if _, bulk := exportCSV(t, ctx, pc, ds["Interactions"], "events-bulk", "BULK"); len(bulk) != 0 {
		t.Errorf("BULK export of a dataset without imports has %d rows, want 0", len(bulk))
	}
	l, err := pc.ListDatasetExportJobs(ctx, &personalize.ListDatasetExportJobsInput{DatasetArn: aws.String(ds["Interactions"])})
	if err != nil || len(l.DatasetExportJobs) != 2 {
		t.Errorf("ListDatasetExportJobs = %v, %v; want 2 jobs", l, err)
	}
}

// TestPutEventsSurvivesKill9 is the crash test of the events API: every
// acknowledged event is stored exactly once after a SIGKILL and restart.
func TestPutEventsSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary; skipped with -short")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	cmd, url := startProcess(t, bin, dir)
	pc := (&testServer{URL: url}).personalizeClient()
	ctx := t.Context()
	group, ds := seedGroup(t, ctx, pc, "crashev")
	_, trackingID := createTracker(t, ctx, pc, group, "crashev-tracker")
	ec := eventsClient(url, 64)

	const workers, target = 8, 5000
	var (
		mu      sync.Mutex
		acked   = map[string]bool{}
		sent    atomic.Int64
		enough  = make(chan struct{})
		closeIt sync.Once
		wg      sync.WaitGroup
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				evs := make([]etypes.Event, 10)
				ids := make([]string, 10)
				for k := range evs {
					ids[k] = fmt.Sprintf("w%d-%d-%d", w, n, k)
					evs[k] = etypes.Event{EventId: aws.String(ids[k]), EventType: aws.String("VIEWED"), ItemId: aws.String(fmt.Sprint("itm-", k)),
						SentAt: aws.Time(time.Unix(1700000000+int64(n), 0))}
				}
				sent.Add(10)
				_, err := ec.PutEvents(context.Background(), &personalizeevents.PutEventsInput{TrackingId: aws.String(trackingID),
					SessionId: aws.String(fmt.Sprint("s", w)), UserId: aws.String(fmt.Sprint("u", w)), EventList: evs})
				if err != nil {
					return // the server was killed
				}
				mu.Lock()
				for _, id := range ids {
					acked[id] = true
				}
				if len(acked) >= target {
					closeIt.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		}()
	}
	select {
	case <-enough:
	case <-time.After(60 * time.Second):
		t.Fatal("fewer than 5000 events acknowledged in 60s")
	}
	// Kill while the workers are still sending: some requests are in flight.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()

	_, url2 := startProcess(t, bin, dir)
	pc2 := (&testServer{URL: url2}).personalizeClient()
	_, rows := exportCSV(t, ctx, pc2, ds["Interactions"], "after-crash", "PUT")
	seen := map[string]int{}
	for _, r := range rows {
		seen[r["EVENT_ID"]]++
	}
	lost := 0
	for id := range acked {
		if seen[id] != 1 {
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged event %s stored %d times, want exactly once", id, seen[id])
			}
		}
	}
	for id, n := range seen {
		if n > 1 && !acked[id] {
			t.Errorf("unacknowledged event %s stored %d times, want at most once", id, n)
		}
	}
	t.Logf("%d events sent, %d acknowledged before SIGKILL, %d stored after restart; %d acknowledged ones missing or duplicated",
		sent.Load(), len(acked), len(rows), lost)
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged events were lost or duplicated", lost, len(acked))
	}
}
