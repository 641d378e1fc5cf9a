package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/attune-dev/attune/internal/api"
	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/batch"
	"github.com/attune-dev/attune/internal/blob"
	"github.com/attune-dev/attune/internal/blob/local"
	blobs3 "github.com/attune-dev/attune/internal/blob/s3"
	"github.com/attune-dev/attune/internal/campaign"
	"github.com/attune-dev/attune/internal/dataset"
	"github.com/attune-dev/attune/internal/events"
	"github.com/attune-dev/attune/internal/metrics"
	"github.com/attune-dev/attune/internal/quota"
	"github.com/attune-dev/attune/internal/serving"
	"github.com/attune-dev/attune/internal/store"
	"github.com/attune-dev/attune/internal/store/postgres"
	"github.com/attune-dev/attune/internal/store/sqlite"
	"github.com/attune-dev/attune/internal/tagging"
	"github.com/attune-dev/attune/internal/train"
	"github.com/attune-dev/attune/internal/web"
)

// serveConfig is everything `attune serve` can be told.
type serveConfig struct {
	listen         string
	dataDir        string
	region         string
	account        string
	maxBadRowShare float64
	importWorkers  int
	trainWorkers   int
	minInteract    int
	minUsers       int
	seed           int64
	storeDSN       string
	storeSchema    string
	bus            string
	shutdownDelay  time.Duration
	maxHistory     int
	exactScoring   bool
	eventsRate     float64
	eventsQueue    int
	addrFile       string
	logs           logConfig
	accessKey      string
	secretKey      string
	quotas         quota.Limits
	localRoots     string
	corsOrigins    []string
	transport      transportConfig
	memory         memoryConfig
	admin          adminConfig
}

