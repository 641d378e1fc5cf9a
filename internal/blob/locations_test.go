package blob_test

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/blob/local"
	"github.com/attune-dev/attune/internal/blob/s3"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/testenv"
)

func s3Opener(t *testing.T, srv testenv.S3Server, secret string) blob.Opener {
	t.Helper()
	open, err := s3.NewOpener(t.Context(), s3.Options{
		Endpoint: srv.Endpoint, Region: srv.Region, AccessKeyID: srv.AccessKey, SecretAccessKey: secret,
	})
	if err != nil {
		t.Fatalf("s3.NewOpener = %v", err)
	}
	return open
}

func fileOpener(t *testing.T, roots ...string) blob.Opener {
	t.Helper()
	open, err := local.FileOpener(local.FilesOptions{Roots: roots})
	if err != nil {
		t.Fatalf("local.FileOpener(%q) = %v", roots, err)
	}
	return open
}

func TestLocationsFile(t *testing.T) {
	dir := t.TempDir()
	locs := blob.NewLocations(map[string]blob.Opener{blob.SchemeFile: fileOpener(t, dir)})
	testLocations(t, locs, "file://"+dir+"/")
}

func TestLocationsCheckAndCreate(t *testing.T) {
	dir := t.TempDir()
	locs := blob.NewLocations(map[string]blob.Opener{blob.SchemeFile: fileOpener(t, dir)})
	ctx := t.Context()
	tests := []struct {
		uri   string
		write bool
		want  errs.Kind // Internal: allowed
	}{
		{"file://" + dir + "/in.csv", false, errs.Internal},
		{"file://" + dir + "/out/", true, errs.Internal},
		{"file:///etc/passwd", false, errs.Invalid},
		{"file:///proc/self/environ", false, errs.Invalid},
		{"file:///tmp/../etc/", true, errs.Invalid},
		{"s3://bucket/key.csv", false, errs.Invalid}, // no s3 opener here
	}
	for _, tc := range tests {
		err := locs.Check(ctx, tc.uri, tc.write)
		if tc.want == errs.Internal && err != nil || tc.want != errs.Internal && errs.KindOf(err) != tc.want {
			t.Errorf("Check(%s, %v) = %v, want kind %v", tc.uri, tc.write, err, tc.want)
		}
	}
	uri := "file://" + dir + "/out/a.csv"
	if err := locs.Create(ctx, uri, strings.NewReader("1")); err != nil {
		t.Fatalf("Create(%s) = %v", uri, err)
	}
	if err := locs.Create(ctx, uri, strings.NewReader("2")); errs.KindOf(err) != errs.Invalid {
		t.Errorf("second Create(%s) = %v, want kind Invalid", uri, err)
	}
	if err := locs.Put(ctx, uri, strings.NewReader("3")); err != nil {
		t.Errorf("Put(%s) over it = %v", uri, err)
	}
}

func TestLocationsS3(t *testing.T) {
	srv := testenv.S3(t)
	srv.CreateBucket(t, "locations")
	locs := blob.NewLocations(map[string]blob.Opener{blob.SchemeS3: s3Opener(t, srv, srv.SecretKey)})
	testLocations(t, locs, "s3://locations/base/")
}

