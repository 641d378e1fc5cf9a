package reqlog

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestHandler(t *testing.T) {
	withKey := New("req-1")
	withKey.SetAccessKeyID("AKIA1")
	for _, tc := range []struct {
		name          string
		ctx           context.Context
		wantID, wantK any // nil: attribute absent
	}{
		{"no request", context.Background(), nil, nil},
		{"request before signature check", With(context.Background(), New("req-0")), "req-0", nil},
		{"signed request", With(context.Background(), withKey), "req-1", "AKIA1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(NewHandler(slog.NewJSONHandler(&buf, nil))).With("component", "x")
			log.InfoContext(tc.ctx, "hello", "n", 1)
			m := map[string]any{}
			if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
				t.Fatalf("line %q: %v", buf.String(), err)
			}
			if m[KeyRequestID] != tc.wantID || m[KeyAccessKeyID] != tc.wantK {
				t.Errorf("line %v: requestId = %v, accessKeyId = %v, want %v, %v", m, m[KeyRequestID], m[KeyAccessKeyID], tc.wantID, tc.wantK)
			}
			if m["component"] != "x" || m["n"] != float64(1) {
				t.Errorf("line %v lost the logger's or the record's own attributes", m)
			}
		})
	}
}

func TestHandlerLeavesRecordUnchanged(t *testing.T) {
	// A record handled twice (e.g. by a fan-out) must not collect the
	// request attributes twice.
	var buf bytes.Buffer
	h := NewHandler(slog.NewTextHandler(&buf, nil))
	ctx := With(context.Background(), New("req-2"))
	rec := slog.NewRecord(testTime, slog.LevelInfo, "m", 0)
	for range 2 {
		if err := h.Handle(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	if rec.NumAttrs() != 0 {
		t.Errorf("Handle added %d attributes to the caller's record", rec.NumAttrs())
	}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if n := strings.Count(line, "requestId="); n != 1 {
			t.Errorf("line %q has requestId %d times, want 1", line, n)
		}
	}
}

func TestNewLogger(t *testing.T) {
	for _, tc := range []struct {
		format, wantPrefix string
		wantErr            bool
	}{
		{FormatText, "time=", false},
		{FormatJSON, "{", false},
		{"", "time=", false},
		{"xml", "", true},
	} {
		t.Run(tc.format, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := NewLogger(&buf, tc.format, slog.LevelInfo)
			if (err != nil) != tc.wantErr {
				t.Fatalf("NewLogger(%q) error = %v, want error %v", tc.format, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			log.Debug("dropped")
			log.InfoContext(With(context.Background(), New("r")), "kept")
			if !strings.HasPrefix(buf.String(), tc.wantPrefix) || strings.Count(buf.String(), "\n") != 1 || !strings.Contains(buf.String(), "requestId") {
				t.Errorf("NewLogger(%q) wrote %q, want one line starting %q with the request id", tc.format, buf.String(), tc.wantPrefix)
			}
		})
	}
}

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
