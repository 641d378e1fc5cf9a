package sqlite

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
)

func tableCount(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'table'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	var ok string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check of %s = %q, %v", path, ok, err)
	}
	return n
}

func TestSnapshot(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	st, err := Open(ctx, dir, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// A row written by the open store (still in its WAL) is in the copy.
	if _, err := st.w.ExecContext(ctx, "CREATE TABLE snapshot_probe (v TEXT); INSERT INTO snapshot_probe VALUES ('x')"); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "copy.db")
	if err := Snapshot(ctx, dir, dest); err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if got, want := tableCount(t, dest), tableCount(t, filepath.Join(dir, FileName)); got != want || got < 2 {
		t.Errorf("snapshot has %d tables, want %d", got, want)
	}
	db, _ := sql.Open("sqlite", dest)
	defer db.Close()
	var v string
	if err := db.QueryRow("SELECT v FROM snapshot_probe").Scan(&v); err != nil || v != "x" {
		t.Errorf("snapshot row = %q, %v; want the committed row", v, err)
	}

	if err := Snapshot(ctx, dir, dest); errs.KindOf(err) != errs.Invalid {
		t.Errorf("Snapshot onto an existing file = %v, want Invalid", err)
	}
	empty := t.TempDir()
	if err := Snapshot(ctx, empty, filepath.Join(t.TempDir(), "x.db")); errs.KindOf(err) != errs.NotFound {
		t.Errorf("Snapshot of a dir without a store = %v, want NotFound", err)
	}
	if _, err := os.Stat(filepath.Join(empty, FileName)); err == nil {
		t.Error("Snapshot created a store in an empty dir")
	}
}
