package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/errs"
)

// Files is the blob.Bucket behind file:// locations: keys are absolute paths
// without their leading '/' ("data/in.csv" is /data/in.csv), and every
// operation is confined to a fixed set of root folders.
//
// A path is allowed when its real location (symlinks resolved; for a path
// that does not exist yet, its nearest existing ancestor's real location plus
// the missing elements) lies inside a root and outside /proc, /sys and /dev.
// The check is repeated at each use, and the file is then opened through an
// os.Root of that root, so a symlink swapped in after the check cannot lead
// outside it. Only regular files are read (never devices or FIFOs).
//
// Files are written 0640 in folders created 0750. Create never replaces an
// existing file; Put replaces only a regular file. Both write a locked
// temporary file in the target folder first, so a reader never sees a
// partial object, and the next write into that folder removes what a crash
// left of one (see removeStaleTemps).
// A Files is safe for concurrent use.
type Files struct {
	roots []string // real (symlink-free) absolute paths, cleaned
	deny  []string // likewise
}

// FilesOptions configure NewFiles.
type FilesOptions struct {
	// Roots are the folders file:// locations may name: absolute paths to
	// existing folders, none of them "/" or inside /proc, /sys or /dev.
	// At least one is required.
	Roots []string
	// Deny are folders refused even inside a root (the server's data dir,
	// with its store and credentials), except where a root lies inside them
	// (<data-dir>/files). Missing ones are ignored.
	Deny []string
}

var (
	_ blob.Bucket  = (*Files)(nil)
	_ blob.Checker = (*Files)(nil)
	_ blob.Creator = (*Files)(nil)
)

// forbidden are trees never read or written, whatever the roots say.
var forbidden = [...]string{"/proc", "/sys", "/dev"}

// NewFiles returns a Files confined to opts.Roots and away from opts.Deny.
// Both are resolved through symlinks once, here.
func NewFiles(opts FilesOptions) (*Files, error) {
	if len(opts.Roots) == 0 {
		return nil, errors.New("local roots: none given")
	}
	f := &Files{}
	for _, d := range opts.Deny {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("denied folder %s: %w", d, err)
		}
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		f.deny = append(f.deny, abs)
	}
	for _, r := range opts.Roots {
		if !filepath.IsAbs(r) {
			return nil, fmt.Errorf("local root %q is not an absolute path", r)
		}
		real, err := filepath.EvalSymlinks(filepath.Clean(r))
		if err != nil {
			return nil, fmt.Errorf("local root %s: %w", r, err)
		}
		fi, err := os.Stat(real)
		if err != nil {
			return nil, fmt.Errorf("local root %s: %w", r, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("local root %s is not a folder", r)
		}
		if real == "/" || isForbidden(real) {
			return nil, fmt.Errorf("local root %s resolves to %s, which may not be a root", r, real)
		}
		f.roots = append(f.roots, real)
	}
	return f, nil
}

// FileOpener returns the blob.Opener for file:// locations confined as
// NewFiles says: file:///abs/path has bucket "" and key "abs/path".
func FileOpener(opts FilesOptions) (blob.Opener, error) {
	files, err := NewFiles(opts)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, bucket string) (blob.Bucket, error) {
		if bucket != "" {
			return nil, errs.E(errs.Invalid, "file locations have no host: got %s, use file:///absolute/path", errs.Quote(bucket))
		}
		return files, nil
	}, nil
}

// Roots returns the real paths of the roots, in the order given.
func (f *Files) Roots() []string { return append([]string(nil), f.roots...) }

func isForbidden(p string) bool {
	for _, d := range forbidden {
		if within(p, d) {
			return true
		}
	}
	return false
}

// denied reports whether real lies in a denied folder and not in a root
// inside that folder.
func (f *Files) denied(real string) bool {
	for _, d := range f.deny {
		if !within(real, d) {
			continue
		}
		allowed := false
		for _, r := range f.roots {
			allowed = allowed || within(r, d) && r != d && within(real, r)
		}
		if !allowed {
			return true
		}
	}
	return false
}

// within reports whether p is dir or lies under it; both are clean and absolute.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// target is a path resolved inside one root.
type target struct {
	root string // real path of the root
	rel  string // slash-free-at-ends path relative to root; "." for the root itself
	path string // the path the client named, for messages
}

func (t target) uri() string { return uri(t.path) }

