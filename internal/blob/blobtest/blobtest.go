// Package blobtest is the conformance suite every blob.Bucket implementation
// must pass. Backend tests call Run with a constructor for empty buckets.
// It imports only blob, errs and the standard library.
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/errs"
)

// LargeSize is the size of the suite's large object: over two 5 MiB parts,
// so that an S3 backend with the minimum part size uploads three parts.
const LargeSize = 12<<20 + 7

// Run tests a blob.Bucket implementation. newBucket must return a new, empty
// bucket each time it is called; it is called once per subtest.
func Run(t *testing.T, newBucket func(t *testing.T) blob.Bucket) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b blob.Bucket)
	}{
		{"OpenMissing", testOpenMissing},
		{"InvalidKeys", testInvalidKeys},
		{"RoundTrip", testRoundTrip},
		{"LargeObject", testLargeObject},
		{"EmptyObject", testEmptyObject},
		{"Overwrite", testOverwrite},
		{"FailedPutKeepsOld", testFailedPutKeepsOld},
		{"List", testList},
		{"Delete", testDelete},
		{"DeleteMissing", testDeleteMissing},
		{"CanceledContext", testCanceledContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newBucket(t)) })
	}
}

// onlyReader hides every method but Read, so backends cannot take a shortcut
// through io.Seeker, io.WriterTo or a known length.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// failingReader yields n bytes and then an error.
type failingReader struct {
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := min(len(p), f.n)
	clear(p[:k])
	f.n -= k
	return k, nil
}

func put(t *testing.T, b blob.Bucket, key string, data []byte) {
	t.Helper()
	if err := b.Put(t.Context(), key, onlyReader{bytes.NewReader(data)}); err != nil {
		t.Fatalf("Put(%q) = %v, want nil", key, err)
	}
}

func read(t *testing.T, b blob.Bucket, key string) []byte {
	t.Helper()
	rc, err := b.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open(%q) = %v, want nil", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return data
}

func keys(t *testing.T, b blob.Bucket, prefix string) []string {
	t.Helper()
	objs, err := b.List(t.Context(), prefix)
	if err != nil {
		t.Fatalf("List(%q) = %v, want nil", prefix, err)
	}
	var ks []string
	for _, o := range objs {
		ks = append(ks, o.Key)
	}
	return ks
}

func testOpenMissing(t *testing.T, b blob.Bucket) {
	put(t, b, "present/x.csv", []byte("x"))
	for _, key := range []string{"missing.csv", "no/such/folder/file.csv", "present/y.csv", "present"} {
		rc, err := b.Open(t.Context(), key)
		if err == nil {
			rc.Close()
		}
		if errs.KindOf(err) != errs.NotFound {
			t.Errorf("Open(%q) = %v (kind %v), want kind NotFound", key, err, errs.KindOf(err))
		}
	}
}

func testInvalidKeys(t *testing.T, b blob.Bucket) {
	for _, key := range []string{"", "/leading-slash.csv"} {
		if _, err := b.Open(t.Context(), key); errs.KindOf(err) != errs.Invalid {
			t.Errorf("Open(%q) = %v, want kind Invalid", key, err)
		}
		if err := b.Put(t.Context(), key, bytes.NewReader(nil)); errs.KindOf(err) != errs.Invalid {
			t.Errorf("Put(%q) = %v, want kind Invalid", key, err)
		}
		if err := b.Delete(t.Context(), key); errs.KindOf(err) != errs.Invalid {
			t.Errorf("Delete(%q) = %v, want kind Invalid", key, err)
		}
	}
}

func testRoundTrip(t *testing.T, b blob.Bucket) {
	tests := []struct{ key, data string }{
		{"top.csv", "USER_ID,ITEM_ID,TIMESTAMP\nu1,i1,1700000000\n"},
		{"a/b/c/d/deep.json", `{"nested":true}`},
		{"with space/and-dash_and.dots.txt", "odd characters in keys"},
		{"unicode/naïve-ключ.csv", "utf-8 keys"},
	}
	for _, tc := range tests {
		put(t, b, tc.key, []byte(tc.data))
	}
	for _, tc := range tests {
		if got := read(t, b, tc.key); string(got) != tc.data {
			t.Errorf("Open(%q) read %q, want %q", tc.key, got, tc.data)
		}
	}
}

func testLargeObject(t *testing.T, b blob.Bucket) {
	data := make([]byte, LargeSize)
	rng := rand.NewChaCha8([32]byte{'a', 't', 't', 'u', 'n', 'e'})
	rng.Read(data)
	put(t, b, "models/large.bin", data)
	got := read(t, b, "models/large.bin")
	if !bytes.Equal(got, data) {
		i := 0
		for i < min(len(got), len(data)) && got[i] == data[i] {
			i++
		}
		t.Fatalf("large object: read %d bytes, want %d; first difference at byte %d", len(got), len(data), i)
	}
	objs, err := b.List(t.Context(), "models/")
	if err != nil {
		t.Fatalf("List = %v", err)
	}
	if want := []blob.Object{{Key: "models/large.bin", Size: LargeSize}}; !slices.Equal(objs, want) {
		t.Errorf("List(models/) = %v, want %v", objs, want)
	}
}

func testEmptyObject(t *testing.T, b blob.Bucket) {
	put(t, b, "empty.csv", nil)
	if got := read(t, b, "empty.csv"); len(got) != 0 {
		t.Errorf("Open(empty.csv) read %d bytes, want 0", len(got))
	}
	objs, err := b.List(t.Context(), "")
	if err != nil {
		t.Fatalf("List = %v", err)
	}
	if want := []blob.Object{{Key: "empty.csv", Size: 0}}; !slices.Equal(objs, want) {
		t.Errorf("List() = %v, want %v", objs, want)
	}
}

