package blob

import (
	"strings"

	"github.com/attune-dev/attune/internal/errs"
)

// Supported URI schemes.
const (
	SchemeS3   = "s3"
	SchemeFile = "file"
)

// ParseURI splits a location URI into scheme, bucket and key. It accepts
// s3://bucket/key and file:///absolute/path (bucket "", key "absolute/path").
// A key ending in "/" names a folder; "s3://bucket/" names the whole bucket.
//
// The rest of the URI is taken literally, without percent-decoding, as the
// AWS CLI does for s3:// URIs, so keys with spaces or '%' need no escaping.
// Every error is errs.Invalid with a message fit for the client.
func ParseURI(uri string) (scheme, bucket, key string, err error) {
	if strings.TrimSpace(uri) == "" {
		return "", "", "", errs.E(errs.Invalid, "location is empty: use s3://bucket/key or file:///absolute/path")
	}
	if strings.ContainsFunc(uri, isControl) {
		return "", "", "", errs.E(errs.Invalid, "location %s contains control characters", errs.Quote(uri))
	}
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		if strings.HasPrefix(uri, "/") {
			return "", "", "", errs.E(errs.Invalid, "location %s has no scheme: did you mean file://%s?", errs.Quote(uri), errs.Quote(uri))
		}
		return "", "", "", errs.E(errs.Invalid, "location %s has no scheme: use s3://bucket/key or file:///absolute/path", errs.Quote(uri))
	}
	switch strings.ToLower(scheme) {
	case SchemeS3:
		bucket, key, err = parseS3(uri, rest)
		return SchemeS3, bucket, key, err
	case SchemeFile:
		key, err = parseFile(uri, rest)
		return SchemeFile, "", key, err
	default:
		return "", "", "", errs.E(errs.Invalid, "location %s has unsupported scheme %s: supported schemes are s3:// and file://", errs.Quote(uri), errs.Quote(scheme))
	}
}

func parseS3(uri, rest string) (bucket, key string, err error) {
	bucket, key, hasSlash := strings.Cut(rest, "/")
	switch {
	case bucket == "":
		return "", "", errs.E(errs.Invalid, "location %s has no bucket: use s3://bucket/key", errs.Quote(uri))
	case !validBucketName(bucket):
		return "", "", errs.E(errs.Invalid, "location %s has an invalid bucket name %s: use 1-255 letters, digits, '.', '-' or '_'", errs.Quote(uri), errs.Quote(bucket))
	case !hasSlash:
		// "s3://bucket" is ambiguous: refuse it rather than guess that the
		// whole bucket was meant.
		return "", "", errs.E(errs.Invalid, "location %s has no key: use s3://%s/key, or s3://%s/ for the whole bucket", errs.Quote(uri), bucket, bucket)
	case strings.HasPrefix(key, "/"):
		return "", "", errs.E(errs.Invalid, "location %s has a key starting with '/': use s3://%s/…", errs.Quote(uri), bucket)
	}
	if err := cleanSegments(uri, key); err != nil {
		return "", "", err
	}
	return bucket, key, nil
}

func parseFile(uri, rest string) (key string, err error) {
	if !strings.HasPrefix(rest, "/") {
		// file://data/x.csv parses as host "data": almost always a relative
		// path typed by mistake, which we refuse because the server's working
		// directory is not something a client should depend on.
		return "", errs.E(errs.Invalid, "location %s is not an absolute path: relative file paths are not supported, use file:///absolute/path", errs.Quote(uri))
	}
	key = rest[1:]
	if key == "" {
		return "", errs.E(errs.Invalid, "location %s names the root directory: use file:///absolute/path", errs.Quote(uri))
	}
	if err := cleanSegments(uri, key); err != nil {
		return "", err
	}
	return key, nil
}

// cleanSegments refuses a key (or folder key, ending in "/") with an empty,
// "." or ".." element: such keys could name something other than what they
// seem, and no backend needs them.
func cleanSegments(uri, key string) error {
	if key == "" {
		return nil // a whole S3 bucket
	}
	for seg := range strings.SplitSeq(strings.TrimSuffix(key, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return errs.E(errs.Invalid, "location %s is not a clean path: it has an empty, '.' or '..' element", errs.Quote(uri))
		}
	}
	return nil
}

func validBucketName(name string) bool {
	if len(name) > 255 {
		return false
	}
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// FormatURI is the inverse of ParseURI: it joins scheme, bucket and key into a
// location URI.
func FormatURI(scheme, bucket, key string) string {
	if scheme == SchemeFile {
		return "file:///" + key
	}
	return scheme + "://" + bucket + "/" + key
}

// IsFolder reports whether key names a folder (ends in "/", or is empty,
// meaning the whole bucket) rather than a single object.
func IsFolder(key string) bool { return key == "" || strings.HasSuffix(key, "/") }
