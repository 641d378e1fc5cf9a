package local_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/blob/blobtest"
	"github.com/attune-dev/attune/internal/blob/local"
	"github.com/attune-dev/attune/internal/errs"
)

func newBucket(t *testing.T) *local.Bucket {
	t.Helper()
	b, err := local.New(filepath.Join(t.TempDir(), "root"))
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	return b
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Bucket { return newBucket(t) })
}

func TestEscapingKeysRejected(t *testing.T) {
	parent := t.TempDir()
	b, err := local.New(filepath.Join(parent, "root"))
	if err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(parent, "secret.txt")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"../secret.txt", "a/../../secret.txt", "./x", "a//b", "a/./b", "dir/", "nul\x00byte"} {
		t.Run(key, func(t *testing.T) {
			if _, err := b.Open(t.Context(), key); errs.KindOf(err) != errs.Invalid {
				t.Errorf("Open(%q) = %v, want kind Invalid", key, err)
			}
			if err := b.Put(t.Context(), key, bytes.NewReader([]byte("x"))); errs.KindOf(err) != errs.Invalid {
				t.Errorf("Put(%q) = %v, want kind Invalid", key, err)
			}
			if err := b.Delete(t.Context(), key); errs.KindOf(err) != errs.Invalid {
				t.Errorf("Delete(%q) = %v, want kind Invalid", key, err)
			}
		})
	}
	if got, err := os.ReadFile(secret); err != nil || string(got) != "secret" {
		t.Errorf("file outside the root = %q, %v; want it untouched", got, err)
	}
	if objs, err := b.List(t.Context(), "../"); err != nil || len(objs) != 0 {
		t.Errorf("List(../) = %v, %v; want nothing", objs, err)
	}
}

func TestPutLeavesNoTempFiles(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	b, err := local.New(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Put(t.Context(), "d/x.csv", bytes.NewReader([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(t.Context(), "d/y.csv", io.MultiReader(bytes.NewReader([]byte("y")), errReader{})); err == nil {
		t.Fatal("Put with failing reader = nil, want error")
	}
	entries, err := os.ReadDir(filepath.Join(root, "d"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"x.csv"}; !slices.Equal(names, want) {
		t.Errorf("files in d/ = %q, want %q", names, want)
	}
	fi, err := os.Stat(filepath.Join(root, "d", "x.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o644 {
		t.Errorf("object mode = %v, want 0644", perm)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestFileOpener(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(path, []byte("a,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	open, err := local.FileOpener(local.FilesOptions{Roots: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := open(t.Context(), "")
	if err != nil {
		t.Fatalf("FileOpener()(\"\") = %v", err)
	}
	rc, err := b.Open(t.Context(), path[1:])
	if err != nil {
		t.Fatalf("Open(%q) = %v", path[1:], err)
	}
	defer rc.Close()
	if got, _ := io.ReadAll(rc); string(got) != "a,b\n" {
		t.Errorf("read %q, want %q", got, "a,b\n")
	}
	if _, err := open(t.Context(), "host"); errs.KindOf(err) != errs.Invalid {
		t.Errorf("FileOpener()(\"host\") = %v, want kind Invalid", err)
	}
	if _, err := local.FileOpener(local.FilesOptions{}); err == nil {
		t.Errorf("FileOpener(nil) = nil error, want one")
	}
}
