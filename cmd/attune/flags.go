package main

import (
	"flag"
	"fmt"
	"strings"
)

// addStoreFlags defines the flags that say where Attune keeps its data,
// shared by serve, demo and keys so that they all open the same store.
func addStoreFlags(fs *flag.FlagSet, c *serveConfig) {
	fs.StringVar(&c.dataDir, "data-dir", "./attune-data", "directory of the embedded store and model artifacts (env ATTUNE_DATA_DIR)")
	fs.StringVar(&c.storeDSN, "store", "", "store backend: empty for the embedded SQLite in --data-dir, or a postgres:// DSN (env ATTUNE_STORE)")
	fs.StringVar(&c.storeSchema, "store-schema", "attune", "PostgreSQL schema of the store, created if missing (env ATTUNE_STORE_SCHEMA)")
}

// applyEnv sets every flag of fs not given on the command line from its
// ATTUNE_* environment variable (--data-dir from ATTUNE_DATA_DIR), when set.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		env := "ATTUNE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if set[f.Name] {
			return
		}
		if v := getenv(env); v != "" {
			if err := f.Value.Set(v); err != nil && envErr == nil {
				envErr = usageError{fmt.Errorf("%s=%q: %w", env, v, err)}
			}
		}
	})
	return envErr
}
