package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	ptypes "github.com/aws/aws-sdk-go-v2/service/personalize/types"
	"github.com/aws/aws-sdk-go-v2/service/personalizeruntime"

	"github.com/attune-dev/attune/internal/demo"
)

// crashProc is the real attune binary serving one data dir, which a test
// kills with SIGKILL and starts again.
type crashProc struct {
	bin, dir string
	flags    []string // extra serve flags
	cmd      *exec.Cmd
	url      string
}

// start runs the binary on the data dir and waits until it listens.
func (p *crashProc) start(t *testing.T) {
	t.Helper()
	p.cmd, p.url = startProcess(t, p.bin, p.dir, p.flags...)
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *crashProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

// stop shuts the server down gracefully and fails the test when it does not
// exit cleanly.
func (p *crashProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
}

func (p *crashProc) personalize() *personalize.Client {
	return (&testServer{URL: p.url}).personalizeClient()
}

func (p *crashProc) runtime() *personalizeruntime.Client {
	return (&testServer{URL: p.url}).runtimeClient()
}

// crashOp is one kind of work a kill -9 interrupts.
type crashOp struct {
	name string
	// start begins the operation on the live server for round r; an error
	// means the server did not acknowledge it (the kill may have come first).
	start func(ctx context.Context, r int) error
	// settle runs after the restart: it waits for the operation of round r
	// to end and checks that the state is consistent. acked tells whether
	// start succeeded; midway reports that the kill interrupted the
	// operation (it had not ended when the server came back).
	settle func(t *testing.T, r int, acked bool) (midway bool)
}

// crashWorld is the data the matrix works on: a group with the demo data, a
// trained solution with two versions, a campaign on one of them and an
// event tracker; and a separate group whose only writer is the import op,
// so its row count is known exactly.
type crashWorld struct {
	proc                *crashProc
	data                *demo.Dataset
	group, interactions string
	solution            string
	versions            [2]string
	campaign            string
	trackingID          string
	importDataset       string
	importFile          string
	importRows          int64
	importedRows        int64 // rows of ACTIVE crash imports so far
	deleted             []string
	exportDir           string
	spans               map[string]time.Duration // how long each op took at setup
	mu                  sync.Mutex               // guards loads
	loads               []*eventLoad
}

// TestCrashMatrix kills the real binary with SIGKILL at random points while
// an import, a training, PutEvents, a campaign update, an export and a data
// deletion job are under way, restarts it and checks after each kill that
// every job reaches an end state, that the imported dataset holds either
// the rows before or after the interrupted import, and, at the end, that
// every acknowledged event is stored exactly once and deleted users are gone.
//
// The default run makes 6 kills, one aimed at each op; ATTUNE_CRASH_LONG=1
// makes 36 (or
// ATTUNE_CRASH_ROUNDS). ATTUNE_CRASH_SEED replays a run; the seed is logged.
func TestCrashMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary; skipped with -short")
	}
	rounds := 6 // one kill aimed at each op
	if os.Getenv("ATTUNE_CRASH_LONG") == "1" {
		rounds = 36
	}
	if v := os.Getenv("ATTUNE_CRASH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("ATTUNE_CRASH_ROUNDS=%q: want a positive integer", v)
		}
		rounds = n
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("ATTUNE_CRASH_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("ATTUNE_CRASH_SEED=%q: want an unsigned integer", v)
		}
		seed = s
	}
	t.Logf("crash matrix: %d rounds, replay with ATTUNE_CRASH_SEED=%d", rounds, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	// The long run works on larger data, so that trainings, model loads and
	// exports last long enough for kills to land inside them.
	size := crashSize{Users: 200, Interactions: 6000, ImportRows: 400000}
	if rounds > 6 {
		size = crashSize{Users: 2000, Interactions: 150000, ImportRows: 1000000}
	}
	w := newCrashWorld(t, size)
	ops := w.ops()
	midway := map[string]int{}
	for r := range rounds {
		// Each round aims at one op: it starts first and the kill comes a
		// random time after its acknowledgement, within the time it took
		// when measured at setup. The other ops start at random offsets in
		// the same span, so some are killed before they start, some during
		// and some after they end.
		target := ops[r%len(ops)]
		span := w.spans[target.name]
		killAfter := time.Duration(rng.Int64N(int64(span)))
		offsets := make([]time.Duration, len(ops))
		for i := range ops {
			offsets[i] = time.Duration(rng.Int64N(int64(span)))
		}
		t.Logf("round %d: %s, kill %v after its acknowledgement; other ops start at %v", r, target.name, killAfter, offsets)

		acked := make([]bool, len(ops))
		var wg sync.WaitGroup
		for i, op := range ops {
			if op.name == target.name {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(offsets[i])
				acked[i] = op.start(context.Background(), r) == nil
			}()
		}
		ti := r % len(ops)
		if err := target.start(t.Context(), r); err != nil {
			t.Fatalf("round %d: start %s: %v", r, target.name, err)
		}
		acked[ti] = true
		time.Sleep(killAfter)
		w.proc.kill(t)
		w.stopLoads()
		wg.Wait()
		w.stopLoads() // one started after the kill
		w.checkImportAtKill(t, r)

		w.proc.start(t)
		for i, op := range ops {
			t.Run(fmt.Sprintf("round%d/%s", r, op.name), func(t *testing.T) {
				if op.settle(t, r, acked[i]) {
					midway[op.name]++
				}
			})
		}
		if t.Failed() {
			t.Fatalf("replay with ATTUNE_CRASH_SEED=%d", seed)
		}
	}
	t.Logf("kills that interrupted each op midway: %v", midway)
	w.checkFinal(t)
}

