package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestUnsignedBodyAttackRSS measures what 40 connections each uploading an
// unsigned 15 MiB body cost a real `attune serve` process: its peak
// resident memory (VmHWM) before and after the attack. It builds this
// package's binary, or measures ATTUNE_RSS_BINARY (e.g. a build of an older
// commit) when set, and runs only with ATTUNE_RSS_ATTACK=1: it is a
// measurement, not a unit test. For this package's own binary it fails
// when the attack raises the peak by more than 128 MiB.
//
//	ATTUNE_RSS_ATTACK=1 go test ./cmd/attune -run TestUnsignedBodyAttackRSS -v
func TestUnsignedBodyAttackRSS(t *testing.T) {
	if os.Getenv("ATTUNE_RSS_ATTACK") == "" {
		t.Skip("set ATTUNE_RSS_ATTACK=1 to measure the unsigned-body attack against a real attune binary")
	}
	bin := os.Getenv("ATTUNE_RSS_BINARY")
	own := bin == ""
	if own {
		bin = filepath.Join(t.TempDir(), "attune")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	dir := t.TempDir()
	addrFile := filepath.Join(dir, "addr")
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"), "--addr-file", addrFile, "--log-level", "error")
	cmd.Env = append(os.Environ(), "ATTUNE_ROOT_ACCESS_KEY_ID="+testAccessKey, "ATTUNE_ROOT_SECRET_ACCESS_KEY="+testSecret)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var addr string
	for deadline := time.Now().Add(30 * time.Second); addr == ""; time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(addrFile); err == nil && len(b) > 0 {
			addr = string(b)
		} else if time.Now().After(deadline) {
			t.Fatal("server did not start within 30s")
		}
	}
	before := procStatusKiB(t, cmd.Process.Pid, "VmHWM")

	const conns, size = 40, 15 << 20
	var wg sync.WaitGroup
	statuses := make([]string, conns)
	start := time.Now()
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = unsignedUpload(addr, size)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	time.Sleep(200 * time.Millisecond)
	peak, now := procStatusKiB(t, cmd.Process.Pid, "VmHWM"), procStatusKiB(t, cmd.Process.Pid, "VmRSS")
	t.Logf("%d unsigned %d MiB uploads in %v; answers: %s", conns, size>>20, elapsed.Round(time.Millisecond), summarize(statuses))
	t.Logf("server peak RSS %d MiB before the attack, %d MiB after (now %d MiB)", before>>10, peak>>10, now>>10)
	if own && peak-before > 128<<10 {
		t.Errorf("the attack raised the server's peak RSS by %d MiB, want at most 128 MiB", (peak-before)>>10)
	}
}

// unsignedUpload posts an unsigned body of size bytes and returns the
// status the server answered, or the error that ended the exchange.
func unsignedUpload(addr string, size int) string {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "dial: " + err.Error()
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Minute))
	head := fmt.Sprintf("POST / HTTP/1.1\r\nHost: %s\r\nX-Amz-Target: AmazonPersonalize.ListDatasetGroups\r\n"+
		"Content-Type: application/x-amz-json-1.1\r\nContent-Length: %d\r\n\r\n", addr, size)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := io.WriteString(c, head); err != nil {
			return
		}
		chunk := make([]byte, 256<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	c.Close()
	<-done
	if err != nil {
		return "no answer"
	}
	res.Body.Close()
	return res.Status
}

// summarize counts equal strings: "403 Forbidden ×40".
func summarize(ss []string) string {
	n := map[string]int{}
	for _, s := range ss {
		n[s]++
	}
	var parts []string
	for s, k := range n {
		parts = append(parts, s+" ×"+strconv.Itoa(k))
	}
	return strings.Join(parts, ", ")
}

// procStatusKiB reads one "Vm…: N kB" line of /proc/PID/status.
func procStatusKiB(t *testing.T, pid int, field string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatalf("%s: %q: %v", field, line, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
