package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/store"
)

const insertChunk = `INSERT INTO chunks (dataset, source, job, staged, rows, data) VALUES (?, ?, ?, ?, ?, ?)`

// StageChunk stores a Bulk chunk that stays invisible until CommitImport of
// its job. It fails with errs.Invalid when the chunk has no dataset or job,
// is not a Bulk chunk, or has negative Rows.
func (s *Store) StageChunk(ctx context.Context, c store.Chunk) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := store.CheckChunk(&c, store.Bulk); err != nil {
		return err
	}
	// One statement is its own transaction: the chunk is durable on return.
	if _, err := s.w.ExecContext(ctx, insertChunk, c.Dataset, c.Source, c.Job, 1, c.Rows, store.NotNull(c.Data)); err != nil {
		return fail(ctx, fmt.Sprintf("stage chunk %s/%s", c.Dataset, c.Job), err)
	}
	return nil
}

// CommitImport makes the job's staged chunks visible in one transaction.
// With replace it also deletes the dataset's committed Bulk chunks of every
// other job. The staged chunks keep the Seqs they were staged with.
func (s *Store) CommitImport(ctx context.Context, dataset, job string, replace bool) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if replace {
			if _, err := tx.ExecContext(ctx, `DELETE FROM chunks
				WHERE dataset = ? AND staged = 0 AND source = ? AND job <> ?`, dataset, store.Bulk, job); err != nil {
				return err
			}
		}
		// staged flips 1 → 0, both stored in zero bytes of the record, so
		// SQLite overwrites the row in place and leaves the blob's overflow
		// pages untouched: committing costs no rewrite of the data.
		_, err := tx.ExecContext(ctx, `UPDATE chunks SET staged = 0
			WHERE dataset = ? AND job = ? AND staged = 1`, dataset, job)
		return err
	})
	if err != nil {
		return fail(ctx, fmt.Sprintf("commit import %s/%s", dataset, job), err)
	}
	return nil
}

// DiscardImport deletes the job's staged chunks; committed ones stay.
func (s *Store) DiscardImport(ctx context.Context, dataset, job string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM chunks WHERE dataset = ? AND job = ? AND staged = 1`, dataset, job); err != nil {
		return fail(ctx, fmt.Sprintf("discard import %s/%s", dataset, job), err)
	}
	return nil
}

// AppendChunks commits Put chunks in one transaction and returns their Seqs
// in the order of cs. It fails with errs.Invalid, writing nothing, when any
// chunk has no dataset, is not a Put chunk, or has negative Rows.
func (s *Store) AppendChunks(ctx context.Context, cs []store.Chunk) ([]int64, error) {
	return s.AppendLinked(ctx, cs, nil)
}

// AppendLinked commits Put chunks and session links in one transaction.
func (s *Store) AppendLinked(ctx context.Context, cs []store.Chunk, links []store.SessionLink) ([]int64, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if len(cs) == 0 && len(links) == 0 {
		return nil, nil
	}
	for i := range cs {
		c := cs[i] // validate a copy: the caller's slice is not ours to change
		if err := store.CheckChunk(&c, store.Put); err != nil {
			return nil, err
		}
	}
	if err := store.CheckLinks(links); err != nil {
		return nil, err
	}
	seqs := make([]int64, len(cs))
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := appendTx(ctx, tx, cs, seqs); err != nil {
			return err
		}
		return linkTx(ctx, tx, links)
	})
	if err != nil {
		return nil, fail(ctx, fmt.Sprintf("append %d chunks and %d session links", len(cs), len(links)), err)
	}
	return seqs, nil
}

// appendTx inserts Put chunks and sets their Seqs in seqs.
func appendTx(ctx context.Context, tx *sql.Tx, cs []store.Chunk, seqs []int64) error {
	if len(cs) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, insertChunk)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i, c := range cs {
		res, err := stmt.ExecContext(ctx, c.Dataset, store.Put, "", 0, c.Rows, store.NotNull(c.Data))
		if err != nil {
			return err
		}
		if seqs[i], err = res.LastInsertId(); err != nil {
			return err
		}
	}
	return nil
}

// ScanChunks calls fn for each committed chunk of the dataset with Seq >
// after, in Seq order. It reads one row at a time from a single statement
// on a read connection, so it sees one consistent snapshot, holds one chunk
// in memory, and never blocks writers: fn may write to the store. source ""
// means both sources; any other value than Bulk or Put is errs.Invalid.
func (s *Store) ScanChunks(ctx context.Context, dataset string, source store.Source, after int64, fn func(store.Chunk) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	query, args, err := committedChunks("seq, source, job, rows, data", dataset, source, after)
	if err != nil {
		return err
	}

	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return fail(ctx, "scan chunks of "+dataset, err)
	}
	defer rows.Close()
	for rows.Next() {
		c := store.Chunk{Dataset: dataset}
		var src string
		if err := rows.Scan(&c.Seq, &src, &c.Job, &c.Rows, &c.Data); err != nil {
			return fail(ctx, "scan chunks of "+dataset, err)
		}
		c.Source = store.Source(src)
		if err := fn(c); err != nil {
			return err
		}
		// fn may run long: do not start reading another blob for a caller
		// that is gone.
		if err := ctx.Err(); err != nil {
			return fail(ctx, "scan chunks of "+dataset, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fail(ctx, "scan chunks of "+dataset, err)
	}
	return nil
}

// CountRecords returns the number of committed rows of the dataset; 0 for a
// dataset without records.
func (s *Store) CountRecords(ctx context.Context, dataset string) (int64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	var n int64
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(SUM(rows), 0) FROM chunks WHERE dataset = ? AND staged = 0`, dataset).Scan(&n)
	if err != nil {
		return 0, fail(ctx, "count records of "+dataset, err)
	}
	return n, nil
}

