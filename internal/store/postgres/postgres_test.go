package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/store"
	"github.com/attune-dev/attune/internal/store/storetest"
	"github.com/attune-dev/attune/internal/testenv"
)

// testMaxConns keeps each test store's pool small: many tests share one
// server whose connection slots are limited.
const testMaxConns = 4

// newSchema returns a fresh schema name for t and drops that schema, with
// everything in it, when t ends. The store creates the schema itself.
func newSchema(t testing.TB, dsn string) string {
	t.Helper()
	var b [8]byte
	rand.Read(b[:])
	name := "attune_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		// t.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// openTest opens the store in schema that the test closes on cleanup.
func openTest(t testing.TB, dsn, schema string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, Options{Schema: schema, MaxConns: testMaxConns})
	if err != nil {
		t.Fatalf("Open(schema %s): %v", schema, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// exec runs sql on a connection of its own, outside any store.
func exec(t *testing.T, dsn, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	dsn := testenv.Postgres(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t, dsn, newSchema(t, dsn)) })
}

func TestDurable(t *testing.T) {
	t.Parallel()
	dsn := testenv.Postgres(t)
	// The suite's directory names the store to reopen; here that is a schema.
	schemas := map[string]string{}
	storetest.RunDurable(t, func(t *testing.T, dir string) store.Store {
		name, ok := schemas[dir]
		if !ok {
			name = newSchema(t, dsn)
			schemas[dir] = name
		}
		return openTest(t, dsn, name)
	})
}

func TestOptions(t *testing.T) {
	t.Parallel()
	dsn := testenv.Postgres(t)
	cases := []struct {
		name string
		dsn  string
		opts Options
		want errs.Kind // Internal means success
	}{
		{"zero MaxConns means the default", dsn, Options{}, errs.Internal},
		{"explicit", dsn, Options{MaxConns: 2}, errs.Internal},
		{"one connection", dsn, Options{MaxConns: 1}, errs.Invalid},
		{"negative connections", dsn, Options{MaxConns: -3}, errs.Invalid},
		{"upper-case schema", dsn, Options{Schema: "Attune"}, errs.Invalid},
		{"quoted schema", dsn, Options{Schema: `a"; DROP SCHEMA public; --`}, errs.Invalid},
		{"schema starting with a digit", dsn, Options{Schema: "1attune"}, errs.Invalid},
		{"reserved schema prefix", dsn, Options{Schema: "pg_attune"}, errs.Invalid},
		{"schema over 63 bytes", dsn, Options{Schema: strings.Repeat("a", 64)}, errs.Invalid},
		{"malformed dsn", "postgres://[::1", Options{}, errs.Invalid},
		{"nothing listening", "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5", Options{}, errs.Unavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			if tc.want == errs.Internal && opts.Schema == "" {
				opts.Schema = newSchema(t, dsn) // not the shared default schema
			}
			s, err := Open(t.Context(), tc.dsn, opts)
			if tc.want == errs.Internal {
				if err != nil {
					t.Fatalf("Open(%+v) = %v, want nil", opts, err)
				}
				s.Close()
				return
			}
			if s != nil {
				s.Close()
			}
			if got := errs.KindOf(err); err == nil || got != tc.want {
				t.Fatalf("Open(%+v) = %v (kind %v), want %v", opts, err, got, tc.want)
			}
		})
	}
	if o, err := (Options{}).withDefaults(); err != nil || o != DefaultOptions() {
		t.Errorf("Options{}.withDefaults() = %+v, %v, want %+v", o, err, DefaultOptions())
	}
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	dsn := testenv.Postgres(t)
	ctx := t.Context()
	ms, err := migrations()
	if err != nil {
		t.Fatalf("migrations(): %v", err)
	}
	latest := ms[len(ms)-1].Version

	schema := newSchema(t, dsn)
	// Several processes starting at once against a fresh schema: the
	// advisory lock must make all of them succeed and migrate once.
	var wg sync.WaitGroup
	errc := make(chan error, 6)
	for range 6 {
		wg.Go(func() {
			s, err := Open(ctx, dsn, Options{Schema: schema, MaxConns: 2})
			if err != nil {
				errc <- err
				return
			}
			s.Close()
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Errorf("concurrent Open: %v", err)
	}

	s := openTest(t, dsn, schema)
	var got, rows int
	if err := s.pool.QueryRow(ctx, `SELECT MAX(version), COUNT(*) FROM schema_version`).Scan(&got, &rows); err != nil {
		t.Fatalf("read schema_version: %v", err)
	}
	if got != latest || rows != len(ms) {
		t.Errorf("schema_version = max %d in %d rows, want %d in %d", got, rows, latest, len(ms))
	}
	// Every table is in the store's schema, none leaked into public.
	var tables []string
	r, err := s.pool.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, schema)
	if err == nil {
		tables, err = pgx.CollectRows(r, pgx.RowTo[string])
	}
	if err != nil || strings.Join(tables, ",") != "chunks,resources,schema_version,sessions" {
		t.Errorf("tables of %s = %q, %v, want chunks, resources, schema_version, sessions", schema, tables, err)
	}

	// A schema written by a newer binary must not be opened.
	if _, err := s.pool.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, latest+1); err != nil {
		t.Fatalf("bump schema_version: %v", err)
	}
	s.Close()
	if s, err := Open(ctx, dsn, Options{Schema: schema}); err == nil {
		s.Close()
		t.Fatalf("Open(schema of version %d) = nil error, want a refusal", latest+1)
	}
}

