package backup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/blob/local"
	"github.com/attune-dev/attune/internal/errs"
)

const goodSHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func manifestJSON(files string) string {
	return `{"format":1,"created":"2026-12-03T08:00:00Z","attuneVersion":"dev","files":[` + files + `]}`
}

func fileJSON(name, mode string) string {
	return `{"name":"` + name + `","size":0,"mode":"` + mode + `","sha256":"` + goodSHA + `"}`
}

func TestParseManifest(t *testing.T) {
	store := fileJSON("attune.db", "0600")
	cases := []struct {
		name  string
		in    string
		valid bool
	}{
		{"store only", manifestJSON(store), true},
		{"everything", manifestJSON(store + "," + fileJSON("master.key", "0600") + "," + fileJSON("credentials.json", "0600") + "," + fileJSON("artifacts/v/1.bin", "0640")), true},
		{"no store", manifestJSON(fileJSON("master.key", "0600")), false},
		{"other format", strings.Replace(manifestJSON(store), `"format":1`, `"format":2`, 1), false},
		{"unknown member", strings.Replace(manifestJSON(store), `"format":1`, `"format":1,"extra":true`, 1), false},
		{"trailing data", manifestJSON(store) + "{}", false},
		{"not JSON", "manifest", false},
		{"parent element", manifestJSON(store + "," + fileJSON("artifacts/../attune.db", "0600")), false},
		{"leading parent", manifestJSON(store + "," + fileJSON("../x", "0600")), false},
		{"absolute", manifestJSON(store + "," + fileJSON("/etc/passwd", "0600")), false},
		{"outside artifacts", manifestJSON(store + "," + fileJSON("files/x.csv", "0600")), false},
		{"artifacts folder itself", manifestJSON(store + "," + fileJSON("artifacts/", "0600")), false},
		{"empty element", manifestJSON(store + "," + fileJSON("artifacts/a//b", "0600")), false},
		{"backslash", manifestJSON(store + "," + fileJSON(`artifacts/a\\b`, "0600")), false},
		{"twice", manifestJSON(store + "," + store), false},
		{"setuid mode", manifestJSON(fileJSON("attune.db", "4755")), false},
		{"decimal mode", manifestJSON(fileJSON("attune.db", "0900")), false},
		{"empty mode", manifestJSON(fileJSON("attune.db", "")), false},
		{"upper-case digest", manifestJSON(strings.Replace(store, goodSHA, strings.ToUpper(goodSHA), 1)), false},
		{"short digest", manifestJSON(strings.Replace(store, goodSHA, goodSHA[:10], 1)), false},
		{"negative size", manifestJSON(strings.Replace(store, `"size":0`, `"size":-1`, 1)), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseManifest([]byte(tc.in))
			if tc.valid {
				if err != nil {
					t.Fatalf("ParseManifest = %v, want no error", err)
				}
				again, err := ParseManifest(m.Encode())
				if err != nil || len(again.Files) != len(m.Files) || again.Files[0] != m.Files[0] {
					t.Errorf("ParseManifest(Encode(m)) = %+v, %v; want m back", again, err)
				}
				return
			}
			if errs.KindOf(err) != errs.Invalid {
				t.Errorf("ParseManifest = %+v, %v; want an Invalid error", m, err)
			}
		})
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(manifestJSON(fileJSON("attune.db", "0600"))))
	f.Add([]byte(manifestJSON(fileJSON("attune.db", "0600") + "," + fileJSON("artifacts/a/b", "0644"))))
	f.Add([]byte(manifestJSON(fileJSON("artifacts/../../x", "0777"))))
	f.Add([]byte(`{"format":1,"files":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("error of kind %v, want Invalid: %v", errs.KindOf(err), err)
			}
			return
		}
		for _, f := range m.Files {
			if !filepath.IsLocal(f.Name) || f.Mode&^0o777 != 0 {
				t.Fatalf("accepted file %q mode %v", f.Name, f.Mode)
			}
		}
		if _, err := ParseManifest(m.Encode()); err != nil {
			t.Fatalf("re-encoded manifest does not parse: %v", err)
		}
	})
}

// writeTree creates files (name → content) in dir with the given modes.
func writeTree(t *testing.T, dir string, files map[string]string, modes map[string]fs.FileMode) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		mode := modes[name]
		if mode == 0 {
			mode = 0o640
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
}

// copySnapshot stands in for sqlite.Snapshot: it copies the store file.
func copySnapshot(dataDir string) func(context.Context, string) error {
	return func(_ context.Context, dest string) error {
		b, err := os.ReadFile(filepath.Join(dataDir, StoreFile))
		if err != nil {
			return err
		}
		return os.WriteFile(dest, b, 0o600)
	}
}

func folderBucket(t *testing.T, dir string) (blob.Bucket, string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := local.NewFiles(local.FilesOptions{Roots: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	return b, strings.TrimPrefix(dir, "/") + "/"
}

func TestCreateAndRestore(t *testing.T) {
	ctx := t.Context()
	data := t.TempDir()
	files := map[string]string{StoreFile: "store bytes", CredentialsFile: `{"accessKeyId":"A"}`, MasterKeyFile: "key\n",
		"artifacts/sv/1/model.bin": "model one", "artifacts/sv/2/model.bin": strings.Repeat("m", 100000), "artifacts/empty": ""}
	modes := map[string]fs.FileMode{StoreFile: 0o644, CredentialsFile: 0o600, MasterKeyFile: 0o600, "artifacts/sv/1/model.bin": 0o640}
	writeTree(t, data, files, modes)
	// Neither a write in progress nor a symlink out of the data dir is copied.
	writeTree(t, data, map[string]string{"artifacts/.attune-put-123": "half"}, nil)
	outside := filepath.Join(t.TempDir(), "secret")
	writeTree(t, filepath.Dir(outside), map[string]string{"secret": "not data"}, nil)
	if err := os.Symlink(outside, filepath.Join(data, "artifacts", "link")); err != nil {
		t.Fatal(err)
	}

	dst, prefix := folderBucket(t, filepath.Join(t.TempDir(), "backup"))
	created := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	res, err := Create(ctx, dst, prefix, Options{DataDir: data, Snapshot: copySnapshot(data), Version: "test", Now: func() time.Time { return created }})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if len(res.Manifest.Files) != len(files) || len(res.Absent) != 0 || !res.Manifest.Created.Equal(created) {
		t.Errorf("Create = %d files, absent %v, created %v; want %d files, none absent, %v", len(res.Manifest.Files), res.Absent, res.Manifest.Created, len(files), created)
	}
	objs, _ := dst.List(ctx, prefix)
	if len(objs) != len(files)+1 {
		t.Errorf("backup folder holds %v, want the %d files and the manifest", objs, len(files))
	}
	if entries, _ := os.ReadDir(data); len(entries) != 4 { // store, credentials, key, artifacts: the snapshot folder is gone
		t.Errorf("data dir after backup has %d entries, want 4", len(entries))
	}
	if _, err := Create(ctx, dst, prefix, Options{DataDir: data, Snapshot: copySnapshot(data)}); errs.KindOf(err) != errs.Invalid {
		t.Errorf("Create into a used folder = %v, want Invalid", err)
	}
	// What a killed backup left in the data dir goes at the next backup
	// once it is a day old; a recent one may belong to a running backup.
	stale, recent := filepath.Join(data, snapshotPrefix+"old"), filepath.Join(data, snapshotPrefix+"new")
	writeTree(t, data, map[string]string{snapshotPrefix + "old/" + StoreFile: "x", snapshotPrefix + "new/" + StoreFile: "y"}, nil)
	old := created.Add(-25 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(ctx, dst, prefix+"again/", Options{DataDir: data, Snapshot: copySnapshot(data), Now: func() time.Time { return created }}); err != nil {
		t.Fatalf("second Create: %v", err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("day-old snapshot folder still there (%v)", err)
	}
	if _, err := os.Stat(recent); err != nil {
		t.Errorf("recent snapshot folder removed: %v", err)
	}
	os.RemoveAll(recent)

	restored := filepath.Join(t.TempDir(), "restored")
	if _, err := Restore(ctx, dst, prefix, restored); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	for name, content := range files {
		b, err := os.ReadFile(filepath.Join(restored, name))
		info, serr := os.Stat(filepath.Join(restored, name))
		if err != nil || serr != nil || string(b) != content {
			t.Errorf("restored %s = %d bytes, %v; want the original %d bytes", name, len(b), err, len(content))
			continue
		}
		want := modes[name]
		if want == 0 {
			want = 0o640
		}
		if info.Mode().Perm() != want {
			t.Errorf("restored %s has mode %v, want %v", name, info.Mode().Perm(), want)
		}
	}
	for _, name := range []string{"artifacts/link", "artifacts/.attune-put-123"} {
		if _, err := os.Lstat(filepath.Join(restored, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("restored %s exists (%v), want it left out of the backup", name, err)
		}
	}
	if _, err := Restore(ctx, dst, prefix, restored); errs.KindOf(err) != errs.Invalid {
		t.Errorf("Restore into a non-empty dir = %v, want Invalid", err)
	}
}

func TestRestoreRefusesBadBackups(t *testing.T) {
	ctx := t.Context()
	data := t.TempDir()
	writeTree(t, data, map[string]string{StoreFile: "store", "artifacts/a/b": "artifact"}, nil)
	backupDir := filepath.Join(t.TempDir(), "backup")
	dst, prefix := folderBucket(t, backupDir)
	if _, err := Create(ctx, dst, prefix, Options{DataDir: data, Snapshot: copySnapshot(data)}); err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join(backupDir, ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		damage func(t *testing.T) // applied to a fresh copy of the backup folder
	}{
		{"no manifest", func(t *testing.T) { os.Remove(filepath.Join(backupDir, ManifestName)) }},
		{"changed artifact", func(t *testing.T) { writeTree(t, backupDir, map[string]string{"artifacts/a/b": "artifacT"}, nil) }},
		{"longer artifact", func(t *testing.T) { writeTree(t, backupDir, map[string]string{"artifacts/a/b": "artifact+"}, nil) }},
		{"missing artifact", func(t *testing.T) { os.Remove(filepath.Join(backupDir, "artifacts/a/b")) }},
		{"damaged manifest", func(t *testing.T) {
			writeTree(t, backupDir, map[string]string{ManifestName: string(manifest[:len(manifest)/2])}, nil)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			writeTree(t, backupDir, map[string]string{ManifestName: string(manifest), "artifacts/a/b": "artifact"}, nil)
			tc.damage(t)
			target := filepath.Join(t.TempDir(), "restored")
			_, err := Restore(ctx, dst, prefix, target)
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("Restore = %v, want Invalid", err)
			}
			if entries, _ := os.ReadDir(target); len(entries) != 0 {
				t.Errorf("failed restore left %d entries in the data dir, want none", len(entries))
			}
		})
	}
}

func TestCreateNeedsStoreAndEmptyFolder(t *testing.T) {
	ctx := t.Context()
	dst, prefix := folderBucket(t, filepath.Join(t.TempDir(), "backup"))
	empty := t.TempDir()
	if _, err := Create(ctx, dst, prefix, Options{DataDir: empty, Snapshot: copySnapshot(empty)}); errs.KindOf(err) != errs.Invalid {
		t.Errorf("Create of a data dir without a store = %v, want Invalid", err)
	}
	data := t.TempDir()
	writeTree(t, data, map[string]string{StoreFile: "s"}, nil)
	failing := func(context.Context, string) error { return errors.New("disk full") }
	if _, err := Create(ctx, dst, prefix, Options{DataDir: data, Snapshot: failing}); err == nil {
		t.Error("Create with a failing snapshot succeeded")
	}
	if rc, err := dst.Open(ctx, prefix+ManifestName); err == nil {
		b, _ := io.ReadAll(rc)
		rc.Close()
		t.Errorf("failed backup wrote a manifest: %s", bytes.TrimSpace(b))
	}
}
