package dataset

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/blob/local"
	"github.com/attune-dev/attune/internal/store"
	"github.com/attune-dev/attune/internal/store/sqlite"
)

// TestExportRerunAfterCrash: an export a crash interrupted after its file
// was written (found CREATE IN_PROGRESS at start) runs again and replaces
// its own output, while a new export still refuses to replace a file that
// was there before it.
func TestExportRerunAfterCrash(t *testing.T) {
	ctx := t.Context()
	svc, st, dir := newFileService(t)
	d := activeInteractions(t, svc)
	if _, err := st.AppendChunks(ctx, []store.Chunk{{Dataset: d.ARN, Source: store.Put, Rows: 1,
		Data: chunk(t, [][]string{{"u1", "i1", "1700000000", "ev-1"}}, "EVENT_ID")}}); err != nil {
		t.Fatal(err)
	}

	// "interrupted" ran once and wrote a (torn) file before the crash.
	interrupted, err := svc.CreateExportJob(ctx, CreateExportInput{JobName: "interrupted", DatasetARN: d.ARN, OutputPath: "file://" + dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exports.Update(ctx, st, interrupted.ARN, time.Now, func(j *ExportJob) error {
		j.Status, j.Attempts = StatusCreateInProgress, 1
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "interrupted.csv"), "USER_ID,ITEM_ID,TIMESTAMP,EVENT_ID\nu1,i1,17")
	// "fresh" never ran; a file someone else put there stays.
	fresh, err := svc.CreateExportJob(ctx, CreateExportInput{JobName: "fresh", DatasetARN: d.ARN, OutputPath: "file://" + dir})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "fresh.csv"), "not ours\n")

	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	defer func() { stop(); <-done }()

	cases := []struct {
		name, arn, status, file string
	}{
		{"interrupted", interrupted.ARN, StatusActive, "USER_ID,ITEM_ID,TIMESTAMP,EVENT_ID\nu1,i1,1700000000,ev-1\n"},
		{"fresh", fresh.ARN, StatusCreateFailed, "not ours\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := waitExport(t, svc, tc.arn)
			if j.Status != tc.status {
				t.Errorf("export %s ended %s (%s), want %s", tc.name, j.Status, j.FailureReason, tc.status)
			}
			got, err := os.ReadFile(filepath.Join(dir, tc.name+".csv"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.file {
				t.Errorf("%s.csv = %q, want %q", tc.name, got, tc.file)
			}
		})
	}
}

// newFileService returns a service on a new SQLite store (closed at the
// end of the test) whose file:// locations are confined to dir.
func newFileService(t *testing.T) (svc *Service, st *sqlite.Store, dir string) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dir = t.TempDir()
	fileOpen, err := local.FileOpener(local.FilesOptions{Roots: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	svc = New(st, blob.NewLocations(map[string]blob.Opener{"file": fileOpen}), Options{Poll: time.Hour}, time.Now,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	return svc, st, dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitExport polls an export job until it ends.
func waitExport(t *testing.T, svc *Service, jobARN string) *ExportJob {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		j, err := svc.ExportJob(t.Context(), jobARN)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status == StatusActive || j.Status == StatusCreateFailed {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("export still %s after 10s", j.Status)
		}
	}
}
