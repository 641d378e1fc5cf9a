// Package postgres implements store.Store on PostgreSQL through a pgx
// connection pool, so that several Attune processes can share one store.
// All tables live in one schema (Options.Schema), which Open creates and
// migrates; several stores can therefore share a database.
//
// Every write commits with synchronous_commit on (Open turns it back on for
// sessions configured with off), so a nil error means the change is in the
// flushed WAL. Reads never block writers: PostgreSQL's MVCC gives each
// statement its own snapshot.
//
// Only cmd/attune imports this package; it must not import other backends
// (store/sqlite) or domain packages.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/store"
)

// DefaultSchema is the schema Open uses when Options.Schema is empty.
const DefaultSchema = "attune"

// Options tunes a Store. The zero value of every field means the value
// DefaultOptions gives it.
type Options struct {
	// Schema is the PostgreSQL schema that holds the store's tables; Open
	// creates it when it does not exist. Empty means "attune". It must be a lower-case SQL
	// identifier (letters, digits, '_'; at most 63 bytes; not starting with
	// a digit or "pg_"), so that it never needs quoting in an operator's
	// psql session.
	Schema string
	// MaxConns caps the connection pool, in connections. Zero means 16. It
	// must be at least 2: a running ScanChunks holds one connection while
	// its callback may read or write the store through another, and each
	// nested ScanChunks holds one more.
	MaxConns int
}

// DefaultOptions returns the options Open uses for fields left at zero.
func DefaultOptions() Options {
	return Options{Schema: DefaultSchema, MaxConns: 16}
}

// withDefaults fills the zero fields of o from DefaultOptions and validates it.
func (o Options) withDefaults() (Options, error) {
	d := DefaultOptions()
	if o.Schema == "" {
		o.Schema = d.Schema
	}
	if o.MaxConns == 0 {
		o.MaxConns = d.MaxConns
	}
	if o.MaxConns < 2 || o.MaxConns > 1<<20 {
		return o, errs.E(errs.Invalid, "postgres: MaxConns %d is not in 2..%d", o.MaxConns, 1<<20)
	}
	if !validSchema(o.Schema) {
		return o, errs.E(errs.Invalid, "postgres: schema %q is not a lower-case identifier of at most 63 bytes", o.Schema)
	}
	return o, nil
}

// validSchema reports whether name is a schema name Open accepts.
func validSchema(name string) bool {
	// 63 is NAMEDATALEN-1: PostgreSQL silently truncates longer names, so two
	// long names could end up sharing one schema.
	if name == "" || len(name) > 63 || strings.HasPrefix(name, "pg_") || (name[0] >= '0' && name[0] <= '9') {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// Store is a store.Store kept in one schema of a PostgreSQL database. It is
// safe for concurrent use, also by several processes sharing the schema.
type Store struct {
	pool   *pgxpool.Pool
	schema string
	// appendLock is the advisory lock key that serializes AppendChunks of
	// this schema (see AppendChunks for why).
	appendLock int64

	closed    atomic.Bool
	closeOnce sync.Once
}

var _ store.Store = (*Store)(nil)

// Open connects to the database dsn names (a postgres:// URL or a libpq
// key=value string; Open replaces its search_path with opts.Schema), creates
// opts.Schema when it does not exist and migrates it to the current version.
// The pool connects lazily but Open needs one
// connection, so an unreachable server fails it with errs.Unavailable; a
// malformed dsn or options are errs.Invalid. The caller must Close the store.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgconn redacts the password from the error it returns.
		return nil, errs.Wrap(errs.Invalid, err, "postgres: invalid connection string")
	}
	cfg.MaxConns = int32(opts.MaxConns)
	params := cfg.ConnConfig.RuntimeParams
	// Unqualified table names in every query resolve in our schema only.
	params["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	if params["application_name"] == "" {
		params["application_name"] = "attune"
	}
	cfg.AfterConnect = requireDurableCommit

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "postgres: invalid connection settings")
	}
	if err := migrate(ctx, pool, opts.Schema); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool, schema: opts.Schema, appendLock: lockKey("append", opts.Schema)}, nil
}

