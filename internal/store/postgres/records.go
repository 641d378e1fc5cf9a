package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/store"
)

const (
	insertStaged = `INSERT INTO chunks (dataset, source, job, staged, rows, data) VALUES ($1, 'BULK', $2, true, $3, $4)`
	insertPut    = `INSERT INTO chunks (dataset, source, job, staged, rows, data) VALUES ($1, 'PUT', '', false, $2, $3) RETURNING seq`
)

// sendBatch sends b and hands its results to read. The batch runs in one
// implicit transaction (the extended protocol commits at the Sync that ends
// the batch), so it costs one round trip and is atomic; the commit's outcome
// is only known once the results are closed, so that error is returned too.
func (s *Store) sendBatch(ctx context.Context, b *pgx.Batch, read func(pgx.BatchResults) error) (err error) {
	br := s.pool.SendBatch(ctx, b)
	defer func() {
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}()
	return read(br)
}

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
	if _, err := s.pool.Exec(ctx, insertStaged, c.Dataset, c.Job, c.Rows, store.NotNull(c.Data)); err != nil {
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
	b := &pgx.Batch{}
	// Commits of one dataset take turns. Without that, two replacing
	// commits running at once would each delete only what was committed
	// before they started, and both imports would stay visible.
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, lockKey("import", s.schema+"\x00"+dataset))
	if replace {
		b.Queue(`DELETE FROM chunks WHERE dataset = $1 AND NOT staged AND source = 'BULK' AND job <> $2`, dataset, job)
	}
	// The UPDATE writes a new version of each small row; the TOAST pointer
	// to the data is carried over, so committing does not copy the blobs.
	b.Queue(`UPDATE chunks SET staged = false WHERE dataset = $1 AND job = $2 AND staged`, dataset, job)
	err := s.sendBatch(ctx, b, func(br pgx.BatchResults) error {
		for range b.Len() {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		return nil
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
	if _, err := s.pool.Exec(ctx, `DELETE FROM chunks WHERE dataset = $1 AND job = $2 AND staged`, dataset, job); err != nil {
		return fail(ctx, fmt.Sprintf("discard import %s/%s", dataset, job), err)
	}
	return nil
}

// AppendChunks commits Put chunks in one transaction and returns their Seqs
// in the order of cs. It fails with errs.Invalid, writing nothing, when any
// chunk has no dataset, is not a Put chunk, or has negative Rows.
//
// Appends of one store take turns (an advisory lock held until commit), so
// Put chunks become visible in Seq order: PostgreSQL hands out sequence
// values when rows are inserted, not when they commit, and without the lock
// a reader could see Seq 11 before Seq 10 commits and, resuming after 11,
// miss 10 for good. Batching chunks per call is what keeps this cheap.
func (s *Store) AppendChunks(ctx context.Context, cs []store.Chunk) ([]int64, error) {
	return s.AppendLinked(ctx, cs, nil)
}

// AppendLinked commits Put chunks (as AppendChunks) and session links in
// one transaction: one batch, one round trip.
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
	b := &pgx.Batch{}
	if len(cs) > 0 {
		b.Queue(`SELECT pg_advisory_xact_lock($1)`, s.appendLock)
	}
	for _, c := range cs {
		b.Queue(insertPut, c.Dataset, c.Rows, store.NotNull(c.Data))
	}
	for _, l := range links {
		b.Queue(upsertLink, l.Group, l.Session, l.User)
	}
	seqs := make([]int64, len(cs))
	err := s.sendBatch(ctx, b, func(br pgx.BatchResults) error {
		if len(cs) > 0 {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		for i := range seqs {
			if err := br.QueryRow().Scan(&seqs[i]); err != nil {
				return err
			}
		}
		return execAll(len(links))(br)
	})
	if err != nil {
		return nil, fail(ctx, fmt.Sprintf("append %d chunks and %d session links", len(cs), len(links)), err)
	}
	return seqs, nil
}

// ScanChunks calls fn for each committed chunk of the dataset with Seq >
// after, in Seq order. It runs one statement and reads its rows as fn
// consumes them, so it sees one consistent snapshot and holds one chunk in
// memory; the server waits on the socket meanwhile. The scan holds one pool
// connection but no lock that writers wait for: fn may read and write the
// store through the others. source "" means both sources; any other value
// than Bulk or Put is errs.Invalid.
func (s *Store) ScanChunks(ctx context.Context, dataset string, source store.Source, after int64, fn func(store.Chunk) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	query, args, err := committedChunks("seq, source, job, rows, data", dataset, source, after)
	if err != nil {
		return err
	}

	// Closing rows that are still streaming reads, and throws away, every
	// remaining chunk. When the scan stops early, cancelling qctx first makes
	// pgx abandon the connection instead (the pool replaces it).
	qctx, cancel := context.WithCancel(ctx)
	rows, err := s.pool.Query(qctx, query, args...)
	if err != nil {
		cancel()
		return fail(ctx, "scan chunks of "+dataset, err)
	}
	defer func() {
		cancel()
		rows.Close()
	}()
	for rows.Next() {
		c := store.Chunk{Dataset: dataset}
		var src string
		// pgx copies a BYTEA into a new slice, so fn may keep c.Data.
		if err := rows.Scan(&c.Seq, &src, &c.Job, &c.Rows, &c.Data); err != nil {
			return fail(ctx, "scan chunks of "+dataset, err)
		}
		c.Source = store.Source(src)
		if c.Data == nil {
			c.Data = []byte{}
		}
		if err := fn(c); err != nil {
			return err
		}
		// fn may run long: do not read another blob for a caller that is gone.
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
	// SUM of a BIGINT is a NUMERIC; the cast brings it back to int64.
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(SUM(rows), 0)::bigint FROM chunks WHERE dataset = $1 AND NOT staged`, dataset).Scan(&n)
	if err != nil {
		return 0, fail(ctx, "count records of "+dataset, err)
	}
	return n, nil
}

// DeleteRecords deletes every chunk of the dataset, staged or committed,
// then vacuums (see Purge).
func (s *Store) DeleteRecords(ctx context.Context, dataset string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM chunks WHERE dataset = $1`, dataset); err != nil {
		return fail(ctx, "delete records of "+dataset, err)
	}
	return s.Purge(ctx)
}

// LatestSeq returns the highest Seq of the chunks table (an index-only
// look at its primary key).
func (s *Store) LatestSeq(ctx context.Context) (int64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	var seq int64
	if err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM chunks`).Scan(&seq); err != nil {
		return 0, fail(ctx, "read the latest chunk seq", err)
	}
	return seq, nil
}

// ChunkSeqs lists committed chunk Seqs above after without reading the
// out-of-line data.
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
	rows, err := s.pool.Query(ctx, query+fmt.Sprintf(` LIMIT %d`, limit), args...)
	if err != nil {
		return nil, fail(ctx, "list chunks of "+dataset, err)
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fail(ctx, "list chunks of "+dataset, err)
	}
	return seqs, nil
}

// committedChunks is the query for cols of a dataset's committed chunks of
// source ("" for both) with Seq > after, in Seq order, and its arguments;
// errs.Invalid for another source than Bulk or Put.
func committedChunks(cols, dataset string, source store.Source, after int64) (string, []any, error) {
	query := `SELECT ` + cols + ` FROM chunks WHERE dataset = $1 AND NOT staged AND seq > $2`
	args := []any{dataset, after}
	switch source {
	case "":
	case store.Bulk, store.Put:
		query += ` AND source = $3`
		args = append(args, string(source))
	default:
		return "", nil, errs.E(errs.Invalid, "unknown record source %q", source)
	}
	return query + ` ORDER BY seq`, args, nil
}
