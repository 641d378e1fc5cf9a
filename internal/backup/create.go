package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/errs"
)

// Options configure Create.
type Options struct {
	// DataDir is the data dir being backed up (required).
	DataDir string
	// Snapshot writes a transactionally consistent copy of the store to
	// path, which does not exist yet, while the store may be in use
	// (required; sqlite.Snapshot).
	Snapshot func(ctx context.Context, path string) error
	// Version is recorded in the manifest.
	Version string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Result is what Create did.
type Result struct {
	Manifest Manifest
	// Absent lists the optional files the data dir did not have (the
	// credentials or master key come from the environment then).
	Absent []string
	// Vanished lists artifacts removed while the backup ran (a deletion
	// job, a deleted solution version): they were listed but could not
	// be read.
	Vanished []string
}

// tempPrefix is what blob/local names files it is still writing.
const tempPrefix = ".attune-put-"

// Create backs up opts.DataDir into dst under prefix ("" or a key ending in
// "/"), which must hold no object yet: first the store snapshot, then the
// credentials and master key files, then every artifact, and the manifest
// last. Objects are written with blob.Creator when dst has it, so an
// existing file is never replaced. It returns errs.Invalid when dst is not
// empty and the cause of any read or write failure otherwise; a failed
// backup leaves no manifest.
func Create(ctx context.Context, dst blob.Bucket, prefix string, opts Options) (Result, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		return Result{}, errs.E(errs.Invalid, "backup location must be a folder ending in '/'")
	}
	existing, err := dst.List(ctx, prefix)
	if err != nil {
		return Result{}, fmt.Errorf("list backup location: %w", err)
	}
	if len(existing) > 0 {
		return Result{}, errs.E(errs.Invalid, "backup location already holds %d object(s): back up into a new, empty folder", len(existing))
	}
	root, err := os.OpenRoot(opts.DataDir)
	if err != nil {
		return Result{}, fmt.Errorf("open data dir: %w", err)
	}
	defer root.Close()
	storeInfo, err := root.Lstat(StoreFile)
	if err != nil || !storeInfo.Mode().IsRegular() {
		return Result{}, errs.E(errs.Invalid, "data dir %s has no store (%s)", opts.DataDir, StoreFile)
	}

	w := writer{dst: dst, prefix: prefix}
	var res Result
	removeStaleSnapshots(opts.DataDir, opts.Now())
	tmp, err := os.MkdirTemp(opts.DataDir, snapshotPrefix)
	if err != nil {
		return Result{}, fmt.Errorf("create snapshot folder: %w", err)
	}
	defer os.RemoveAll(tmp)
	snap := filepath.Join(tmp, StoreFile)
	created := opts.Now()
	if err := opts.Snapshot(ctx, snap); err != nil {
		return Result{}, fmt.Errorf("snapshot store: %w", err)
	}
	if err := w.copyFile(ctx, snap, StoreFile, storeInfo.Mode().Perm()); err != nil {
		return Result{}, err
	}
	for _, name := range []string{CredentialsFile, MasterKeyFile} {
		switch err := w.copyFromRoot(ctx, root, name); {
		case errors.Is(err, fs.ErrNotExist):
			res.Absent = append(res.Absent, name)
		case err != nil:
			return Result{}, err
		}
	}
	if err := w.copyArtifacts(ctx, root, &res); err != nil {
		return Result{}, err
	}

	res.Manifest = Manifest{Format: Format, Created: created, Version: opts.Version, Files: w.files}
	if err := w.put(ctx, prefix+ManifestName, strings.NewReader(string(res.Manifest.Encode()))); err != nil {
		return Result{}, fmt.Errorf("write %s: %w", ManifestName, err)
	}
	return res, nil
}

// snapshotPrefix names the folders in the data dir that hold a store
// snapshot while it is uploaded; staleSnapshot is the age after which one is
// taken for what a killed backup left behind.
const (
	snapshotPrefix = ".backup-"
	staleSnapshot  = 24 * time.Hour
)

// removeStaleSnapshots removes snapshot folders older than staleSnapshot,
// best effort: a backup killed mid-way cannot remove its own.
func removeStaleSnapshots(dataDir string, now time.Time) {
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), snapshotPrefix) {
			continue
		}
		if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > staleSnapshot {
			_ = os.RemoveAll(filepath.Join(dataDir, e.Name()))
		}
	}
}

// writer uploads files and remembers what it wrote.
type writer struct {
	dst    blob.Bucket
	prefix string
	files  []File
}

// copyArtifacts uploads every regular file under artifacts/, skipping
// temporary files of writes in progress and artifacts deleted meanwhile.
func (w *writer) copyArtifacts(ctx context.Context, root *os.Root, res *Result) error {
	err := fs.WalkDir(root.FS(), ArtifactsDir, func(name string, d fs.DirEntry, err error) error {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil // no artifacts yet, or a folder removed meanwhile
		case err != nil:
			return err
		case d.IsDir(), !d.Type().IsRegular(), strings.HasPrefix(d.Name(), tempPrefix):
			return nil
		}
		if err := w.copyFromRoot(ctx, root, name); errors.Is(err, fs.ErrNotExist) {
			res.Vanished = append(res.Vanished, name)
		} else if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("back up artifacts: %w", err)
	}
	return nil
}

// copyFromRoot uploads the regular file name of root with its mode; it
// returns an fs.ErrNotExist error when the file is missing.
func (w *writer) copyFromRoot(ctx context.Context, root *os.Root, name string) error {
	info, err := root.Lstat(name)
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return errs.E(errs.Invalid, "%s in the data dir is not a regular file", name)
	}
	f, err := root.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return w.upload(ctx, f, name, info.Mode().Perm())
}

func (w *writer) copyFile(ctx context.Context, src, name string, mode fs.FileMode) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	defer f.Close()
	return w.upload(ctx, f, name, mode)
}

// upload stores r as name, hashing and counting what it sends.
func (w *writer) upload(ctx context.Context, r io.Reader, name string, mode fs.FileMode) error {
	d := newDigest()
	if err := w.put(ctx, w.prefix+name, io.TeeReader(r, d)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	w.files = append(w.files, File{Name: path.Clean(name), Size: d.n, Mode: mode, SHA256: d.sum()})
	return nil
}

func (w *writer) put(ctx context.Context, key string, r io.Reader) error {
	if c, ok := w.dst.(blob.Creator); ok {
		return c.Create(ctx, key, r)
	}
	return w.dst.Put(ctx, key, r)
}

// digest hashes (SHA-256) and counts the bytes written to it.
type digest struct {
	h hash.Hash
	n int64
}

func newDigest() *digest { return &digest{h: sha256.New()} }

func (d *digest) Write(p []byte) (int, error) {
	d.n += int64(len(p))
	return d.h.Write(p)
}

// sum is the lowercase hex digest, as the manifest records it.
func (d *digest) sum() string { return hex.EncodeToString(d.h.Sum(nil)) }
