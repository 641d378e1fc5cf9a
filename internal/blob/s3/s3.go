// Package s3 implements blob.Bucket on Amazon S3 or any S3-compatible server
// (versitygw, MinIO, Ceph RGW, ...) with aws-sdk-go-v2, using path-style
// addressing so that plain host:port endpoints work. Only cmd/attune (and
// tests) may import it; everything else receives a blob.Bucket or
// blob.Opener.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/errs"
)

// S3 limits on multipart uploads.
const (
	// MinPartSize is the smallest part S3 accepts (except for the last one).
	MinPartSize = 5 << 20
	// DefaultPartSize is the part size used when Options.PartSize is zero.
	DefaultPartSize = 8 << 20
	// maxParts is the most parts one multipart upload may have.
	maxParts = 10000
)

// defaultRegion is used when neither Options nor the environment name one:
// S3-compatible servers ignore it or expect us-east-1, and SigV4 needs some.
const defaultRegion = "us-east-1"

// Options configures NewOpener. The zero value uses the standard AWS
// configuration chain alone.
type Options struct {
	// Endpoint is the S3 endpoint URL, such as "http://127.0.0.1:7070".
	// Empty means AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else the
	// shared config file, else AWS's own endpoint for the region.
	Endpoint string
	// Region signs requests. Empty means AWS_REGION / AWS_DEFAULT_REGION /
	// the shared config file, else "us-east-1".
	Region string
	// AccessKeyID, SecretAccessKey and SessionToken are static credentials.
	// Empty means the default chain (AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY, shared files, instance roles, ...).
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// PartSize is the size in bytes of each part of a multipart upload, and
	// so the most memory one Put buffers. Objects up to 10,000 parts are
	// supported (about 78 GiB at the default). Zero means DefaultPartSize;
	// values below MinPartSize are raised to it.
	PartSize int64
}

// NewOpener returns a blob.Opener for s3:// locations. The client it builds
// is shared by every bucket the opener returns. It fails with errs.Invalid
// when the options are inconsistent, and otherwise only if the AWS
// configuration files cannot be read: credentials are checked per request.
func NewOpener(ctx context.Context, opts Options) (blob.Opener, error) {
	if (opts.AccessKeyID == "") != (opts.SecretAccessKey == "") {
		return nil, errs.E(errs.Invalid, "s3: set both the access key ID and the secret access key, or neither")
	}
	var loads []func(*config.LoadOptions) error
	if opts.Region != "" {
		loads = append(loads, config.WithRegion(opts.Region))
	}
	if opts.AccessKeyID != "" {
		loads = append(loads, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(opts.AccessKeyID, opts.SecretAccessKey, opts.SessionToken)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, fmt.Errorf("s3: load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = defaultRegion
	}
	client := awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		o.UsePathStyle = true
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		// Newer SDKs add CRC checksums (and aws-chunked bodies) to every
		// upload by default, which many S3-compatible servers reject; send
		// them only where the API demands.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	partSize := opts.PartSize
	if partSize == 0 {
		partSize = DefaultPartSize
	}
	partSize = max(partSize, MinPartSize)
	return func(ctx context.Context, bucket string) (blob.Bucket, error) {
		if bucket == "" {
			return nil, errs.E(errs.Invalid, "s3 location has no bucket")
		}
		return &Bucket{client: client, name: bucket, partSize: partSize}, nil
	}, nil
}

// Bucket is a blob.Bucket backed by one S3 bucket. It is safe for
// concurrent use.
type Bucket struct {
	client   *awss3.Client
	name     string
	partSize int64
}

var _ blob.Bucket = (*Bucket)(nil)

func (b *Bucket) uri(key string) string { return blob.FormatURI(blob.SchemeS3, b.name, key) }

func checkKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") {
		return errs.E(errs.Invalid, "invalid key %s: want a non-empty key without a leading '/'", errs.Quote(key))
	}
	return nil
}

// classify maps an SDK error for key (or prefix) to an error kind with a
// message that names the location, as Personalize reports it in a job's
// failureReason. Transport failures stay Internal.
func (b *Bucket) classify(op, key string, err error) error {
	loc := b.uri(key)
	var code string
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var status int
	var he interface{ HTTPStatusCode() int }
	if errors.As(err, &he) {
		status = he.HTTPStatusCode()
	}
	switch {
	case code == "NoSuchBucket":
		return errs.Wrap(errs.NotFound, err, "bucket %q does not exist (%s)", b.name, loc)
	case code == "NoSuchKey" || code == "NotFound" || status == 404:
		return errs.Wrap(errs.NotFound, err, "%s does not exist", loc)
	case code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "InvalidToken" || code == "ExpiredToken":
		return errs.Wrap(errs.Invalid, err, "access denied to %s: the S3 endpoint rejected the credentials (%s)", loc, code)
	case code == "AccessDenied" || code == "AllAccessDisabled" || status == 403:
		return errs.Wrap(errs.Invalid, err, "access denied to %s", loc)
	}
	return fmt.Errorf("s3 %s %s: %w", op, loc, err)
}

