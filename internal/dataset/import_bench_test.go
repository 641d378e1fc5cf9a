package dataset

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/blob/local"
	"github.com/attune-dev/attune/internal/store/sqlite"
)

// writeInteractionsCSV writes n rows shaped like real interaction logs:
// power-law users and items, three event types, increasing timestamps.
func writeInteractionsCSV(tb testing.TB, path string, n int) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP\n")
	events := []string{"VIEWED", "VIEWED", "VIEWED", "TRIAL_STARTED", "PURCHASED"}
	x := uint64(88172645463325252)
	for i := range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		u := (x % 100000) * (x % 97) / 97
		it := ((x >> 20) % 50000) * ((x >> 40) % 89) / 89
		fmt.Fprintf(w, "usr_%06d,itm_%05d,%s,%d\n", u, it, events[(x>>33)%5], 1700000000+i/3)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// peakRSS reads the process's high-water resident set (VmHWM) in bytes.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return -1
}

// BenchmarkImport1M imports a 1M-row interactions CSV end to end: read the
// file, parse, validate, dictionary-encode ids, stage durable chunks in
// SQLite and commit. Reports rows/s and the heap high-water mark.
//
//	go test ./internal/dataset -run x -bench Import1M -benchtime 3x
func BenchmarkImport1M(b *testing.B) {
	const rows = 1_000_000
	dir := b.TempDir()
	csvPath := filepath.Join(dir, "interactions.csv")
	writeInteractionsCSV(b, csvPath, rows)
	fi, _ := os.Stat(csvPath)
	ctx := context.Background()
	svc, st, d := benchService(b, dir)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapAlloc
	var peakHeap uint64
	done := make(chan struct{})
	go func() { // sample the heap: MemStats has no high-water mark of its own
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
				runtime.ReadMemStats(&m)
				peakHeap = max(peakHeap, m.HeapAlloc)
			}
		}
	}()
	b.ResetTimer()
	for i := range b.N {
		j, err := svc.CreateImportJob(ctx, CreateImportInput{JobName: fmt.Sprintf("bench-%d", i), DatasetARN: d.ARN, DataLocation: "file://" + csvPath})
		if err != nil {
			b.Fatal(err)
		}
		svc.runImport(ctx, j.ARN)
		j, _ = svc.ImportJob(ctx, j.ARN)
		if j.Status != StatusActive || j.Report.Imported != rows {
			b.Fatalf("import ended %s (%s), %+v", j.Status, j.FailureReason, j.Report)
		}
	}
	b.StopTimer()
	close(done)
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(rows/sec, "rows/s")
	b.ReportMetric(float64(fi.Size())/sec/1e6, "MB/s")
	b.ReportMetric(float64(peakHeap-min(peakHeap, heapBefore))/1e6, "peak-heap-MB")
	b.ReportMetric(float64(peakRSS())/1e6, "peak-RSS-MB")
	if n, err := st.CountRecords(ctx, d.ARN); err != nil || n != rows {
		b.Fatalf("CountRecords = %d, %v; want %d (FULL imports replace)", n, err, rows)
	}
}

// benchService opens a SQLite store in dir and returns a dataset service
// over it with an ACTIVE Interactions dataset.
func benchService(b *testing.B, dir string) (*Service, *sqlite.Store, *Dataset) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "store"), sqlite.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	fileOpen, err := local.FileOpener(local.FilesOptions{Roots: []string{dir}})
	if err != nil {
		b.Fatal(err)
	}
	locs := blob.NewLocations(map[string]blob.Opener{"file": fileOpen})
	svc := New(st, locs, Options{}, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	g, err := svc.CreateGroup(ctx, CreateGroupInput{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.activatePending(ctx); err != nil {
		b.Fatal(err)
	}
	sc, err := svc.CreateSchema(ctx, "bench", `{"type":"record","name":"Interactions","fields":[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},{"name":"EVENT_TYPE","type":"string"},{"name":"TIMESTAMP","type":"long"}]}`, "")
	if err != nil {
		b.Fatal(err)
	}
	d, err := svc.CreateDataset(ctx, CreateDatasetInput{Name: "bench", SchemaARN: sc.ARN, GroupARN: g.ARN, Type: "Interactions"})
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.activatePending(ctx); err != nil {
		b.Fatal(err)
	}
	return svc, st, d
}

// BenchmarkDeleteUsers1M runs a data deletion job of 100 users over a
// 1M-row interactions dataset: a scan for their sessions, a scan that
// rewrites every chunk holding one of them, and the purge.
//
//	go test ./internal/dataset -run x -bench DeleteUsers1M -benchtime 3x
func BenchmarkDeleteUsers1M(b *testing.B) {
	const rows = 1_000_000
	dir := b.TempDir()
	csvPath := filepath.Join(dir, "interactions.csv")
	writeInteractionsCSV(b, csvPath, rows)
	ctx := context.Background()
	svc, st, d := benchService(b, dir)
	j, err := svc.CreateImportJob(ctx, CreateImportInput{JobName: "bench", DatasetARN: d.ARN, DataLocation: "file://" + csvPath})
	if err != nil {
		b.Fatal(err)
	}
	svc.runImport(ctx, j.ARN)
	var deleted int64
	b.ResetTimer()
	for i := range b.N {
		var list strings.Builder
		list.WriteString("USER_ID\n")
		for u := range 100 {
			fmt.Fprintf(&list, "usr_%06d\n", (i*100+u)*7)
		}
		path := filepath.Join(dir, fmt.Sprintf("delete-%d.csv", i))
		if err := os.WriteFile(path, []byte(list.String()), 0o600); err != nil {
			b.Fatal(err)
		}
		dj, err := svc.CreateDeletionJob(ctx, CreateDeletionInput{JobName: fmt.Sprintf("del-%d", i), GroupARN: d.GroupARN,
			DataLocation: "file://" + path, RoleARN: "arn:aws:iam::000000000000:role/bench"})
		if err != nil {
			b.Fatal(err)
		}
		svc.runDeletion(ctx, dj.ARN)
		dj, _ = svc.DeletionJob(ctx, dj.ARN)
		if dj.Status != DeletionCompleted {
			b.Fatalf("deletion job ended %s: %s", dj.Status, dj.FailureReason)
		}
		deleted += dj.NumDeleted
	}
	b.StopTimer()
	b.ReportMetric(float64(deleted)/float64(b.N), "rows-deleted/op")
	if n, err := st.CountRecords(ctx, d.ARN); err != nil || n != rows-deleted {
		b.Fatalf("CountRecords = %d, %v; want %d", n, err, rows-deleted)
	}
}
