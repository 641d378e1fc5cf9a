-- The events API's session -> user map (store.Sessions): an anonymous
-- session's later events are stored as the user's once a call named both.
CREATE TABLE sessions (
	grp     TEXT COLLATE "C" NOT NULL,
	session TEXT COLLATE "C" NOT NULL,
	usr     TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (grp, session)
);

-- Data deletion jobs unlink by user.
CREATE INDEX sessions_by_user ON sessions (grp, usr);