// TestSynchronousCommit checks that a session configured to acknowledge
// commits before the WAL is flushed is put back to durable commits.
func TestSynchronousCommit(t *testing.T) {
	t.Parallel()
	dsn := testenv.Postgres(t)
	cases := []struct{ set, want string }{
		{"off", "on"},
		{"local", "local"},
		{"", ""}, // the server's own setting, whatever it is, unless off
	}
	for _, tc := range cases {
		t.Run("synchronous_commit="+tc.set, func(t *testing.T) {
			d := dsn
			if tc.set != "" {
				sep := "?"
				if strings.Contains(d, "?") {
					sep = "&"
				}
				d += sep + "synchronous_commit=" + tc.set
			}
			s := openTest(t, d, newSchema(t, dsn))
			var got string
			if err := s.pool.QueryRow(t.Context(), `SHOW synchronous_commit`).Scan(&got); err != nil {
				t.Fatalf("SHOW synchronous_commit: %v", err)
			}
			if tc.want == "" && got == "off" || tc.want != "" && got != tc.want {
				t.Errorf("synchronous_commit with %q in the DSN = %q, want %q (never off)", tc.set, got, tc.want)
			}
		})
	}
}

func TestClosed(t *testing.T) {
	t.Parallel()
	dsn := testenv.Postgres(t)
	s := openTest(t, dsn, newSchema(t, dsn))
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

// TestUnstorableValues checks that values PostgreSQL rejects but SQLite
// would take are the caller's error, not a server fault.
func TestUnstorableValues(t *testing.T) {
	t.Parallel()
	dsn := testenv.Postgres(t)
	s := openTest(t, dsn, newSchema(t, dsn))
	ctx := t.Context()
	base := time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC)
	cases := []struct {
		name string
		call func() error
	}{
		{"NUL in ARN", func() error {
			return s.CreateResource(ctx, store.Resource{ARN: "arn:\x00x", Kind: "dataset", Created: base})
		}},
		{"invalid UTF-8 in name", func() error {
			return s.CreateResource(ctx, store.Resource{ARN: "arn:y", Kind: "dataset", Name: "\xff\xfe", Created: base})
		}},
		{"NUL in dataset", func() error {
			_, err := s.AppendChunks(ctx, []store.Chunk{{Dataset: "d\x00s", Source: store.Put, Rows: 1}})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); errs.KindOf(err) != errs.Invalid {
				t.Errorf("%s = %v (kind %v), want errs.Invalid", tc.name, err, errs.KindOf(err))
			}
		})
	}
	// The store is still usable after the rejected statements.
	if _, err := s.AppendChunks(ctx, []store.Chunk{{Dataset: "ds", Source: store.Put, Rows: 1}}); err != nil {
		t.Errorf("AppendChunks after rejected values: %v", err)
	}
}

