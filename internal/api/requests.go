package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/attune-dev/attune/internal/reqlog"
)

// pathOperations names the unsigned routes by path prefix.
var pathOperations = []struct{ prefix, op string }{
	{"/console", "Console"},
	{"/healthz", "Healthz"},
	{"/readyz", "Readyz"},
}

// beginRequest gives the request its id (answered as x-amzn-RequestId) and
// a reqlog.Request in its context, so every line logged with that context
// carries the id and, once the signature is verified, the access key id.
// The returned writer and request count the bytes answered and read; end
// writes the access-log line when AccessLog is set and records the request
// in Metrics when that is set (metrics.go).
func (s *Server) beginRequest(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, func()) {
	id := uuid.NewString()
	w.Header().Set("X-Amzn-RequestId", id)
	rq := reqlog.New(id)
	for _, p := range pathOperations {
		if strings.HasPrefix(r.URL.Path, p.prefix) {
			rq.SetOperation(p.op)
		}
	}
	r = r.WithContext(reqlog.With(r.Context(), rq))
	if s.opts.AccessLog == nil && s.opts.Metrics == nil {
		return w, r, func() {}
	}
	start := time.Now()
	rec := &recordingWriter{ResponseWriter: w}
	body := &countingBody{ReadCloser: r.Body}
	r.Body = body
	client := r.RemoteAddr
	return rec, r, func() {
		op := rq.Operation()
		if op == "" {
			op = "unknown"
		}
		status := rec.status
		if status == 0 {
			// Nothing written: net/http answers 200 with an empty body.
			status = http.StatusOK
		}
		elapsed := time.Since(start)
		if s.opts.Metrics != nil {
			s.opts.Metrics.Request(apiOf(r, rq.Operation()), op, status, elapsed)
		}
		if s.opts.AccessLog == nil {
			return
		}
		s.opts.AccessLog.LogAttrs(context.Background(), slog.LevelInfo, "access",
			slog.String("operation", op), slog.Int("status", status),
			slog.Float64("durationMs", float64(elapsed.Microseconds())/1000),
			slog.Int64("bytesIn", body.n), slog.Int64("bytesOut", rec.n),
			slog.String(reqlog.KeyRequestID, id), slog.String(reqlog.KeyAccessKeyID, rq.AccessKeyID()),
			slog.String("client", client))
	}
}

// setOperation records the operation a request calls in its log context.
func setOperation(r *http.Request, op string) {
	if rq := reqlog.From(r.Context()); rq != nil {
		rq.SetOperation(op)
	}
}

// setAccessKeyID records who signed a request in its log context.
func setAccessKeyID(r *http.Request, id string) {
	if rq := reqlog.From(r.Context()); rq != nil {
		rq.SetAccessKeyID(id)
	}
}

// recordingWriter remembers the status and counts the body bytes written.
type recordingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *recordingWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 { // 1xx answers are interim
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// countingBody counts the request body bytes the handlers read.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}
