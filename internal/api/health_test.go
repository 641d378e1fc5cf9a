package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

type fakeReadiness struct{ err error }

func (f *fakeReadiness) Ready(context.Context) error { return f.err }

func TestProbes(t *testing.T) {
	secret := "campaign arn:aws:personalize:us-east-1:000000000000:campaign/private: model not loaded yet"
	ready := &fakeReadiness{err: errors.New(secret)}
	s := New(Deps{Readiness: ready}, Options{}, slog.New(slog.DiscardHandler))
	for _, tc := range []struct {
		name, path string
		err        error
		wantCode   int
		wantBody   string
	}{
		{"alive while loading", "/healthz", errors.New(secret), 200, `{"status":"ok"}`},
		{"not ready while loading", "/readyz", errors.New(secret), 503, `{"status":"not ready"}`},
		{"ready", "/readyz", nil, 200, `{"status":"ready"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ready.err = tc.err
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			if rec.Code != tc.wantCode || rec.Body.String() != tc.wantBody {
				t.Errorf("GET %s = %d %s, want %d %s", tc.path, rec.Code, rec.Body, tc.wantCode, tc.wantBody)
			}
		})
	}
	// Without a checker the server is ready whenever it answers.
	rec := httptest.NewRecorder()
	New(Deps{}, Options{}, slog.New(slog.DiscardHandler)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != 200 {
		t.Errorf("GET /readyz without a checker = %d, want 200", rec.Code)
	}
}