// crashSize is the data of a crash matrix: demo users and interactions,
// and the rows of each import.
type crashSize struct {
	Users, Interactions int
	ImportRows          int64
}

// newCrashWorld builds the binary, starts it on a new data dir and creates
// the data every op needs.
func newCrashWorld(t *testing.T, size crashSize) *crashWorld {
	t.Helper()
	w := &crashWorld{proc: &crashProc{bin: buildBinary(t), dir: t.TempDir()}, exportDir: t.TempDir(), spans: map[string]time.Duration{}}
	w.proc.start(t)
	ctx, pc := t.Context(), w.proc.personalize()
	o := demo.Options{Seed: 11, Users: size.Users, Interactions: size.Interactions}
	w.data = demo.Generate(o)
	w.group = demoGroup(t, ctx, pc, "crash", o)
	w.interactions = "arn:aws:personalize:us-east-1:000000000000:dataset/crash/INTERACTIONS"
	v1, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("crash-up"), DatasetGroupArn: aws.String(w.group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-user-personalization-v2")})
	if st != "ACTIVE" {
		t.Fatalf("first version ended %s", st)
	}
	w.solution = "arn:aws:personalize:us-east-1:000000000000:solution/crash-up"
	w.versions[0] = v1
	began := time.Now()
	w.versions[1] = w.trainAndWait(t, ctx, pc)
	w.spans["training"] = time.Since(began)
	w.campaign = deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String("crash-campaign"), SolutionVersionArn: aws.String(v1)})
	began = time.Now()
	if err := w.startCampaignUpdate(ctx, 1); err != nil {
		t.Fatalf("UpdateCampaign: %v", err)
	}
	w.settleCampaign(t, 0, true)
	w.spans["campaign-update"] = time.Since(began)
	_, w.trackingID = createTracker(t, ctx, pc, w.group, "crash-tracker")
	w.spans["put-events"] = 500 * time.Millisecond
	began = time.Now()
	exportCSV(t, ctx, pc, w.interactions, "crash-export-setup", "ALL")
	w.spans["export"] = time.Since(began)
	began = time.Now()
	if j := runDeletion(t, ctx, pc, "crash-delete-setup", w.group, writeCSV(t, "delete.csv", "USER_ID\n"+w.data.Users[1].ID+"\n")); aws.ToString(j.Status) != "COMPLETED" {
		t.Fatalf("deletion job at setup ended %s", aws.ToString(j.Status))
	}
	w.spans["deletion"] = time.Since(began)
	w.deleted = append(w.deleted, w.data.Users[1].ID)

	_, dsARNs := seedGroup(t, ctx, pc, "crashimp")
	w.importDataset = dsARNs["Interactions"]
	var b strings.Builder
	b.WriteString("USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP\n")
	w.importRows = size.ImportRows
	for i := range w.importRows {
		fmt.Fprintf(&b, "imp_%05d,itm_%05d,VIEWED,%d\n", i%3000, (i*7)%9000, 1700000000+i)
	}
	w.importFile = filepath.Join(t.TempDir(), "crash-import.csv")
	if err := os.WriteFile(w.importFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	began = time.Now()
	if j := importAndWait(t, ctx, pc, "crash-import-setup", w.importDataset, "file://"+w.importFile, "INCREMENTAL"); aws.ToString(j.Status) != "ACTIVE" {
		t.Fatalf("import at setup ended %s", aws.ToString(j.Status))
	}
	w.spans["import"] = time.Since(began)
	w.importedRows = w.importRows
	for k, d := range w.spans {
		w.spans[k] = max(d, 50*time.Millisecond)
	}
	t.Logf("op spans measured at setup: %v", w.spans)
	return w
}

