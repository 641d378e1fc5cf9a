package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/store"
)

// crashDirEnv, when set, turns the test binary into the crash child: it
// writes to the store in that directory until it is killed.
const crashDirEnv = "ATTUNE_SQLITE_CRASH_DIR"

// crashPayload is the data of the chunk a child numbers n; the parent
// rebuilds it to check what survived byte for byte.
func crashPayload(n int) []byte {
	return []byte(strings.Repeat(fmt.Sprintf("chunk %d;", n), 1+n%50))
}

// TestCrashChild is the child half of TestCrash; it skips unless started
// by it.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("runs only as the child of TestCrash")
	}
	ctx := context.Background()
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		fmt.Fprintf(os.Stdout, "error open: %v\n", err)
		os.Exit(2)
	}
	// Each line is written with one write(2) after the call returned, so the
	// parent reads only acknowledged writes, and every one of them.
	start, _ := strconv.Atoi(os.Getenv(crashDirEnv + "_START"))
	for n := start; ; {
		batch := 1 + n%7
		cs := make([]store.Chunk, batch)
		for i := range cs {
			cs[i] = store.Chunk{Dataset: "ds", Source: store.Put, Rows: 1, Data: crashPayload(n + i)}
		}
		seqs, err := s.AppendChunks(ctx, cs)
		if err != nil {
			fmt.Fprintf(os.Stdout, "error append: %v\n", err)
			os.Exit(2)
		}
		var b strings.Builder
		for i, seq := range seqs {
			fmt.Fprintf(&b, "ack %d %d\n", seq, n+i)
		}
		os.Stdout.WriteString(b.String())
		n += batch

		// Now and then an import, so the kill can land inside a large
		// blob write or a commit too.
		if n%50 < batch {
			job := "job-" + strconv.Itoa(n)
			c := store.Chunk{Dataset: "bulk", Source: store.Bulk, Job: job, Rows: n, Data: make([]byte, 256<<10)}
			if err := s.StageChunk(ctx, c); err != nil {
				fmt.Fprintf(os.Stdout, "error stage: %v\n", err)
				os.Exit(2)
			}
			if err := s.CommitImport(ctx, "bulk", job, false); err != nil {
				fmt.Fprintf(os.Stdout, "error commit: %v\n", err)
				os.Exit(2)
			}
			fmt.Fprintf(os.Stdout, "committed %s %d\n", job, n)
		}
	}
}

// TestCrash kills a writing child process with SIGKILL several times and
// checks that every write it acknowledged is in the store afterwards.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("running as the crash child")
	}
	dir := t.TempDir()
	acked := map[int64]int{} // Seq → payload number
	committed := map[string]int{}
	next := 0
	for round := range 4 {
		ackedBefore := len(acked)
		// Kill after a different amount of work each round.
		killAfter := 200 + 150*round
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashDirEnv+"_START="+strconv.Itoa(next))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start child: %v", err)
		}
		killed := false
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 3 && f[0] == "ack":
				seq, err1 := strconv.ParseInt(f[1], 10, 64)
				n, err2 := strconv.Atoi(f[2])
				if err1 != nil || err2 != nil {
					t.Fatalf("child wrote %q", sc.Text())
				}
				acked[seq] = n
				next = max(next, n+1)
			case len(f) == 3 && f[0] == "committed":
				n, _ := strconv.Atoi(f[2])
				committed[f[1]] = n
			case len(f) > 0 && f[0] == "error":
				t.Fatalf("child failed: %s", sc.Text())
			}
			// Keep reading after the kill: lines the child wrote before it
			// died are acknowledged writes too.
			if !killed && len(acked)-ackedBefore >= killAfter {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatalf("kill child: %v", err)
				}
				killed = true
			}
		}
		err = cmd.Wait()
		if !killed {
			t.Fatalf("round %d: child exited by itself (%v) after %d acks", round, err, len(acked)-ackedBefore)
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended with %v, want SIGKILL", round, cmd.ProcessState)
		}
		checkCrashSurvivors(t, dir, acked, committed)
		t.Logf("round %d: %d acknowledged chunks, %d committed imports survived", round, len(acked), len(committed))
	}
}

// checkCrashSurvivors reopens the store in dir and checks that every
// acknowledged chunk and import is there.
func checkCrashSurvivors(t *testing.T, dir string, acked map[int64]int, committed map[string]int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	found := map[int64][]byte{}
	err = s.ScanChunks(ctx, "ds", store.Put, 0, func(c store.Chunk) error {
		found[c.Seq] = c.Data
		return nil
	})
	if err != nil {
		t.Fatalf("ScanChunks after kill: %v", err)
	}
	lost := 0
	for seq, n := range acked {
		data, ok := found[seq]
		if !ok || string(data) != string(crashPayload(n)) {
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged chunk %d (Seq %d) lost or changed after SIGKILL", n, seq)
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged chunks lost", lost, len(acked))
	}
	jobs := map[string]int{}
	err = s.ScanChunks(ctx, "bulk", store.Bulk, 0, func(c store.Chunk) error {
		jobs[c.Job] = c.Rows
		return nil
	})
	if err != nil {
		t.Fatalf("ScanChunks(bulk) after kill: %v", err)
	}
	for job, rows := range committed {
		if jobs[job] != rows {
			t.Errorf("committed import %s lost after SIGKILL", job)
		}
	}
}
