package api

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordedRequest is one RequestMetrics.Request call.
type recordedRequest struct {
	api, op string
	code    int
}

// requestRecorder is a RequestMetrics that keeps every call.
type requestRecorder struct {
	mu   sync.Mutex
	seen []recordedRequest
}

func (r *requestRecorder) Request(api, op string, code int, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, recordedRequest{api, op, code})
}

// last returns the latest call and forgets them all.
func (r *requestRecorder) last() (recordedRequest, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.seen)
	if n == 0 {
		return recordedRequest{}, 0
	}
	last := r.seen[n-1]
	r.seen = nil
	return last, n
}

func newMetricsServer() (*Server, *requestRecorder) {
	rec := &requestRecorder{}
	s := New(Deps{Runtime: cannedRuntime{}, Events: fakeEvents{}}, Options{Credentials: map[string]string{"AKID": "SECRET"}, Metrics: rec},
		slog.New(slog.DiscardHandler))
	return s, rec
}

func TestRequestLabels(t *testing.T) {
	s, rec := newMetricsServer()
	for _, tc := range []struct {
		name, method, path, target string
		want                       recordedRequest
	}{
		// Unsigned: each is refused (403) but counted under its operation.
		{"control plane", "POST", "/", "AmazonPersonalize.ListDatasetGroups", recordedRequest{apiControl, "ListDatasetGroups", 403}},
		{"unknown operation", "POST", "/", "AmazonPersonalize.ListEverything", recordedRequest{apiControl, "unknown", 403}},
		{"foreign target", "POST", "/", "DynamoDB_20120810.ListTables", recordedRequest{apiControl, "unknown", 403}},
		{"runtime", "POST", "/recommendations", "", recordedRequest{apiRuntime, "GetRecommendations", 403}},
		{"ranking", "POST", "/personalize-ranking", "", recordedRequest{apiRuntime, "GetPersonalizedRanking", 403}},
		{"events", "POST", "/events", "", recordedRequest{apiEvents, "PutEvents", 403}},
		{"users", "POST", "/users", "", recordedRequest{apiEvents, "PutUsers", 403}},
		{"health", "GET", "/healthz", "", recordedRequest{apiHealth, "Healthz", 200}},
		{"readiness", "GET", "/readyz", "", recordedRequest{apiHealth, "Readyz", 200}},
		{"no route", "GET", "/metrics", "", recordedRequest{apiOther, "unknown", 404}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, strings.NewReader("{}"))
			if tc.target != "" {
				r.Header.Set("X-Amz-Target", tc.target)
			}
			s.ServeHTTP(httptest.NewRecorder(), r)
			got, n := rec.last()
			if n != 1 || got != tc.want {
				t.Errorf("%s %s (%s) recorded %+v (%d calls), want %+v once", tc.method, tc.path, tc.target, got, n, tc.want)
			}
		})
	}
}

// FuzzRequestLabels: whatever target and path a client sends, the labels
// recorded come from the server's fixed tables, so the metric's series stay
// bounded.
func FuzzRequestLabels(f *testing.F) {
	f.Add("AmazonPersonalize.ListDatasetGroups", "/", "POST")
	f.Add("AmazonPersonalize.Nope", "/", "POST")
	f.Add("", "/recommendations", "POST")
	f.Add("", "/console/api/x", "GET")
	f.Add("", "/healthz/extra", "GET")
	f.Add("AmazonPersonalize.", "/events", "PUT")
	s, rec := newMetricsServer()
	ops := map[string]bool{"unknown": true}
	for name := range s.control {
		ops[name] = true
	}
	for _, op := range restOperations {
		ops[op] = true
	}
	for _, p := range pathOperations {
		ops[p.op] = true
	}
	apis := map[string]bool{apiControl: true, apiRuntime: true, apiEvents: true, apiConsole: true, apiHealth: true, apiOther: true}
	f.Fuzz(func(t *testing.T, target, path, method string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		r := &http.Request{Method: method, URL: &url.URL{Path: path}, Header: http.Header{}, Body: http.NoBody, RequestURI: path, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
		if target != "" {
			r.Header.Set("X-Amz-Target", target)
		}
		r = r.WithContext(t.Context())
		s.ServeHTTP(httptest.NewRecorder(), r)
		got, n := rec.last()
		if n != 1 || !apis[got.api] || !ops[got.op] || got.code < 100 || got.code > 599 {
			t.Fatalf("target %q path %q method %q recorded %+v (%d calls): labels outside the fixed tables", target, path, method, got, n)
		}
	})
}