// trainAndWait trains one more version of the crash solution.
func (w *crashWorld) trainAndWait(t *testing.T, ctx context.Context, pc *personalize.Client) string {
	t.Helper()
	v, err := pc.CreateSolutionVersion(ctx, &personalize.CreateSolutionVersionInput{SolutionArn: aws.String(w.solution)})
	if err != nil {
		t.Fatalf("CreateSolutionVersion: %v", err)
	}
	if st := w.waitVersion(t, ctx, pc, aws.ToString(v.SolutionVersionArn)); st != "ACTIVE" {
		t.Fatalf("version ended %s", st)
	}
	return aws.ToString(v.SolutionVersionArn)
}

func (w *crashWorld) waitVersion(t *testing.T, ctx context.Context, pc *personalize.Client, arn string) string {
	t.Helper()
	return waitFor(t, "solution version "+arn, func() (string, error) {
		o, err := pc.DescribeSolutionVersion(ctx, &personalize.DescribeSolutionVersionInput{SolutionVersionArn: aws.String(arn)})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.SolutionVersion.Status), nil
	}, "ACTIVE", "CREATE FAILED", "CREATE STOPPED")
}

// ops lists the six kinds of interrupted work.
func (w *crashWorld) ops() []crashOp {
	return []crashOp{
		{name: "import", start: w.startImport, settle: w.settleImport},
		{name: "training", start: w.startTraining, settle: w.settleTraining},
		{name: "put-events", start: w.startEvents, settle: func(_ *testing.T, _ int, acked bool) bool { return acked }}, // checked at the end
		{name: "campaign-update", start: w.startCampaignUpdate, settle: w.settleCampaign},
		{name: "export", start: w.startExport, settle: w.settleExport},
		{name: "deletion", start: w.startDeletion, settle: w.settleDeletion},
	}
}

func jobName(kind string, r int) string { return fmt.Sprintf("crash-%s-%d", kind, r) }

func (w *crashWorld) startImport(ctx context.Context, r int) error {
	_, err := w.proc.personalize().CreateDatasetImportJob(ctx, &personalize.CreateDatasetImportJobInput{JobName: aws.String(jobName("import", r)),
		DatasetArn: aws.String(w.importDataset), ImportMode: ptypes.ImportModeIncremental, RoleArn: aws.String(testRole),
		DataSource: &ptypes.DataSource{DataLocation: aws.String("file://" + w.importFile)}})
	return err
}

// checkImportAtKill counts the import dataset's rows on the killed
// server's files: the interrupted import of round r is all there or not at
// all.
func (w *crashWorld) checkImportAtKill(t *testing.T, r int) {
	t.Helper()
	n := countRecords(t, w.proc.dir, w.importDataset)
	if n != w.importedRows && n != w.importedRows+w.importRows {
		t.Fatalf("round %d: import dataset holds %d rows at the kill, want %d (before) or %d (after): a half-imported dataset",
			r, n, w.importedRows, w.importedRows+w.importRows)
	}
}

