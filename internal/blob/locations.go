package blob

import (
	"context"
	"fmt"
	"io"
	"maps"
	"strings"

	"github.com/attune-dev/attune/internal/errs"
)

// Locations routes location URIs to buckets by scheme. It is how domain code
// reads import files and writes exports without knowing where they live.
// A Locations is safe for concurrent use.
type Locations struct {
	openers map[string]Opener // by scheme; never modified after NewLocations
}

// NewLocations returns a Locations that resolves each URI scheme ("s3",
// "file") with the matching Opener. A scheme without an opener is refused
// with errs.Invalid, so a server can leave, say, file:// switched off.
func NewLocations(openers map[string]Opener) *Locations {
	return &Locations{openers: maps.Clone(openers)}
}

// resolve parses uri and opens its bucket.
func (l *Locations) resolve(ctx context.Context, uri string) (b Bucket, scheme, bucket, key string, err error) {
	scheme, bucket, key, err = ParseURI(uri)
	if err != nil {
		return nil, "", "", "", err
	}
	open, ok := l.openers[scheme]
	if !ok {
		return nil, "", "", "", errs.E(errs.Invalid, "location %s: %s:// locations are disabled on this server", errs.Quote(uri), scheme)
	}
	b, err = open(ctx, bucket)
	if err != nil {
		return nil, "", "", "", fmt.Errorf("open bucket of %s: %w", uri, err)
	}
	return b, scheme, bucket, key, nil
}

// Open returns a reader for the object at uri; the caller closes it. It
// returns errs.Invalid for a bad URI, a folder URI or denied access, and
// errs.NotFound when the object or its bucket does not exist.
func (l *Locations) Open(ctx context.Context, uri string) (io.ReadCloser, error) {
	b, _, _, key, err := l.resolve(ctx, uri)
	if err != nil {
		return nil, err
	}
	if IsFolder(key) {
		return nil, errs.E(errs.Invalid, "location %s is a folder: name a file", errs.Quote(uri))
	}
	rc, err := b.Open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", uri, err)
	}
	return rc, nil
}

// Expand lists the files a location stands for. A file URI stands for itself
// (its existence is checked when it is opened). A folder URI (ending in "/")
// stands for every object under it, at any depth, whose key ends in suffix
// (say ".csv"; "" matches all), in key order. A folder with no such object
// is errs.Invalid, since an import of nothing is a client mistake.
func (l *Locations) Expand(ctx context.Context, uri, suffix string) ([]string, error) {
	b, scheme, bucket, key, err := l.resolve(ctx, uri)
	if err != nil {
		return nil, err
	}
	if !IsFolder(key) {
		return []string{uri}, nil
	}
	objs, err := b.List(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", uri, err)
	}
	var uris []string
	for _, o := range objs {
		// Keys ending in "/" are folder markers some S3 consoles create, never
		// data, even when suffix is "".
		if strings.HasSuffix(o.Key, suffix) && !strings.HasSuffix(o.Key, "/") {
			uris = append(uris, FormatURI(scheme, bucket, o.Key))
		}
	}
	if len(uris) == 0 {
		if suffix == "" {
			return nil, errs.E(errs.Invalid, "folder %s contains no files", errs.Quote(uri))
		}
		return nil, errs.E(errs.Invalid, "folder %s contains no %s files", errs.Quote(uri), suffix)
	}
	return uris, nil
}

// Put stores everything read from r at uri, atomically replacing any
// existing object. It returns errs.Invalid for a bad or folder URI or denied
// access, and errs.NotFound when an S3 bucket does not exist.
func (l *Locations) Put(ctx context.Context, uri string, r io.Reader) error {
	return l.put(ctx, uri, r, true)
}

// Create is Put for job outputs: where the bucket supports it (file://
// locations, see Creator) it never replaces an existing object and fails
// with errs.Invalid instead; elsewhere (S3) it is Put.
func (l *Locations) Create(ctx context.Context, uri string, r io.Reader) error {
	return l.put(ctx, uri, r, false)
}

func (l *Locations) put(ctx context.Context, uri string, r io.Reader, replace bool) error {
	b, _, _, key, err := l.resolve(ctx, uri)
	if err != nil {
		return err
	}
	if IsFolder(key) {
		return errs.E(errs.Invalid, "location %s is a folder: name a file", errs.Quote(uri))
	}
	if c, ok := b.(Creator); ok && !replace {
		err = c.Create(ctx, key, r)
	} else {
		err = b.Put(ctx, key, r)
	}
	if err != nil {
		return fmt.Errorf("put %s: %w", uri, err)
	}
	return nil
}

// Check validates uri for a job at the time the job is created: the URI is
// well formed, its scheme enabled, and, for buckets that confine keys (see
// Checker), the file or folder it names is allowed for reading or, when
// write is true, writing. Nothing is read or written. Every refusal is
// errs.Invalid with a message fit for the client.
func (l *Locations) Check(ctx context.Context, uri string, write bool) error {
	b, _, _, key, err := l.resolve(ctx, uri)
	if err != nil {
		return err
	}
	if c, ok := b.(Checker); ok {
		return c.Check(ctx, key, write)
	}
	return nil
}
