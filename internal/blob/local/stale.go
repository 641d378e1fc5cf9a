package local

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// staleAge is how old a temporary file must be before a write into its
// folder may remove it. A live writer holds its lock from the moment after
// it creates the file, so the age only covers that moment.
const staleAge = time.Minute

// lockTemp takes the writer's lock on a temporary file it created. The lock
// lasts until the file is closed or the process dies, which is how a later
// write tells a live write from one a crash interrupted.
func lockTemp(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// removeStaleTemps removes, from folder dir of root, the temporary files of
// writes a crash interrupted: regular files named with tempPrefix, older
// than staleAge, whose lock nobody holds. It is best effort: a file it
// cannot open or lock is left alone.
func removeStaleTemps(root *os.Root, dir string, now time.Time) {
	d, err := root.Open(dir)
	if err != nil {
		return
	}
	entries, _ := d.ReadDir(-1)
	d.Close()
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tempPrefix) || !e.Type().IsRegular() {
			continue
		}
		rel := filepath.Join(dir, e.Name())
		fi, err := root.Lstat(rel)
		if err != nil || !fi.Mode().IsRegular() || now.Sub(fi.ModTime()) < staleAge {
			continue
		}
		f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
		if err != nil {
			continue
		}
		if lockTemp(f) == nil {
			root.Remove(rel)
		}
		f.Close()
	}
}