// Open implements blob.Bucket. The object streams from the server as the
// caller reads.
func (b *Bucket) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	out, err := b.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: &b.name, Key: &key})
	if err != nil {
		return nil, b.classify("get", key, err)
	}
	return out.Body, nil
}

// Put implements blob.Bucket. It buffers at most one part (Options.PartSize)
// in memory: a shorter object goes up with one PutObject, a longer one as a
// multipart upload, part by part, which S3 makes visible only when it is
// completed. A failed multipart upload is aborted, so the old object stays.
func (b *Bucket) Put(ctx context.Context, key string, r io.Reader) error {
	if err := checkKey(key); err != nil {
		return err
	}
	var buf bytes.Buffer
	n, err := io.CopyN(&buf, r, b.partSize)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("put %s: read: %w", b.uri(key), err)
	}
	if n < b.partSize {
		_, err := b.client.PutObject(ctx, &awss3.PutObjectInput{
			Bucket:        &b.name,
			Key:           &key,
			Body:          bytes.NewReader(buf.Bytes()),
			ContentLength: aws.Int64(n),
		})
		if err != nil {
			return b.classify("put", key, err)
		}
		return nil
	}
	return b.putMultipart(ctx, key, &buf, r)
}

// putMultipart uploads first (one full part already read) and the rest of r.
func (b *Bucket) putMultipart(ctx context.Context, key string, buf *bytes.Buffer, r io.Reader) (err error) {
	created, err := b.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: &b.name, Key: &key})
	if err != nil {
		return b.classify("put", key, err)
	}
	id := created.UploadId
	defer func() {
		if err == nil {
			return
		}
		// Abort even when ctx is already cancelled: otherwise the parts
		// linger (and are billed) until a lifecycle rule removes them.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, aerr := b.client.AbortMultipartUpload(actx, &awss3.AbortMultipartUploadInput{Bucket: &b.name, Key: &key, UploadId: id}); aerr != nil {
			err = fmt.Errorf("%w (and aborting the upload failed: %v)", err, aerr)
		}
	}()
	var parts []types.CompletedPart
	for num := int32(1); buf.Len() > 0; num++ {
		if num > maxParts {
			return errs.E(errs.TooLarge, "object for %s is larger than %d bytes", b.uri(key), maxParts*b.partSize)
		}
		out, err := b.client.UploadPart(ctx, &awss3.UploadPartInput{
			Bucket:        &b.name,
			Key:           &key,
			UploadId:      id,
			PartNumber:    aws.Int32(num),
			Body:          bytes.NewReader(buf.Bytes()),
			ContentLength: aws.Int64(int64(buf.Len())),
		})
		if err != nil {
			return b.classify("put", key, err)
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
		buf.Reset()
		if _, err := io.CopyN(buf, r, b.partSize); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("put %s: read: %w", b.uri(key), err)
		}
	}
	_, err = b.client.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{
		Bucket:          &b.name,
		Key:             &key,
		UploadId:        id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return b.classify("put", key, err)
	}
	return nil
}

// List implements blob.Bucket, following ListObjectsV2 continuation tokens.
func (b *Bucket) List(ctx context.Context, prefix string) ([]blob.Object, error) {
	var objs []blob.Object
	pages := awss3.NewListObjectsV2Paginator(b.client, &awss3.ListObjectsV2Input{Bucket: &b.name, Prefix: &prefix})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, b.classify("list", prefix, err)
		}
		for _, o := range page.Contents {
			objs = append(objs, blob.Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size)})
		}
	}
	// S3 already lists in byte order; some compatible servers do not
	// promise it, and callers rely on it.
	slices.SortFunc(objs, func(x, y blob.Object) int { return strings.Compare(x.Key, y.Key) })
	return objs, nil
}

// Delete implements blob.Bucket. S3 itself treats a missing key as deleted.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if _, err := b.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &b.name, Key: &key}); err != nil {
		cerr := b.classify("delete", key, err)
		if errs.KindOf(cerr) == errs.NotFound && !isNoSuchBucket(err) {
			return nil // some compatible servers answer 404 for a missing key
		}
		return cerr
	}
	return nil
}

func isNoSuchBucket(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "NoSuchBucket"
}