// outside is the error for a path no root allows.
func (f *Files) outside(p string) error {
	return errs.E(errs.Invalid, "location %s is outside the allowed local folders (%s): file:// locations must lie inside one of them, after symlinks are resolved, and outside /proc, /sys and /dev",
		errs.Quote(uri(p)), strings.Join(f.roots, ", "))
}

// cleanKey checks a key (or a folder prefix without its trailing '/') and
// returns its absolute path.
func cleanKey(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") {
		return "", errs.E(errs.Invalid, "invalid file location %s: want an absolute path", errs.Quote("/"+key))
	}
	if strings.ContainsRune(key, 0) {
		return "", errs.E(errs.Invalid, "invalid file location %s: contains a NUL byte", errs.Quote("/"+key))
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", errs.E(errs.Invalid, "invalid file location %s: empty, '.' or '..' path element", errs.Quote("/"+key))
		}
	}
	return "/" + key, nil
}

// resolve finds the root that holds p once symlinks are resolved. A path
// that does not exist (yet) is judged by its nearest existing ancestor.
func (f *Files) resolve(p string) (target, error) {
	cur, rest := p, ""
	var real string
	for {
		r, err := filepath.EvalSymlinks(cur)
		if err == nil {
			real = filepath.Join(r, rest)
			break
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			// Permission denied on the way, a symlink loop, a name too long:
			// nothing a client may learn more about.
			return target{}, f.outside(p)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return target{}, f.outside(p)
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
	if isForbidden(real) || f.denied(real) {
		return target{}, f.outside(p)
	}
	for _, root := range f.roots {
		if within(real, root) {
			rel, err := filepath.Rel(root, real)
			if err != nil {
				return target{}, f.outside(p)
			}
			return target{root: root, rel: rel, path: p}, nil
		}
	}
	return target{}, f.outside(p)
}

// resolveEntry is resolve for an operation on the name itself (write,
// delete): the folder is resolved, the last element is not followed, so a
// symlink there is never written through.
func (f *Files) resolveEntry(p string) (target, error) {
	t, err := f.resolve(filepath.Dir(p))
	if err != nil {
		return target{}, f.outside(p)
	}
	t.rel, t.path = filepath.Join(t.rel, filepath.Base(p)), p
	return t, nil
}

// Check implements blob.Checker: it reports whether key (a file or, ending
// in '/', a folder) is allowed, without touching it. Existence is not
// checked: a missing input is reported when the job opens it.
func (f *Files) Check(ctx context.Context, key string, write bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := cleanKey(strings.TrimSuffix(key, "/"))
	if err != nil {
		return err
	}
	if write && !strings.HasSuffix(key, "/") {
		// A file is written as a new name in its folder (see write).
		_, err = f.resolveEntry(p)
	} else {
		_, err = f.resolve(p)
	}
	return err
}

// openRoot opens the root of t; a root removed since startup reads as empty.
func openRoot(t target) (*os.Root, error) {
	r, err := os.OpenRoot(t.root)
	if err != nil {
		return nil, classify("open root", t.root, err)
	}
	return r, nil
}

// enter checks key and opens the root that holds it; the caller closes the
// root. entry says whether the operation is on the name itself (write,
// delete: see resolveEntry) rather than on what it leads to (read).
func (f *Files) enter(ctx context.Context, key string, entry bool) (target, *os.Root, error) {
	if err := ctx.Err(); err != nil {
		return target{}, nil, err
	}
	p, err := cleanKey(key)
	if err != nil {
		return target{}, nil, err
	}
	resolve := f.resolve
	if entry {
		resolve = f.resolveEntry
	}
	t, err := resolve(p)
	if err != nil {
		return target{}, nil, err
	}
	root, err := openRoot(t)
	if err != nil {
		return target{}, nil, err
	}
	return t, root, nil
}

// Open implements blob.Bucket.
func (f *Files) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	t, root, err := f.enter(ctx, key, false)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	// O_NONBLOCK keeps a FIFO from blocking the open; it changes nothing
	// for the regular files regularOnly lets through.
	file, err := root.OpenFile(t.rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, classifyConfined(f, t, err)
	}
	return regularOnly(file, t.path)
}

// escapes reports whether err is os.Root refusing to leave its root (a
// symlink that changed after the check), which is an outside path.
func escapes(err error) bool {
	return err != nil && strings.Contains(err.Error(), "escapes from parent")
}

// classifyConfined is classify, plus os.Root's refusal to leave the root.
func classifyConfined(f *Files, t target, err error) error {
	if escapes(err) {
		return f.outside(t.path)
	}
	return classify("open", t.path, err)
}

// Put implements blob.Bucket: it replaces an existing regular file at key,
// but never a symlink, folder or special file.
func (f *Files) Put(ctx context.Context, key string, r io.Reader) error {
	return f.write(ctx, key, r, true)
}

// Create implements blob.Creator: like Put, but it fails with errs.Invalid
// when anything already exists at key, so a job never overwrites a file it
// did not write.
func (f *Files) Create(ctx context.Context, key string, r io.Reader) error {
	return f.write(ctx, key, r, false)
}

func (f *Files) write(ctx context.Context, key string, src io.Reader, replace bool) error {
	t, root, err := f.enter(ctx, key, true)
	if err != nil {
		return err
	}
	defer root.Close()
	p := t.path
	dir := filepath.Dir(t.rel)
	if err := root.MkdirAll(dir, 0o750); err != nil {
		return classifyConfinedPut(f, t, err)
	}
	removeStaleTemps(root, dir, time.Now())
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmpRel := filepath.Join(dir, tempPrefix+hex.EncodeToString(rnd[:]))
	tmp, err := root.OpenFile(tmpRel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return classifyConfinedPut(f, t, err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			root.Remove(tmpRel)
		}
	}()
	if err := lockTemp(tmp); err != nil {
		return fmt.Errorf("lock %s: %w", tmpRel, err)
	}
	if _, err := io.Copy(tmp, ctxReader{ctx, src}); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return fmt.Errorf("write %s: %w", p, err)
	}
	// The umask may have narrowed the mode; make it exactly 0640.
	if err := tmp.Chmod(0o640); err != nil {
		return fmt.Errorf("chmod %s: %w", p, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", p, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", p, err)
	}
	if replace {
		if fi, err := root.Lstat(t.rel); err == nil && !fi.Mode().IsRegular() {
			return errs.E(errs.Invalid, "cannot write %s: something other than a regular file exists there", t.uri())
		}
		err = root.Rename(tmpRel, t.rel)
	} else {
		// link(2) fails when the name exists, whatever it is (a symlink
		// included), which makes "create, never replace" atomic.
		if err = root.Link(tmpRel, t.rel); err == nil {
			root.Remove(tmpRel)
		}
	}
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return errs.Wrap(errs.Invalid, err, "cannot write %s: a file already exists there and is not replaced; remove it or choose another location", t.uri())
		}
		return classifyConfinedPut(f, t, err)
	}
	committed = true
	d, err := root.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder of %s: %w", p, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder of %s: %w", p, err)
	}
	return nil
}

