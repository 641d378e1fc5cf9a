-- Control-plane resources. Times are Unix microseconds (UTC), the precision
-- PostgreSQL keeps too, so both backends return the same values.
CREATE TABLE resources (
	arn     TEXT PRIMARY KEY,
	kind    TEXT NOT NULL,
	name    TEXT NOT NULL,
	parent  TEXT NOT NULL,
	status  TEXT NOT NULL,
	created INTEGER NOT NULL,
	updated INTEGER NOT NULL,
	version INTEGER NOT NULL,
	body    BLOB NOT NULL
);

-- List order is (created DESC, arn ASC) within a kind, optionally a parent.
CREATE INDEX resources_by_kind ON resources (kind, created DESC, arn);
CREATE INDEX resources_by_parent ON resources (kind, parent, created DESC, arn);

-- Dataset records as opaque chunks. AUTOINCREMENT keeps Seq increasing for
-- the life of the database even after the newest chunks are deleted, so a
-- consumer that remembers the last Seq it saw never mistakes a new chunk for
-- an old one. The small columns come before data so that reading them does
-- not touch the blob's overflow pages.
CREATE TABLE chunks (
	seq     INTEGER PRIMARY KEY AUTOINCREMENT,
	dataset TEXT NOT NULL,
	source  TEXT NOT NULL,
	job     TEXT NOT NULL,
	staged  INTEGER NOT NULL,
	rows    INTEGER NOT NULL,
	data    BLOB NOT NULL
);

-- Scans and counts: committed chunks of a dataset in Seq order. rows is in
-- the index so CountRecords never reads the table.
CREATE INDEX chunks_by_dataset ON chunks (dataset, staged, seq, rows);
-- Commit and discard find a job's staged chunks; staged chunks are few.
CREATE INDEX chunks_staged_by_job ON chunks (dataset, job) WHERE staged = 1;