func testOverwrite(t *testing.T, b blob.Bucket) {
	// The second version is shorter, so a backend that writes in place
	// without truncating shows the tail of the first.
	put(t, b, "k.csv", []byte("first version, the longer one"))
	put(t, b, "k.csv", []byte("second"))
	if got := read(t, b, "k.csv"); string(got) != "second" {
		t.Errorf("after overwrite read %q, want %q", got, "second")
	}
	if got, want := keys(t, b, ""), []string{"k.csv"}; !slices.Equal(got, want) {
		t.Errorf("List() = %q, want %q", got, want)
	}
}

func testFailedPutKeepsOld(t *testing.T, b blob.Bucket) {
	put(t, b, "keep.csv", []byte("old"))
	errBroken := errors.New("broken source")
	// 1 MiB fails before a 5 MiB S3 part fills; 6 MiB fails inside a
	// multipart upload, which must then be aborted.
	for _, n := range []int{1 << 20, 6 << 20} {
		err := b.Put(t.Context(), "keep.csv", &failingReader{n: n, err: errBroken})
		if !errors.Is(err, errBroken) {
			t.Errorf("Put(failing after %d bytes) = %v, want an error wrapping %v", n, err, errBroken)
		}
		if err := b.Put(t.Context(), "new.csv", &failingReader{n: n, err: errBroken}); err == nil {
			t.Errorf("Put(new.csv, failing after %d bytes) = nil, want error", n)
		}
	}
	if got := read(t, b, "keep.csv"); string(got) != "old" {
		t.Errorf("after failed Put read %q, want %q", got, "old")
	}
	if got, want := keys(t, b, ""), []string{"keep.csv"}; !slices.Equal(got, want) {
		t.Errorf("List() after failed Puts = %q, want %q", got, want)
	}
}

func testList(t *testing.T, b blob.Bucket) {
	// Written out of order; "data-x.csv" sorts before "data/…" because
	// '-' < '/', which a directory walk alone gets wrong.
	for _, k := range []string{"other/z.csv", "data/sub/c.csv", "top.csv", "data/b.csv", "data-x.csv", "data/a.csv", "data/a.csv.bak"} {
		put(t, b, k, []byte(k))
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"data-x.csv", "data/a.csv", "data/a.csv.bak", "data/b.csv", "data/sub/c.csv", "other/z.csv", "top.csv"}},
		{"data/", []string{"data/a.csv", "data/a.csv.bak", "data/b.csv", "data/sub/c.csv"}},
		{"data", []string{"data-x.csv", "data/a.csv", "data/a.csv.bak", "data/b.csv", "data/sub/c.csv"}},
		{"data/a", []string{"data/a.csv", "data/a.csv.bak"}},
		{"data/s", []string{"data/sub/c.csv"}},
		{"data/sub/", []string{"data/sub/c.csv"}},
		{"t", []string{"top.csv"}},
		{"nothing/", nil},
		{"data/nothing", nil},
	}
	for _, tc := range tests {
		t.Run("prefix="+tc.prefix, func(t *testing.T) {
			objs, err := b.List(t.Context(), tc.prefix)
			if err != nil {
				t.Fatalf("List(%q) = %v", tc.prefix, err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, o.Key)
				if o.Size != int64(len(o.Key)) {
					t.Errorf("List(%q): %s has size %d, want %d", tc.prefix, o.Key, o.Size, len(o.Key))
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
		})
	}
}

func testDelete(t *testing.T, b blob.Bucket) {
	put(t, b, "dir/gone.csv", []byte("1"))
	put(t, b, "dir/stays.csv", []byte("2"))
	if err := b.Delete(t.Context(), "dir/gone.csv"); err != nil {
		t.Fatalf("Delete = %v, want nil", err)
	}
	if _, err := b.Open(t.Context(), "dir/gone.csv"); errs.KindOf(err) != errs.NotFound {
		t.Errorf("Open after Delete = %v, want kind NotFound", err)
	}
	if got, want := keys(t, b, ""), []string{"dir/stays.csv"}; !slices.Equal(got, want) {
		t.Errorf("List() after Delete = %q, want %q", got, want)
	}
	if got := read(t, b, "dir/stays.csv"); string(got) != "2" {
		t.Errorf("sibling read %q after Delete, want %q", got, "2")
	}
}

func testDeleteMissing(t *testing.T, b blob.Bucket) {
	put(t, b, "folder/x.csv", []byte("x"))
	for _, key := range []string{"never.csv", "no/such/folder/x.csv", "folder/y.csv", "folder"} {
		if err := b.Delete(t.Context(), key); err != nil {
			t.Errorf("Delete(%q) = %v, want nil", key, err)
		}
	}
	if got, want := keys(t, b, ""), []string{"folder/x.csv"}; !slices.Equal(got, want) {
		t.Errorf("List() = %q, want %q", got, want)
	}
}

func testCanceledContext(t *testing.T, b blob.Bucket) {
	put(t, b, "x.csv", []byte("x"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if rc, err := b.Open(ctx, "x.csv"); !errors.Is(err, context.Canceled) {
		if err == nil {
			rc.Close()
		}
		t.Errorf("Open(canceled) = %v, want context.Canceled", err)
	}
	if err := b.Put(ctx, "y.csv", bytes.NewReader([]byte("y"))); !errors.Is(err, context.Canceled) {
		t.Errorf("Put(canceled) = %v, want context.Canceled", err)
	}
	if _, err := b.List(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("List(canceled) = %v, want context.Canceled", err)
	}
	if got, want := keys(t, b, ""), []string{"x.csv"}; !slices.Equal(got, want) {
		t.Errorf("List() = %q, want %q", got, want)
	}
}