func classifyConfinedPut(f *Files, t target, err error) error {
	if escapes(err) {
		return f.outside(t.path)
	}
	return classifyPut(t.path, err)
}

// List implements blob.Bucket. The folder part of prefix must be allowed;
// entries are listed from its real location, and each listed file is
// checked again when it is opened.
func (f *Files) List(ctx context.Context, prefix string) ([]blob.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	i := strings.LastIndex(prefix, "/")
	if i < 0 {
		return nil, errs.E(errs.Invalid, "cannot list the file system root: name a folder inside an allowed local folder")
	}
	dirKey, namePrefix := prefix[:i], prefix[i+1:]
	p, err := cleanKey(dirKey)
	if err != nil {
		return nil, err
	}
	t, err := f.resolve(p)
	if err != nil {
		return nil, err
	}
	inner := &Bucket{root: filepath.Join(t.root, t.rel)}
	objs, err := inner.List(ctx, namePrefix)
	if err != nil {
		return nil, err
	}
	for i := range objs {
		objs[i].Key = dirKey + "/" + objs[i].Key
	}
	return objs, nil
}

// Delete implements blob.Bucket. It removes regular files and symlinks only.
func (f *Files) Delete(ctx context.Context, key string) error {
	t, root, err := f.enter(ctx, key, true)
	if err != nil {
		return err
	}
	defer root.Close()
	fi, err := root.Lstat(t.rel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return classifyConfined(f, t, err)
	}
	if fi.IsDir() {
		return nil
	}
	if err := root.Remove(t.rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return classifyConfined(f, t, err)
	}
	return nil
}
