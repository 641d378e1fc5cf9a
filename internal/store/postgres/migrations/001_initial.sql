-- Control-plane resources. Identifiers use the "C" collation, so they compare
-- byte by byte as in the SQLite backend: list order and page tokens must not
-- depend on the database's locale. Times are TIMESTAMPTZ, which keeps the
-- microseconds the store contract promises.
CREATE TABLE resources (
	arn     TEXT COLLATE "C" PRIMARY KEY,
	kind    TEXT COLLATE "C" NOT NULL,
	name    TEXT NOT NULL,
	parent  TEXT COLLATE "C" NOT NULL,
	status  TEXT COLLATE "C" NOT NULL,
	created TIMESTAMPTZ NOT NULL,
	updated TIMESTAMPTZ NOT NULL,
	version BIGINT NOT NULL,
	body    BYTEA NOT NULL
);

-- List order is (created DESC, arn ASC) within a kind, optionally a parent.
CREATE INDEX resources_by_kind ON resources (kind, created DESC, arn);
CREATE INDEX resources_by_parent ON resources (kind, parent, created DESC, arn);

-- Dataset records as opaque chunks. An identity column never hands out a
-- value twice, even after the newest chunks are deleted, so a consumer that
-- remembers the last Seq it saw never mistakes a new chunk for an old one.
CREATE TABLE chunks (
	seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	dataset TEXT COLLATE "C" NOT NULL,
	source  TEXT COLLATE "C" NOT NULL,
	job     TEXT COLLATE "C" NOT NULL,
	staged  BOOLEAN NOT NULL,
	rows    BIGINT NOT NULL,
	data    BYTEA NOT NULL
);

-- Chunks are dense already (dictionary-coded columns), so pglz would spend a
-- lot of CPU on every write to save little: keep the blobs out of line in
-- TOAST but uncompressed. Out of line also means that committing an import,
-- which rewrites the small row, carries the TOAST pointer over instead of
-- copying the data.
ALTER TABLE chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- Scans and counts: committed chunks of a dataset in Seq order. rows is
-- included so that CountRecords can be an index-only scan.
CREATE INDEX chunks_by_dataset ON chunks (dataset, seq) INCLUDE (rows) WHERE NOT staged;
-- Commit and discard find a job's staged chunks; staged chunks are few.
CREATE INDEX chunks_staged_by_job ON chunks (dataset, job) WHERE staged;