// settleImport waits for the import of round r, whether or not its create
// was acknowledged (the request may have committed before the kill).
func (w *crashWorld) settleImport(t *testing.T, r int, acked bool) bool {
	ctx, pc := t.Context(), w.proc.personalize()
	arn := "arn:aws:personalize:us-east-1:000000000000:dataset-import-job/" + jobName("import", r)
	var failure string
	first, st, found := w.waitJob(t, "import "+arn, acked, func() (string, error) {
		o, err := pc.DescribeDatasetImportJob(ctx, &personalize.DescribeDatasetImportJobInput{DatasetImportJobArn: aws.String(arn)})
		if err != nil {
			return "", err
		}
		failure = aws.ToString(o.DatasetImportJob.FailureReason)
		return aws.ToString(o.DatasetImportJob.Status), nil
	}, "ACTIVE", "CREATE FAILED")
	if st == "CREATE FAILED" {
		t.Errorf("import ended CREATE FAILED (%s); an interrupted import must run again", failure)
	}
	if st == "ACTIVE" {
		w.importedRows += w.importRows
	}
	return found && first != st
}

// waitJob polls a job to one of the final statuses: first is its status
// when first asked, found is false when the job does not exist (its create
// never reached the store), which fails the test when acked says the
// create was acknowledged.
func (w *crashWorld) waitJob(t *testing.T, what string, acked bool, get func() (string, error), final ...string) (first, status string, found bool) {
	t.Helper()
	first, err := get()
	if apiCode(err) == "ResourceNotFoundException" {
		if acked {
			t.Fatalf("acknowledged %s lost", what)
		}
		t.Logf("%s: never created", what)
		return "", "", false
	}
	status = waitFor(t, what, get, final...)
	t.Logf("%s: acknowledged %v, at restart %q, ended %q", what, acked, first, status)
	return first, status, true
}

func (w *crashWorld) startTraining(ctx context.Context, _ int) error {
	_, err := w.proc.personalize().CreateSolutionVersion(ctx, &personalize.CreateSolutionVersionInput{SolutionArn: aws.String(w.solution)})
	return err
}