// parseServe reads flags, falling back to ATTUNE_* environment variables for
// any flag not given on the command line.
func parseServe(args []string, getenv func(string) string, stderr io.Writer) (serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet("attune serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "address to serve on (env ATTUNE_LISTEN)")
	addStoreFlags(fs, &c)
	fs.StringVar(&c.region, "region", "us-east-1", "region used in ARNs (env ATTUNE_REGION)")
	fs.StringVar(&c.account, "account-id", "000000000000", "12-digit account id used in ARNs (env ATTUNE_ACCOUNT_ID)")
	fs.Float64Var(&c.maxBadRowShare, "max-bad-row-share", 0.1, "share of rejected rows above which an import job fails (env ATTUNE_MAX_BAD_ROW_SHARE)")
	fs.IntVar(&c.importWorkers, "import-workers", 1, "import jobs that run at the same time (env ATTUNE_IMPORT_WORKERS)")
	fs.IntVar(&c.trainWorkers, "training-workers", 1, "solution versions trained at the same time (env ATTUNE_TRAINING_WORKERS)")
	fs.IntVar(&c.minInteract, "min-training-interactions", 1000, "interactions a solution version needs, as Personalize requires; -1 disables (env ATTUNE_MIN_TRAINING_INTERACTIONS)")
	fs.IntVar(&c.minUsers, "min-training-users", 25, "users with 2+ interactions a solution version needs; -1 disables (env ATTUNE_MIN_TRAINING_USERS)")
	fs.Int64Var(&c.seed, "seed", 1, "seed of training and of the evaluation split (env ATTUNE_SEED)")
	fs.IntVar(&c.maxHistory, "max-user-history", 500, "newest interactions per user kept in memory for serving (env ATTUNE_MAX_USER_HISTORY)")
	fs.BoolVar(&c.exactScoring, "exact-scoring", false, "score every item on each request instead of the approximate item index built for catalogues of 50k+ items (env ATTUNE_EXACT_SCORING)")
	fs.Float64Var(&c.eventsRate, "events-rate-limit", 0, "events per second one event tracker may send (PutEvents answers ThrottlingException above it); 0 means unlimited (env ATTUNE_EVENTS_RATE_LIMIT)")
	fs.IntVar(&c.eventsQueue, "events-queue", 4096, "PutEvents/PutItems/PutUsers requests that may wait for the durable writer before ThrottlingException (env ATTUNE_EVENTS_QUEUE)")
	fs.StringVar(&c.bus, "bus", "", "nats://host:port of a NATS server with JetStream that replicas sharing a --store postgres:// tell each other about events through; empty for one node (env ATTUNE_BUS)")
	fs.DurationVar(&c.shutdownDelay, "shutdown-delay", 0, "on SIGTERM, keep serving this long with /readyz answering 503, so that a load balancer takes the replica out of rotation before it stops accepting connections; 0 stops at once (env ATTUNE_SHUTDOWN_DELAY)")
	fs.StringVar(&c.addrFile, "addr-file", "", "write the bound listen address to this file once serving (env ATTUNE_ADDR_FILE)")
	fs.StringVar(&c.localRoots, "local-roots", "", "comma-separated absolute folders file:// locations are confined to (default <data-dir>/files); none turns file:// off (env ATTUNE_LOCAL_ROOTS)")
	var corsSpec string
	fs.StringVar(&corsSpec, "cors-origins", "", "comma-separated exact browser origins (https://shop.example.com,http://localhost:3000) that may call the runtime and events APIs; default none (env ATTUNE_CORS_ORIGINS)")
	addTransportFlags(fs, &c.transport)
	addLogFlags(fs, &c.logs)
	addMemoryFlags(fs, &c.memory)
	addAdminFlags(fs, &c.admin)
	var quotaSpecs quotaFlag
	fs.Var(&quotaSpecs, "quota", "raise or lower a quota, NAME=N, repeatable or comma-separated; see README (env ATTUNE_QUOTA)")
	if err := fs.Parse(args); err != nil {
		return c, usageError{err}
	}
	if fs.NArg() > 0 {
		return c, usageError{fmt.Errorf("serve takes no arguments, got %q", fs.Args())}
	}
	if err := applyEnv(fs, getenv); err != nil {
		return c, err
	}
	if err := c.transport.check(); err != nil {
		return c, usageError{err}
	}
	if err := c.logs.check(); err != nil {
		return c, usageError{err}
	}
	if err := c.memory.check(); err != nil {
		return c, usageError{err}
	}
	if err := c.admin.check(c.listen, flagSet(fs, "admin-listen"), getenv); err != nil {
		return c, usageError{err}
	}
	q, err := quota.Parse(quotaSpecs)
	if err != nil {
		return c, usageError{fmt.Errorf("--quota: %w", err)}
	}
	c.quotas = q
	if len(c.account) != 12 || strings.Trim(c.account, "0123456789") != "" {
		return c, usageError{fmt.Errorf("--account-id %q must be 12 digits", c.account)}
	}
	if c.eventsRate < 0 || c.eventsQueue < 1 {
		return c, usageError{fmt.Errorf("--events-rate-limit %v must be at least 0 and --events-queue %d at least 1", c.eventsRate, c.eventsQueue)}
	}
	if _, err := parseLocalRoots(c.localRoots); err != nil {
		return c, usageError{err}
	}
	if c.corsOrigins, err = api.ParseOrigins(corsSpec); err != nil {
		return c, usageError{fmt.Errorf("--cors-origins: %w", err)}
	}
	if c.shutdownDelay < 0 {
		return c, usageError{fmt.Errorf("--shutdown-delay %v must not be negative", c.shutdownDelay)}
	}
	if c.bus != "" && !isPostgresDSN(c.storeDSN) {
		return c, usageError{fmt.Errorf("--bus %q needs --store postgres://...: replicas must share one store", c.bus)}
	}
	if c.maxBadRowShare < 0 || c.maxBadRowShare > 1 {
		return c, usageError{fmt.Errorf("--max-bad-row-share %v must be between 0 and 1", c.maxBadRowShare)}
	}
	c.accessKey, c.secretKey = getenv("ATTUNE_ROOT_ACCESS_KEY_ID"), getenv("ATTUNE_ROOT_SECRET_ACCESS_KEY")
	if (c.accessKey == "") != (c.secretKey == "") {
		return c, usageError{errors.New("set both ATTUNE_ROOT_ACCESS_KEY_ID and ATTUNE_ROOT_SECRET_ACCESS_KEY, or neither")}
	}
	return c, nil
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parseServe(args, getenv, stderr)
	if err != nil {
		return err
	}
	log, accessLog, accessFile, err := c.logs.open(stderr)
	if err != nil {
		return err
	}
	defer accessFile.Close()
	defer accessFile.reopenOnHangup(ctx, log)()
	if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	creds, generated, err := loadCredentials(c)
	if err != nil {
		return err
	}

	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()

	s3Opener, err := blobs3.NewOpener(ctx, s3Options(getenv))
	if err != nil {
		return fmt.Errorf("configure S3: %w", err)
	}
	openers := map[string]blob.Opener{blob.SchemeS3: s3Opener}
	fileOpen, roots, err := fileOpener(c)
	if err != nil {
		return err
	}
	if fileOpen != nil {
		openers[blob.SchemeFile] = fileOpen
	}
	locs := blob.NewLocations(openers)
	promReg := metrics.NewRegistry() // Prometheus collectors, served on the admin port (admin.go)
	met := metrics.New(promReg)
	scope := arn.Scope{Region: c.region, Account: c.account}
	share := c.maxBadRowShare
	if share == 0 {
		share = -1 // 0 on the command line means "fail on any bad row"; Options reads 0 as the default
	}
	imports := &importNotifier{}
	ds := dataset.New(st, locs, dataset.Options{Scope: scope, MaxBadRowShare: share, Workers: c.importWorkers, Quotas: c.quotas,
		MaxActiveImports: c.quotas.Get(quota.ActiveImportJobs), Changed: imports.changed, Metrics: met}, time.Now, log)

	artifacts, err := local.New(filepath.Join(c.dataDir, "artifacts"))
	if err != nil {
		return fmt.Errorf("artifacts dir: %w", err)
	}
	reg := registry()
	tr := train.New(st, artifacts, reg, train.Options{Scope: scope, Workers: c.trainWorkers, MinInteractions: c.minInteract,
		MinUsers: c.minUsers, Seed: c.seed, Quotas: c.quotas, MaxActiveVersions: c.quotas.Get(quota.ActiveVersions), Metrics: met}, time.Now, log)

	// Replicas on one PostgreSQL store learn of each other's campaign
	// deployments and filter deletions by polling it (campaign/replicas.go,
	// Filters.forgetDeleted): poll more often than a single node needs.
	campaignPoll := time.Duration(0)
	if isPostgresDSN(c.storeDSN) {
		campaignPoll = 500 * time.Millisecond
	}
	fl := campaign.NewFilters(st, filterSchemas{ds}, campaign.Options{Scope: scope, Quotas: c.quotas, Poll: campaignPoll}, time.Now, log)
	sv := serving.New(st, artifacts, reg, serving.Options{MaxHistory: c.maxHistory, Filters: fl, ExactScoring: c.exactScoring, Metrics: met,
		MaxLiveUsers: c.memory.maxLiveUsers, SpillDir: filepath.Join(c.dataDir, "spill"), StoreTimeout: c.memory.storeTimeout}, log)
	imports.sv.Store(sv)
	cs := campaign.New(st, campaignVersions{tr}, campaignDeployer{sv}, campaign.Options{Scope: scope, Quotas: c.quotas, Poll: campaignPoll}, time.Now, log)

	ev := events.New(st, sv, events.Options{Scope: scope, RateLimit: c.eventsRate, QueueSize: c.eventsQueue, StoreTimeout: c.memory.storeTimeout, Metrics: met}, time.Now, log)
	ds.SetForgetter(userForgetter{sv: sv, ev: ev})
	followBus, closeBus, err := startEventFanout(ctx, c.bus, c.storeSchema, ev, log)
	if err != nil {
		return err
	}
	defer closeBus()

	loadFailed := &loadFailures{} // recommenders whose model failed to load, for /readyz
	tr.SetDeployer(failureTrackingDeployer{Deployer: recommenderDeployer{sv}, failed: loadFailed})
	bs := batch.New(st, &batchScorer{tr: tr, sv: sv, reg: reg, st: st, artifacts: artifacts, scope: scope}, locs, batch.Options{Scope: scope, MaxActive: c.quotas.Get(quota.ActiveBatchJobs)}, time.Now, log)

	draining := &atomic.Bool{} // set on shutdown while --shutdown-delay runs
	credMap := map[string]string{creds.AccessKey: creds.Secret}
	keyring, err := newAccessKeys(ctx, st, c, getenv, log)
	if err != nil {
		return err
	}
	console := web.New(web.Deps{Datasets: ds, Training: tr, Campaigns: cs, Runtime: sv}, web.Options{Credentials: credMap, Log: log, AccessKeys: keyring, Metrics: promReg})
	srv := api.New(api.Deps{Datasets: ds, Recipes: reg, Training: tr, Campaigns: cs, Runtime: sv, Events: ev,
		Recommenders: tr, Batch: bs, Tags: tagging.New(st), Filters: fl, Console: console,
		Readiness: newReadiness(readinessDeps{campaigns: cs, recommenders: tr, serving: sv, events: ev, failed: loadFailed, draining: draining}, log)}, api.Options{Credentials: credMap, AccessKeys: keyring, Scope: scope,
		CORSOrigins: c.corsOrigins, AccessLog: accessLog, Metrics: met}, log)
	metrics.RegisterLiveUsers(promReg, sv.LiveUsers)
	metrics.RegisterJobs(promReg, st, metrics.JobsOptions{})
	admin, err := startAdmin(c.admin, promReg, log)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.listen, err)
	}
	addr := ln.Addr().String()

	bg, cancelBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	runners := map[string]interface{ Run(context.Context) error }{"dataset": ds, "training": tr, "campaigns": cs, "serving": sv,
		"events": ev, "batch": bs, "recommenders": runFunc(tr.RunRecommenders), "filters": fl, "access keys": keyring}
	if followBus != nil {
		runners["event bus"] = followBus
	}
	for name, runner := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := runner.Run(bg); err != nil {
				log.Error("runner stopped", "runner", name, "err", err)
			}
		}()
	}
	serveErr := make(chan error, 1)
	httpSrv := c.transport.serve(ln, srv, log, serveErr)

	printBanner(stdout, addr, c, creds, generated)
	fmt.Fprintln(stdout, admin.banner())
	if fileOpen != nil {
		fmt.Fprintf(stdout, "file:// locations must lie inside: %s (--local-roots)\n", strings.Join(roots, ", "))
	} else {
		fmt.Fprintln(stdout, "file:// locations are disabled (--local-roots none).")
	}
	if len(c.corsOrigins) > 0 {
		fmt.Fprintf(stdout, "Browsers may call the runtime and events APIs from: %s (--cors-origins)\n", strings.Join(c.corsOrigins, ", "))
	}
	if c.addrFile != "" {
		if err := writeFileAtomic(c.addrFile, []byte(addr), 0o644); err != nil {
			log.Error("write addr file", "err", err)
		}
	}

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
		drain(c.shutdownDelay, draining, serveErr, log)
	case err := <-serveErr:
		runErr = fmt.Errorf("serve: %w", err)
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutCtx); err != nil && runErr == nil {
		runErr = fmt.Errorf("shutdown: %w", err)
	}
	_ = admin.Shutdown(shutCtx) // scrapes in flight may be cut; nothing to keep
	cancelBG()
	wg.Wait()
	return runErr
}

