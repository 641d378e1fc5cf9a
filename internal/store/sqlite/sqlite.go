// Package sqlite implements store.Store on one SQLite database file, using
// the pure-Go modernc.org/sqlite driver (no cgo). It is the default backend of
// a single-node Attune.
//
// All writes go through one connection, so concurrent writers queue in the
// process instead of failing with SQLITE_BUSY; reads use a separate pool and,
// thanks to WAL mode, never wait for the writer. Every write commits with
// synchronous=FULL, so a nil error means the change is in the fsynced WAL.
//
// Only cmd/attune imports this package; it must not import other backends or
// domain packages.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/store"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// FileName is the name of the database file Open keeps in its directory.
const FileName = "attune.db"

// Options tunes a Store. The zero value of every field means the value
// DefaultOptions gives it.
type Options struct {
	// BusyTimeout is how long a statement waits for a lock held by another
	// connection (in practice a WAL checkpoint or another process) before
	// failing.
	BusyTimeout time.Duration
	// MaxReadConns caps the read connection pool. Zero means no cap, which
	// also means a ScanChunks callback that reads the store can never wait
	// for a connection held by the scan above it. Negative is invalid.
	MaxReadConns int
	// CacheSizeKiB is the page cache of each connection, in KiB. The default
	// is small (1 MiB) on purpose: every pooled connection fills its own
	// cache as PutEvents grows the file, and at 8 MiB a soak's RSS grew
	// ~20 MB a minute outside the Go heap, while 1 MiB left imports, scans
	// and group commits as fast (chunk blobs are read once, in order).
	CacheSizeKiB int
	// PageSize is the database page size in bytes, a power of two from 512
	// to 65536. It applies only when Open creates the database file. Large
	// pages make the long overflow chains of chunk blobs cheaper to write.
	PageSize int
}

// DefaultOptions returns the options Open uses for fields left at zero.
func DefaultOptions() Options {
	return Options{
		BusyTimeout:  10 * time.Second,
		MaxReadConns: 0,
		CacheSizeKiB: 1 << 10,
		PageSize:     16 << 10,
	}
}

// withDefaults fills the zero fields of o from DefaultOptions and validates it.
func (o Options) withDefaults() (Options, error) {
	d := DefaultOptions()
	if o.BusyTimeout == 0 {
		o.BusyTimeout = d.BusyTimeout
	}
	if o.CacheSizeKiB == 0 {
		o.CacheSizeKiB = d.CacheSizeKiB
	}
	if o.PageSize == 0 {
		o.PageSize = d.PageSize
	}
	switch {
	case o.BusyTimeout < 0:
		return o, errs.E(errs.Invalid, "sqlite: BusyTimeout %v is negative", o.BusyTimeout)
	case o.MaxReadConns < 0:
		return o, errs.E(errs.Invalid, "sqlite: MaxReadConns %d is negative", o.MaxReadConns)
	case o.CacheSizeKiB < 0:
		return o, errs.E(errs.Invalid, "sqlite: CacheSizeKiB %d is negative", o.CacheSizeKiB)
	case o.PageSize < 512 || o.PageSize > 65536 || o.PageSize&(o.PageSize-1) != 0:
		return o, errs.E(errs.Invalid, "sqlite: PageSize %d is not a power of two in 512..65536", o.PageSize)
	}
	return o, nil
}