// requireDurableCommit turns synchronous_commit back on for a session whose
// server, role or DSN turned it off: with off, a commit returns before its
// WAL is flushed, and the store promises that a nil error means durable.
// Every other value (local, remote_write, on, remote_apply) flushes the
// local WAL and is kept.
func requireDurableCommit(ctx context.Context, c *pgx.Conn) error {
	_, err := c.Exec(ctx, `SELECT set_config('synchronous_commit', 'on', false)
		WHERE current_setting('synchronous_commit') = 'off'`)
	if err != nil {
		return fmt.Errorf("postgres: set synchronous_commit: %w", err)
	}
	return nil
}

// lockKey returns the advisory lock key for purpose in schema. Advisory locks
// are database-wide, so the schema is part of the key: stores in other
// schemas of the same database do not wait for each other.
func lockKey(purpose, schema string) int64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "attune\x00%s\x00%s", purpose, schema)
	return int64(h.Sum64())
}

// Close closes the connection pool, waiting for connections in use (a
// running ScanChunks, say) to be released. It is idempotent; calls made after
// it fail with errs.Unavailable.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.pool.Close()
	})
	return nil
}

// check returns the error a call must fail with before it starts: the store
// is closed or the caller has given up.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return errs.E(errs.Unavailable, "store is closed")
	}
	return ctx.Err()
}

// fail wraps err with the operation op and classifies it. When the context
// ended, pgx's error (often an i/o timeout on a connection it abandoned) is
// replaced by one that wraps the context's error, so callers can tell
// cancellation apart.
func fail(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("postgres: %s: %w (%v)", op, cerr, err)
	}
	wrapped := fmt.Errorf("postgres: %s: %w", op, err)
	switch kind, msg := classify(err); kind {
	case errs.Internal:
		return wrapped
	default:
		return errs.Wrap(kind, wrapped, "%s", msg)
	}
}

// classify maps a PostgreSQL or connection error to the kind a client can
// act on and a message safe to show it; Internal means "a server fault".
func classify(err error) (errs.Kind, string) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		code := pgErr.Code
		switch {
		case strings.HasPrefix(code, "22"):
			// Data exception: a value PostgreSQL cannot store, such as a NUL
			// byte in a text column or a time outside its range.
			return errs.Invalid, "value cannot be stored"
		case code == "54000":
			// program_limit_exceeded: an identifier too long for a btree index.
			return errs.Invalid, "value too large to index"
		case strings.HasPrefix(code, "08"), code == "57P01", code == "57P02", code == "57P03", code == "53300":
			// Connection failure, server shutting down or restarting, or out
			// of connection slots: the request may succeed later.
			return errs.Unavailable, "database unavailable"
		case code == "40001", code == "40P01":
			// Serialization failure or deadlock: retrying is the remedy.
			return errs.Busy, "database busy, retry"
		}
		return errs.Internal, ""
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connectErr) || errors.As(err, &netErr) {
		return errs.Unavailable, "database unavailable"
	}
	return errs.Internal, ""
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded migrations in version order.
func migrations() ([]store.Migration, error) {
	ms, err := store.LoadMigrations(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return ms, nil
}

// migrate creates schema when missing and brings it up to the newest
// embedded migration, all in one transaction so that a crash never leaves a
// half-migrated schema (PostgreSQL's DDL is transactional).
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	ident := pgx.Identifier{schema}.Sanitize()
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// Two processes starting at once would both find the schema missing
		// and race to create it. The lock makes the second wait for the
		// first's commit and then find everything in place; it is released
		// with the transaction.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey("migrate", schema)); err != nil {
			return err
		}
		// Creating only when missing lets a role without CREATE on the
		// database use a schema an administrator made for it.
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			if _, err := tx.Exec(ctx, `CREATE SCHEMA `+ident); err != nil {
				return err
			}
		}
		// The session's search_path already names the schema; setting it
		// here too makes sure the migrations cannot create anything elsewhere.
		if _, err := tx.Exec(ctx, `SET LOCAL search_path TO `+ident); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
			return err
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&current); err != nil {
			return err
		}
		if latest := ms[len(ms)-1].Version; current > latest {
			return fmt.Errorf("schema version %d is newer than this binary's %d", current, latest)
		}
		for _, m := range ms {
			if m.Version <= current {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("apply %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, m.Version); err != nil {
				return fmt.Errorf("record %s: %w", m.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fail(ctx, "migrate schema "+schema, err)
	}
	return nil
}
