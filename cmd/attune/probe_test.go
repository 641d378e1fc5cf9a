package main

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			http.Error(w, "models: loading", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	env := func(string) string { return "" }
	for _, tc := range []struct {
		name      string
		args      []string
		wantErr   bool
		wantUsage bool
	}{
		{"2xx", []string{"probe", srv.URL + "/healthz"}, false, false},
		{"503", []string{"probe", srv.URL + "/readyz"}, true, false},
		{"nothing listens", []string{"probe", "http://127.0.0.1:1/healthz"}, true, false},
		{"not a URL", []string{"probe", "localhost:8080"}, true, true},
		{"no URL", []string{"probe"}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(t.Context(), tc.args, env, io.Discard, io.Discard)
			var ue usageError
			if (err != nil) != tc.wantErr || errors.As(err, &ue) != tc.wantUsage {
				t.Errorf("attune %v = %v, want error %v (usage error %v)", tc.args, err, tc.wantErr, tc.wantUsage)
			}
		})
	}
}