// Store is a store.Store kept in one SQLite database. It is safe for
// concurrent use.
type Store struct {
	// w is the only connection that writes: SQLite admits one writer at a
	// time, and queueing in database/sql is cheaper and fairer than
	// SQLITE_BUSY retries.
	w *sql.DB
	// r serves reads; it is query_only so a bug cannot write around w.
	r *sql.DB
	// busyTimeout is Options.BusyTimeout, which Purge lowers for a moment.
	busyTimeout time.Duration

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open opens the store kept in dir/attune.db, creating the directory and the
// database when they do not exist and migrating an older schema to the
// current one. The caller must Close the store.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if strings.ContainsRune(dir, '?') {
		// The driver reads everything after '?' as connection parameters.
		return nil, errs.E(errs.Invalid, "sqlite: directory %q contains '?'", dir)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: create directory: %w", err)
	}
	path := filepath.Join(dir, FileName)

	w, err := sql.Open("sqlite", dsn(path, opts, true))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	// The writer lives as long as the store: reopening it would lose its
	// prepared statements and page cache for nothing.
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	// The database file and its WAL are new directory entries: sync the
	// directory so that a power loss right after Open cannot lose them.
	if err := syncDir(dir); err != nil {
		w.Close()
		return nil, err
	}

	r, err := sql.Open("sqlite", dsn(path, opts, false))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open reader: %w", err)
	}
	r.SetMaxOpenConns(opts.MaxReadConns)
	r.SetMaxIdleConns(4)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite: open reader: %w", err)
	}
	return &Store{w: w, r: r, busyTimeout: opts.BusyTimeout}, nil
}

// dsn returns the driver connection string for the writer or a reader.
func dsn(path string, o Options, writer bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(o.BusyTimeout.Milliseconds(), 10))
	q.Add("_pragma", fmt.Sprintf("cache_size(%d)", -o.CacheSizeKiB))
	if writer {
		// page_size must precede journal_mode: once the database is in WAL
		// mode its page size is fixed. The driver applies _pragma first.
		q.Add("_pragma", fmt.Sprintf("page_size(%d)", o.PageSize))
		// Deleted records must leave the file (see purge.go); ON, not
		// FAST, because FAST leaves freed overflow pages, where chunk
		// blobs live, as they were.
		q.Add("_pragma", "secure_delete(1)")
		q.Set("_journal_mode", "WAL")
		q.Set("_synchronous", "FULL")
		q.Set("_foreign_keys", "1")
		// Take the write lock at BEGIN, not at the first write, so a
		// transaction never fails half-way on a lock it could not upgrade.
		q.Set("_txlock", "immediate")
	} else {
		q.Set("_query_only", "1")
	}
	return path + "?" + q.Encode()
}

// syncDir fsyncs the directory dir.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sqlite: sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sqlite: sync directory: %w", err)
	}
	return nil
}

// Close closes both connection pools. It is idempotent; calls made after it
// fail with errs.Unavailable.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		// Readers first: the last connection to close checkpoints the WAL
		// into the database file, and that should be the writer.
		s.closeErr = errors.Join(s.r.Close(), s.w.Close())
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("sqlite: close: %w", s.closeErr)
		}
	})
	return s.closeErr
}

// check returns the error a call must fail with before it starts: the store
// is closed or the caller has given up.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return errs.E(errs.Unavailable, "store is closed")
	}
	return ctx.Err()
}

// fail wraps err with the operation op. When the context ended, the
// driver's error (often a bare SQLITE_INTERRUPT) is replaced by one that
// wraps the context's error, so callers can tell cancellation apart.
func fail(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("sqlite: %s: %w (%v)", op, cerr, err)
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// write runs fn in one write transaction and commits it.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback() // the error from fn is the one that matters
		return err
	}
	return tx.Commit()
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded migrations in version order.
func migrations() ([]store.Migration, error) {
	ms, err := store.LoadMigrations(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return ms, nil
}

// migrate brings the schema of db up to the newest embedded migration, in
// one transaction so that a crash never leaves a half-migrated database.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	err = func() error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
			return err
		}
		var current int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&current); err != nil {
			return err
		}
		if latest := ms[len(ms)-1].Version; current > latest {
			return fmt.Errorf("database schema version %d is newer than this binary's %d", current, latest)
		}
		for _, m := range ms {
			if m.Version <= current {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("apply %s: %w", m.Name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, m.Version); err != nil {
				return fmt.Errorf("record %s: %w", m.Name, err)
			}
		}
		return tx.Commit()
	}()
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}
