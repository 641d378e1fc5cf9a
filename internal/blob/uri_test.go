package blob_test

import (
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/errs"
)

func TestParseURI(t *testing.T) {
	tests := []struct {
		uri                 string
		scheme, bucket, key string
		wantErr             bool
	}{
		{uri: "s3://bucket/key.csv", scheme: "s3", bucket: "bucket", key: "key.csv"},
		{uri: "s3://my-bucket.v2/data/2024/interactions.csv", scheme: "s3", bucket: "my-bucket.v2", key: "data/2024/interactions.csv"},
		{uri: "s3://bucket/folder/", scheme: "s3", bucket: "bucket", key: "folder/"},
		{uri: "s3://bucket/", scheme: "s3", bucket: "bucket", key: ""},
		{uri: "S3://bucket/k", scheme: "s3", bucket: "bucket", key: "k"},
		{uri: "s3://bucket/with space/100%.csv", scheme: "s3", bucket: "bucket", key: "with space/100%.csv"},
		{uri: "file:///data/in.csv", scheme: "file", bucket: "", key: "data/in.csv"},
		{uri: "file:///data/folder/", scheme: "file", bucket: "", key: "data/folder/"},
		{uri: "", wantErr: true},
		{uri: "   ", wantErr: true},
		{uri: "data/in.csv", wantErr: true},
		{uri: "/abs/in.csv", wantErr: true},
		{uri: "http://host/in.csv", wantErr: true},
		{uri: "gs://bucket/in.csv", wantErr: true},
		{uri: "://bucket/in.csv", wantErr: true},
		{uri: "s3://", wantErr: true},
		{uri: "s3:///key", wantErr: true},
		{uri: "s3://bucket", wantErr: true},
		{uri: "s3://bucket//key", wantErr: true},
		{uri: "s3://bad bucket/key", wantErr: true},
		{uri: "s3://bucket/line\nbreak", wantErr: true},
		{uri: "file://", wantErr: true},
		{uri: "file:///", wantErr: true},
		{uri: "file://relative/in.csv", wantErr: true},
		{uri: "file://./in.csv", wantErr: true},
		{uri: "file:///data/../etc/passwd", wantErr: true},
		{uri: "file:///data//in.csv", wantErr: true},
		{uri: "file:///data/./in.csv", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.uri, func(t *testing.T) {
			scheme, bucket, key, err := blob.ParseURI(tc.uri)
			if tc.wantErr {
				if errs.KindOf(err) != errs.Invalid || errs.Message(err) == "" {
					t.Errorf("ParseURI(%q) = %q, %q, %q, %v; want kind Invalid", tc.uri, scheme, bucket, key, err)
				}
				return
			}
			if err != nil || scheme != tc.scheme || bucket != tc.bucket || key != tc.key {
				t.Errorf("ParseURI(%q) = %q, %q, %q, %v; want %q, %q, %q, nil", tc.uri, scheme, bucket, key, err, tc.scheme, tc.bucket, tc.key)
			}
			if tc.uri == "S3://bucket/k" {
				return // FormatURI gives the canonical lower-case scheme
			}
			if got := blob.FormatURI(scheme, bucket, key); got != tc.uri {
				t.Errorf("FormatURI(ParseURI(%q)) = %q, want the input back", tc.uri, got)
			}
		})
	}
}

// FuzzParseURI checks that every URI ParseURI accepts has a clean key (no
// empty, "." or ".." element), formats back to an equivalent URI,
// and that refusals are client errors with a bounded message.
func FuzzParseURI(f *testing.F) {
	for _, s := range []string{"s3://bucket/key.csv", "s3://b/folder/", "s3://b/", "file:///data/in.csv", "file:///data/../etc/passwd",
		"file:///a//b", "s3://b/a/./c", "S3://b/k", "file://host/x", "/abs", "", "s3://b/" + strings.Repeat("x/", 200), "file:///\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		scheme, bucket, key, err := blob.ParseURI(uri)
		if err != nil {
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("ParseURI(%q) = %v, want kind Invalid", uri, err)
			}
			if msg := errs.Message(err); len(msg) > 1200 {
				t.Fatalf("ParseURI(%q) message is %d bytes long", uri, len(msg))
			}
			return
		}
		if key != "" {
			for seg := range strings.SplitSeq(strings.TrimSuffix(key, "/"), "/") {
				if seg == "" || seg == "." || seg == ".." {
					t.Fatalf("ParseURI(%q) accepted key %q with element %q", uri, key, seg)
				}
			}
		}
		s2, b2, k2, err := blob.ParseURI(blob.FormatURI(scheme, bucket, key))
		if err != nil || s2 != scheme || b2 != bucket || k2 != key {
			t.Fatalf("ParseURI(FormatURI(ParseURI(%q))) = %q %q %q %v; want %q %q %q", uri, s2, b2, k2, err, scheme, bucket, key)
		}
	})
}