// DeleteRecords deletes every chunk of the dataset, staged or committed,
// and purges the freed bytes from the files (see Purge).
func (s *Store) DeleteRecords(ctx context.Context, dataset string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM chunks WHERE dataset = ?`, dataset); err != nil {
		return fail(ctx, "delete records of "+dataset, err)
	}
	return s.Purge(ctx)
}

// LatestSeq returns the highest chunk Seq ever handed out: AUTOINCREMENT
// keeps it in sqlite_sequence, so it does not go back when the newest
// chunks are deleted.
func (s *Store) LatestSeq(ctx context.Context) (int64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	var seq int64
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'chunks'), 0)`).Scan(&seq)
	if err != nil {
		return 0, fail(ctx, "read the latest chunk seq", err)
	}
	return seq, nil
}

// ChunkSeqs lists committed chunk Seqs above after from the index, without
// touching the blobs.
func (s *Store) ChunkSeqs(ctx context.Context, dataset string, source store.Source, after int64, limit int) ([]int64, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if limit < 1 {
		return nil, errs.E(errs.Invalid, "limit %d must be at least 1", limit)
	}
	query, args, err := committedChunks("seq", dataset, source, after)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, query+` LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fail(ctx, "list chunks of "+dataset, err)
	}
	defer rows.Close()
	var seqs []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, fail(ctx, "list chunks of "+dataset, err)
		}
		seqs = append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, "list chunks of "+dataset, err)
	}
	return seqs, nil
}

// committedChunks is the query for cols of a dataset's committed chunks of
// source ("" for both) with Seq > after, in Seq order, and its arguments;
// errs.Invalid for another source than Bulk or Put.
func committedChunks(cols, dataset string, source store.Source, after int64) (string, []any, error) {
	query := `SELECT ` + cols + ` FROM chunks WHERE dataset = ? AND staged = 0 AND seq > ?`
	args := []any{dataset, after}
	switch source {
	case "":
	case store.Bulk, store.Put:
		query += ` AND source = ?`
		args = append(args, source)
	default:
		return "", nil, errs.E(errs.Invalid, "unknown record source %q", source)
	}
	return query + ` ORDER BY seq`, args, nil
}
