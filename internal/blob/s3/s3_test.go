package s3_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/blob/blobtest"
	"github.com/attune-dev/attune/internal/blob/s3"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/testenv"
)

func opener(t *testing.T, srv testenv.S3Server, secret string) blob.Opener {
	t.Helper()
	open, err := s3.NewOpener(t.Context(), s3.Options{
		Endpoint:        srv.Endpoint,
		Region:          srv.Region,
		AccessKeyID:     srv.AccessKey,
		SecretAccessKey: secret,
		PartSize:        s3.MinPartSize, // so blobtest's large object takes three parts
	})
	if err != nil {
		t.Fatalf("NewOpener = %v", err)
	}
	return open
}

func TestConformance(t *testing.T) {
	srv := testenv.S3(t)
	open := opener(t, srv, srv.SecretKey)
	n := 0
	blobtest.Run(t, func(t *testing.T) blob.Bucket {
		n++
		name := fmt.Sprintf("conformance-%d", n)
		srv.CreateBucket(t, name)
		b, err := open(t.Context(), name)
		if err != nil {
			t.Fatalf("open bucket %s: %v", name, err)
		}
		return b
	})
}

// TestEnvironment checks that the zero Options take endpoint, region and
// credentials from the standard AWS variables, as cmd/attune relies on.
func TestEnvironment(t *testing.T) {
	srv := testenv.S3(t)
	srv.CreateBucket(t, "envbucket")
	srv.PutObject(t, "envbucket", "in/data.csv", []byte("a,b\n"))
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.Endpoint)
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // the S3-specific one must win
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", srv.Region)
	// Keep any shared config on the machine out of the test.
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_PROFILE", "")

	open, err := s3.NewOpener(t.Context(), s3.Options{})
	if err != nil {
		t.Fatalf("NewOpener = %v", err)
	}
	b, err := open(t.Context(), "envbucket")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := b.Open(t.Context(), "in/data.csv")
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	defer rc.Close()
	if got, _ := io.ReadAll(rc); string(got) != "a,b\n" {
		t.Errorf("read %q, want %q", got, "a,b\n")
	}
}

func TestErrors(t *testing.T) {
	srv := testenv.S3(t)
	srv.CreateBucket(t, "errbucket")
	srv.PutObject(t, "errbucket", "x.csv", []byte("x"))
	good := opener(t, srv, srv.SecretKey)
	bad := opener(t, srv, "wrong-secret")
	tests := []struct {
		name   string
		open   blob.Opener
		bucket string
		op     func(ctx context.Context, b blob.Bucket) error
		want   errs.Kind
	}{
		{"missing bucket open", good, "nosuchbucket", openOp("x.csv"), errs.NotFound},
		{"missing bucket put", good, "nosuchbucket", putOp("x.csv"), errs.NotFound},
		{"missing bucket list", good, "nosuchbucket", listOp(""), errs.NotFound},
		{"wrong secret open", bad, "errbucket", openOp("x.csv"), errs.Invalid},
		{"wrong secret put", bad, "errbucket", putOp("y.csv"), errs.Invalid},
		{"wrong secret list", bad, "errbucket", listOp(""), errs.Invalid},
		{"wrong secret delete", bad, "errbucket", deleteOp("x.csv"), errs.Invalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.open(t.Context(), tc.bucket)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.op(t.Context(), b); errs.KindOf(err) != tc.want {
				t.Errorf("got %v (kind %v), want kind %v", err, errs.KindOf(err), tc.want)
			}
		})
	}
	// The object survives the attempted delete with the wrong secret.
	b, _ := good(t.Context(), "errbucket")
	if err := openOp("x.csv")(t.Context(), b); err != nil {
		t.Errorf("Open after unauthorized Delete = %v, want nil", err)
	}
}

func openOp(key string) func(context.Context, blob.Bucket) error {
	return func(ctx context.Context, b blob.Bucket) error {
		rc, err := b.Open(ctx, key)
		if err == nil {
			rc.Close()
		}
		return err
	}
}

func putOp(key string) func(context.Context, blob.Bucket) error {
	return func(ctx context.Context, b blob.Bucket) error {
		return b.Put(ctx, key, bytes.NewReader([]byte("data")))
	}
}

func listOp(prefix string) func(context.Context, blob.Bucket) error {
	return func(ctx context.Context, b blob.Bucket) error { _, err := b.List(ctx, prefix); return err }
}

func deleteOp(key string) func(context.Context, blob.Bucket) error {
	return func(ctx context.Context, b blob.Bucket) error { return b.Delete(ctx, key) }
}

func TestNewOpenerOptions(t *testing.T) {
	if _, err := s3.NewOpener(t.Context(), s3.Options{AccessKeyID: "only-id"}); errs.KindOf(err) != errs.Invalid {
		t.Errorf("NewOpener(id without secret) = %v, want kind Invalid", err)
	}
	open, err := s3.NewOpener(t.Context(), s3.Options{Endpoint: "http://127.0.0.1:1", Region: "us-east-1", AccessKeyID: "a", SecretAccessKey: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := open(t.Context(), ""); errs.KindOf(err) != errs.Invalid {
		t.Errorf("open(\"\") = %v, want kind Invalid", err)
	}
}
