package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/blob/local"
)

// localRootsNone is the --local-roots value that switches file:// off.
const localRootsNone = "none"

// defaultLocalRoot is the folder file:// locations are confined to when
// --local-roots is not given.
func defaultLocalRoot(dataDir string) string { return filepath.Join(dataDir, "files") }

// parseLocalRoots checks the --local-roots value: "none", "" (the default
// folder) or comma-separated absolute folders.
func parseLocalRoots(v string) ([]string, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == localRootsNone {
		return nil, nil
	}
	var roots []string
	for r := range strings.SplitSeq(v, ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if !filepath.IsAbs(r) {
			return nil, fmt.Errorf("--local-roots: %q is not an absolute path", r)
		}
		roots = append(roots, filepath.Clean(r))
	}
	if len(roots) == 0 {
		return nil, errors.New("--local-roots: no folder given (use none to turn file:// locations off)")
	}
	return roots, nil
}

// fileOpener returns the opener for file:// locations confined to the
// configured roots and the roots it uses, or a nil opener when file:// is
// off. The default root is created if missing; named roots must exist. The
// data dir, with the store and the credentials, is refused even when a root
// holds it, except for roots inside it (<data-dir>/files).
func fileOpener(c serveConfig) (blob.Opener, []string, error) {
	if strings.TrimSpace(c.localRoots) == localRootsNone {
		return nil, nil, nil
	}
	roots, err := parseLocalRoots(c.localRoots)
	if err != nil {
		return nil, nil, usageError{err}
	}
	if roots == nil {
		def, err := filepath.Abs(defaultLocalRoot(c.dataDir))
		if err != nil {
			return nil, nil, fmt.Errorf("local root: %w", err)
		}
		if err := os.MkdirAll(def, 0o750); err != nil {
			return nil, nil, fmt.Errorf("create local root %s: %w", def, err)
		}
		roots = []string{def}
	}
	open, err := local.FileOpener(local.FilesOptions{Roots: roots, Deny: []string{c.dataDir}})
	if err != nil {
		return nil, nil, usageError{fmt.Errorf("--local-roots: %w", err)}
	}
	return open, roots, nil
}
