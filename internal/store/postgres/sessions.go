package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/attune-dev/attune/internal/store"
)

// upsertLink links a session to a user, replacing an earlier link.
const upsertLink = `INSERT INTO sessions (grp, session, usr) VALUES ($1, $2, $3)
	ON CONFLICT (grp, session) DO UPDATE SET usr = excluded.usr`

// LinkSessions upserts links in one transaction (one batch, one round trip).
func (s *Store) LinkSessions(ctx context.Context, links []store.SessionLink) error {
	_, err := s.AppendLinked(ctx, nil, links)
	return err
}

// execAll reads n statements' results of a batch.
func execAll(n int) func(pgx.BatchResults) error {
	return func(br pgx.BatchResults) error {
		for range n {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		return nil
	}
}

// SessionUser returns the user linked to a session, or "".
func (s *Store) SessionUser(ctx context.Context, group, session string) (string, error) {
	if err := s.check(ctx); err != nil {
		return "", err
	}
	var user string
	err := s.pool.QueryRow(ctx, `SELECT usr FROM sessions WHERE grp = $1 AND session = $2`, group, session).Scan(&user)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fail(ctx, "read session link", err)
	}
	return user, nil
}

// UnlinkSessions deletes a group's links of users or sessions in one
// transaction.
func (s *Store) UnlinkSessions(ctx context.Context, group string, users, sessions []string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if len(users) == 0 && len(sessions) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM sessions WHERE grp = $1 AND usr = ANY($2)`, group, users)
	b.Queue(`DELETE FROM sessions WHERE grp = $1 AND session = ANY($2)`, group, sessions)
	if err := s.sendBatch(ctx, b, execAll(b.Len())); err != nil {
		return fail(ctx, "unlink sessions", err)
	}
	return nil
}
