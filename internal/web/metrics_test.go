package web

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attune-dev/attune/internal/accesskeys"
)

// chartRegistry holds the three families the charts read, with known
// traffic: 3 fast and 1 slow Personalize requests, console requests that
// must not count, and 12 events.
func chartRegistry(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	req := prometheus.NewCounterVec(prometheus.CounterOpts{Name: familyRequests}, []string{"api", "operation", "code"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: familyDuration, Buckets: []float64{.001, .01, .1}}, []string{"api", "operation"})
	ev := prometheus.NewCounter(prometheus.CounterOpts{Name: familyEvents})
	reg.MustRegister(req, dur, ev)
	for _, r := range []struct {
		api, op string
		secs    float64
	}{
		{"personalize", "ListDatasetGroups", .0005}, {"personalize-runtime", "GetRecommendations", .0005},
		{"personalize-runtime", "GetRecommendations", .005}, {"personalize-events", "PutEvents", .05},
		{"console", "Console", .5}, {"health", "Healthz", .0001},
	} {
		req.WithLabelValues(r.api, r.op, "200").Inc()
		dur.WithLabelValues(r.api, r.op).Observe(r.secs)
	}
	ev.Add(12)
	return reg
}

func TestConsoleMetrics(t *testing.T) {
	h, _ := newKeysHarness(t)
	hm := newHarnessWith(t, func(o *Options) { o.Metrics = chartRegistry(t) })
	root := hm.client()
	if st := hm.do(root, "GET", "/console/api/metrics", "", nil); st != http.StatusUnauthorized {
		t.Errorf("metrics before login = %d, want 401", st)
	}
	hm.login(root)
	var got metricsOut
	if st := hm.do(root, "GET", "/console/api/metrics", "", &got); st != http.StatusOK {
		t.Fatalf("metrics = %d, want 200", st)
	}
	want := metricsOut{Time: hm.now.UnixMilli(), Requests: 4, Events: 12, Bounds: []float64{.001, .01, .1}, Cumulative: []float64{2, 3, 4, 4}}
	if got.Time != want.Time || got.Requests != want.Requests || got.Events != want.Events ||
		len(got.Bounds) != 3 || len(got.Cumulative) != 4 {
		t.Fatalf("metrics = %+v, want %+v", got, want)
	}
	for i := range want.Cumulative {
		if got.Cumulative[i] != want.Cumulative[i] || i < 3 && got.Bounds[i] != want.Bounds[i] {
			t.Errorf("metrics = %+v, want %+v", got, want)
			break
		}
	}

	// Without a registry the charts have nothing to read.
	plain := h.client()
	h.login(plain)
	if st := h.do(plain, "GET", "/console/api/metrics", "", nil); st != http.StatusNotFound {
		t.Errorf("metrics without a registry = %d, want 404", st)
	}
}

func TestConsoleMetricsRootOnly(t *testing.T) {
	fk := &fakeKeys{keys: map[string]*accesskeys.Principal{}, info: map[string]accesskeys.Info{}}
	h := newHarnessWith(t, func(o *Options) { o.AccessKeys = fk; o.Metrics = chartRegistry(t) })
	root := h.client()
	h.login(root)
	var created createdOut
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"personalize:GetRecommendations","Resource":"` + campaignARN + `"}]}`
	if st := h.do(root, "POST", "/console/api/keys", `{"name":"shop-page","policy":`+jsonString(policy)+`}`, &created); st != 200 {
		t.Fatalf("create key = %d", st)
	}
	scoped := h.client()
	if st := h.do(scoped, "POST", "/console/api/login", `{"accessKeyId":"`+created.AccessKeyID+`","secretAccessKey":"`+created.SecretAccessKey+`"}`, nil); st != 200 {
		t.Fatalf("scoped login = %d", st)
	}
	if st := h.do(scoped, "GET", "/console/api/metrics", "", nil); st != http.StatusForbidden {
		t.Errorf("metrics as a scoped key = %d, want 403", st)
	}
}
