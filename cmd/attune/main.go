// Command attune is a self-hosted personalization engine that speaks Amazon
// Personalize's wire protocol. main only calls run; all wiring lives here.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "attune:", err)
		}
		var ue usageError
		if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError marks errors caused by bad command-line use (exit status 2).
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

const usage = `attune — a self-hosted personalization engine that speaks Amazon Personalize's API

Usage:
  attune serve     [flags]   run the server (Personalize control plane, runtime and events APIs)
  attune demo      [flags]   serve, load demo data, train and deploy a campaign, print AWS CLI commands
  attune keys      create|list|delete   manage access keys with IAM policies (attune keys -h)
  attune backup    --to URI   online snapshot of the data dir (store, artifacts, keys) to file:// or s3://
  attune restore   --from URI restore a backup into an empty data dir
  attune evaluate  [flags]   train a recipe on a CSV file and report offline metrics
  attune bench-quality [flags]  run every recipe on the benchmark data sets and print one table
  attune probe     URL       exit 0 when URL (e.g. http://127.0.0.1:8080/readyz) answers 2xx: a container health check
  attune version

Run 'attune <command> -h' for the flags of a command. Every serve flag can also be set
with an ATTUNE_* environment variable (e.g. --data-dir as ATTUNE_DATA_DIR).
`

// run is the whole program: it parses args, wires the dependencies and runs
// the chosen command until ctx is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{errors.New("no command given")}
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], getenv, stdout, stderr)
	case "demo":
		return runDemo(ctx, args[1:], getenv, stdout, stderr)
	case "keys":
		return runKeys(ctx, args[1:], getenv, stdout, stderr)
	case "backup":
		return runBackup(ctx, args[1:], getenv, stdout, stderr)
	case "restore":
		return runRestore(ctx, args[1:], getenv, stdout, stderr)
	case "evaluate":
		return runEvaluate(ctx, args[1:], registry(), stdout, stderr)
	case "bench-quality":
		return runBenchQuality(ctx, args[1:], registry(), stdout, stderr)
	case "probe":
		return runProbe(ctx, args[1:], stdout)
	case "version":
		fmt.Fprintln(stdout, "attune", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageError{fmt.Errorf("unknown command %q", args[0])}
	}
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"
