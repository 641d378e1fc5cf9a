package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/reqlog"
	"github.com/attune-dev/attune/internal/serving"
)

// loggingRuntime logs one line through the request's context, as domain code
// does, and answers with one item.
type loggingRuntime struct{ log *slog.Logger }

func (l loggingRuntime) Recommend(ctx context.Context, r serving.Request) (*serving.Result, error) {
	l.log.InfoContext(ctx, "domain line", "userId", r.UserID)
	return &serving.Result{Items: []serving.Item{{ID: "itm_1"}}, RecommendationID: "RID-1"}, nil
}

func (l loggingRuntime) Rank(ctx context.Context, r serving.Request) (*serving.Result, error) {
	return l.Recommend(ctx, r)
}

// jsonLines decodes every line of buf as a JSON object.
func jsonLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		m := map[string]any{}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// TestRequestLogging checks that a line domain code logs with the request's
// context carries the request id of the response and the access key that
// signed it, and that the access log has one line per request with its
// operation, status, sizes, id, key and client.
func TestRequestLogging(t *testing.T) {
	var logBuf, accessBuf bytes.Buffer
	// One logger for the server and the domain, as cmd/attune builds it.
	log := slog.New(reqlog.NewHandler(slog.NewJSONHandler(&logBuf, nil)))
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := New(Deps{Runtime: loggingRuntime{log}}, Options{Credentials: map[string]string{"AKID": "SECRET"}, Now: func() time.Time { return now },
		AccessLog: slog.New(slog.NewJSONHandler(&accessBuf, nil))}, log)
	body := `{"campaignArn":"arn:aws:personalize:us-east-1:000000000000:campaign/c","userId":"u1"}`
	for _, tc := range []struct {
		name       string
		req        *http.Request
		wantOp     string
		wantStatus int
		wantKey    string
		wantDomain bool
	}{
		{"signed runtime call", corsRequest(t, http.MethodPost, "/recommendations", "", nil, body, now), "GetRecommendations", 200, "AKID", true},
		{"unsigned runtime call", corsRequest(t, http.MethodPost, "/recommendations", "", nil, body, time.Time{}), "GetRecommendations", 403, "", false},
		{"unknown target", corsRequest(t, http.MethodPost, "/", "", map[string]string{"X-Amz-Target": "AmazonPersonalize.Nope"}, "{}", now), "unknown", 400, "AKID", false},
		{"health", httptest.NewRequest(http.MethodGet, "/healthz", nil), "Healthz", 200, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logBuf.Reset()
			accessBuf.Reset()
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, tc.req)
			id := rec.Header().Get("X-Amzn-RequestId")
			if rec.Code != tc.wantStatus || id == "" {
				t.Fatalf("status = %d, request id %q (%s), want %d and an id", rec.Code, id, rec.Body, tc.wantStatus)
			}
			access := jsonLines(t, &accessBuf)
			if len(access) != 1 {
				t.Fatalf("access log has %d lines, want 1: %s", len(access), accessBuf.String())
			}
			a := access[0]
			want := map[string]any{"msg": "access", "operation": tc.wantOp, "status": float64(tc.wantStatus), "requestId": id,
				"accessKeyId": tc.wantKey, "client": tc.req.RemoteAddr, "bytesOut": float64(rec.Body.Len())}
			for k, v := range want {
				if a[k] != v {
					t.Errorf("access log %s = %v, want %v (line %v)", k, a[k], v, a)
				}
			}
			if tc.wantStatus == 200 && tc.req.Method == http.MethodPost && a["bytesIn"] != float64(len(body)) {
				t.Errorf("access log bytesIn = %v, want %d", a["bytesIn"], len(body))
			}
			if d, ok := a["durationMs"].(float64); !ok || d < 0 {
				t.Errorf("access log durationMs = %v, want a duration", a["durationMs"])
			}
			var domain []map[string]any
			for _, l := range jsonLines(t, &logBuf) {
				if l["requestId"] != id {
					t.Errorf("log line %v does not carry the request id %s", l, id)
				}
				if l["msg"] == "domain line" {
					domain = append(domain, l)
				}
			}
			if tc.wantDomain {
				if len(domain) != 1 || domain[0]["accessKeyId"] != tc.wantKey {
					t.Errorf("domain lines = %v, want one with accessKeyId %s", domain, tc.wantKey)
				}
			}
		})
	}
}
