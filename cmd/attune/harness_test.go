package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
)

const (
	testAccessKey = "AKIATESTATTUNE000001"
	testSecret    = "test-secret-attune-0000000000000000000000"
)

// testServer is an in-process `attune serve` on a loopback port.
type testServer struct {
	URL     string
	DataDir string
	cancel  context.CancelFunc
	done    chan error
	out     *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs the server on dataDir (a new temp dir when "") and waits
// until it listens. extra are additional serve flags.
func startServer(t *testing.T, dataDir string, extra ...string) *testServer {
	t.Helper()
	return startServerEnv(t, dataDir, nil, extra...)
}

// startServerEnv is startServer with extra environment variables for run.
func startServerEnv(t *testing.T, dataDir string, moreEnv map[string]string, extra ...string) *testServer {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	addrFile := filepath.Join(t.TempDir(), "addr")
	// The admin port on a free port: the default 9464 is one per machine.
	env := map[string]string{"ATTUNE_ROOT_ACCESS_KEY_ID": testAccessKey, "ATTUNE_ROOT_SECRET_ACCESS_KEY": testSecret,
		"ATTUNE_ADMIN_LISTEN": "127.0.0.1:0"}
	for k, v := range moreEnv {
		env[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{DataDir: dataDir, cancel: cancel, done: make(chan error, 1), out: &syncBuffer{}}
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--addr-file", addrFile, "--log-level", "warn"},
		withTestLocalRoots(t, extra)...)
	go func() { ts.done <- run(ctx, args, func(k string) string { return env[k] }, ts.out, ts.out) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := os.ReadFile(addrFile); err == nil && len(b) > 0 {
			ts.URL = "http://" + string(b)
			break
		}
		select {
		case err := <-ts.done:
			t.Fatalf("server exited before listening: %v\n%s", err, ts.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start within 20s:\n%s", ts.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() { ts.Stop(t) })
	return ts
}

// withTestLocalRoots adds --local-roots to serve flags that lack it: the
// temp folder (where tests put their files, beside their data dirs, which
// the server refuses anyway) and ./testdata.
func withTestLocalRoots(t testing.TB, extra []string) []string {
	t.Helper()
	for _, a := range extra {
		if a == "--local-roots" || strings.HasPrefix(a, "--local-roots=") {
			return extra
		}
	}
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"--local-roots", os.TempDir() + "," + testdata}, extra...)
}

// Stop shuts the server down gracefully and waits for it; calling it twice is fine.
func (ts *testServer) Stop(t *testing.T) {
	t.Helper()
	if ts.cancel == nil {
		return
	}
	ts.cancel()
	ts.cancel = nil
	select {
	case err := <-ts.done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("server stopped with error: %v\n%s", err, ts.out.String())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("server did not stop within 30s")
	}
}

func sdkConfig(accessKey, secret string) aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secret, ""),
		// Fail fast in tests: Attune answers client faults with 4xx, which the
		// SDK does not retry anyway.
		RetryMaxAttempts: 1,
		// smithy-go closes the request body as soon as client.Do returns
		// (transport/http/client.go, ClientHandler.Handle); against a loopback
		// server that answers before the transport's write loop has read the
		// body's EOF, that close fails the write and the SDK reports a 200 as
		// "failed to decode response body ... use of closed network
		// connection" (about 1 call in 8,000; aws/aws-sdk-go-v2#1825). Tests
		// that count failed requests must not count that client-side race.
		HTTPClient: &http.Client{Transport: ownBodyTransport{awshttp.NewBuildableClient().GetTransport()}},
	}
}

// personalizeClient returns an AWS SDK control-plane client for ts.
func (ts *testServer) personalizeClient() *personalize.Client {
	return personalize.NewFromConfig(sdkConfig(testAccessKey, testSecret), func(o *personalize.Options) {
		o.BaseEndpoint = aws.String(ts.URL)
	})
}

// waitFor polls get until it returns one of the final statuses and returns it.
func waitFor(t testing.TB, what string, get func() (string, error), final ...string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := get()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for _, f := range final {
			if st == f {
				return st
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %q after 60s", what, st)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// testRole is a role ARN for import jobs: the Go SDK's model of
// CreateDatasetImportJob requires one; Attune accepts and ignores it.
const testRole = "arn:aws:iam::000000000000:role/attune-test"

// ownBodyTransport sends each request with a copy of its body that the
// caller cannot close.
type ownBodyTransport struct{ base http.RoundTripper }

func (o ownBodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return o.base.RoundTrip(req)
	}
	b, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return o.base.RoundTrip(r)
}
