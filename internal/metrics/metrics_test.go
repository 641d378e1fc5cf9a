package metrics

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/metrics/metricstest"
	"github.com/attune-dev/attune/internal/store"
)

// scrape GETs /metrics from h and parses it.
func scrape(t *testing.T, h http.Handler) metricstest.Families {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d, want 200", rec.Code)
	}
	return metricstest.Parse(t, rec.Body)
}

func TestScrapeAfterKnownTraffic(t *testing.T) {
	reg := NewRegistry()
	m := New(reg)
	for range 3 {
		m.Request("personalize", "ListDatasetGroups", 200, 3*time.Millisecond)
	}
	m.Request("personalize", "ListDatasetGroups", 400, 30*time.Millisecond)
	m.Request("personalize-runtime", "GetRecommendations", 200, 700*time.Microsecond)
	m.EventsIngested(10)
	m.EventsIngested(5)
	m.EventsRejected("invalid", 2)
	m.EventEffectLag(1500 * time.Microsecond)
	m.ImportRows("INTERACTIONS", "imported", 90)
	m.ImportRows("INTERACTIONS", "rejected", 10)
	m.ImportRows("ITEMS", "rejected", 0) // nothing: no series for zero
	m.TrainingDuration("aws-user-personalization-v2", 2*time.Second)
	m.ModelLoaded(40 * time.Millisecond)
	RegisterLiveUsers(reg, func() map[string]int { return map[string]int{"arn:c1": 7, "arn:c2": 0} })

	fams := scrape(t, AdminHandler(reg))
	fams.Check(t, []metricstest.Want{
		{Name: "attune_requests_total", Labels: map[string]string{"api": "personalize", "operation": "ListDatasetGroups", "code": "200"}, Value: 3},
		{Name: "attune_requests_total", Labels: map[string]string{"api": "personalize", "operation": "ListDatasetGroups", "code": "400"}, Value: 1},
		{Name: "attune_requests_total", Labels: map[string]string{"api": "personalize-runtime", "operation": "GetRecommendations", "code": "200"}, Value: 1},
		{Name: "attune_events_ingested_total", Labels: nil, Value: 15},
		{Name: "attune_events_rejected_total", Labels: map[string]string{"reason": "invalid"}, Value: 2},
		{Name: "attune_import_rows_total", Labels: map[string]string{"dataset_type": "INTERACTIONS", "outcome": "imported"}, Value: 90},
		{Name: "attune_import_rows_total", Labels: map[string]string{"dataset_type": "INTERACTIONS", "outcome": "rejected"}, Value: 10},
	})
	if fams.Find("attune_import_rows_total", map[string]string{"dataset_type": "ITEMS"}) != nil {
		t.Errorf("attune_import_rows_total has an ITEMS series after 0 rows")
	}
	for _, g := range []struct {
		campaign string
		want     float64
	}{{"arn:c1", 7}, {"arn:c2", 0}} {
		if got := fams.Find("attune_live_users", map[string]string{"campaign": g.campaign}); got == nil || got.GetGauge().GetValue() != g.want {
			t.Errorf("attune_live_users{campaign=%q} = %v, want %v", g.campaign, got, g.want)
		}
	}

	// Histograms: the count, and the cumulative bucket counts around the
	// observations (3 ms and 30 ms requests of ListDatasetGroups).
	h := fams.Find("attune_request_duration_seconds", map[string]string{"api": "personalize", "operation": "ListDatasetGroups"}).GetHistogram()
	if h.GetSampleCount() != 4 {
		t.Errorf("request_duration count = %d, want 4", h.GetSampleCount())
	}
	for le, want := range map[float64]int64{0.0025: 0, 0.005: 3, 0.025: 3, 0.05: 4, 10: 4} {
		if got := metricstest.Bucket(h, le); got != want {
			t.Errorf("request_duration bucket le=%v = %d, want %d", le, got, want)
		}
	}
	for name, want := range map[string]uint64{"attune_event_effect_lag_seconds": 1, "attune_model_load_seconds": 1} {
		if got := fams[name].GetMetric()[0].GetHistogram().GetSampleCount(); got != want {
			t.Errorf("%s count = %d, want %d", name, got, want)
		}
	}
	if got := fams.Find("attune_training_duration_seconds", map[string]string{"recipe": "aws-user-personalization-v2"}); got.GetHistogram().GetSampleSum() != 2 {
		t.Errorf("training_duration sum = %v, want 2", got.GetHistogram().GetSampleSum())
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if fams[name] == nil {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

func TestAdminHandlerServesPprof(t *testing.T) {
	h := AdminHandler(NewRegistry())
	for _, tc := range []struct {
		path string
		want int
	}{{"/debug/pprof/", 200}, {"/debug/pprof/goroutine?debug=1", 200}, {"/", 200}, {"/nothing", 404}} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if rec.Code != tc.want {
			t.Errorf("GET %s = %d, want %d", tc.path, rec.Code, tc.want)
		}
	}
}

// fakeJobs lists jobs from a fixed table, in pages of two.
type fakeJobs struct {
	jobs  map[string][]string // kind -> statuses
	calls int
	err   error
}

func (f *fakeJobs) ListResources(_ context.Context, q store.ListQuery) ([]store.Resource, string, error) {
	f.calls++
	if f.err != nil {
		return nil, "", f.err
	}
	all := f.jobs[q.Kind]
	start := 0
	if q.PageToken != "" {
		start = int(q.PageToken[0] - '0')
	}
	end := min(start+2, len(all))
	var page []store.Resource
	for _, st := range all[start:end] {
		page = append(page, store.Resource{Kind: q.Kind, Status: st})
	}
	next := ""
	if end < len(all) {
		next = string(rune('0' + end))
	}
	return page, next, nil
}

func TestJobsGauge(t *testing.T) {
	now := time.Unix(1000, 0)
	f := &fakeJobs{jobs: map[string][]string{
		arn.DatasetImportJob: {"ACTIVE", "ACTIVE", "CREATE FAILED", "ACTIVE", "CREATE IN_PROGRESS"},
		arn.SolutionVersion:  {"CREATE PENDING"},
	}}
	reg := NewRegistry()
	RegisterJobs(reg, f, JobsOptions{MaxAge: time.Minute, Now: func() time.Time { return now }})
	h := AdminHandler(reg)
	check := func(kind, status string, want float64) {
		t.Helper()
		got := scrape(t, h).Find("attune_jobs", map[string]string{"kind": kind, "status": status})
		if got.GetGauge().GetValue() != want {
			t.Errorf("attune_jobs{kind=%q,status=%q} = %v, want %v", kind, status, got, want)
		}
	}
	check(arn.DatasetImportJob, "ACTIVE", 3)
	check(arn.DatasetImportJob, "CREATE FAILED", 1)
	check(arn.SolutionVersion, "CREATE PENDING", 1)
	calls := f.calls

	// Within MaxAge the count is reused; after it a failing store keeps the
	// last count rather than reporting nothing.
	f.jobs[arn.SolutionVersion] = []string{"ACTIVE"}
	check(arn.SolutionVersion, "CREATE PENDING", 1)
	if f.calls != calls {
		t.Errorf("store listed again within MaxAge: %d calls, want %d", f.calls, calls)
	}
	now = now.Add(2 * time.Minute)
	f.err = errors.New("store down")
	check(arn.SolutionVersion, "CREATE PENDING", 1)
	f.err = nil
	check(arn.SolutionVersion, "ACTIVE", 1)
}

// BenchmarkRequest is the cost the request path pays per answer: one
// counter and one histogram observation found by their labels.
//
//	go test -run x -bench Request ./internal/metrics
func BenchmarkRequest(b *testing.B) {
	m := New(NewRegistry())
	for b.Loop() {
		m.Request("personalize-runtime", "GetRecommendations", 200, time.Millisecond)
	}
}
