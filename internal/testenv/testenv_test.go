package testenv_test

import (
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/attune-dev/attune/internal/testenv"
)

func TestS3(t *testing.T) {
	srv := testenv.S3(t)
	srv.CreateBucket(t, "bucket-one")
	srv.PutObject(t, "bucket-one", "dir/obj.csv", []byte("a,b\n1,2\n"))

	out, err := srv.Client().GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String("bucket-one"), Key: aws.String("dir/obj.csv")})
	if err != nil {
		t.Fatalf("GetObject = %v", err)
	}
	defer out.Body.Close()
	if got, _ := io.ReadAll(out.Body); string(got) != "a,b\n1,2\n" {
		t.Errorf("GetObject read %q, want %q", got, "a,b\n1,2\n")
	}

	// The server must check signatures, or tests of credential errors
	// would pass for the wrong reason.
	wrong := srv
	wrong.SecretKey = "not-the-secret"
	if _, err := wrong.Client().ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String("bucket-one")}); err == nil {
		t.Error("ListObjectsV2 with a wrong secret = nil error, want a signature error")
	}
}

// TestS3Isolated checks that two servers in one test do not share buckets.
func TestS3Isolated(t *testing.T) {
	a, b := testenv.S3(t), testenv.S3(t)
	if a.Endpoint == b.Endpoint {
		t.Fatalf("two servers share endpoint %s", a.Endpoint)
	}
	a.CreateBucket(t, "only-in-a")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if _, err := b.Client().HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("only-in-a")}); err == nil {
		t.Error("HeadBucket on the second server found the first server's bucket")
	}
}

func TestPostgresFromEnv(t *testing.T) {
	const dsn = "postgres://u:p@db.example:5433/x?sslmode=disable"
	t.Setenv(testenv.PostgresEnv, dsn)
	if got := testenv.Postgres(t); got != dsn {
		t.Errorf("Postgres() = %q, want %q", got, dsn)
	}
}
