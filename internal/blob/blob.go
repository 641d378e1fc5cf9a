// Package blob stores and retrieves opaque objects (import files, exports,
// batch outputs, model artifacts) behind the small Bucket interface, and
// routes location URIs such as s3://bucket/key and file:///abs/path to the
// right backend through Locations.
//
// It must not import concrete backends (blob/local, blob/s3) or any domain
// package: only cmd/attune wires backends in, as Opener functions.
package blob

import (
	"context"
	"io"
)

// Bucket is a flat namespace of objects addressed by keys. Keys are
// '/'-separated and have no leading '/'; "a/b.csv" lives "in folder a/" only
// by convention, as in S3. Implementations are safe for concurrent use.
type Bucket interface {
	// Open returns a reader for the object at key; the caller closes it.
	// It returns errs.NotFound when the object (or its bucket) does not exist,
	// errs.Invalid for a malformed key or when access is denied.
	Open(ctx context.Context, key string) (io.ReadCloser, error)

	// Put stores everything read from r at key, replacing any existing object.
	// It is atomic: readers see either the old object or the whole new one,
	// never a partial object, and a failed Put leaves the old object intact.
	// It returns errs.Invalid for a malformed key or when access is denied.
	Put(ctx context.Context, key string, r io.Reader) error

	// List returns the objects whose keys start with prefix, sorted by key
	// (byte order). An empty prefix lists the whole bucket; a prefix that
	// matches nothing gives an empty list, not an error.
	List(ctx context.Context, prefix string) ([]Object, error)

	// Delete removes the object at key. Deleting a missing object is not an
	// error. It returns errs.Invalid for a malformed key or denied access.
	Delete(ctx context.Context, key string) error
}

// Object describes one stored object, as returned by Bucket.List.
type Object struct {
	Key  string // full key within the bucket
	Size int64  // length in bytes
}

// Opener resolves the bucket part of a location URI (the "bucket" in
// s3://bucket/key, or "" for file:///abs/path) to a Bucket. It should be
// cheap: Locations calls it for every operation.
type Opener func(ctx context.Context, bucket string) (Bucket, error)

// Checker is implemented by buckets that confine keys (file:// locations
// limited to some folders). Check reports whether key (a file, or a folder
// when it ends in "/") may be read, or written when write is true, without
// touching it: it returns errs.Invalid, with a message naming what is
// allowed, for a key the bucket refuses, and nil otherwise (also for a key
// that does not exist yet).
type Checker interface {
	Check(ctx context.Context, key string, write bool) error
}

// Creator is implemented by buckets that can store an object without ever
// replacing one. Create is Put, except that it fails with errs.Invalid when
// anything already exists at key. Buckets without it (S3) are written with
// Put.
type Creator interface {
	Create(ctx context.Context, key string, r io.Reader) error
}
