package postgres

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/store"
)

// maxLimit is the largest page ListResources serves, as in Personalize.
const maxLimit = 100

const resourceColumns = `arn, kind, name, parent, status, created, updated, version, body`

// stored returns t as a later read returns it: truncated to the microsecond
// TIMESTAMPTZ keeps (pgx truncates, as UnixMicro does) and in UTC.
func stored(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

// scanResource reads one row selected with resourceColumns.
func scanResource(row pgx.Row) (store.Resource, error) {
	var r store.Resource
	if err := row.Scan(&r.ARN, &r.Kind, &r.Name, &r.Parent, &r.Status, &r.Created, &r.Updated, &r.Version, &r.Body); err != nil {
		return store.Resource{}, err
	}
	r.Created, r.Updated = r.Created.UTC(), r.Updated.UTC()
	if r.Body == nil {
		r.Body = []byte{} // an empty BYTEA scans as nil; callers compare bodies
	}
	return r, nil
}

// CreateResource stores r with Version 1. It fails with errs.AlreadyExists
// when the ARN is taken by a resource of any kind, and with errs.Invalid when
// the ARN or Kind is empty or a field cannot be stored (a NUL byte in a
// string, a time outside PostgreSQL's range).
func (s *Store) CreateResource(ctx context.Context, r store.Resource) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if r.ARN == "" || r.Kind == "" {
		return errs.E(errs.Invalid, "resource ARN and kind are required")
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO resources (`+resourceColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8) ON CONFLICT (arn) DO NOTHING`,
		r.ARN, r.Kind, r.Name, r.Parent, r.Status, r.Created, r.Updated, store.NotNull(r.Body))
	if err != nil {
		return fail(ctx, "create resource "+r.ARN, err)
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.AlreadyExists, "resource %s already exists", r.ARN)
	}
	return nil
}

// GetResource returns the resource with this ARN; errs.NotFound when there
// is none of this kind.
func (s *Store) GetResource(ctx context.Context, kind, arn string) (store.Resource, error) {
	if err := s.check(ctx); err != nil {
		return store.Resource{}, err
	}
	r, err := scanResource(s.pool.QueryRow(ctx,
		`SELECT `+resourceColumns+` FROM resources WHERE arn = $1 AND kind = $2`, arn, kind))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Resource{}, errs.E(errs.NotFound, "%s %s not found", kind, arn)
	}
	if err != nil {
		return store.Resource{}, fail(ctx, "get resource "+arn, err)
	}
	return r, nil
}

// UpdateResource replaces the name, parent, status, updated time and body of
// the stored resource whose ARN, Kind and Version match r; Kind and Created
// never change. It fails with errs.NotFound when there is no such resource of
// this kind and errs.InUse when r.Version is not the stored one.
func (s *Store) UpdateResource(ctx context.Context, r store.Resource) (store.Resource, error) {
	if err := s.check(ctx); err != nil {
		return store.Resource{}, err
	}
	// The version test and the write are one statement, so two updaters
	// holding the same Version cannot both succeed: the second one's WHERE
	// is re-evaluated against the first one's row and no longer matches.
	err := s.pool.QueryRow(ctx, `UPDATE resources
		SET name = $1, parent = $2, status = $3, updated = $4, body = $5, version = version + 1
		WHERE arn = $6 AND kind = $7 AND version = $8
		RETURNING created, version`,
		r.Name, r.Parent, r.Status, r.Updated, store.NotNull(r.Body), r.ARN, r.Kind, r.Version,
	).Scan(&r.Created, &r.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		// Nothing matched: tell a missing resource from a stale version.
		var current int64
		err = s.pool.QueryRow(ctx, `SELECT version FROM resources WHERE arn = $1 AND kind = $2`, r.ARN, r.Kind).Scan(&current)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.Resource{}, errs.E(errs.NotFound, "%s %s not found", r.Kind, r.ARN)
		}
		if err == nil {
			return store.Resource{}, errs.E(errs.InUse, "%s %s was modified: version %d, stored %d", r.Kind, r.ARN, r.Version, current)
		}
	}
	if err != nil {
		return store.Resource{}, fail(ctx, "update resource "+r.ARN, err)
	}
	r.Created = r.Created.UTC()
	r.Updated = stored(r.Updated)
	r.Body = store.NotNull(r.Body)
	return r, nil
}

