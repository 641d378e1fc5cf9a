package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/attune-dev/attune/internal/accesskeys"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/store"
)

const keysUsage = `Usage:
  attune keys create --name NAME --policy-file FILE [store flags]   print the new key as JSON
  attune keys list [store flags]                                   one JSON line per key, never secrets
  attune keys delete ACCESS_KEY_ID [store flags]                   a running server drops it within a second

Store flags are serve's: --data-dir, --store, --store-schema (and their ATTUNE_* variables).
Secrets are sealed with <data-dir>/master.key (created 0600) or ATTUNE_MASTER_KEY.
`

// keyOut is what `keys create` prints, shaped like IAM's AccessKey.
type keyOut struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Name            string `json:"Name"`
}

// keyLine is one line of `keys list`.
type keyLine struct {
	AccessKeyID string          `json:"AccessKeyId"`
	Name        string          `json:"Name"`
	Created     time.Time       `json:"Created"`
	LastUsed    *time.Time      `json:"LastUsed"`
	Policy      json.RawMessage `json:"Policy"`
}

// runKeys manages access keys directly in the store, so it works whether or
// not a server is running on the same data.
func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, keysUsage)
		if len(args) == 0 {
			return usageError{errors.New("keys: no subcommand given")}
		}
		return nil
	}
	sub := args[0]
	var c serveConfig
	var name, policyFile string
	fs := flag.NewFlagSet("attune keys "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addStoreFlags(fs, &c)
	switch sub {
	case "create":
		fs.StringVar(&name, "name", "", "name of the key (letters, digits and +=,.@_-, up to 64)")
		fs.StringVar(&policyFile, "policy-file", "", "file holding the key's IAM policy document (JSON)")
	case "list", "delete":
	default:
		fmt.Fprint(stderr, keysUsage)
		return usageError{fmt.Errorf("keys: unknown subcommand %q", sub)}
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return usageError{err}
	}
	if err := applyEnv(fs, getenv); err != nil {
		return err
	}
	want := 0
	if sub == "delete" {
		want = 1
	}
	if len(pos) != want {
		return usageError{fmt.Errorf("keys %s takes %d argument(s), got %q", sub, want, pos)}
	}
	var policy []byte
	if sub == "create" {
		if name == "" || policyFile == "" {
			return usageError{errors.New("keys create needs --name and --policy-file")}
		}
		if policy, err = os.ReadFile(policyFile); err != nil {
			return fmt.Errorf("--policy-file: %w", err)
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc, closeStore, err := openAccessKeys(ctx, c, getenv, log)
	if err != nil {
		return err
	}
	defer closeStore()
	switch sub {
	case "create":
		k, err := svc.Create(ctx, name, policy)
		if err != nil {
			return fmt.Errorf("keys create: %s", clientMessage(err))
		}
		b, _ := json.MarshalIndent(keyOut{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey, Name: k.Name}, "", "  ")
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	case "list":
		list, err := svc.List(ctx)
		if err != nil {
			return fmt.Errorf("keys list: %w", err)
		}
		enc := json.NewEncoder(stdout)
		for _, k := range list {
			if err := enc.Encode(keyLineOf(k)); err != nil {
				return err
			}
		}
		return nil
	default:
		if err := svc.Delete(ctx, pos[0]); err != nil {
			return fmt.Errorf("keys delete: %s", clientMessage(err))
		}
		return nil
	}
}

func keyLineOf(k accesskeys.Info) keyLine {
	l := keyLine{AccessKeyID: k.AccessKeyID, Name: k.Name, Created: k.Created.UTC(), Policy: json.RawMessage(k.Policy)}
	var buf bytes.Buffer
	if json.Compact(&buf, []byte(k.Policy)) == nil {
		l.Policy = buf.Bytes()
	}
	if !k.LastUsed.IsZero() {
		t := k.LastUsed.UTC()
		l.LastUsed = &t
	}
	return l
}

// clientMessage is the classified message of err, or its whole text when it
// is an internal (store) failure the operator needs to see.
func clientMessage(err error) string {
	if errs.KindOf(err) == errs.Internal {
		return err.Error()
	}
	return errs.Message(err)
}

// parseInterspersed parses flags that may come before or after positional
// arguments (`keys delete ID --data-dir d`), returning the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// openAccessKeys opens the store named by c and the access-key service over
// it, with the master key from ATTUNE_MASTER_KEY or <data-dir>/master.key.
// The returned function closes the store.
func openAccessKeys(ctx context.Context, c serveConfig, getenv func(string) string, log *slog.Logger) (*accesskeys.Service, func(), error) {
	if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create data dir: %w", err)
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	svc, err := newAccessKeys(ctx, st, c, getenv, log)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return svc, func() { st.Close() }, nil
}

// newAccessKeys loads the master key and the keys stored in st.
func newAccessKeys(ctx context.Context, st store.Resources, c serveConfig, getenv func(string) string, log *slog.Logger) (*accesskeys.Service, error) {
	mk, err := accesskeys.LoadMasterKey(getenv(accesskeys.MasterKeyEnv), c.dataDir)
	if err != nil {
		return nil, err
	}
	svc, err := accesskeys.New(st, accesskeys.Options{Account: c.account, MasterKey: mk}, time.Now, log)
	if err != nil {
		return nil, err
	}
	if err := svc.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("load access keys: %w", err)
	}
	return svc, nil
}
