package local_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/blob/blobtest"
	"github.com/attune-dev/attune/internal/blob/local"
	"github.com/attune-dev/attune/internal/errs"
)

// prefixed presents the part of a Files under base (an absolute folder,
// without its leading '/', ending in '/') as a bucket of relative keys, so
// the conformance suite can run on it.
type prefixed struct {
	f    *local.Files
	base string
}

func (p prefixed) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	return p.f.Open(ctx, p.base+key)
}
func (p prefixed) Put(ctx context.Context, key string, r io.Reader) error {
	return p.f.Put(ctx, p.base+key, r)
}
func (p prefixed) Delete(ctx context.Context, key string) error { return p.f.Delete(ctx, p.base+key) }
func (p prefixed) List(ctx context.Context, prefix string) ([]blob.Object, error) {
	objs, err := p.f.List(ctx, p.base+prefix)
	for i := range objs {
		objs[i].Key = strings.TrimPrefix(objs[i].Key, p.base)
	}
	return objs, err
}

func TestFilesConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Bucket {
		root := t.TempDir()
		f, err := local.NewFiles(local.FilesOptions{Roots: []string{root}})
		if err != nil {
			t.Fatal(err)
		}
		real, _ := filepath.EvalSymlinks(root)
		return prefixed{f: f, base: real[1:] + "/"}
	})
}

// sandbox is a layout with two roots and traps around them:
//
//	root/in.csv, root/sub/b.csv, root/fifo (a FIFO)
//	root/out-link -> outside/            (symlink to a folder outside)
//	root/etc-link -> /etc/passwd         (symlink to a file outside)
//	root/rel-link -> ../outside/secret.txt
//	root/in-link  -> root2/x.csv         (symlink to another root: allowed)
//	root2/x.csv
//	outside/secret.txt
//	alias -> root                        (a path outside whose target is a root)
type sandbox struct {
	root, root2, outside, alias string
	files                       *local.Files
}