// settleTraining waits until every version of the solution has ended (an
// interrupted one trains again); ACTIVE ones answer GetSolutionMetrics.
func (w *crashWorld) settleTraining(t *testing.T, _ int, _ bool) (midway bool) {
	ctx, pc := t.Context(), w.proc.personalize()
	out, err := pc.ListSolutionVersions(ctx, &personalize.ListSolutionVersionsInput{SolutionArn: aws.String(w.solution), MaxResults: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range out.SolutionVersions {
		a := aws.ToString(v.SolutionVersionArn)
		if st := aws.ToString(v.Status); st != "ACTIVE" && st != "CREATE FAILED" && st != "CREATE STOPPED" {
			midway = true
		}
		if st := w.waitVersion(t, ctx, pc, a); st == "ACTIVE" {
			if _, err := pc.GetSolutionMetrics(ctx, &personalize.GetSolutionMetricsInput{SolutionVersionArn: aws.String(a)}); err != nil {
				t.Errorf("GetSolutionMetrics(%s) after the crash: %v", a, err)
			}
		} else {
			t.Errorf("version %s ended %s after the crash; an interrupted one must train again", a, st)
		}
	}
	return midway
}

func (w *crashWorld) startEvents(_ context.Context, r int) error {
	l := startEventLoadAs(eventsClient(w.proc.url, 0), w.trackingID, fmt.Sprintf("crash-r%d", r))
	w.mu.Lock()
	w.loads = append(w.loads, l)
	w.mu.Unlock()
	return nil
}

// stopLoads stops the PutEvents loads of the killed server.
func (w *crashWorld) stopLoads() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range w.loads {
		select {
		case <-l.stop:
		default:
			l.Stop()
		}
	}
}

func (w *crashWorld) startCampaignUpdate(ctx context.Context, r int) error {
	_, err := w.proc.personalize().UpdateCampaign(ctx, &personalize.UpdateCampaignInput{CampaignArn: aws.String(w.campaign),
		SolutionVersionArn: aws.String(w.versions[r%2])})
	return err
}

// settleCampaign waits until the campaign and its latest update have ended
// and checks that it serves a known user.
func (w *crashWorld) settleCampaign(t *testing.T, _ int, _ bool) (midway bool) {
	ctx, pc := t.Context(), w.proc.personalize()
	var c *ptypes.Campaign
	polls := 0
	waitFor(t, "campaign update", func() (string, error) {
		o, err := pc.DescribeCampaign(ctx, &personalize.DescribeCampaignInput{CampaignArn: aws.String(w.campaign)})
		if err != nil {
			return "", err
		}
		c = o.Campaign
		polls++
		if u := c.LatestCampaignUpdate; u != nil && aws.ToString(u.Status) != "ACTIVE" && aws.ToString(u.Status) != "CREATE FAILED" {
			midway = midway || polls == 1
			return "update " + aws.ToString(u.Status), nil
		}
		if st := aws.ToString(c.Status); st != "ACTIVE" && st != "CREATE FAILED" {
			midway = midway || polls == 1
		}
		return aws.ToString(c.Status), nil
	}, "ACTIVE", "CREATE FAILED")
	if aws.ToString(c.Status) != "ACTIVE" {
		t.Fatalf("campaign ended %s after the crash: %s", aws.ToString(c.Status), aws.ToString(c.FailureReason))
	}
	if !slices.Contains(w.versions[:], aws.ToString(c.SolutionVersionArn)) {
		t.Errorf("campaign serves %s, want one of %v", aws.ToString(c.SolutionVersionArn), w.versions)
	}
	recs := waitRecommendations(t, ctx, w.proc.runtime(), w.campaign, w.data.Users[0].ID)
	if len(recs) == 0 {
		t.Errorf("campaign answers no items after the crash")
	}
	return midway
}

// waitRecommendations asks the campaign for a user's recommendations until
// it has loaded its model (readiness after a restart is asynchronous).
func waitRecommendations(t *testing.T, ctx context.Context, rc *personalizeruntime.Client, campaign, user string) []string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(campaign), UserId: aws.String(user)})
		if err == nil {
			return ids(out.ItemList)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GetRecommendations after the crash: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (w *crashWorld) startExport(ctx context.Context, r int) error {
	_, err := w.proc.personalize().CreateDatasetExportJob(ctx, &personalize.CreateDatasetExportJobInput{JobName: aws.String(jobName("export", r)),
		DatasetArn: aws.String(w.interactions), IngestionMode: ptypes.IngestionModeAll, RoleArn: aws.String(testRole),
		JobOutput: &ptypes.DatasetExportJobOutput{S3DataDestination: &ptypes.S3DataConfig{Path: aws.String("file://" + w.exportDir + "/")}}})
	return err
}

// settleExport waits for the export of round r; an ACTIVE one left a
// complete CSV (every line whole, at least the imported rows).
func (w *crashWorld) settleExport(t *testing.T, r int, acked bool) bool {
	ctx, pc := t.Context(), w.proc.personalize()
	arn := "arn:aws:personalize:us-east-1:000000000000:dataset-export-job/" + jobName("export", r)
	var failure string
	first, st, found := w.waitJob(t, "export "+arn, acked, func() (string, error) {
		o, err := pc.DescribeDatasetExportJob(ctx, &personalize.DescribeDatasetExportJobInput{DatasetExportJobArn: aws.String(arn)})
		if err != nil {
			return "", err
		}
		failure = aws.ToString(o.DatasetExportJob.FailureReason)
		return aws.ToString(o.DatasetExportJob.Status), nil
	}, "ACTIVE", "CREATE FAILED")
	if !found {
		return false
	}
	if st != "ACTIVE" {
		t.Errorf("export ended %s (%s); an interrupted one must run again", st, failure)
		return first != st
	}
	rows := readExport(t, filepath.Join(w.exportDir, jobName("export", r)+".csv"))
	if min := len(w.data.Events) - 100*len(w.deleted); len(rows) < min {
		t.Errorf("export %s has %d rows, want at least %d", arn, len(rows), min)
	}
	return found && first != st
}

// readExport parses an exported CSV strictly: a torn last line fails.
func readExport(t *testing.T, path string) []map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("export file: %v", err)
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		t.Fatalf("export file %s does not end with a whole line", path)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("export file %s: %v", path, err)
	}
	rows := make([]map[string]string, 0, len(recs)-1)
	for _, rec := range recs[1:] {
		m := make(map[string]string, len(rec))
		for i, v := range rec {
			m[recs[0][i]] = v
		}
		rows = append(rows, m)
	}
	return rows
}