// drain keeps serving for delay with /readyz failing (draining set), so
// that load balancers stop sending new requests before the listener
// closes; it returns early if the server fails meanwhile.
func drain(delay time.Duration, draining *atomic.Bool, serveErr <-chan error, log *slog.Logger) {
	if delay <= 0 {
		return
	}
	draining.Store(true)
	log.Info("draining: /readyz answers 503 until the listener closes", "for", delay)
	select {
	case <-time.After(delay):
	case err := <-serveErr:
		log.Error("serve while draining", "err", err)
	}
}

func printBanner(w io.Writer, addr string, c serveConfig, creds rootCredentials, generated bool) {
	scheme := c.transport.scheme()
	fmt.Fprintf(w, "Attune %s listening on %s://%s (data in %s, region %s, account %s)\n", version, scheme, addr, c.dataDir, c.region, c.account)
	switch {
	case c.accessKey != "":
		fmt.Fprintln(w, "Credentials: ATTUNE_ROOT_ACCESS_KEY_ID / ATTUNE_ROOT_SECRET_ACCESS_KEY from the environment.")
	default:
		if generated {
			fmt.Fprintf(w, "Generated root credentials and saved them to %s (mode 0600).\n", filepath.Join(c.dataDir, credentialsFile))
		} else {
			fmt.Fprintf(w, "Root credentials from %s.\n", filepath.Join(c.dataDir, credentialsFile))
		}
		fmt.Fprintf(w, "Point the AWS CLI or SDKs at Attune with:\n  export AWS_ACCESS_KEY_ID=%s\n  export AWS_SECRET_ACCESS_KEY=%s\n  export AWS_DEFAULT_REGION=%s\n",
			creds.AccessKey, creds.Secret, c.region)
	}
	fmt.Fprintf(w, "  aws personalize list-dataset-groups --endpoint-url %s://%s\n", scheme, addr)
	fmt.Fprintf(w, "Console: %s://%s/console/\n", scheme, addr)
	fmt.Fprintln(w, c.transport.summary())
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// s3Options reads the usual AWS variables through getenv, so that run's
// environment, not the process's, decides where s3:// locations go.
func s3Options(getenv func(string) string) blobs3.Options {
	first := func(keys ...string) string {
		for _, k := range keys {
			if v := getenv(k); v != "" {
				return v
			}
		}
		return ""
	}
	return blobs3.Options{
		Endpoint:        first("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
		Region:          first("AWS_REGION", "AWS_DEFAULT_REGION"),
		AccessKeyID:     getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    getenv("AWS_SESSION_TOKEN"),
	}
}

// openStore opens the embedded SQLite store in the data dir, or PostgreSQL
// when --store is a postgres:// DSN (model artifacts stay in the data dir).
func openStore(ctx context.Context, c serveConfig) (store.Store, error) {
	if isPostgresDSN(c.storeDSN) {
		opts := postgres.DefaultOptions()
		opts.Schema = c.storeSchema
		st, err := postgres.Open(ctx, c.storeDSN, opts)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL store: %w", err)
		}
		return st, nil
	}
	if c.storeDSN != "" {
		return nil, usageError{fmt.Errorf("--store %q: want empty (embedded SQLite) or a postgres:// DSN", c.storeDSN)}
	}
	st, err := sqlite.Open(ctx, c.dataDir, sqlite.DefaultOptions())
	if err != nil {
		return nil, fmt.Errorf("open store in %s: %w", c.dataDir, err)
	}
	return st, nil
}

func isPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// runFunc adapts a function to the runners' Run method.
type runFunc func(context.Context) error

// Run calls f.
func (f runFunc) Run(ctx context.Context) error { return f(ctx) }
