package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/attune-dev/attune/internal/metrics"
	"github.com/attune-dev/attune/internal/serving"
)

// cannedRuntime answers every call with the same 25 explained items, so the
// benchmark below measures the API layer alone.
type cannedRuntime struct{ res *serving.Result }

func (c cannedRuntime) Recommend(context.Context, serving.Request) (*serving.Result, error) {
	return c.res, nil
}
func (c cannedRuntime) Rank(context.Context, serving.Request) (*serving.Result, error) {
	return c.res, nil
}

// BenchmarkGetRecommendationsAPI measures what the HTTP layer adds to a
// GetRecommendations answer in process: SigV4 verification, JSON decoding
// and encoding of 25 explained items (no network, no model).
//
//	go test -run x -bench GetRecommendationsAPI ./internal/api
func BenchmarkGetRecommendationsAPI(b *testing.B) { benchGetRecommendations(b, nil) }

// BenchmarkGetRecommendationsAPIMetrics is BenchmarkGetRecommendationsAPI
// with Prometheus request metrics recorded (metrics.go): the difference is
// what a counter and a histogram observation cost per request.
//
//	go test -run x -bench GetRecommendationsAPI ./internal/api
func BenchmarkGetRecommendationsAPIMetrics(b *testing.B) {
	benchGetRecommendations(b, metrics.New(prometheus.NewRegistry()))
}

func benchGetRecommendations(b *testing.B, m RequestMetrics) {
	items := make([]serving.Item, 25)
	for i := range items {
		sc := 1.0 / 25
		items[i] = serving.Item{ID: fmt.Sprintf("itm_%06d", i), Score: &sc,
			Because: []serving.Because{{ItemID: "itm_000001", EventType: "VIEWED", Contribution: 0.6}, {ItemID: "itm_000002", EventType: "VIEWED", Contribution: 0.4}}}
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := New(Deps{Runtime: cannedRuntime{&serving.Result{Items: items, RecommendationID: "RID-x"}}},
		Options{Credentials: map[string]string{"AKID": "SECRET"}, Now: func() time.Time { return now }, Metrics: m},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	body := []byte(`{"campaignArn":"arn:aws:personalize:us-east-1:000000000000:campaign/bench","userId":"usr_000001"}`)
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET"}
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:8080/recommendations", nil)
	req.Header.Set("Content-Type", "application/json")
	if err := signer.SignHTTP(context.Background(), creds, req, hash, "personalize", "us-east-1", now); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		r := req.Clone(context.Background())
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
