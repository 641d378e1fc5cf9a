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
	st, err := sqlite.Open(ctx, filepath.Join(dir, "store"), sqlite.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	locs := blob.NewLocations(map[string]blob.Opener{"file": local.FileOpener()})
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
