package sqlite

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/store"
)

// filesContain reports which of the store's files in dir (the database and
// its WAL) contain marker.
func filesContain(t *testing.T, dir string, marker []byte) []string {
	t.Helper()
	var found []string
	for _, name := range []string{FileName, FileName + "-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, marker) {
			found = append(found, name)
		}
	}
	return found
}

// TestDeletedBytesLeaveTheFiles writes records holding marker strings, in
// chunks small enough to sit in a b-tree page and large enough to need
// overflow pages, deletes them by RewriteChunks and DeleteRecords, and
// checks that neither attune.db nor attune.db-wal contains a marker any
// more, right after the call and after reopening.
func TestDeletedBytesLeaveTheFiles(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s := openTest(t, dir)
	big := func(marker string) []byte {
		return []byte(strings.Repeat("filler-", 5000) + marker + strings.Repeat("-filler", 5000))
	}
	markers := map[string][]byte{
		"rewritten-small": []byte("user-marker-rw-small-7f3a"),
		"rewritten-big":   []byte("user-marker-rw-big-7f3a"),
		"deleted-small":   []byte("user-marker-del-small-7f3a"),
		"deleted-big":     []byte("user-marker-del-big-7f3a"),
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("StageChunk", s.StageChunk(ctx, store.Chunk{Dataset: "rw", Source: store.Bulk, Job: "j", Rows: 1, Data: big(string(markers["rewritten-big"]))}))
	must("CommitImport", s.CommitImport(ctx, "rw", "j", false))
	_, err := s.AppendChunks(ctx, []store.Chunk{
		{Dataset: "rw", Source: store.Put, Rows: 1, Data: markers["rewritten-small"]},
		{Dataset: "del", Source: store.Put, Rows: 1, Data: markers["deleted-small"]},
		{Dataset: "del", Source: store.Put, Rows: 1, Data: big(string(markers["deleted-big"]))},
		{Dataset: "keep", Source: store.Put, Rows: 1, Data: []byte("kept-record")},
	})
	must("AppendChunks", err)
	for name, m := range markers {
		if len(filesContain(t, dir, m)) == 0 {
			t.Fatalf("marker %s not found in the store's files before deletion: the check below would prove nothing", name)
		}
	}

	must("RewriteChunks", s.RewriteChunks(ctx, "rw", func(c store.Chunk) (*store.Rewrite, error) {
		if bytes.Contains(c.Data, []byte("small")) {
			return &store.Rewrite{}, nil
		}
		return &store.Rewrite{Rows: 1, Data: []byte("clean")}, nil
	}))
	must("DeleteRecords", s.DeleteRecords(ctx, "del"))
	for name, m := range markers {
		if f := filesContain(t, dir, m); len(f) > 0 {
			t.Errorf("marker %s still in %v after deletion", name, f)
		}
	}
	must("Close", s.Close())
	s = openTest(t, dir)
	for name, m := range markers {
		if f := filesContain(t, dir, m); len(f) > 0 {
			t.Errorf("marker %s in %v after reopening", name, f)
		}
	}
	if !bytes.Contains(mustRead(t, filepath.Join(dir, FileName)), []byte("kept-record")) {
		t.Error("a record that was not deleted is not in the database file: the file check reads the wrong file")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPurgeWaitsForReaders deletes records while a scan holds a snapshot
// from before the delete: the purge cannot truncate the WAL until the scan
// ends, so DeleteRecords waits, while other writes still go through
// promptly; once the scan ends the bytes are gone.
func TestPurgeWaitsForReaders(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s := openTest(t, dir)
	marker := []byte(strings.Repeat("x", 40000) + "purge-wait-marker-2b7e")
	if _, err := s.AppendChunks(ctx, []store.Chunk{{Dataset: "del", Rows: 1, Data: marker}, {Dataset: "scan", Rows: 1, Data: []byte("a")},
		{Dataset: "scan", Rows: 1, Data: []byte("b")}}); err != nil {
		t.Fatal(err)
	}
	inScan, release := make(chan struct{}), make(chan struct{})
	scanDone := make(chan error, 1)
	go func() {
		first := true
		scanDone <- s.ScanChunks(ctx, "scan", "", 0, func(store.Chunk) error {
			if first {
				first = false
				close(inScan)
				<-release
			}
			return nil
		})
	}()
	<-inScan
	deleted := make(chan error, 1)
	go func() { deleted <- s.DeleteRecords(ctx, "del") }()

	start := time.Now()
	for i := range 5 {
		if _, err := s.AppendChunks(ctx, []store.Chunk{{Dataset: "other", Rows: 1, Data: []byte{byte(i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("5 appends during a waiting purge took %v; want them to pass between its attempts", d)
	}
	select {
	case err := <-deleted:
		t.Fatalf("DeleteRecords returned (%v) while a reader still held the old snapshot", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-scanDone; err != nil {
		t.Fatal(err)
	}
	if err := <-deleted; err != nil {
		t.Fatalf("DeleteRecords: %v", err)
	}
	if f := filesContain(t, dir, []byte("purge-wait-marker-2b7e")); len(f) > 0 {
		t.Errorf("marker still in %v after the purge", f)
	}
}
