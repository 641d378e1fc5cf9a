package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/attune-dev/attune/internal/store"
)

// How far deletion reaches on PostgreSQL. A DELETE or UPDATE only marks the
// old row versions dead; Purge runs VACUUM on the store's tables (and with
// them their TOAST tables, where chunk data lives), which removes the dead
// versions so that no query, index or future snapshot can read them and
// their space is reused by later writes. VACUUM does not overwrite that
// space: until it is reused, the bytes can still be found in the table's
// files by someone reading them raw, as they can in WAL segments not yet
// recycled, in WAL archives, replicas' files and base backups. Attune does
// not run VACUUM FULL, which would rewrite the tables into new files but
// lock them against every reader and writer for the duration (and the old
// files' blocks stay on the disk until the file system reuses them).
// Operators who need the bytes gone from the disk must also rotate WAL and
// backups.

// Purge vacuums the store's tables, so that deleted rows are gone from
// every snapshot and their space can be reused. VACUUM cannot run in a
// transaction; each statement here runs on its own.
func (s *Store) Purge(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	for _, table := range []string{"chunks", "resources"} {
		if _, err := s.pool.Exec(ctx, `VACUUM `+pgx.Identifier{s.schema, table}.Sanitize()); err != nil {
			return fail(ctx, "purge "+table, err)
		}
	}
	return nil
}

// RewriteChunks rewrites or deletes the dataset's chunks as fn says, one
// transaction per chunk, then purges.
func (s *Store) RewriteChunks(ctx context.Context, dataset string, fn func(store.Chunk) (*store.Rewrite, error)) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	rows, err := s.pool.Query(ctx, `SELECT seq FROM chunks WHERE dataset = $1 ORDER BY seq`, dataset)
	if err != nil {
		return fail(ctx, "rewrite chunks of "+dataset, err)
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fail(ctx, "rewrite chunks of "+dataset, err)
	}
	get := func(ctx context.Context, seq int64) (store.Chunk, bool, error) {
		c := store.Chunk{Seq: seq, Dataset: dataset}
		var src string
		err := s.pool.QueryRow(ctx, `SELECT source, job, rows, data FROM chunks WHERE seq = $1 AND dataset = $2`, seq, dataset).
			Scan(&src, &c.Job, &c.Rows, &c.Data)
		if errors.Is(err, pgx.ErrNoRows) {
			return c, false, nil
		}
		if err != nil {
			return c, false, fail(ctx, fmt.Sprintf("read chunk %d", seq), err)
		}
		c.Source = store.Source(src)
		if c.Data == nil {
			c.Data = []byte{}
		}
		return c, true, nil
	}
	apply := func(ctx context.Context, seq int64, rw *store.Rewrite) error {
		var err error
		if rw.Rows == 0 {
			_, err = s.pool.Exec(ctx, `DELETE FROM chunks WHERE seq = $1`, seq)
		} else {
			_, err = s.pool.Exec(ctx, `UPDATE chunks SET rows = $1, data = $2 WHERE seq = $3`, rw.Rows, store.NotNull(rw.Data), seq)
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
