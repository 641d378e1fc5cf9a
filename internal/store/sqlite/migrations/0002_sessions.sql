-- The events API's session -> user map (store.Sessions): an anonymous
-- session's later events are stored as the user's once a call named both.
CREATE TABLE sessions (
	grp     TEXT NOT NULL,
	session TEXT NOT NULL,
	usr     TEXT NOT NULL,
	PRIMARY KEY (grp, session)
) WITHOUT ROWID;

-- Data deletion jobs unlink by user.
CREATE INDEX sessions_by_user ON sessions (grp, usr);
