package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/attune-dev/attune/internal/errs"
)

// Snapshot writes a transactionally consistent copy of the store in
// dir/attune.db to dest (a new file: an existing one is an error) with
// VACUUM INTO, while servers and commands may be reading and writing the
// store: the copy holds every transaction committed before it started and
// none after. It opens its own connection and never creates or migrates
// the store; a missing store is errs.NotFound. Writers wait for it only as
// long as any other reader would make them (WAL mode).
func Snapshot(ctx context.Context, dir, dest string) error {
	path := filepath.Join(dir, FileName)
	if strings.ContainsRune(path, '?') || strings.ContainsRune(dest, '?') {
		return errs.E(errs.Invalid, "sqlite: path contains '?'")
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return errs.E(errs.NotFound, "sqlite: no store in %s", dir)
	}
	if _, err := os.Lstat(dest); err == nil {
		return errs.E(errs.Invalid, "sqlite: snapshot target %s exists", dest)
	}
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(DefaultOptions().BusyTimeout.Milliseconds(), 10))
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("sqlite: open for snapshot: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		os.Remove(dest)
		return fmt.Errorf("sqlite: snapshot: %w", err)
	}
	return nil
}
