// Package local implements blob.Bucket on a local directory: the embedded
// default for model artifacts and exports, and the backend behind file://
// locations. Only cmd/attune (and tests) may import it; everything else
// receives a blob.Bucket or blob.Opener.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/errs"
)

// tempPrefix starts the names of the temporary files Put renames into place.
// List hides them, so keys whose last element starts with it are reserved.
const tempPrefix = ".attune-put-"

// Bucket is a blob.Bucket whose objects are the regular files under a root
// directory; key "a/b.csv" is the file root/a/b.csv. Folders are created on
// Put and left in place on Delete (removing them would race with a
// concurrent Put into the same folder). It is safe for concurrent use.
type Bucket struct {
	root string // absolute, cleaned
}

var _ blob.Bucket = (*Bucket)(nil)

// New returns a Bucket rooted at the directory root, creating it if needed.
// A relative root is made absolute against the working directory now, so
// later changes of directory do not move the bucket.
func New(root string) (*Bucket, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("local bucket %s: %w", root, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("local bucket %s: %w", abs, err)
	}
	return &Bucket{root: abs}, nil
}

// path maps key to a file path, refusing keys that could escape the root.
func (b *Bucket) path(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
		return "", errs.E(errs.Invalid, "invalid key %s: want a relative path to a file", errs.Quote(key))
	}
	if strings.ContainsRune(key, 0) {
		return "", errs.E(errs.Invalid, "invalid key %s: contains a NUL byte", errs.Quote(key))
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", errs.E(errs.Invalid, "invalid key %s: empty, '.' or '..' path element", errs.Quote(key))
		}
	}
	return filepath.Join(b.root, filepath.FromSlash(key)), nil
}

// uri names a file the way a client would, for error messages.
func uri(path string) string { return "file://" + filepath.ToSlash(path) }

// classify turns an OS error on path into a client-facing error kind.
func classify(op, path string, err error) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return errs.Wrap(errs.NotFound, err, "%s does not exist", uri(path))
	case errors.Is(err, fs.ErrPermission):
		return errs.Wrap(errs.Invalid, err, "access denied to %s", uri(path))
	}
	return fmt.Errorf("%s %s: %w", op, path, err)
}

// Open implements blob.Bucket.
func (b *Bucket) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := b.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, classify("open", p, err)
	}
	return regularOnly(f, p)
}

// regularOnly returns f if it is a regular file, and closes it otherwise.
// In S3 "a" and "a/b" are unrelated keys, so a folder is simply not an
// object (errs.NotFound); a device, FIFO or socket is refused (errs.Invalid).
func regularOnly(f *os.File, p string) (*os.File, error) {
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, classify("stat", p, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		if fi.IsDir() {
			return nil, errs.E(errs.NotFound, "%s is not a file", uri(p))
		}
		return nil, errs.E(errs.Invalid, "%s is not a regular file (devices, FIFOs and sockets are not read)", uri(p))
	}
	return f, nil
}

// Put implements blob.Bucket. It writes a temporary file in the target's
// folder, fsyncs it, renames it over the target and fsyncs the folder, so a
// crash leaves either the old or the new object, never a torn one.
func (b *Bucket) Put(ctx context.Context, key string, r io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := b.path(key)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := mkdirAllSynced(dir); err != nil {
		return classifyPut(p, err)
	}
	tmp, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return classifyPut(p, err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, ctxReader{ctx, r}); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return fmt.Errorf("write %s: %w", p, err)
	}
	// CreateTemp makes the file 0600; objects should read like any other file.
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return classifyPut(p, err)
	}
	committed = true
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("sync folder of %s: %w", p, err)
	}
	return nil
}

func classifyPut(path string, err error) error {
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) || errors.Is(err, fs.ErrExist) {
		// Unlike S3, a directory tree cannot hold both "a" and "a/b".
		return errs.Wrap(errs.Invalid, err, "cannot write %s: it conflicts with an existing file or folder", uri(path))
	}
	if errors.Is(err, fs.ErrPermission) {
		return errs.Wrap(errs.Invalid, err, "access denied to %s", uri(path))
	}
	return fmt.Errorf("put %s: %w", path, err)
}

// mkdirAllSynced is os.MkdirAll that also fsyncs the parent of every folder it
// creates, so the new object's path survives a crash along with its data.
func mkdirAllSynced(dir string) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: syscall.ENOTDIR}
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllSynced(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		// A concurrent Put may have created it first.
		if fi, statErr := os.Stat(dir); statErr == nil && fi.IsDir() {
			return nil
		}
		return err
	}
	return syncDir(parent)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// ctxReader stops a long copy once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// List implements blob.Bucket. It walks only the deepest folder the prefix
// names, so listing "data/2024/" does not read the whole tree.
func (b *Bucket) List(ctx context.Context, prefix string) ([]blob.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if strings.HasPrefix(prefix, "/") || strings.ContainsRune(prefix, 0) {
		return nil, errs.E(errs.Invalid, "invalid prefix %s", errs.Quote(prefix))
	}
	start := b.root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		for seg := range strings.SplitSeq(prefix[:i], "/") {
			if seg == "" || seg == "." || seg == ".." {
				// No key has such an element (path refuses them), so
				// nothing can match.
				return nil, nil
			}
		}
		start = filepath.Join(b.root, filepath.FromSlash(prefix[:i]))
	}
	var objs []blob.Object
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				return nil // missing start folder, or removed during the walk
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(b.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			// Skip folders that cannot contain a match: "data/x" cannot be
			// under prefix "data/y".
			if p != start && !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), tempPrefix) || !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := os.Stat(p) // follows symlinks, unlike d.Info
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if fi.Mode().IsRegular() {
			objs = append(objs, blob.Object{Key: key, Size: fi.Size()})
		}
		return nil
	})
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, classify("list", start, err)
	}
	// WalkDir's per-folder order is not key order: "a-b" sorts before "a/c".
	slices.SortFunc(objs, func(x, y blob.Object) int { return strings.Compare(x.Key, y.Key) })
	return objs, nil
}

// Delete implements blob.Bucket.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := b.path(key)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return classify("delete", p, err)
	}
	if fi.IsDir() {
		return nil // a folder is not an object, so there is nothing to delete
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return classify("delete", p, err)
	}
	return nil
}