func newSandbox(t *testing.T) sandbox {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := sandbox{root: filepath.Join(base, "root"), root2: filepath.Join(base, "root2"),
		outside: filepath.Join(base, "outside"), alias: filepath.Join(base, "alias")}
	for _, d := range []string{s.root, filepath.Join(s.root, "sub"), s.root2, s.outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for path, data := range map[string]string{
		filepath.Join(s.root, "in.csv"): "USER_ID\nu1\n", filepath.Join(s.root, "sub", "b.csv"): "b\n",
		filepath.Join(s.root2, "x.csv"): "x\n", filepath.Join(s.outside, "secret.txt"): "SECRET-CONTENT\n",
	} {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		filepath.Join(s.root, "out-link"): s.outside, filepath.Join(s.root, "etc-link"): "/etc/passwd",
		filepath.Join(s.root, "rel-link"): "../outside/secret.txt", filepath.Join(s.root, "in-link"): filepath.Join(s.root2, "x.csv"),
		s.alias: s.root,
	} {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(s.root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.files, err = local.NewFiles(local.FilesOptions{Roots: []string{s.root, s.root2}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func key(p string) string { return strings.TrimPrefix(p, "/") }

func TestFilesResolve(t *testing.T) {
	s := newSandbox(t)
	tests := []struct {
		name      string
		path      string
		readKind  errs.Kind // of Open; Internal means success
		writeKind errs.Kind // of Check(write) on the path; Internal means allowed
	}{
		{"file in root", s.root + "/in.csv", errs.Internal, errs.Internal},
		{"file in sub folder", s.root + "/sub/b.csv", errs.Internal, errs.Internal},
		{"file in second root", s.root2 + "/x.csv", errs.Internal, errs.Internal},
		{"missing file in root", s.root + "/missing.csv", errs.NotFound, errs.Internal},
		{"missing folders in root", s.root + "/new/deeper/x.csv", errs.NotFound, errs.Internal},
		{"through an alias of a root", s.alias + "/in.csv", errs.Internal, errs.Internal},
		{"symlink into another root", s.root + "/in-link", errs.Internal, errs.Internal},
		{"outside every root", s.outside + "/secret.txt", errs.Invalid, errs.Invalid},
		{"missing file outside", s.outside + "/nothing.csv", errs.Invalid, errs.Invalid},
		{"symlinked folder pointing outside", s.root + "/out-link/secret.txt", errs.Invalid, errs.Invalid},
		{"new file under a symlinked folder outside", s.root + "/out-link/new.csv", errs.Invalid, errs.Invalid},
		{"absolute symlink to /etc", s.root + "/etc-link", errs.Invalid, errs.Internal},
		{"relative symlink escaping", s.root + "/rel-link", errs.Invalid, errs.Internal},
		{"FIFO in root", s.root + "/fifo", errs.Invalid, errs.Internal},
		{"folder in root", s.root + "/sub", errs.NotFound, errs.Internal},
		{"proc", "/proc/self/environ", errs.Invalid, errs.Invalid},
		{"etc shadow", "/etc/shadow", errs.Invalid, errs.Invalid},
		{"dev", "/dev/zero", errs.Invalid, errs.Invalid},
		{"dot dot", s.root + "/../outside/secret.txt", errs.Invalid, errs.Invalid},
		{"dot", s.root + "/./in.csv", errs.Invalid, errs.Invalid},
		{"double slash", s.root + "//in.csv", errs.Invalid, errs.Invalid},
		{"the root itself", s.root, errs.NotFound, errs.Invalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc, err := s.files.Open(t.Context(), key(tc.path))
			if err == nil {
				rc.Close()
			}
			if tc.readKind == errs.Internal && err != nil || tc.readKind != errs.Internal && errs.KindOf(err) != tc.readKind {
				t.Errorf("Open(%s) = %v (kind %v), want kind %v", tc.path, err, errs.KindOf(err), tc.readKind)
			}
			if err != nil && strings.Contains(errs.Message(err), "SECRET") {
				t.Errorf("Open(%s) message quotes file content: %s", tc.path, errs.Message(err))
			}
			if tc.readKind == errs.Invalid && strings.Contains(tc.name, "outside") && !strings.Contains(errs.Message(err), s.root) {
				t.Errorf("Open(%s) message %q does not list the allowed folders", tc.path, errs.Message(err))
			}
			err = s.files.Check(t.Context(), key(tc.path), true)
			if tc.writeKind == errs.Internal && err != nil || tc.writeKind != errs.Internal && errs.KindOf(err) != tc.writeKind {
				t.Errorf("Check(%s) = %v, want kind %v", tc.path, err, tc.writeKind)
			}
		})
	}
}

func TestFilesCreateNeverReplaces(t *testing.T) {
	s := newSandbox(t)
	ctx := t.Context()
	out := s.root + "/exports/job.csv"
	if err := s.files.Create(ctx, key(out), strings.NewReader("a\n")); err != nil {
		t.Fatalf("Create(%s) = %v", out, err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o640 {
		t.Errorf("created file mode = %v, want 0640", perm)
	}
	if di, err := os.Stat(filepath.Dir(out)); err != nil || di.Mode().Perm() != 0o750 {
		t.Errorf("created folder = %v, %v; want mode 0750", di.Mode().Perm(), err)
	}
	tests := []struct {
		name, path string
		want       errs.Kind
	}{
		{"existing file", out, errs.Invalid},
		{"existing input", s.root + "/in.csv", errs.Invalid},
		{"symlink to outside file", s.root + "/etc-link", errs.Invalid},
		{"symlink to a file in a root", s.root + "/in-link", errs.Invalid},
		{"through symlinked folder", s.root + "/out-link/new.csv", errs.Invalid},
		{"outside", s.outside + "/new.csv", errs.Invalid},
		{"into a FIFO", s.root + "/fifo", errs.Invalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.files.Create(ctx, key(tc.path), strings.NewReader("OVERWRITTEN"))
			if errs.KindOf(err) != tc.want {
				t.Errorf("Create(%s) = %v, want kind %v", tc.path, err, tc.want)
			}
		})
	}
	for _, p := range []string{out, s.root + "/in.csv", s.outside + "/secret.txt", s.root2 + "/x.csv"} {
		if b, _ := os.ReadFile(p); strings.Contains(string(b), "OVERWRITTEN") {
			t.Errorf("%s was overwritten", p)
		}
	}
	if _, err := os.Stat(s.outside + "/new.csv"); err == nil {
		t.Errorf("a file was created outside the roots")
	}
	// Put (replace) replaces a regular file but not a symlink.
	if err := s.files.Put(ctx, key(out), strings.NewReader("b\n")); err != nil {
		t.Errorf("Put over own regular file = %v", err)
	}
	if err := s.files.Put(ctx, key(s.root+"/in-link"), strings.NewReader("OVERWRITTEN")); errs.KindOf(err) != errs.Invalid {
		t.Errorf("Put over a symlink = %v, want kind Invalid", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".attune-put-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestFilesListStaysInside(t *testing.T) {
	s := newSandbox(t)
	objs, err := s.files.List(t.Context(), key(s.root)+"/sub/")
	if err != nil || len(objs) != 1 || objs[0].Key != key(s.root)+"/sub/b.csv" {
		t.Errorf("List(sub/) = %v, %v; want sub/b.csv", objs, err)
	}
	for _, p := range []string{"etc/", key(s.root) + "/out-link/", key(s.outside) + "/"} {
		if objs, err := s.files.List(t.Context(), p); errs.KindOf(err) != errs.Invalid {
			t.Errorf("List(%s) = %v, %v; want kind Invalid", p, objs, err)
		}
	}
}

func TestNewFilesRefusesRoots(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, roots := range [][]string{nil, {"/"}, {"relative/dir"}, {"/proc"}, {"/dev"}, {file}, {filepath.Join(t.TempDir(), "missing")}} {
		if _, err := local.NewFiles(local.FilesOptions{Roots: roots}); err == nil {
			t.Errorf("NewFiles(%q) = nil error, want one", roots)
		}
	}
}

// FuzzFilesResolve feeds arbitrary keys to the confined bucket: whatever the
// key, nothing outside the roots is read, and the message never carries
// more than a cut copy of the key.
func FuzzFilesResolve(f *testing.F) {
	base, err := filepath.EvalSymlinks(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	root := filepath.Join(base, "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "ok.csv"), []byte("ok"), 0o644); err != nil {
		f.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(root, "passwd")); err != nil {
		f.Fatal(err)
	}
	files, err := local.NewFiles(local.FilesOptions{Roots: []string{root}})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{key(root) + "/ok.csv", key(root) + "/../root/ok.csv", "etc/passwd", "proc/self/environ",
		key(root) + "/passwd", key(root) + "//ok.csv", "", "/", key(root) + "/\x00", strings.Repeat("a/", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, k string) {
		rc, err := files.Open(t.Context(), k)
		if err == nil {
			b, _ := io.ReadAll(rc)
			rc.Close()
			if string(b) != "ok" {
				t.Fatalf("Open(%q) read %q, which is not the one file inside the root", k, b)
			}
		} else if msg := errs.Message(err); len(msg) > 2000 {
			t.Fatalf("Open(%q) message is %d bytes long", k, len(msg))
		}
		if err := files.Check(t.Context(), k, true); err == nil {
			p := "/" + strings.TrimSuffix(k, "/")
			if !strings.HasPrefix(p, root+"/") && p != root {
				t.Fatalf("Check(%q, write) allowed a path outside %s", k, root)
			}
		}
	})
}

func TestFilesDeny(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(base, "data")
	inside := filepath.Join(data, "files")
	for _, d := range []string{inside, filepath.Join(base, "other")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{filepath.Join(data, "credentials.json"), filepath.Join(inside, "in.csv"), filepath.Join(base, "other", "in.csv")} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(data, "credentials.json"), filepath.Join(base, "other", "creds-link")); err != nil {
		t.Fatal(err)
	}
	f, err := local.NewFiles(local.FilesOptions{Roots: []string{base, inside}, Deny: []string{data}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want errs.Kind // Internal: readable
	}{
		{filepath.Join(base, "other", "in.csv"), errs.Internal},
		{filepath.Join(inside, "in.csv"), errs.Internal},
		{filepath.Join(data, "credentials.json"), errs.Invalid},
		{filepath.Join(data, "attune.db"), errs.Invalid},
		{filepath.Join(base, "other", "creds-link"), errs.Invalid},
	}
	for _, tc := range tests {
		rc, err := f.Open(t.Context(), key(tc.path))
		if err == nil {
			rc.Close()
		}
		if tc.want == errs.Internal && err != nil || tc.want != errs.Internal && errs.KindOf(err) != tc.want {
			t.Errorf("Open(%s) = %v, want kind %v", tc.path, err, tc.want)
		}
	}
	if err := f.Create(t.Context(), key(filepath.Join(data, "attune.db")), strings.NewReader("x")); errs.KindOf(err) != errs.Invalid {
		t.Errorf("Create in the data dir = %v, want kind Invalid", err)
	}
}

// BenchmarkOpen compares opening a file through the confined Files (symlink
// resolution, os.Root) with the plain Bucket: the cost is paid once per
// import file or batch input file, never per row.
//
//	go test ./internal/blob/local -run x -bench Open
func BenchmarkOpen(b *testing.B) {
	base, err := filepath.EvalSymlinks(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(base, "a", "b", "c")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "in.csv"), []byte("x"), 0o644); err != nil {
		b.Fatal(err)
	}
	files, err := local.NewFiles(local.FilesOptions{Roots: []string{base}})
	if err != nil {
		b.Fatal(err)
	}
	plain, err := local.New("/")
	if err != nil {
		b.Fatal(err)
	}
	k := key(filepath.Join(dir, "in.csv"))
	for _, bc := range []struct {
		name string
		bkt  blob.Bucket
	}{{"confined", files}, {"plain", plain}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				rc, err := bc.bkt.Open(b.Context(), k)
				if err != nil {
					b.Fatal(err)
				}
				rc.Close()
			}
		})
	}
}

// TestFilesRemovesStaleTemps: what a crash left of a write (an old,
// unlocked temporary file) is removed by the next write into its folder;
// a fresh one, or one a live writer holds locked, is not.
func TestFilesRemovesStaleTemps(t *testing.T) {
	s := newSandbox(t)
	dir := filepath.Join(s.root, "out")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	temp := func(name string, mtime time.Time) string {
		p := filepath.Join(dir, ".attune-put-"+name)
		if err := os.WriteFile(p, []byte("partial"), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	crashed, fresh, live := temp("crashed", old), temp("fresh", time.Now()), temp("live", old)
	notOurs := filepath.Join(dir, "attune-put-lookalike")
	if err := os.WriteFile(notOurs, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(notOurs, old, old); err != nil {
		t.Fatal(err)
	}
	lf, err := os.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if err := s.files.Create(t.Context(), key(filepath.Join(dir, "x.csv")), strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{crashed: false, fresh: true, live: true, notOurs: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
}
