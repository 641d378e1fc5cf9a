// Package store defines the persistence contract of Attune: control-plane
// resources and dataset records. Backends (store/sqlite, later store/postgres)
// implement it; storetest holds the conformance suite every backend must pass.
// It must not import any backend, net/http or domain packages.
package store

import (
	"context"
	"time"
)

// Resource is one control-plane resource (dataset group, schema, dataset,
// import job, solution, ...) as the store keeps it. The store indexes the
// envelope fields and treats Body as opaque: each domain package encodes its
// own resource type into it.
type Resource struct {
	ARN     string // primary key; unique across all kinds
	Kind    string // resource type, e.g. "dataset-group", "schema", "dataset"
	Name    string
	Parent  string // ARN used by List filters (e.g. the dataset group of a dataset); "" when none
	Status  string // e.g. "ACTIVE", "CREATE PENDING"
	Created time.Time
	Updated time.Time
	Body    []byte
	// Version is set by the store: 1 on create, incremented on every update.
	// UpdateResource fails with errs.InUse when the caller's Version is stale.
	Version int64
}

// ListQuery selects a page of resources of one kind, newest first
// (by Created, then ARN).
type ListQuery struct {
	Kind   string
	Parent string // "" means every parent
	// Status, when not empty, keeps only resources in one of these statuses.
	Status []string
	// PageToken is the opaque token returned with the previous page; "" for the first.
	PageToken string
	Limit     int // 1..100; 0 means 100
}

// Resources persists control-plane resources. All methods are safe for
// concurrent use. Errors: errs.NotFound for a missing ARN, errs.AlreadyExists
// when creating an existing ARN, errs.InUse for a stale Version,
// errs.InvalidNextToken for a token this store did not issue; anything else is
// errs.Internal.
type Resources interface {
	// CreateResource stores r with Version 1.
	CreateResource(ctx context.Context, r Resource) error
	// GetResource returns the resource with this ARN, which must be of kind.
	GetResource(ctx context.Context, kind, arn string) (Resource, error)
	// UpdateResource replaces the stored resource whose ARN and Version match
	// r, and returns it with its new Version.
	UpdateResource(ctx context.Context, r Resource) (Resource, error)
	// DeleteResource removes the resource; deleting a missing one is errs.NotFound.
	DeleteResource(ctx context.Context, kind, arn string) error
	// ListResources returns one page and the token of the next page ("" when
	// this is the last).
	ListResources(ctx context.Context, q ListQuery) (page []Resource, next string, err error)
}

// Source tells how records reached a dataset.
type Source string

// Record sources, as Personalize's export ingestionMode names them.
const (
	Bulk Source = "BULK" // CSV import jobs
	Put  Source = "PUT"  // PutEvents / PutItems / PutUsers
)

// Chunk is a batch of records of one dataset in the columnar encoding of
// package records. The store treats Data as opaque bytes.
type Chunk struct {
	Seq     int64  // assigned by the store: increasing in write order across the whole store
	Dataset string // dataset ARN
	Source  Source
	Job     string // import job ARN for Bulk chunks; "" for Put
	Rows    int
	Data    []byte
}