// testLocations runs the same checks against any backend; base is a folder
// URI that is empty at the start.
func testLocations(t *testing.T, locs *blob.Locations, base string) {
	files := []string{"in/b.csv", "in/a.csv", "in/notes.txt", "in/sub/c.csv", "in-other.csv", "txtonly/readme.txt"}
	for _, f := range files {
		if err := locs.Put(t.Context(), base+f, strings.NewReader("content of "+f)); err != nil {
			t.Fatalf("Put(%s) = %v", base+f, err)
		}
	}

	t.Run("Expand", func(t *testing.T) {
		tests := []struct {
			uri, suffix string
			want        []string
			wantKind    errs.Kind
		}{
			{uri: "in/", suffix: ".csv", want: []string{"in/a.csv", "in/b.csv", "in/sub/c.csv"}},
			{uri: "in/", suffix: "", want: []string{"in/a.csv", "in/b.csv", "in/notes.txt", "in/sub/c.csv"}},
			{uri: "in/sub/", suffix: ".csv", want: []string{"in/sub/c.csv"}},
			{uri: "in/a.csv", suffix: ".csv", want: []string{"in/a.csv"}},
			// A file stands for itself whatever its name; Open reports a
			// missing one.
			{uri: "in/notes.txt", suffix: ".csv", want: []string{"in/notes.txt"}},
			{uri: "missing.csv", suffix: ".csv", want: []string{"missing.csv"}},
			{uri: "txtonly/", suffix: ".csv", wantKind: errs.Invalid},
			{uri: "nothing-here/", suffix: ".csv", wantKind: errs.Invalid},
		}
		for _, tc := range tests {
			t.Run(tc.uri+"+"+tc.suffix, func(t *testing.T) {
				got, err := locs.Expand(t.Context(), base+tc.uri, tc.suffix)
				if tc.want == nil {
					if errs.KindOf(err) != tc.wantKind {
						t.Fatalf("Expand(%s) = %q, %v; want kind %v", base+tc.uri, got, err, tc.wantKind)
					}
					if msg := errs.Message(err); !strings.Contains(msg, base+tc.uri) {
						t.Errorf("Expand(%s) error message %q does not name the location", base+tc.uri, msg)
					}
					return
				}
				var want []string
				for _, w := range tc.want {
					want = append(want, base+w)
				}
				if err != nil || !slices.Equal(got, want) {
					t.Errorf("Expand(%s, %q) = %q, %v; want %q", base+tc.uri, tc.suffix, got, err, want)
				}
			})
		}
	})

	t.Run("ExpandThenOpen", func(t *testing.T) {
		uris, err := locs.Expand(t.Context(), base+"in/", ".csv")
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range uris {
			rc, err := locs.Open(t.Context(), u)
			if err != nil {
				t.Fatalf("Open(%s) = %v", u, err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if want := "content of " + strings.TrimPrefix(u, base); err != nil || string(got) != want {
				t.Errorf("Open(%s) read %q, %v; want %q", u, got, err, want)
			}
		}
	})

	t.Run("Errors", func(t *testing.T) {
		tests := []struct {
			name string
			op   func() error
			want errs.Kind
		}{
			{"open missing", func() error { return openErr(locs, t, base+"missing.csv") }, errs.NotFound},
			{"open folder", func() error { return openErr(locs, t, base+"in/") }, errs.Invalid},
			{"put folder", func() error { return locs.Put(t.Context(), base+"out/", bytes.NewReader(nil)) }, errs.Invalid},
			{"bad uri", func() error { return openErr(locs, t, "in/a.csv") }, errs.Invalid},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if err := tc.op(); errs.KindOf(err) != tc.want {
					t.Errorf("got %v (kind %v), want kind %v", err, errs.KindOf(err), tc.want)
				}
			})
		}
		err := openErr(locs, t, base+"missing.csv")
		if msg := errs.Message(err); !strings.Contains(msg, base+"missing.csv") {
			t.Errorf("NotFound message %q does not name the location", msg)
		}
	})
}

func openErr(locs *blob.Locations, t *testing.T, uri string) error {
	rc, err := locs.Open(t.Context(), uri)
	if err == nil {
		rc.Close()
	}
	return err
}

func TestLocationsSchemeNotEnabled(t *testing.T) {
	locs := blob.NewLocations(map[string]blob.Opener{blob.SchemeFile: fileOpener(t, t.TempDir())})
	for _, op := range []struct {
		name string
		fn   func() error
	}{
		{"Open", func() error { return openErr(locs, t, "s3://bucket/key.csv") }},
		{"Expand", func() error { _, err := locs.Expand(t.Context(), "s3://bucket/in/", ".csv"); return err }},
		{"Put", func() error { return locs.Put(t.Context(), "s3://bucket/out.csv", bytes.NewReader(nil)) }},
	} {
		if err := op.fn(); errs.KindOf(err) != errs.Invalid {
			t.Errorf("%s(s3://…) without an s3 opener = %v, want kind Invalid", op.name, err)
		}
	}
}

// TestLocationsWrongCredentials checks what an import job would report when
// Attune's S3 credentials are rejected: a client-facing "access denied"
// naming the location, not an internal error.
func TestLocationsWrongCredentials(t *testing.T) {
	srv := testenv.S3(t)
	srv.CreateBucket(t, "private")
	srv.PutObject(t, "private", "in/a.csv", []byte("USER_ID\nu1\n"))
	tests := []struct {
		name, secret, uri string
		op                func(locs *blob.Locations, uri string) error
		want              errs.Kind
		wantMsg           string
	}{
		{"open", "wrong-secret", "s3://private/in/a.csv", func(l *blob.Locations, u string) error { return openErr(l, t, u) }, errs.Invalid, "access denied to s3://private/in/a.csv"},
		{"expand", "wrong-secret", "s3://private/in/", func(l *blob.Locations, u string) error { _, err := l.Expand(t.Context(), u, ".csv"); return err }, errs.Invalid, "access denied to s3://private/in/"},
		{"put", "wrong-secret", "s3://private/out.csv", func(l *blob.Locations, u string) error { return l.Put(t.Context(), u, strings.NewReader("x")) }, errs.Invalid, "access denied to s3://private/out.csv"},
		{"right secret", srv.SecretKey, "s3://private/in/a.csv", func(l *blob.Locations, u string) error { return openErr(l, t, u) }, errs.Internal, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			locs := blob.NewLocations(map[string]blob.Opener{blob.SchemeS3: s3Opener(t, srv, tc.secret)})
			err := tc.op(locs, tc.uri)
			if tc.wantMsg == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if errs.KindOf(err) != tc.want {
				t.Fatalf("got %v (kind %v), want kind %v", err, errs.KindOf(err), tc.want)
			}
			if msg := errs.Message(err); !strings.HasPrefix(msg, tc.wantMsg) {
				t.Errorf("message = %q, want it to start with %q", msg, tc.wantMsg)
			}
		})
	}
}
