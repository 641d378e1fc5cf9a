package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/store"
)

// maxLimit is the largest page ListResources serves, as in Personalize.
const maxLimit = 100

const resourceColumns = `arn, kind, name, parent, status, created, updated, version, body`

// micros converts t to what the created and updated columns hold.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros converts a created or updated column back to a time.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// scanResource reads one row selected with resourceColumns.
func scanResource(row interface{ Scan(...any) error }) (store.Resource, error) {
	var r store.Resource
	var created, updated int64
	if err := row.Scan(&r.ARN, &r.Kind, &r.Name, &r.Parent, &r.Status, &created, &updated, &r.Version, &r.Body); err != nil {
		return store.Resource{}, err
	}
	r.Created, r.Updated = fromMicros(created), fromMicros(updated)
	return r, nil
}

// CreateResource stores r with Version 1. It fails with errs.AlreadyExists
// when the ARN is taken by a resource of any kind, and with errs.Invalid when
// the ARN or Kind is empty.
func (s *Store) CreateResource(ctx context.Context, r store.Resource) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if r.ARN == "" || r.Kind == "" {
		return errs.E(errs.Invalid, "resource ARN and kind are required")
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO resources (`+resourceColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT (arn) DO NOTHING`,
		r.ARN, r.Kind, r.Name, r.Parent, r.Status, micros(r.Created), micros(r.Updated), store.NotNull(r.Body))
	if err != nil {
		return fail(ctx, "create resource "+r.ARN, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fail(ctx, "create resource "+r.ARN, err)
	} else if n == 0 {
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
	r, err := scanResource(s.r.QueryRowContext(ctx,
		`SELECT `+resourceColumns+` FROM resources WHERE arn = ? AND kind = ?`, arn, kind))
	if errors.Is(err, sql.ErrNoRows) {
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
	var created int64
	err := s.w.QueryRowContext(ctx, `UPDATE resources
		SET name = ?, parent = ?, status = ?, updated = ?, body = ?, version = version + 1
		WHERE arn = ? AND kind = ? AND version = ?
		RETURNING created, version`,
		r.Name, r.Parent, r.Status, micros(r.Updated), store.NotNull(r.Body), r.ARN, r.Kind, r.Version,
	).Scan(&created, &r.Version)
	if errors.Is(err, sql.ErrNoRows) {
		// Nothing matched: tell a missing resource from a stale version.
		var stored int64
		err = s.r.QueryRowContext(ctx, `SELECT version FROM resources WHERE arn = ? AND kind = ?`, r.ARN, r.Kind).Scan(&stored)
		if errors.Is(err, sql.ErrNoRows) {
			return store.Resource{}, errs.E(errs.NotFound, "%s %s not found", r.Kind, r.ARN)
		}
		if err == nil {
			return store.Resource{}, errs.E(errs.InUse, "%s %s was modified: version %d, stored %d", r.Kind, r.ARN, r.Version, stored)
		}
	}
	if err != nil {
		return store.Resource{}, fail(ctx, "update resource "+r.ARN, err)
	}
	r.Created = fromMicros(created)
	r.Updated = fromMicros(micros(r.Updated)) // as a later Get returns it
	r.Body = store.NotNull(r.Body)
	return r, nil
}

// DeleteResource removes the resource; errs.NotFound when there is none of
// this kind.
func (s *Store) DeleteResource(ctx context.Context, kind, arn string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, `DELETE FROM resources WHERE arn = ? AND kind = ?`, arn, kind)
	if err != nil {
		return fail(ctx, "delete resource "+arn, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fail(ctx, "delete resource "+arn, err)
	} else if n == 0 {
		return errs.E(errs.NotFound, "%s %s not found", kind, arn)
	}
	return nil
}

// ListResources returns one page of q, newest first (Created descending,
// then ARN ascending), and the token of the next page, "" after the last.
// It fails with errs.Invalid for a Limit outside 0..100 and with
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
	sb.WriteString(`SELECT ` + resourceColumns + ` FROM resources WHERE kind = ?`)
	args := []any{q.Kind}
	if q.Parent != "" {
		sb.WriteString(` AND parent = ?`)
		args = append(args, q.Parent)
	}
	if len(q.Status) > 0 {
		sb.WriteString(` AND status IN (?` + strings.Repeat(`, ?`, len(q.Status)-1) + `)`)
		for _, st := range q.Status {
			args = append(args, st)
		}
	}
	if q.PageToken != "" {
		c, err := decodeToken(q, q.PageToken)
		if err != nil {
			return nil, "", err
		}
		// Keyset pagination: resume strictly after the last item served, so
		// inserts and deletes elsewhere never shift the remaining pages.
		sb.WriteString(` AND (created < ? OR (created = ? AND arn > ?))`)
		args = append(args, c.created, c.created, c.arn)
	}
	// One more than the page tells whether another page follows.
	sb.WriteString(` ORDER BY created DESC, arn LIMIT ?`)
	args = append(args, limit+1)

	rows, err := s.r.QueryContext(ctx, sb.String(), args...)
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
	return page, encodeToken(q, cursor{created: micros(last.Created), arn: last.ARN}), nil
}

// cursor is the position a page token resumes after.
type cursor struct {
	created int64 // microseconds, as stored
	arn     string
}

// tokenVersion leads every token so the format can change without old
// tokens being misread.
const tokenVersion = 1

// A token is base64url(version | created | arn | check), where check is an
// FNV-64a hash of the query (kind, parent, statuses) and everything before
// it. The check is not a secret: it catches tokens that were mangled or
// issued for another query, not forgeries, which can reveal nothing that
// the same query without a token would not.
func encodeToken(q store.ListQuery, c cursor) string {
	b := make([]byte, 0, 1+8+len(c.arn)+8)
	b = append(b, tokenVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(c.created))
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
	c := cursor{created: int64(binary.BigEndian.Uint64(body[1:9])), arn: string(body[9:])}
	if !utf8.ValidString(c.arn) {
		return cursor{}, bad
	}
	return c, nil
}
