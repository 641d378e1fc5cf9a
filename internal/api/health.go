package api

import (
	"context"
	"io"
	"net/http"
)

// readiness says whether the server is ready for traffic (a
// *health.Readiness): nil, or why not. The reason is logged by the
// checker and never sent.
type readiness interface {
	Ready(ctx context.Context) error
}

// registerHealth mounts the unsigned probes: /healthz answers while the
// process serves HTTP; /readyz answers 200 once ready is (nil means
// always) and 503 before, e.g. while models load at startup. Either body
// is a status word only, so an anonymous caller learns nothing more.
func registerHealth(s *Server, ready readiness) {
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusOK, "ok")
	})
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if ready != nil {
			if err := ready.Ready(r.Context()); err != nil {
				writeStatus(w, http.StatusServiceUnavailable, "not ready")
				return
			}
		}
		writeStatus(w, http.StatusOK, "ready")
	})
}

func writeStatus(w http.ResponseWriter, status int, word string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"status":"`+word+`"}`)
}
