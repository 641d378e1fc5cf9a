package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TestBackupBenchmark measures `attune backup` and `attune restore` of a
// store holding ATTUNE_BENCH_BACKUP_ROWS interactions (default 1M) while one
// client keeps sending PutEvents, and PutEvents latency before and during
// the backup. Env-gated: ATTUNE_BENCH_BACKUP=1 go test -run TestBackupBenchmark -v ./cmd/attune
func TestBackupBenchmark(t *testing.T) {
	if os.Getenv("ATTUNE_BENCH_BACKUP") != "1" {
		t.Skip("set ATTUNE_BENCH_BACKUP=1 to measure backup and restore of a large store")
	}
	rows := 1_000_000
	if v := os.Getenv("ATTUNE_BENCH_BACKUP_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("ATTUNE_BENCH_BACKUP_ROWS=%q is not a positive number", v)
		}
		rows = n
	}
	csvPath := filepath.Join(t.TempDir(), "interactions.csv")
	f, err := os.Create(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP")
	for i := range rows {
		fmt.Fprintf(w, "u%d,i%d,VIEWED,%d\n", i%50000, (i*7919)%100000, 1700000000+i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	ts := startServer(t, "")
	ctx := t.Context()
	pc := ts.personalizeClient()
	group, ds := seedGroup(t, ctx, pc, "bkbench")
	if j := importAndWait(t, ctx, pc, "bkbench-import", ds["Interactions"], "file://"+csvPath, ""); aws.ToString(j.Status) != "ACTIVE" {
		t.Fatalf("import: %s", aws.ToString(j.FailureReason))
	}
	_, trackingID := createTracker(t, ctx, pc, group, "bkbench-tracker")
	load := startEventLoad(eventsClient(ts.URL, 0), trackingID)
	time.Sleep(3 * time.Second)
	folder := filepath.Join(t.TempDir(), "backup")
	begin := time.Now()
	out := mustRunOperator(t, nil, "backup", "--to", "file://"+folder+"/", "--data-dir", ts.DataDir)
	end := time.Now()
	time.Sleep(time.Second)
	load.Stop()
	ts.Stop(t)

	restored := filepath.Join(t.TempDir(), "restored")
	rBegin := time.Now()
	mustRunOperator(t, nil, "restore", "--from", "file://"+folder+"/", "--data-dir", restored)
	rTook := time.Since(rBegin)
	if got := countRecords(t, restored, ds["Interactions"]); got < int64(rows) {
		t.Errorf("restored interactions = %d, want at least %d", got, rows)
	}
	info, err := os.Stat(filepath.Join(restored, "attune.db"))
	if err != nil {
		t.Fatal(err)
	}
	var pre, during []time.Duration
	load.mu.Lock()
	for _, c := range load.calls {
		switch {
		case c.start.Before(begin):
			pre = append(pre, c.took)
		case c.start.Before(end):
			during = append(during, c.took)
		}
	}
	load.mu.Unlock()
	t.Logf("%s", out)
	t.Logf("%d interactions, store %.1f MB: backup %v (%.0f MB/s), restore %v", rows, float64(info.Size())/1e6,
		end.Sub(begin).Round(time.Millisecond), float64(info.Size())/1e6/end.Sub(begin).Seconds(), rTook.Round(time.Millisecond))
	t.Logf("PutEvents (5 events, 1 client) before the backup: %d calls, p50 %v p99 %v; during it: %d calls, p50 %v p99 %v; %d failed",
		len(pre), pct(pre, 50), pct(pre, 99), len(during), pct(during, 50), pct(during, 99), len(load.fails))
}

// pct is the p-th percentile of ds (nearest rank), 0 for none.
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)*p/100].Round(10 * time.Microsecond)
}
