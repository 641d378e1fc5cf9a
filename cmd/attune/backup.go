package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/attune-dev/attune/internal/accesskeys"
	"github.com/attune-dev/attune/internal/backup"
	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/blob/local"
	blobs3 "github.com/attune-dev/attune/internal/blob/s3"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/store/sqlite"
)

const backupUsage = `Usage:
  attune backup  --to   file:///abs/folder/ | s3://bucket/prefix/  [store flags]
  attune restore --from file:///abs/folder/ | s3://bucket/prefix/  --data-dir EMPTY_DIR

backup takes a consistent snapshot of the embedded store while a server may be
running and writing, and copies it with the model artifacts, credentials.json
and master.key into a new, empty folder; manifest.json (sizes, modes, SHA-256)
is written last, so a folder without it is an unfinished backup. restore checks
every file against the manifest and writes into an empty or new data dir only.
s3:// uses the usual AWS_* variables (AWS_ENDPOINT_URL_S3 for another endpoint).
With --store postgres://, use pg_dump instead: see the README, "Operations:
backup and restore".
`

// postgresBackupHelp is the answer to `attune backup --store postgres://...`.
const postgresBackupHelp = "backup covers the embedded SQLite store only: with --store postgres://, dump the database with pg_dump " +
	"and copy the data dir's artifacts/, credentials.json and master.key (see README, \"Operations: backup and restore\")"

// runBackup is `attune backup`.
func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c serveConfig
	var to string
	fs := flag.NewFlagSet("attune backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, backupUsage); fs.PrintDefaults() }
	addStoreFlags(fs, &c)
	fs.StringVar(&to, "to", "", "folder to back up into: file:///abs/folder/ or s3://bucket/prefix/ (new or empty)")
	if err := parseOperatorFlags(fs, args, getenv); err != nil {
		return err
	}
	if c.storeDSN != "" {
		return usageError{errors.New(postgresBackupHelp)}
	}
	bucket, prefix, err := operatorLocation(ctx, "--to", to, getenv, c.dataDir, true)
	if err != nil {
		return err
	}
	res, err := backup.Create(ctx, bucket, prefix, backup.Options{DataDir: c.dataDir, Version: version,
		Snapshot: func(ctx context.Context, path string) error { return sqlite.Snapshot(ctx, c.dataDir, path) }})
	if err != nil {
		return fmt.Errorf("backup: %s", clientMessage(err))
	}
	var total int64
	for _, f := range res.Manifest.Files {
		total += f.Size
	}
	for _, name := range res.Absent {
		switch name {
		case backup.MasterKeyFile:
			if getenv(accesskeys.MasterKeyEnv) != "" {
				fmt.Fprintf(stderr, "note: the master key comes from %s and is not in the backup: keep it with the backup\n", accesskeys.MasterKeyEnv)
			}
		case backup.CredentialsFile:
			fmt.Fprintln(stderr, "note: the data dir has no credentials.json (root credentials from the environment?): it is not in the backup")
		}
	}
	for _, name := range res.Vanished {
		fmt.Fprintf(stderr, "note: %s was deleted while the backup ran and is not in it\n", name)
	}
	fmt.Fprintf(stdout, "Backed up %d files (%d bytes, store snapshot at %s) to %s\n", len(res.Manifest.Files), total,
		res.Manifest.Created.UTC().Format("2006-01-02T15:04:05Z"), to)
	return nil
}

// runRestore is `attune restore`.
func runRestore(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c serveConfig
	var from string
	fs := flag.NewFlagSet("attune restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, backupUsage); fs.PrintDefaults() }
	addStoreFlags(fs, &c)
	fs.StringVar(&from, "from", "", "backup folder to restore: file:///abs/folder/ or s3://bucket/prefix/")
	if err := parseOperatorFlags(fs, args, getenv); err != nil {
		return err
	}
	if c.storeDSN != "" {
		return usageError{errors.New("restore writes the embedded SQLite store only: with --store postgres://, use pg_restore (see README, \"Operations: backup and restore\")")}
	}
	bucket, prefix, err := operatorLocation(ctx, "--from", from, getenv, c.dataDir, false)
	if err != nil {
		return err
	}
	m, err := backup.Restore(ctx, bucket, prefix, c.dataDir)
	if err != nil {
		return fmt.Errorf("restore: %s", clientMessage(err))
	}
	fmt.Fprintf(stdout, "Restored %d files from the backup taken at %s into %s\n", len(m.Files), m.Created.UTC().Format("2006-01-02T15:04:05Z"), c.dataDir)
	return nil
}

// parseOperatorFlags parses the flags of backup and restore, which take no
// positional arguments, then fills unset ones from ATTUNE_* variables.
func parseOperatorFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %q", fs.Name(), fs.Args())}
	}
	return applyEnv(fs, getenv)
}

// operatorLocation resolves the --to / --from folder of backup and restore
// to a bucket and key prefix. The operator names it on the command line, so
// unlike the server's file:// locations it is not confined to
// --local-roots; a file:// folder becomes the only root of a local.Files
// (created 0700 for a backup when missing), so nothing is written or read
// through a symlink inside it and no existing file is replaced. The data
// dir itself is refused.
func operatorLocation(ctx context.Context, flagName, uri string, getenv func(string) string, dataDir string, write bool) (blob.Bucket, string, error) {
	if uri == "" {
		return nil, "", usageError{fmt.Errorf("%s is required: file:///abs/folder/ or s3://bucket/prefix/", flagName)}
	}
	scheme, bucketName, key, err := blob.ParseURI(uri)
	if err != nil {
		return nil, "", usageError{fmt.Errorf("%s: %s", flagName, errs.Message(err))}
	}
	if !blob.IsFolder(key) {
		return nil, "", usageError{fmt.Errorf("%s %s: name a folder, ending in '/'", flagName, uri)}
	}
	if scheme == blob.SchemeS3 {
		open, err := blobs3.NewOpener(ctx, s3Options(getenv))
		if err != nil {
			return nil, "", fmt.Errorf("configure S3: %w", err)
		}
		b, err := open(ctx, bucketName)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %s", flagName, clientMessage(err))
		}
		return b, key, nil
	}
	dir := "/" + strings.TrimSuffix(key, "/")
	if inside(dir, dataDir) || inside(dataDir, dir) {
		return nil, "", usageError{fmt.Errorf("%s %s: the backup folder and the data dir must not contain each other", flagName, uri)}
	}
	if write {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, "", fmt.Errorf("%s: create folder: %w", flagName, err)
		}
	}
	files, err := local.NewFiles(local.FilesOptions{Roots: []string{dir}})
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", flagName, err)
	}
	return files, key, nil
}

// inside reports whether path lies in (or is) dir, comparing absolute,
// symlink-resolved paths where they exist.
func inside(path, dir string) bool {
	real := func(p string) string {
		abs, err := filepath.Abs(p)
		if err != nil {
			return p
		}
		if r, err := filepath.EvalSymlinks(abs); err == nil {
			return r
		}
		return abs
	}
	rel, err := filepath.Rel(real(dir), real(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
