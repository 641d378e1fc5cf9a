package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	"github.com/aws/aws-sdk-go-v2/service/personalizeevents"
	etypes "github.com/aws/aws-sdk-go-v2/service/personalizeevents/types"

	"github.com/attune-dev/attune/internal/metrics/metricstest"
)

// adminURL is the admin port the server printed in its banner.
func (ts *testServer) adminURL(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`Admin port: (http://[^/\s]+)/metrics`).FindStringSubmatch(ts.out.String())
	if m == nil {
		t.Fatalf("no admin port in the banner:\n%s", ts.out.String())
	}
	return m[1]
}

// scrapeAdmin GETs /metrics from the admin port and parses it.
func (ts *testServer) scrapeAdmin(t *testing.T) metricstest.Families {
	t.Helper()
	resp, err := http.Get(ts.adminURL(t) + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d, want 200", resp.StatusCode)
	}
	return metricstest.Parse(t, resp.Body)
}

// TestMetricsAfterKnownTraffic drives known requests, events and an import
// through the real server and reads them back from the admin port's
// /metrics: counts per operation and status, histogram buckets, events,
// import rows, jobs; and the public port serves neither /metrics nor pprof.
func TestMetricsAfterKnownTraffic(t *testing.T) {
	ts := startServer(t, "", "--min-training-interactions", "-1", "--min-training-users", "-1")
	pc := ts.personalizeClient()
	ctx := t.Context()
	for range 3 {
		if _, err := pc.ListDatasetGroups(ctx, &personalize.ListDatasetGroupsInput{}); err != nil {
			t.Fatal(err)
		}
	}
	// A made-up operation is counted as "unknown", never under its name.
	req, _ := http.NewRequest(http.MethodPost, ts.URL, strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "AmazonPersonalize.MadeUpOperation12345")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}

	group, ds := seedGroup(t, ctx, pc, "met")
	if j := importAndWait(t, ctx, pc, "met-interactions", ds["Interactions"], "file://"+testdataPath(t, "interactions.csv"), ""); aws.ToString(j.Status) != "ACTIVE" {
		t.Fatalf("import = %s, want ACTIVE", aws.ToString(j.Status))
	}
	va, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("met-pop"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-popularity-count")})
	if st != "ACTIVE" {
		t.Fatalf("solution version ended %s", st)
	}
	campaignARN := deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String("met-live"), SolutionVersionArn: aws.String(va)})
	_, trackingID := createTracker(t, ctx, pc, group, "met-tracker")
	ec := eventsClient(ts.URL, 0)
	event := func(item string) etypes.Event {
		return etypes.Event{EventType: aws.String("VIEWED"), ItemId: aws.String(item), SentAt: aws.Time(time.Unix(1742033100, 0))}
	}
	for range 2 {
		if _, err := ec.PutEvents(ctx, &personalizeevents.PutEventsInput{TrackingId: aws.String(trackingID), UserId: aws.String("usr_01"),
			SessionId: aws.String("s1"), EventList: []etypes.Event{event("srv_01"), event("srv_02"), event("srv_03")}}); err != nil {
			t.Fatalf("PutEvents: %v", err)
		}
	}
	if _, err := ec.PutEvents(ctx, &personalizeevents.PutEventsInput{TrackingId: aws.String(trackingID), SessionId: aws.String("s1"),
		EventList: []etypes.Event{event("srv_01"), {EventType: aws.String("VIEWED"), SentAt: aws.Time(time.Now())}}}); err == nil {
		t.Fatal("PutEvents without itemId succeeded")
	}

	f := ts.scrapeAdmin(t)
	f.Check(t, []metricstest.Want{
		{Name: "attune_requests_total", Labels: map[string]string{"api": "personalize", "operation": "ListDatasetGroups", "code": "200"}, Value: 3},
		{Name: "attune_requests_total", Labels: map[string]string{"api": "personalize-events", "operation": "PutEvents", "code": "200"}, Value: 2},
		{Name: "attune_requests_total", Labels: map[string]string{"api": "personalize-events", "operation": "PutEvents", "code": "400"}, Value: 1},
		{Name: "attune_requests_total", Labels: map[string]string{"api": "personalize", "operation": "CreateDatasetImportJob", "code": "200"}, Value: 1},
		{Name: "attune_events_ingested_total", Labels: nil, Value: 6},
		{Name: "attune_events_rejected_total", Labels: map[string]string{"reason": "invalid"}, Value: 2},
		{Name: "attune_import_rows_total", Labels: map[string]string{"dataset_type": "INTERACTIONS", "outcome": "imported"}, Value: 28},
		{Name: "attune_jobs", Labels: map[string]string{"kind": "dataset-import-job", "status": "ACTIVE"}, Value: 1},
		{Name: "attune_jobs", Labels: map[string]string{"kind": "solution-version", "status": "ACTIVE"}, Value: 1},
	})
	if got := f.Count("attune_requests_total", map[string]string{"api": "personalize", "operation": "unknown"}); got != 1 {
		t.Errorf(`attune_requests_total{operation="unknown"} = %v, want 1`, got)
	}
	for _, m := range f["attune_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if strings.Contains(l.GetValue(), "MadeUp") {
				t.Errorf("a label carries client input: %s=%q", l.GetName(), l.GetValue())
			}
		}
	}
	h := f.Find("attune_request_duration_seconds", map[string]string{"api": "personalize", "operation": "ListDatasetGroups"}).GetHistogram()
	if h.GetSampleCount() != 3 || metricstest.Bucket(h, 10) != 3 || metricstest.Bucket(h, 0.0005) > 3 {
		t.Errorf("ListDatasetGroups duration: count %d, le=10 %d, le=0.0005 %d; want 3, 3, at most 3",
			h.GetSampleCount(), metricstest.Bucket(h, 10), metricstest.Bucket(h, 0.0005))
	}
	// The seed sample's 10 users; usr_01, who sent the events, is one of them.
	if users := f.Count("attune_live_users", map[string]string{"campaign": campaignARN}); users != 10 {
		t.Errorf("attune_live_users{campaign=%q} = %v, want the sample's 10 users", campaignARN, users)
	}
	for name, labels := range map[string]map[string]string{"attune_training_duration_seconds": {"recipe": "aws-popularity-count"},
		"attune_model_load_seconds": nil} {
		if n := f.Find(name, labels).GetHistogram().GetSampleCount(); n != 1 {
			t.Errorf("%s%v count = %d, want 1", name, labels, n)
		}
	}
	if lag := f.Find("attune_event_effect_lag_seconds", nil).GetHistogram(); lag.GetSampleCount() != 2 {
		t.Errorf("event_effect_lag count = %d, want 2 (one per acknowledged PutEvents)", lag.GetSampleCount())
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if f[name] == nil {
			t.Errorf("/metrics lacks %s", name)
		}
	}

	// The public port has no admin routes.
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/goroutine"} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || strings.Contains(string(body), "attune_requests_total") || strings.Contains(string(body), "goroutine") {
			t.Errorf("public GET %s = %d %q, want no admin content", path, resp.StatusCode, body)
		}
	}
	resp, err := http.Get(ts.adminURL(t) + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("admin GET /debug/pprof/goroutine = %d, want 200", resp.StatusCode)
	}
}
