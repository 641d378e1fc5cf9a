package accesskeys

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/iam"
	"github.com/attune-dev/attune/internal/store"
	"github.com/attune-dev/attune/internal/store/postgres"
	"github.com/attune-dev/attune/internal/store/sqlite"
	"github.com/attune-dev/attune/internal/testenv"
)

const shopPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"personalize:GetRecommendations","Resource":"arn:aws:personalize:us-east-1:000000000000:campaign/shop"}]}`

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newService(t *testing.T, st store.Resources, key []byte) *Service {
	t.Helper()
	s, err := New(st, Options{Account: "000000000000", MasterKey: key, Poll: 20 * time.Millisecond}, time.Now, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func openSQLite(t *testing.T, dir string) store.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), dir, sqlite.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// checkKeyFlow runs the lifecycle over two services sharing one store, as
// the `attune keys` CLI and a running server do.
func checkKeyFlow(t *testing.T, st store.Resources) (Created, *Service) {
	ctx := t.Context()
	key := bytes.Repeat([]byte{7}, 32)
	cli, server := newService(t, st, key), newService(t, st, key)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- server.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	c, err := cli.Create(ctx, "web-shop", []byte(shopPolicy))
	if err != nil {
		t.Fatalf("Create = %v", err)
	}
	if !strings.HasPrefix(c.AccessKeyID, "AKAU") || len(c.AccessKeyID) != 20 || len(c.SecretAccessKey) != 40 || c.Name != "web-shop" {
		t.Fatalf("Create = %+v", c)
	}
	if _, err := cli.Create(ctx, "web-shop", []byte(shopPolicy)); errs.KindOf(err) != errs.AlreadyExists {
		t.Errorf("second Create with the same name = %v, want AlreadyExists", err)
	}
	p := waitFor(t, server, c.AccessKeyID, true)
	if p.Secret != c.SecretAccessKey || p.Name != "web-shop" || p.ARN != "arn:aws:iam::000000000000:user/web-shop" {
		t.Errorf("Lookup = %+v", p)
	}
	if d := p.Policy.Evaluate("personalize:GetRecommendations", "arn:aws:personalize:us-east-1:000000000000:campaign/shop"); d != iam.Allowed {
		t.Errorf("policy of loaded key: %v", d)
	}
	if s := fmt.Sprintf("%v %+v %s", p, p, p); strings.Contains(s, c.SecretAccessKey) {
		t.Errorf("a printed Principal shows the secret: %s", s)
	}
	list, err := cli.List(ctx)
	if err != nil || len(list) != 1 || list[0].AccessKeyID != c.AccessKeyID || list[0].Policy != shopPolicy {
		t.Fatalf("List = %+v, %v", list, err)
	}
	return c, server
}

func waitFor(t *testing.T, s *Service, id string, present bool) *Principal {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		p, ok := s.Lookup(id)
		if ok == present {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("Lookup(%s) present = %v after 1s, want %v", id, ok, present)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestKeysSQLite(t *testing.T) {
	dir := t.TempDir()
	st := openSQLite(t, dir)
	c, server := checkKeyFlow(t, st)
	ctx := t.Context()

	// Last use is written (at once for a never-stored key).
	p, _ := server.Lookup(c.AccessKeyID)
	used := time.Now().Add(-time.Second).UTC()
	p.MarkUsed(used)
	deadline := time.Now().Add(2 * time.Second)
	for {
		list, err := server.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r, err := keys.Get(ctx, st, c.AccessKeyID)
		if err != nil {
			t.Fatal(err)
		}
		if r.LastUsed.Equal(used) && list[0].LastUsed.Equal(used) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored last use = %v, want %v", r.LastUsed, used)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The secret is not in the database file in any form a grep finds.
	data, err := os.ReadFile(filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(filepath.Join(dir, sqlite.FileName+"-wal"))
	for _, b := range [][]byte{data, wal} {
		if bytes.Contains(b, []byte(c.SecretAccessKey)) {
			t.Fatal("the store holds the secret in plain text")
		}
	}

	// Another master key cannot use the stored key.
	other := newService(t, st, bytes.Repeat([]byte{8}, 32))
	if _, ok := other.Lookup(c.AccessKeyID); ok {
		t.Error("a key sealed under another master key was usable")
	}

	if err := server.Delete(ctx, c.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	if _, ok := server.Lookup(c.AccessKeyID); ok {
		t.Error("deleted key still found")
	}
	if err := server.Delete(ctx, c.AccessKeyID); errs.KindOf(err) != errs.NotFound {
		t.Errorf("Delete of a missing key = %v, want NotFound", err)
	}
}

func TestKeysPostgres(t *testing.T) {
	dsn := testenv.Postgres(t)
	schema := fmt.Sprintf("attune_keys_%d", rand.Uint32())
	opts := postgres.DefaultOptions()
	opts.Schema = schema
	st, err := postgres.Open(t.Context(), dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		st.Close()
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
	})
	c, server := checkKeyFlow(t, st)
	other := newService(t, st, bytes.Repeat([]byte{7}, 32))
	if err := other.Delete(t.Context(), c.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, server, c.AccessKeyID, false)
}

func TestCreateRejects(t *testing.T) {
	s := newService(t, openSQLite(t, t.TempDir()), bytes.Repeat([]byte{1}, 32))
	tests := []struct{ name, key, policy, inMsg string }{
		{"empty name", "", shopPolicy, "name"},
		{"bad name", "a b", shopPolicy, "name"},
		{"long name", strings.Repeat("a", 65), shopPolicy, "name"},
		{"bad policy", "k", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"personalize:Nope","Resource":"*"}]}`, "Statement[0].Action[0]"},
		{"condition", "k", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{}}}`, "Statement[0].Condition"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Create(t.Context(), tc.key, []byte(tc.policy))
			if errs.KindOf(err) != errs.Invalid || !strings.Contains(errs.Message(err), tc.inMsg) {
				t.Errorf("Create = %v, want Invalid naming %s", err, tc.inMsg)
			}
		})
	}
}

func TestMasterKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadMasterKey("", dir)
	if err != nil || len(k1) != 32 {
		t.Fatalf("LoadMasterKey = %d bytes, %v", len(k1), err)
	}
	info, err := os.Stat(filepath.Join(dir, MasterKeyFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", info.Mode().Perm(), err)
	}
	k2, err := LoadMasterKey("", dir)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second LoadMasterKey differs: %v", err)
	}
	if err := os.Chmod(filepath.Join(dir, MasterKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMasterKey("", dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("LoadMasterKey on a 0644 file = %v, want refusal", err)
	}
	hexKey := strings.Repeat("ab", 32)
	if k, err := LoadMasterKey(hexKey, dir); err != nil || k[0] != 0xab {
		t.Errorf("LoadMasterKey(hex) = %v", err)
	}
	if _, err := LoadMasterKey("secret-value-too-short", dir); err == nil || strings.Contains(err.Error(), "secret-value") {
		t.Errorf("LoadMasterKey(bad) = %v; want an error that does not quote the value", err)
	}
}
