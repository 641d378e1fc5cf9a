package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"

	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/errs"
)

// Restore copies the backup in src under prefix ("" or a key ending in "/")
// into dataDir, which must be empty or missing (it is created 0700). It
// reads the manifest first and refuses a folder without one (an unfinished
// backup); each file is created with O_EXCL (never replacing anything,
// never through a symlink: dataDir is opened as an os.Root) with the mode
// the manifest records, and its size and SHA-256 are checked. On any error
// the files it created are removed again, leaving dataDir as it was.
// Errors are errs.Invalid for a bad backup or a non-empty dataDir.
func Restore(ctx context.Context, src blob.Bucket, prefix, dataDir string) (Manifest, error) {
	m, err := readManifest(ctx, src, prefix)
	if err != nil {
		return Manifest{}, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return Manifest{}, fmt.Errorf("create data dir: %w", err)
	}
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return Manifest{}, fmt.Errorf("read data dir: %w", err)
	}
	if len(entries) > 0 {
		return Manifest{}, errs.E(errs.Invalid, "data dir %s is not empty: restore only into an empty or new folder", dataDir)
	}
	root, err := os.OpenRoot(dataDir)
	if err != nil {
		return Manifest{}, fmt.Errorf("open data dir: %w", err)
	}
	defer root.Close()
	r := restorer{src: src, prefix: prefix, root: root}
	for _, f := range m.Files {
		if err := r.restore(ctx, f); err != nil {
			r.undo()
			return Manifest{}, err
		}
	}
	for _, d := range append(r.dirs, ".") {
		if err := syncDir(root, d); err != nil {
			r.undo()
			return Manifest{}, fmt.Errorf("sync %s: %w", d, err)
		}
	}
	return m, nil
}

func readManifest(ctx context.Context, src blob.Bucket, prefix string) (Manifest, error) {
	rc, err := src.Open(ctx, prefix+ManifestName)
	if errs.KindOf(err) == errs.NotFound {
		return Manifest{}, errs.E(errs.Invalid, "backup location has no %s: it is not a backup, or one that did not finish", ManifestName)
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("read %s: %w", ManifestName, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxManifest+1))
	if err != nil {
		return Manifest{}, fmt.Errorf("read %s: %w", ManifestName, err)
	}
	if len(data) > maxManifest {
		return Manifest{}, errs.E(errs.Invalid, "%s is larger than %d bytes", ManifestName, maxManifest)
	}
	return ParseManifest(data)
}

// restorer writes files into root and remembers them for undo.
type restorer struct {
	src     blob.Bucket
	prefix  string
	root    *os.Root
	created []string // files and folders, in creation order
	dirs    []string
}

func (r *restorer) restore(ctx context.Context, f File) error {
	if dir := path.Dir(f.Name); dir != "." {
		if err := r.mkdirs(dir); err != nil {
			return fmt.Errorf("restore %s: %w", f.Name, err)
		}
	}
	rc, err := r.src.Open(ctx, r.prefix+f.Name)
	if errs.KindOf(err) == errs.NotFound {
		return errs.E(errs.Invalid, "backup is incomplete: %s is listed in the manifest but missing", f.Name)
	}
	if err != nil {
		return fmt.Errorf("read %s from the backup: %w", f.Name, err)
	}
	defer rc.Close()
	out, err := r.root.OpenFile(f.Name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, f.Mode)
	if err != nil {
		return fmt.Errorf("restore %s: %w", f.Name, err)
	}
	r.created = append(r.created, f.Name)
	d := newDigest()
	_, err = io.Copy(io.MultiWriter(out, d), io.LimitReader(rc, f.Size+1))
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", f.Name, err)
	}
	if d.n != f.Size || d.sum() != f.SHA256 {
		return errs.E(errs.Invalid, "backup is damaged: %s does not match the size and SHA-256 in the manifest", f.Name)
	}
	// The umask may have narrowed the mode OpenFile was given.
	if err := r.root.Chmod(f.Name, f.Mode); err != nil {
		return fmt.Errorf("restore %s: %w", f.Name, err)
	}
	return nil
}

// mkdirs creates dir and its missing parents 0750, remembering them.
func (r *restorer) mkdirs(dir string) error {
	if slices.Contains(r.dirs, dir) {
		return nil
	}
	if parent := path.Dir(dir); parent != "." {
		if err := r.mkdirs(parent); err != nil {
			return err
		}
	}
	if err := r.root.Mkdir(dir, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	r.created = append(r.created, dir)
	r.dirs = append(r.dirs, dir)
	return nil
}

// undo removes what restore created, newest first (files before their
// folders), best effort: the restore already failed with a better error.
func (r *restorer) undo() {
	for _, name := range slices.Backward(r.created) {
		_ = r.root.Remove(name)
	}
}

func syncDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
