package sqlite

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/store"
	"github.com/attune-dev/attune/internal/store/storetest"
)

// openTest opens a store in dir that the test closes on cleanup.
func openTest(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, DefaultOptions())
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t, t.TempDir()) })
}

func TestDurable(t *testing.T) {
	storetest.RunDurable(t, func(t *testing.T, dir string) store.Store { return openTest(t, dir) })
}

func TestOptions(t *testing.T) {
	cases := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"zero means defaults", Options{}, true},
		{"defaults", DefaultOptions(), true},
		{"small pages", Options{PageSize: 4096, CacheSizeKiB: 1024, MaxReadConns: 2}, true},
		{"page size not a power of two", Options{PageSize: 5000}, false},
		{"page size too large", Options{PageSize: 1 << 17}, false},
		{"negative read conns", Options{MaxReadConns: -1}, false},
		{"negative busy timeout", Options{BusyTimeout: -time.Second}, false},
		{"negative cache", Options{CacheSizeKiB: -1}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.Context(), t.TempDir(), tc.opts)
			if tc.ok {
				if err != nil {
					t.Fatalf("Open(%+v) = %v, want nil", tc.opts, err)
				}
				s.Close()
				return
			}
			if errs.KindOf(err) != errs.Invalid {
				if s != nil {
					s.Close()
				}
				t.Fatalf("Open(%+v) = %v, want errs.Invalid", tc.opts, err)
			}
		})
	}
}

// TestPragmas checks the settings the durability and concurrency guarantees
// rest on, as each connection pool sees them.
func TestPragmas(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := t.Context()
	cases := []struct {
		name   string
		db     *sql.DB
		pragma string
		want   string
	}{
		{"writer journal", s.w, "journal_mode", "wal"},
		{"writer synchronous FULL", s.w, "synchronous", "2"},
		{"writer foreign keys", s.w, "foreign_keys", "1"},
		{"writer busy timeout", s.w, "busy_timeout", "10000"},
		{"page size", s.w, "page_size", "16384"},
		{"writer secure delete", s.w, "secure_delete", "1"},
		{"reader journal", s.r, "journal_mode", "wal"},
		{"reader query only", s.r, "query_only", "1"},
		{"reader busy timeout", s.r, "busy_timeout", "10000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			if err := tc.db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
			}
			if got != tc.want {
				t.Errorf("PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
			}
		})
	}
	if _, err := s.r.ExecContext(ctx, `DELETE FROM chunks`); err == nil {
		t.Error("a write through the read pool succeeded, want it refused")
	}
}

func TestMigrations(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	ms, err := migrations()
	if err != nil {
		t.Fatalf("migrations(): %v", err)
	}
	latest := ms[len(ms)-1].Version

	s, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	var got int
	if err := s.r.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_version`).Scan(&got); err != nil {
		t.Fatalf("read schema_version: %v", err)
	}
	if got != latest {
		t.Errorf("schema_version = %d, want %d", got, latest)
	}
	// A database written by a newer binary must not be opened.
	if _, err := s.w.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, latest+1); err != nil {
		t.Fatalf("bump schema_version: %v", err)
	}
	s.Close()
	if s, err := Open(ctx, dir, Options{}); err == nil {
		s.Close()
		t.Fatalf("Open(database of schema %d) = nil error, want a refusal", latest+1)
	}

	// Reopening at the current version applies nothing twice.
	dir2 := t.TempDir()
	openTest(t, dir2).Close()
	s2 := openTest(t, dir2)
	var n int
	if err := s2.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_version`).Scan(&n); err != nil {
		t.Fatalf("count schema_version: %v", err)
	}
	if n != len(ms) {
		t.Errorf("schema_version has %d rows after two opens, want %d", n, len(ms))
	}
}

func TestClosed(t *testing.T) {
	s := openTest(t, t.TempDir())
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := t.Context()
	_, err := s.GetResource(ctx, "dataset", "arn")
	if errs.KindOf(err) != errs.Unavailable {
		t.Errorf("GetResource after Close = %v, want errs.Unavailable", err)
	}
	_, err = s.AppendChunks(ctx, []store.Chunk{{Dataset: "ds", Source: store.Put, Rows: 1}})
	if errs.KindOf(err) != errs.Unavailable {
		t.Errorf("AppendChunks after Close = %v, want errs.Unavailable", err)
	}
}