// TestScanStopsEarly checks that a scan stopped by fn or by cancellation
// gives its connection back instead of draining the rest of a large result:
// with a pool of two, a leaked connection would block the calls below.
func TestScanStopsEarly(t *testing.T) {
	t.Parallel()
	dsn := testenv.Postgres(t)
	schema := newSchema(t, dsn)
	s, err := Open(t.Context(), dsn, Options{Schema: schema, MaxConns: 2})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	ctx := t.Context()
	payload := make([]byte, 256<<10)
	cs := make([]store.Chunk, 64) // 16 MiB: more than socket buffers hold
	for i := range cs {
		cs[i] = store.Chunk{Dataset: "ds", Source: store.Put, Rows: 1, Data: payload}
	}
	if _, err := s.AppendChunks(ctx, cs); err != nil {
		t.Fatalf("AppendChunks: %v", err)
	}
	stop := errors.New("stop")
	for i := range 6 {
		sctx, cancel := context.WithCancel(ctx)
		calls := 0
		err := s.ScanChunks(sctx, "ds", "", 0, func(store.Chunk) error {
			calls++
			if i%2 == 1 {
				cancel()
				return nil
			}
			return stop
		})
		cancel()
		if want := []error{stop, context.Canceled}[i%2]; !errors.Is(err, want) || calls != 1 {
			t.Fatalf("scan %d = %v after %d calls, want %v after 1", i, err, calls, want)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if n, err := s.CountRecords(wctx, "ds"); err != nil || n != 64 {
		t.Fatalf("CountRecords after stopped scans = %d, %v, want 64, nil", n, err)
	}
	n := 0
	if err := s.ScanChunks(wctx, "ds", "", 0, func(store.Chunk) error { n++; return nil }); err != nil || n != 64 {
		t.Fatalf("full scan after stopped scans = %d chunks, %v, want 64", n, err)
	}
}

// TestAppendsTakeTurns checks that AppendChunks waits for the store's append
// lock, which keeps Put chunks visible in Seq order, and that a caller who
// gives up while waiting writes nothing.
func TestAppendsTakeTurns(t *testing.T) {
	t.Parallel()
	dsn := testenv.Postgres(t)
	s := openTest(t, dsn, newSchema(t, dsn))
	ctx := t.Context()

	holder, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer holder.Close(context.Background())
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_lock($1)`, s.appendLock); err != nil {
		t.Fatalf("take the append lock: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = s.AppendChunks(wctx, []store.Chunk{{Dataset: "ds", Source: store.Put, Rows: 1, Data: []byte("late")}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AppendChunks while another holds the append lock = %v, want context.DeadlineExceeded", err)
	}

	// Staging and other stores' appends do not wait for this lock.
	other := openTest(t, dsn, newSchema(t, dsn))
	if _, err := other.AppendChunks(ctx, []store.Chunk{{Dataset: "ds", Source: store.Put, Rows: 1}}); err != nil {
		t.Errorf("AppendChunks in another schema: %v", err)
	}
	if err := s.StageChunk(ctx, store.Chunk{Dataset: "ds", Source: store.Bulk, Job: "j", Rows: 1}); err != nil {
		t.Errorf("StageChunk while appends wait: %v", err)
	}

	if _, err := holder.Exec(ctx, `SELECT pg_advisory_unlock($1)`, s.appendLock); err != nil {
		t.Fatalf("release the append lock: %v", err)
	}
	if _, err := s.AppendChunks(ctx, []store.Chunk{{Dataset: "ds", Source: store.Put, Rows: 2, Data: []byte("now")}}); err != nil {
		t.Fatalf("AppendChunks after the lock is released: %v", err)
	}
	if n, err := s.CountRecords(ctx, "ds"); err != nil || n != 2 {
		t.Errorf("CountRecords = %d, %v, want 2: the abandoned append must not have committed", n, err)
	}
}

// TestConcurrentReplace checks that two replacing imports of one dataset
// committed at the same time leave exactly one of them.
func TestConcurrentReplace(t *testing.T) {
	t.Parallel()
	dsn := testenv.Postgres(t)
	s := openTest(t, dsn, newSchema(t, dsn))
	ctx := t.Context()
	for round := range 10 {
		jobs := []string{fmt.Sprintf("a%d", round), fmt.Sprintf("b%d", round)}
		for _, j := range jobs {
			for range 3 {
				if err := s.StageChunk(ctx, store.Chunk{Dataset: "ds", Source: store.Bulk, Job: j, Rows: 1}); err != nil {
					t.Fatalf("StageChunk: %v", err)
				}
			}
		}
		var wg sync.WaitGroup
		for _, j := range jobs {
			wg.Go(func() {
				if err := s.CommitImport(ctx, "ds", j, true); err != nil {
					t.Errorf("CommitImport(%s): %v", j, err)
				}
			})
		}
		wg.Wait()
		seen := map[string]int{}
		if err := s.ScanChunks(ctx, "ds", store.Bulk, 0, func(c store.Chunk) error { seen[c.Job]++; return nil }); err != nil {
			t.Fatalf("ScanChunks: %v", err)
		}
		if len(seen) != 1 {
			t.Fatalf("round %d: committed jobs after two concurrent replacing commits = %v, want one", round, seen)
		}
	}
}
