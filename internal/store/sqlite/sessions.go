package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/attune-dev/attune/internal/store"
)

// LinkSessions upserts links in one transaction.
func (s *Store) LinkSessions(ctx context.Context, links []store.SessionLink) error {
	_, err := s.AppendLinked(ctx, nil, links)
	return err
}

// linkTx upserts links.
func linkTx(ctx context.Context, tx *sql.Tx, links []store.SessionLink) error {
	if len(links) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO sessions (grp, session, usr) VALUES (?, ?, ?)
		ON CONFLICT (grp, session) DO UPDATE SET usr = excluded.usr`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, l := range links {
		if _, err := stmt.ExecContext(ctx, l.Group, l.Session, l.User); err != nil {
			return err
		}
	}
	return nil
}

// SessionUser returns the user linked to a session, or "".
func (s *Store) SessionUser(ctx context.Context, group, session string) (string, error) {
	if err := s.check(ctx); err != nil {
		return "", err
	}
	var user string
	err := s.r.QueryRowContext(ctx, `SELECT usr FROM sessions WHERE grp = ? AND session = ?`, group, session).Scan(&user)
	if errors.Is(err, sql.ErrNoRows) {
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		for _, q := range []struct {
			sql  string
			keys []string
		}{{`DELETE FROM sessions WHERE grp = ? AND usr = ?`, users}, {`DELETE FROM sessions WHERE grp = ? AND session = ?`, sessions}} {
			for _, k := range q.keys {
				if _, err := tx.ExecContext(ctx, q.sql, group, k); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fail(ctx, "unlink sessions", err)
	}
	return nil
}
