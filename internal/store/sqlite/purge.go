package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/store"
)

// How deleted bytes leave the disk here. The writer runs with
// secure_delete=ON, so SQLite overwrites deleted cells with zeros and zeroes
// every page it frees, overflow pages of chunk blobs included (FAST would
// leave whole freed pages, where chunk blobs live, untouched). In WAL mode
// those zeroed pages first go to the -wal file, while the file still holds
// the frames that wrote the data in the first place; Purge therefore
// checkpoints the WAL into the database file and truncates it to zero
// bytes. After Purge returns, neither attune.db nor attune.db-wal holds the
// deleted bytes. Copies outside SQLite's files (backups, file-system
// snapshots, blocks an SSD remapped) are beyond its reach.

// purgePatience is how long Purge waits for readers that keep an old
// snapshot (a long ScanChunks) before giving up with errs.Unavailable.
const purgePatience = 2 * time.Minute

// Purge checkpoints the WAL into the database file and truncates it, so
// that the zeroed pages secure_delete wrote replace every copy of deleted
// data. A checkpoint cannot pass a reader that still uses an older
// snapshot, so Purge retries until no reader holds one.
func (s *Store) Purge(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	deadline := time.Now().Add(purgePatience)
	wait := 10 * time.Millisecond
	for {
		busy, err := s.checkpoint(ctx)
		if err != nil {
			return fail(ctx, "purge", err)
		}
		if !busy {
			return nil
		}
		if time.Now().After(deadline) {
			return errs.E(errs.Unavailable, "store is busy: deleted data could not be purged from the write-ahead log within %v; retry", purgePatience)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fail(ctx, "purge", ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, time.Second)
	}
}

// RewriteChunks rewrites or deletes the dataset's chunks as fn says, one
// transaction per chunk, then purges.
func (s *Store) RewriteChunks(ctx context.Context, dataset string, fn func(store.Chunk) (*store.Rewrite, error)) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	var seqs []int64
	rows, err := s.r.QueryContext(ctx, `SELECT seq FROM chunks WHERE dataset = ? ORDER BY seq`, dataset)
	if err != nil {
		return fail(ctx, "rewrite chunks of "+dataset, err)
	}
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			rows.Close()
			return fail(ctx, "rewrite chunks of "+dataset, err)
		}
		seqs = append(seqs, seq)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail(ctx, "rewrite chunks of "+dataset, err)
	}
	get := func(ctx context.Context, seq int64) (store.Chunk, bool, error) {
		c := store.Chunk{Seq: seq, Dataset: dataset}
		var src string
		err := s.r.QueryRowContext(ctx, `SELECT source, job, rows, data FROM chunks WHERE seq = ? AND dataset = ?`, seq, dataset).
			Scan(&src, &c.Job, &c.Rows, &c.Data)
		if errors.Is(err, sql.ErrNoRows) {
			return c, false, nil
		}
		if err != nil {
			return c, false, fail(ctx, fmt.Sprintf("read chunk %d", seq), err)
		}
		c.Source = store.Source(src)
		return c, true, nil
	}
	apply := func(ctx context.Context, seq int64, rw *store.Rewrite) error {
		var err error
		if rw.Rows == 0 {
			_, err = s.w.ExecContext(ctx, `DELETE FROM chunks WHERE seq = ?`, seq)
		} else {
			_, err = s.w.ExecContext(ctx, `UPDATE chunks SET rows = ?, data = ? WHERE seq = ?`, rw.Rows, store.NotNull(rw.Data), seq)
		}
		if err != nil {
			return fail(ctx, fmt.Sprintf("rewrite chunk %d", seq), err)
		}
		return nil
	}
	if err := store.RewriteEach(ctx, seqs, get, apply, fn); err != nil {
		return err
	}
	return s.Purge(ctx)
}

// checkpointWait is how long one checkpoint attempt waits for readers of
// an older snapshot. The attempt holds the only write connection, so
// writers (PutEvents acknowledgements among them) wait as long; Purge
// retries with pauses in between instead of waiting in one go.
const checkpointWait = 100 * time.Millisecond

// checkpoint runs one TRUNCATE checkpoint on the write connection with a
// short busy timeout, and reports whether readers kept it from finishing.
func (s *Store) checkpoint(ctx context.Context) (busy bool, err error) {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", checkpointWait.Milliseconds())); err != nil {
		return false, err
	}
	defer func() {
		// Restore the timeout even when ctx ended: the connection outlives this call.
		_, rerr := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA busy_timeout = %d", s.busyTimeout.Milliseconds()))
		err = errors.Join(err, rerr)
	}()
	var b, logFrames, done int
	if err := conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&b, &logFrames, &done); err != nil {
		return false, err
	}
	return b != 0, nil
}