// DeleteResource removes the resource; errs.NotFound when there is none of
// this kind.
func (s *Store) DeleteResource(ctx context.Context, kind, arn string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM resources WHERE arn = $1 AND kind = $2`, arn, kind)
	if err != nil {
		return fail(ctx, "delete resource "+arn, err)
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.NotFound, "%s %s not found", kind, arn)
	}
	return nil
}

// ListResources returns one page of q, newest first (Created descending,
// then ARN ascending, bytewise), and the token of the next page, "" after the
// last. It fails with errs.Invalid for a Limit outside 0..100 and with
// errs.InvalidNextToken for a token this store did not issue for this query.
func (s *Store) ListResources(ctx context.Context, q store.ListQuery) ([]store.Resource, string, error) {
	if err := s.check(ctx); err != nil {
		return nil, "", err
	}
	limit := q.Limit
	if limit == 0 {
		limit = maxLimit
	}
	if limit < 0 || limit > maxLimit {
		return nil, "", errs.E(errs.Invalid, "limit %d is not in 1..%d", q.Limit, maxLimit)
	}

	var sb strings.Builder
	args := []any{q.Kind}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	sb.WriteString(`SELECT ` + resourceColumns + ` FROM resources WHERE kind = $1`)
	if q.Parent != "" {
		sb.WriteString(` AND parent = ` + arg(q.Parent))
	}
	if len(q.Status) > 0 {
		sb.WriteString(` AND status = ANY(` + arg(q.Status) + `)`)
	}
	if q.PageToken != "" {
		c, err := decodeToken(q, q.PageToken)
		if err != nil {
			return nil, "", err
		}
		// Keyset pagination: resume strictly after the last item served, so
		// inserts and deletes elsewhere never shift the remaining pages.
		created, arn := arg(c.created), arg(c.arn)
		sb.WriteString(` AND (created < ` + created + ` OR (created = ` + created + ` AND arn > ` + arn + `))`)
	}
	// One more than the page tells whether another page follows.
	sb.WriteString(` ORDER BY created DESC, arn LIMIT ` + arg(limit+1))

	rows, err := s.pool.Query(ctx, sb.String(), args...)
	if err != nil {
		return nil, "", fail(ctx, "list "+q.Kind, err)
	}
	defer rows.Close()
	page := make([]store.Resource, 0, min(limit+1, 16))
	for rows.Next() {
		r, err := scanResource(rows)
		if err != nil {
			return nil, "", fail(ctx, "list "+q.Kind, err)
		}
		page = append(page, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fail(ctx, "list "+q.Kind, err)
	}
	if len(page) <= limit {
		return page, "", nil
	}
	page = page[:limit]
	last := page[limit-1]
	return page, encodeToken(q, cursor{created: last.Created, arn: last.ARN}), nil
}

// cursor is the position a page token resumes after.
type cursor struct {
	created time.Time // as stored: microseconds, UTC
	arn     string
}

// tokenVersion leads every token so the format can change without old
// tokens being misread.
const tokenVersion = 1

// minMicros is the earliest TIMESTAMPTZ PostgreSQL accepts (4714-11-24 BC),
// in Unix microseconds; its upper bound lies beyond int64 microseconds.
const minMicros = -210866803200000000

// A token is base64url(version | created µs | arn | check), where check is
// an FNV-64a hash of the query (kind, parent, statuses) and everything before
// it. The check is not a secret: it catches tokens that were mangled or
// issued for another query, not forgeries, which can reveal nothing that the
// same query without a token would not.
func encodeToken(q store.ListQuery, c cursor) string {
	b := make([]byte, 0, 1+8+len(c.arn)+8)
	b = append(b, tokenVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(c.created.UnixMicro()))
	b = append(b, c.arn...)
	b = binary.BigEndian.AppendUint64(b, store.TokenCheck(q, b))
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeToken returns the cursor of token, or errs.InvalidNextToken.
func decodeToken(q store.ListQuery, token string) (cursor, error) {
	bad := errs.E(errs.InvalidNextToken, "invalid next token")
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 1+8+1+8 || b[0] != tokenVersion {
		return cursor{}, bad
	}
	body, check := b[:len(b)-8], binary.BigEndian.Uint64(b[len(b)-8:])
	if store.TokenCheck(q, body) != check {
		return cursor{}, bad
	}
	us := int64(binary.BigEndian.Uint64(body[1:9]))
	arn := string(body[9:])
	// A token whose check was forged could still carry values PostgreSQL
	// rejects; they must be a bad token, not a bad request.
	if us < minMicros || !utf8.ValidString(arn) || strings.IndexByte(arn, 0) >= 0 {
		return cursor{}, bad
	}
	return cursor{created: time.UnixMicro(us).UTC(), arn: arn}, nil
}
