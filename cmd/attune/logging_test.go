package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLogConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		c       logConfig
		wantErr string // a flag name the error must mention; "" for none
	}{
		{"defaults", logConfig{level: "info", format: "text"}, ""},
		{"json to a file", logConfig{level: "warn", format: "json", accessLog: filepath.Join(dir, "access.log")}, ""},
		{"access log on stderr", logConfig{level: "debug", format: "text", accessLog: "stderr"}, ""},
		{"bad level", logConfig{level: "loud", format: "text"}, "--log-level"},
		{"bad format", logConfig{level: "info", format: "xml"}, "--log-format"},
		{"relative access log", logConfig{level: "info", format: "text", accessLog: "access.log"}, "--access-log"},
		{"access log in a missing folder", logConfig{level: "info", format: "text", accessLog: filepath.Join(dir, "no", "access.log")}, "--access-log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			log, access, file, err := tc.c.open(&stderr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("open(%+v) error = %v, want one naming %s", tc.c, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("open(%+v) = %v", tc.c, err)
			}
			defer file.Close()
			if log == nil || (access == nil) != (tc.c.accessLog == "") {
				t.Fatalf("open(%+v) = log %v, access %v", tc.c, log, access)
			}
		})
	}
}

// TestAccessLogFileIsAppended checks that the access log goes to its file in
// the log format, at Info even when --log-level is higher, and that a restart
// appends rather than truncates.
func TestAccessLogFileIsAppended(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	c := logConfig{level: "error", format: "json", accessLog: path}
	for i := range 2 {
		var stderr bytes.Buffer
		_, access, file, err := c.open(&stderr)
		if err != nil {
			t.Fatal(err)
		}
		access.Info("access", "n", i)
		if err := file.Close(); err != nil {
			t.Fatal(err)
		}
		if stderr.Len() != 0 {
			t.Errorf("access line went to stderr too: %q", stderr.String())
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("access log has %d lines, want 2: %q", len(lines), b)
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["n"] != float64(i) {
			t.Errorf("line %d = %q (%v), want JSON with n=%d", i, l, err, i)
		}
	}
}

// TestAccessLogReopenedOnHangup renames the access log as logrotate does and
// sends the process SIGHUP: later lines go to a new file at the old path,
// earlier ones stay in the renamed file.
func TestAccessLogReopenedOnHangup(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	c := logConfig{level: "info", format: "json", accessLog: path}
	var stderr bytes.Buffer
	_, access, file, err := c.open(&stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	logged := &syncBuffer{}
	stop := file.reopenOnHangup(t.Context(), slog.New(slog.NewTextHandler(logged, nil)))
	defer stop()
	access.Info("access", "n", 1)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if strings.Contains(logged.String(), "access log reopened") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("access log not reopened 10 s after SIGHUP; log: %q", logged.String())
		}
	}
	access.Info("access", "n", 2)
	for name, want := range map[string]string{path + ".1": `"n":1`, path: `"n":2`} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(b)); strings.Count(got, "\n") != 0 || !strings.Contains(got, want) {
			t.Errorf("%s = %q, want one line with %s", filepath.Base(name), got, want)
		}
	}
}
