package testenv

import (
	"bytes"
	"context"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// VersitygwEnv names the variable that may point at the versitygw binary.
const VersitygwEnv = "ATTUNE_VERSITYGW"

// versitygwInstall is the command that builds the binary S3 looks for.
const versitygwInstall = "GOBIN=$HOME/.cache/attune-tools/bin go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// S3Server describes a running S3-compatible server and how to reach it.
// The credentials are the server's root user, allowed everything.
type S3Server struct {
	Endpoint  string // base URL, such as "http://127.0.0.1:40123"; path-style
	AccessKey string
	SecretKey string
	Region    string
}

// S3 starts a versitygw server for t on a free loopback port, storing its
// buckets under t.TempDir(), and stops it when t ends. The binary is
// $ATTUNE_VERSITYGW, else versitygw on $PATH, else
// ~/.cache/attune-tools/bin/versitygw, else $GOPATH/bin/versitygw; when none
// exists the test is skipped with instructions to build it (failed in CI:
// Missing).
func S3(t *testing.T) S3Server {
	t.Helper()
	bin := findVersitygw(t)
	root := t.TempDir()
	srv := S3Server{AccessKey: "attunetestkey", SecretKey: "attune-test-secret-123", Region: "us-east-1"}
	// Another process can take the free port between our probe and the
	// server's bind, so a server that dies at start-up gets a few retries.
	var lastErr error
	for range 3 {
		endpoint, err := startVersitygw(t, bin, root, srv)
		if err == nil {
			srv.Endpoint = endpoint
			return srv
		}
		lastErr = err
	}
	t.Fatalf("testenv: start versitygw (%s): %v", bin, lastErr)
	return S3Server{}
}

func findVersitygw(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(VersitygwEnv); p != "" {
		// An explicit setting that does not work is a broken CI config, not a
		// reason to skip quietly.
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("testenv: %s=%s: %v", VersitygwEnv, p, err)
		}
		return p
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	var candidates []string
	if dir, err := os.UserCacheDir(); err == nil {
		candidates = append(candidates, filepath.Join(dir, "attune-tools", "bin", "versitygw"))
	}
	for _, gopath := range filepath.SplitList(build.Default.GOPATH) {
		candidates = append(candidates, filepath.Join(gopath, "bin", "versitygw"))
	}
	for _, p := range candidates {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	Missing(t, "versitygw (S3-compatible test server) not found in $%s, $PATH, %s; build it with:\n\t%s",
		VersitygwEnv, strings.Join(candidates, ", "), versitygwInstall)
	return ""
}

// syncBuffer collects a child's output while the test may read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startVersitygw runs one server and waits until it answers HTTP. On success
// t.Cleanup stops it; on failure it is already stopped.
func startVersitygw(t *testing.T, bin, root string, srv S3Server) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	l.Close()

	var out syncBuffer
	cmd := exec.Command(bin, "--port", addr, "--access", srv.AccessKey, "--secret", srv.SecretKey,
		"--region", srv.Region, "--quiet", "posix", root)
	cmd.Stdout, cmd.Stderr = &out, &out
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return "", err
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	stop := func() {
		select {
		case <-exited:
			return
		default:
		}
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}

	endpoint := "http://" + addr
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		// Any HTTP answer (an anonymous request gets 403) means it is up.
		resp, err := client.Get(endpoint + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case <-exited:
			return "", fmt.Errorf("exited before answering on %s: %s", addr, strings.TrimSpace(out.String()))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return "", fmt.Errorf("no answer on %s within 20s: %s", addr, strings.TrimSpace(out.String()))
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			if s := strings.TrimSpace(out.String()); s != "" {
				t.Logf("versitygw output:\n%s", s)
			}
		}
	})
	return endpoint, nil
}

// Client returns an S3 client for the server, authenticated as its root
// user, with path-style addressing.
func (s S3Server) Client() *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(s.Endpoint),
		Region:       s.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		UsePathStyle: true,
		// As in blob/s3: send checksums only where the API demands them.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// CreateBucket creates the bucket name, failing t if it cannot.
func (s S3Server) CreateBucket(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("testenv: create bucket %q: %v", name, err)
	}
}

// PutObject stores data at bucket/key, failing t if it cannot.
func (s S3Server) PutObject(t *testing.T, bucket, key string, data []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err := s.Client().PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
	})
	if err != nil {
		t.Fatalf("testenv: put s3://%s/%s: %v", bucket, key, err)
	}
}
