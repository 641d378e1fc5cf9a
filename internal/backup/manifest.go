// Package backup writes and restores online snapshots of an Attune data
// dir: the embedded store (as a consistent copy made by the caller), the
// model artifacts, the root credentials file and the master key that seals
// access-key secrets. A backup is a folder of objects in a blob.Bucket (a
// local folder or an S3 prefix) ending with manifest.json, written last, that
// lists every file with its size, mode and SHA-256; a folder without a
// manifest is an unfinished backup and is refused by Restore.
//
// It imports blob (the interface), errs and the standard library only: the
// store snapshot comes in as a function and the buckets from cmd/attune.
package backup

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/attune-dev/attune/internal/errs"
)

// ManifestName is the object written last into a backup folder.
const ManifestName = "manifest.json"

// Format is the manifest format this package writes and reads.
const Format = 1

// Names of the files a backup holds, relative to the data dir.
const (
	StoreFile       = "attune.db"        // the SQLite store (sqlite.FileName)
	CredentialsFile = "credentials.json" // the root key pair
	MasterKeyFile   = "master.key"       // the key sealing access-key secrets
	ArtifactsDir    = "artifacts"        // model artifacts, one file each
)

// maxManifest bounds the manifest Restore reads: a million artifacts fit.
const maxManifest = 256 << 20

// File is one file of a backup.
type File struct {
	Name   string      // slash-separated path relative to the data dir
	Size   int64       // length in bytes
	Mode   fs.FileMode // permission bits the file had, restored as they were
	SHA256 string      // lowercase hex digest of the content
}

// Manifest describes a complete backup.
type Manifest struct {
	Format  int
	Created time.Time // when the store snapshot was taken
	Version string    // attune version that wrote it
	Files   []File
}

// wireFile and wireManifest are the JSON form: octal mode strings read
// better than decimal numbers for an operator looking at the file.
type wireFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	Mode   string `json:"mode"`
	SHA256 string `json:"sha256"`
}

type wireManifest struct {
	Format  int        `json:"format"`
	Created time.Time  `json:"created"`
	Version string     `json:"attuneVersion"`
	Files   []wireFile `json:"files"`
}

// Encode returns the manifest as indented JSON.
func (m Manifest) Encode() []byte {
	w := wireManifest{Format: m.Format, Created: m.Created.UTC(), Version: m.Version, Files: make([]wireFile, len(m.Files))}
	for i, f := range m.Files {
		w.Files[i] = wireFile{Name: f.Name, Size: f.Size, Mode: fmt.Sprintf("%04o", uint32(f.Mode.Perm())), SHA256: f.SHA256}
	}
	b, _ := json.MarshalIndent(w, "", "  ") // only strings, numbers and a time: cannot fail
	return append(b, '\n')
}

// ParseManifest reads and checks a manifest: a known format, a store file,
// and file names that stay inside the data dir and name only what a backup
// holds. Errors are errs.Invalid and never quote the input beyond a file
// name cut to 100 characters.
func ParseManifest(data []byte) (Manifest, error) {
	var w wireManifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Manifest{}, errs.E(errs.Invalid, "manifest is not valid JSON of the backup format")
	}
	if dec.More() {
		return Manifest{}, errs.E(errs.Invalid, "manifest has data after its JSON object")
	}
	if w.Format != Format {
		return Manifest{}, errs.E(errs.Invalid, "manifest format %d is not supported (this attune reads format %d)", w.Format, Format)
	}
	m := Manifest{Format: w.Format, Created: w.Created, Version: w.Version, Files: make([]File, 0, len(w.Files))}
	seen := make(map[string]bool, len(w.Files))
	for i, f := range w.Files {
		if err := checkName(f.Name); err != nil {
			return Manifest{}, errs.E(errs.Invalid, "manifest file %d (%s): %s", i+1, errs.Quote(f.Name), errs.Message(err))
		}
		if seen[f.Name] {
			return Manifest{}, errs.E(errs.Invalid, "manifest lists %s twice", errs.Quote(f.Name))
		}
		seen[f.Name] = true
		if f.Size < 0 {
			return Manifest{}, errs.E(errs.Invalid, "manifest file %s has a negative size", errs.Quote(f.Name))
		}
		mode, err := parseMode(f.Mode)
		if err != nil {
			return Manifest{}, errs.E(errs.Invalid, "manifest file %s: %s", errs.Quote(f.Name), errs.Message(err))
		}
		if d, err := hex.DecodeString(f.SHA256); err != nil || len(d) != 32 || strings.ToLower(f.SHA256) != f.SHA256 {
			return Manifest{}, errs.E(errs.Invalid, "manifest file %s: sha256 is not 64 lowercase hex digits", errs.Quote(f.Name))
		}
		m.Files = append(m.Files, File{Name: f.Name, Size: f.Size, Mode: mode, SHA256: f.SHA256})
	}
	if !seen[StoreFile] {
		return Manifest{}, errs.E(errs.Invalid, "manifest lists no %s: not a backup of an embedded store", StoreFile)
	}
	return m, nil
}

// checkName accepts the store, credentials and master key files and clean
// paths under artifacts/.
func checkName(name string) error {
	switch name {
	case StoreFile, CredentialsFile, MasterKeyFile:
		return nil
	}
	rest, ok := strings.CutPrefix(name, ArtifactsDir+"/")
	if !ok || rest == "" {
		return errs.E(errs.Invalid, "not a file a backup holds (the store, credentials, master key or artifacts/...)")
	}
	if path.Clean(name) != name || strings.ContainsAny(name, "\\\x00") || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return errs.E(errs.Invalid, "not a clean relative path")
	}
	for seg := range strings.SplitSeq(rest, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return errs.E(errs.Invalid, "not a clean relative path")
		}
	}
	return nil
}

// parseMode reads permission bits written as octal ("0600"); anything else
// (setuid, file types, more than 4 digits) is refused.
func parseMode(s string) (fs.FileMode, error) {
	if len(s) == 0 || len(s) > 4 {
		return 0, errs.E(errs.Invalid, "mode is not octal permission bits such as 0600")
	}
	var v uint32
	for _, c := range s {
		if c < '0' || c > '7' {
			return 0, errs.E(errs.Invalid, "mode is not octal permission bits such as 0600")
		}
		v = v*8 + uint32(c-'0')
	}
	if v&^0o777 != 0 {
		return 0, errs.E(errs.Invalid, "mode has bits other than permissions")
	}
	return fs.FileMode(v), nil
}