// Records persists dataset records as chunks. Every method that returns nil
// has made its change durable (synced to disk), so an acknowledged write
// survives a crash. All methods are safe for concurrent use.
type Records interface {
	// StageChunk stores a Bulk chunk for (c.Dataset, c.Job) that stays
	// invisible to ScanChunks until CommitImport.
	StageChunk(ctx context.Context, c Chunk) error
	// CommitImport atomically makes the job's staged chunks visible. With
	// replace, it also deletes every other committed Bulk chunk of the dataset
	// (a FULL import); Put chunks are never replaced.
	CommitImport(ctx context.Context, dataset, job string, replace bool) error
	// DiscardImport deletes the job's staged chunks (a failed import, or a
	// job interrupted by a crash). Discarding nothing is not an error.
	DiscardImport(ctx context.Context, dataset, job string) error
	// AppendChunks commits Put chunks in one transaction (group commit) and
	// returns their sequence numbers.
	AppendChunks(ctx context.Context, cs []Chunk) ([]int64, error)
	// ScanChunks calls fn for each committed chunk of the dataset with
	// Seq > after, in Seq order, streaming (one chunk in memory at a time).
	// source "" means both sources. fn's error stops the scan and is returned.
	ScanChunks(ctx context.Context, dataset string, source Source, after int64, fn func(Chunk) error) error
	// LatestSeq returns a Seq at least as high as that of every chunk in
	// the store, staged or committed, of any dataset (0 when there never was
	// one), and below the Seq of every chunk written after it returns: a
	// reader that starts following the store there misses nothing later.
	LatestSeq(ctx context.Context) (int64, error)
	// ChunkSeqs returns the Seqs of the dataset's committed chunks of
	// source with Seq > after, in Seq order, at most limit of them (1 or
	// more), without reading their data: a follower checks what it missed
	// cheaply. source "" means both.
	ChunkSeqs(ctx context.Context, dataset string, source Source, after int64, limit int) ([]int64, error)
	// CountRecords returns the number of committed rows of the dataset.
	CountRecords(ctx context.Context, dataset string) (int64, error)
	// DeleteRecords deletes every chunk of the dataset, staged or committed,
	// then purges the freed bytes as Purge does.
	DeleteRecords(ctx context.Context, dataset string) error
	// RewriteChunks passes every chunk of the dataset that exists when it
	// starts, staged or committed, to fn in Seq order, one at a time, and
	// applies fn's answer: nil keeps the chunk; a Rewrite replaces its Rows
	// and Data, keeping its Seq, Source, Job and staged state; a Rewrite with
	// Rows 0 deletes it. Each chunk is rewritten in its own transaction, so
	// a rewrite stopped half-way (fn's error, which is returned, a crash)
	// leaves some chunks rewritten: fn must give the same answer when it
	// sees its own output again. Then the freed bytes are purged as Purge
	// does. Readers see each chunk either whole before or whole after.
	RewriteChunks(ctx context.Context, dataset string, fn func(Chunk) (*Rewrite, error)) error
	// Purge makes the bytes of deleted records and resources unreadable
	// from the store's files as far as the backend can (each backend says
	// how far on its type). It may wait for readers to finish and fails
	// with errs.Unavailable when they do not within its patience.
	Purge(ctx context.Context) error
}

// Rewrite is the new content of a chunk rewritten by RewriteChunks.
type Rewrite struct {
	Rows int // 0 deletes the chunk
	Data []byte
}

// SessionLink ties an anonymous session of a dataset group to the user that
// a later PutEvents call of the session named.
type SessionLink struct {
	Group, Session, User string
}

// Sessions persists the events API's session → user map, so that every
// replica, and a restarted one, stores a joined session's later anonymous
// events as the user's. Every method that returns nil has made its change
// durable. All methods are safe for concurrent use. Errors: errs.Invalid for
// a link with an empty member; anything else is errs.Internal (or wraps the
// context's error).
type Sessions interface {
	// LinkSessions stores links in one transaction. A session already
	// linked is linked to the new user (the later call wins, and within
	// links the later entry).
	LinkSessions(ctx context.Context, links []SessionLink) error
	// AppendLinked is AppendChunks and LinkSessions in one transaction: the
	// events of a call and the link it makes are durable together. Errors
	// as both.
	AppendLinked(ctx context.Context, cs []Chunk, links []SessionLink) ([]int64, error)
	// SessionUser returns the user a session of the group is linked to, or
	// "" when it is not linked.
	SessionUser(ctx context.Context, group, session string) (string, error)
	// UnlinkSessions deletes the group's links whose user is one of users
	// or whose session is one of sessions (a data deletion job).
	UnlinkSessions(ctx context.Context, group string, users, sessions []string) error
}

// Store is everything a backend provides.
type Store interface {
	Resources
	Records
	Sessions
	// Close releases the backend; it is idempotent.
	Close() error
}