func (w *crashWorld) startDeletion(ctx context.Context, r int) error {
	// Each round deletes one demo user of its own.
	user := w.data.Users[len(w.data.Users)-1-r%len(w.data.Users)].ID
	loc := filepath.Join(w.exportDir, fmt.Sprintf("delete-%d.csv", r))
	if err := os.WriteFile(loc, []byte("USER_ID\n"+user+"\n"), 0o600); err != nil {
		return err
	}
	_, err := w.proc.personalize().CreateDataDeletionJob(ctx, &personalize.CreateDataDeletionJobInput{JobName: aws.String(jobName("delete", r)),
		DatasetGroupArn: aws.String(w.group), DataSource: &ptypes.DataSource{DataLocation: aws.String("file://" + loc)}, RoleArn: aws.String(testRole)})
	return err
}

// settleDeletion waits for the deletion job of round r; a COMPLETED one
// adds its user to those the final export must lack.
func (w *crashWorld) settleDeletion(t *testing.T, r int, acked bool) bool {
	ctx, pc := t.Context(), w.proc.personalize()
	arn := "arn:aws:personalize:us-east-1:000000000000:data-deletion-job/" + jobName("delete", r)
	var failure string
	first, st, found := w.waitJob(t, "deletion job "+arn, acked, func() (string, error) {
		o, err := pc.DescribeDataDeletionJob(ctx, &personalize.DescribeDataDeletionJobInput{DataDeletionJobArn: aws.String(arn)})
		if err != nil {
			return "", err
		}
		failure = aws.ToString(o.DataDeletionJob.FailureReason)
		return aws.ToString(o.DataDeletionJob.Status), nil
	}, "COMPLETED", "FAILED")
	switch st {
	case "FAILED":
		t.Errorf("deletion job ended FAILED (%s); an interrupted one must run again", failure)
	case "COMPLETED":
		w.deleted = append(w.deleted, w.data.Users[len(w.data.Users)-1-r%len(w.data.Users)].ID)
	}
	return found && first != st
}

// checkFinal exports every interaction and checks that each acknowledged
// event is there exactly once and no deleted user is; then stops the
// server and counts the import dataset.
func (w *crashWorld) checkFinal(t *testing.T) {
	t.Helper()
	_, rows := exportCSV(t, t.Context(), w.proc.personalize(), w.interactions, "crash-final", "ALL")
	seen := map[string]int{}
	for _, r := range rows {
		if id := r["EVENT_ID"]; id != "" {
			seen[id]++
		}
		if slices.Contains(w.deleted, r["USER_ID"]) {
			t.Errorf("deleted user %s still has interactions", r["USER_ID"])
		}
	}
	var acked, fails int
	for _, l := range w.loads {
		fails += len(l.fails)
		for _, id := range l.ackedSoFar() {
			acked++
			if seen[id] != 1 {
				t.Errorf("acknowledged event %s stored %d times, want once", id, seen[id])
			}
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("event %s stored %d times", id, n)
		}
	}
	t.Logf("%d acknowledged events each stored once (%d calls failed around the kills); %d deletions completed", acked, fails, len(w.deleted))
	w.proc.stop(t)
	if n := countRecords(t, w.proc.dir, w.importDataset); n != w.importedRows {
		t.Errorf("import dataset holds %d rows, want %d", n, w.importedRows)
	}
}
