package dataset

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/store/sqlite"
)

// brokenBucket fails every read with an internal cause that must stay in the log.
type brokenBucket struct{}

const internalCause = "disk read failed at /var/lib/secret-path: EIO"

func (brokenBucket) Open(context.Context, string) (io.ReadCloser, error) {
	return nil, errors.New(internalCause)
}
func (brokenBucket) Put(context.Context, string, io.Reader) error { return errors.New(internalCause) }
func (brokenBucket) List(context.Context, string) ([]blob.Object, error) {
	return nil, errors.New(internalCause)
}
func (brokenBucket) Delete(context.Context, string) error { return errors.New(internalCause) }

// TestInternalFailureReasonIsGeneric: a job that fails for an internal
// reason stores a generic failureReason naming the job, and the cause goes
// to the log only.
func TestInternalFailureReasonIsGeneric(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	locs := blob.NewLocations(map[string]blob.Opener{blob.SchemeS3: func(context.Context, string) (blob.Bucket, error) { return brokenBucket{}, nil }})
	var mu syncWriter
	svc := New(st, locs, Options{Poll: time.Hour}, time.Now, slog.New(slog.NewTextHandler(&mu, nil)))
	d := activeInteractions(t, svc)
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	defer func() { stop(); <-done }()

	imp, err := svc.CreateImportJob(ctx, CreateImportInput{JobName: "imp", DatasetARN: d.ARN, DataLocation: "s3://bucket/in.csv"})
	if err != nil {
		t.Fatal(err)
	}
	exp, err := svc.CreateExportJob(ctx, CreateExportInput{JobName: "exp", DatasetARN: d.ARN, OutputPath: "s3://bucket/out/"})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for deadline := time.Now().Add(10 * time.Second); len(reasons) < 2; time.Sleep(5 * time.Millisecond) {
		if j, err := svc.ImportJob(ctx, imp.ARN); err == nil && j.Status == StatusCreateFailed {
			reasons[j.ARN] = j.FailureReason
		}
		if j, err := svc.ExportJob(ctx, exp.ARN); err == nil && j.Status == StatusCreateFailed {
			reasons[j.ARN] = j.FailureReason
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs did not fail within 10s: %v", reasons)
		}
	}
	for jobARN, reason := range reasons {
		if strings.Contains(reason, "secret-path") || strings.Contains(reason, "EIO") || !strings.Contains(reason, jobARN) ||
			!strings.HasPrefix(reason, "internal error") {
			t.Errorf("failureReason of %s = %q, want a generic internal error naming the job", jobARN, reason)
		}
	}
	if !strings.Contains(mu.String(), "secret-path") {
		t.Errorf("the internal cause was not logged:\n%s", mu.String())
	}
}

// syncWriter is a log destination safe for the runner's goroutines.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
