package campaign

import (
	"context"
	"io"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/resource"
	"github.com/attune-dev/attune/internal/store/sqlite"
)

const (
	solARN = "arn:aws:personalize:us-east-1:000000000000:solution/s"
	v1     = solARN + "/00000001"
	v2     = solARN + "/00000002"
	vBusy  = solARN + "/0000000b"
	vBroke = solARN + "/0000000f"
)

// fakeVersions serves a fixed set of versions; latest is the newest ACTIVE one.
type fakeVersions struct {
	mu     sync.Mutex
	byARN  map[string]VersionInfo
	latest string
}

func newVersions() *fakeVersions {
	v := func(a, status string) VersionInfo {
		return VersionInfo{ARN: a, SolutionARN: solARN, GroupARN: "arn:aws:personalize:us-east-1:000000000000:dataset-group/g",
			Status: status, ArtifactKey: "models/" + a[len(a)-8:], EventType: "PURCHASED", MinEventValue: math.NaN()}
	}
	return &fakeVersions{byARN: map[string]VersionInfo{v1: v(v1, StatusActive), v2: v(v2, StatusActive),
		vBusy: v(vBusy, "CREATE IN_PROGRESS"), vBroke: v(vBroke, StatusActive)}, latest: v1}
}

func (f *fakeVersions) Version(_ context.Context, a string) (VersionInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.byARN[a]
	if !ok {
		return v, errs.E(errs.NotFound, "Could not find solution version %s", a)
	}
	return v, nil
}

func (f *fakeVersions) LatestActive(_ context.Context, sol string) (VersionInfo, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if sol != solARN {
		return VersionInfo{}, false, errs.E(errs.NotFound, "Could not find solution %s", sol)
	}
	return f.byARN[f.latest], true, nil
}

// fakeDeployer records deployments; vBroke fails to load.
type fakeDeployer struct {
	mu       sync.Mutex
	serving  map[string]Deployment
	expected []string
}

func (d *fakeDeployer) Expect(cs ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.expected = append(d.expected, cs...)
}

func (d *fakeDeployer) Deploy(_ context.Context, dep Deployment) error {
	if dep.SolutionVersion == vBroke {
		return errs.E(errs.Invalid, "model %s: not an Attune model artifact", dep.ArtifactKey)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.serving[dep.Campaign] = dep
	return nil
}

func (d *fakeDeployer) Undeploy(c string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.serving, c)
}

func (d *fakeDeployer) get(c string) (Deployment, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dep, ok := d.serving[c]
	return dep, ok
}

type env struct {
	svc  *Service
	vers *fakeVersions
	dep  *fakeDeployer
	stop func()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{vers: newVersions(), dep: &fakeDeployer{serving: map[string]Deployment{}}}
	e.svc = New(st, e.vers, e.dep, Options{Scope: arn.Scope{Region: "us-east-1", Account: "000000000000"}, Poll: 10 * time.Millisecond},
		time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return e
}

func (e *env) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.svc.Run(ctx) }()
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run = %v", err)
			}
		})
	}
	t.Cleanup(e.stop) // a no-op when the test already stopped this run
}

// await polls the campaign until cond holds.
func (e *env) await(t *testing.T, campaignARN string, cond func(*Campaign) bool) *Campaign {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := e.svc.Get(context.Background(), campaignARN)
		if err != nil {
			t.Fatal(err)
		}
		if cond(c) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign %s: condition not met after 5s: %+v (latest %+v)", campaignARN, c, c.Latest)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func intp(n int) *int { return &n }

func TestCreateValidation(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name string
		in   CreateInput
		want errs.Kind
	}{
		{"bad name", CreateInput{Name: "-x", SolutionVersionARN: v1}, errs.Invalid},
		{"minProvisionedTPS 0", CreateInput{Name: "c", SolutionVersionARN: v1, MinTPS: intp(0)}, errs.Invalid},
		{"exploration weight not a number", CreateInput{Name: "c", SolutionVersionARN: v1, Config: Config{ExplorationWeight: "lots"}}, errs.Invalid},
		{"exploration weight above 1", CreateInput{Name: "c", SolutionVersionARN: v1, Config: Config{ExplorationWeight: "1.5"}}, errs.Invalid},
		{"negative age cut-off", CreateInput{Name: "c", SolutionVersionARN: v1, Config: Config{ExplorationAgeCutOff: "-3"}}, errs.Invalid},
		{"unknown ranking influence", CreateInput{Name: "c", SolutionVersionARN: v1, Config: Config{RankingInfluence: map[string]float64{"PRICE": 0.5}}}, errs.Invalid},
		{"not a version ARN", CreateInput{Name: "c", SolutionVersionARN: solARN}, errs.Invalid},
		{"unknown version", CreateInput{Name: "c", SolutionVersionARN: solARN + "/deadbeef"}, errs.NotFound},
		{"version still training", CreateInput{Name: "c", SolutionVersionARN: vBusy}, errs.InUse},
		{"$LATEST without sync", CreateInput{Name: "c", SolutionVersionARN: solARN + "/$LATEST"}, errs.Invalid},
		{"$LATEST of an unknown solution", CreateInput{Name: "c", SolutionVersionARN: "arn:aws:personalize:us-east-1:000000000000:solution/nope/$LATEST",
			Config: Config{SyncWithLatest: true}}, errs.NotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.Create(context.Background(), tc.in)
			if got := errs.KindOf(err); err == nil || got != tc.want {
				t.Errorf("Create(%+v) = %v (kind %v), want kind %v", tc.in, err, got, tc.want)
			}
		})
	}
	c, err := e.svc.Create(context.Background(), CreateInput{Name: "synced", SolutionVersionARN: solARN + "/$LATEST", Config: Config{SyncWithLatest: true}})
	if err != nil || c.SolutionVersionARN != v1 || c.MinTPS != 1 || c.Status != StatusCreatePending || c.Parent != solARN {
		t.Errorf("Create($LATEST, sync) = %+v, %v; want pending on %s with minTPS 1 under %s", c, err, v1, solARN)
	}
	if _, err := e.svc.Create(context.Background(), CreateInput{Name: "synced", SolutionVersionARN: v1}); errs.KindOf(err) != errs.AlreadyExists {
		t.Errorf("duplicate Create = %v, want AlreadyExists", err)
	}
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.run(t)
	c, err := e.svc.Create(ctx, CreateInput{Name: "live", SolutionVersionARN: v1, MinTPS: intp(3),
		Config: Config{ExplorationWeight: "0", EnableMetadata: true}})
	if err != nil {
		t.Fatal(err)
	}
	e.await(t, c.ARN, func(c *Campaign) bool { return c.Status == StatusActive })
	dep, ok := e.dep.get(c.ARN)
	if !ok || dep.SolutionVersion != v1 || !dep.Metadata || dep.Exploration != nil || dep.Filter.EventType != "PURCHASED" {
		t.Errorf("deployment = %+v, %v; want %s with metadata, no exploration, the solution's event type", dep, ok, v1)
	}

	// An update that cannot load leaves the campaign serving v1.
	if _, err := e.svc.Update(ctx, UpdateInput{CampaignARN: c.ARN, SolutionVersionARN: vBroke}); err != nil {
		t.Fatal(err)
	}
	got := e.await(t, c.ARN, func(c *Campaign) bool { return c.Latest != nil && c.Latest.Status == StatusCreateFailed })
	if dep, _ := e.dep.get(c.ARN); got.SolutionVersionARN != v1 || dep.SolutionVersion != v1 || got.Status != StatusActive || got.Latest.FailureReason == "" {
		t.Errorf("after a failed update: %+v serving %s; want ACTIVE on %s with the failure in latestCampaignUpdate", got, dep.SolutionVersion, v1)
	}
	// A good update switches version and keeps unchanged members.
	if _, err := e.svc.Update(ctx, UpdateInput{CampaignARN: c.ARN, SolutionVersionARN: v2}); err != nil {
		t.Fatal(err)
	}
	got = e.await(t, c.ARN, func(c *Campaign) bool { return c.Latest != nil && c.Latest.Status == StatusActive })
	if dep, _ := e.dep.get(c.ARN); got.SolutionVersionARN != v2 || dep.SolutionVersion != v2 || got.MinTPS != 3 || !got.Config.EnableMetadata {
		t.Errorf("after update: %+v serving %s; want %s, minTPS 3, metadata kept", got, dep.SolutionVersion, v2)
	}
	updateErrs := []struct {
		name string
		in   UpdateInput
		want errs.Kind
	}{
		{"unknown campaign", UpdateInput{CampaignARN: "arn:aws:personalize:us-east-1:000000000000:campaign/nope"}, errs.NotFound},
		{"version of another solution", UpdateInput{CampaignARN: c.ARN, SolutionVersionARN: "arn:aws:personalize:us-east-1:000000000000:solution/other/00000001"}, errs.NotFound},
		{"version not ACTIVE", UpdateInput{CampaignARN: c.ARN, SolutionVersionARN: vBusy}, errs.InUse},
		{"bad minProvisionedTPS", UpdateInput{CampaignARN: c.ARN, MinTPS: intp(-1)}, errs.Invalid},
	}
	for _, tc := range updateErrs {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.svc.Update(ctx, tc.in); errs.KindOf(err) != tc.want {
				t.Errorf("Update(%+v) = %v, want kind %v", tc.in, err, tc.want)
			}
		})
	}

	// A campaign synced with the latest version follows new versions.
	s, err := e.svc.Create(ctx, CreateInput{Name: "synced", SolutionVersionARN: solARN + "/$LATEST", Config: Config{SyncWithLatest: true}})
	if err != nil {
		t.Fatal(err)
	}
	e.await(t, s.ARN, func(c *Campaign) bool { return c.Status == StatusActive })
	e.vers.mu.Lock()
	e.vers.latest = v2
	e.vers.mu.Unlock()
	e.await(t, s.ARN, func(c *Campaign) bool { return c.SolutionVersionARN == v2 })
	if dep, _ := e.dep.get(s.ARN); dep.SolutionVersion != v2 {
		t.Errorf("synced campaign serves %s, want %s", dep.SolutionVersion, v2)
	}

	list, _, err := e.svc.List(ctx, solARN, "", 10)
	if err != nil || len(list) != 2 {
		t.Errorf("List(%s) = %d campaigns, %v; want 2", solARN, len(list), err)
	}

	// A restart loads every ACTIVE campaign again.
	e.stop()
	e.dep = &fakeDeployer{serving: map[string]Deployment{}}
	e.svc.deploy = e.dep
	e.run(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := e.dep.get(c.ARN); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign not reloaded after restart")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(e.dep.expected) != 2 {
		t.Errorf("restart expected %v, want both campaigns announced before loading", e.dep.expected)
	}

	if err := e.svc.Delete(ctx, c.ARN); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.dep.get(c.ARN); ok {
		t.Errorf("deleted campaign still deployed")
	}
	// Describe shows DELETE PENDING until the runner removes it.
	if got, err := e.svc.Get(ctx, c.ARN); err != nil || got.Status != resource.StatusDeletePending {
		t.Errorf("Get right after Delete = %v, %v; want status %s", got, err, resource.StatusDeletePending)
	}
	if err := e.svc.Delete(ctx, c.ARN); errs.KindOf(err) != errs.InUse {
		t.Errorf("second Delete = %v, want InUse", err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, err := e.svc.Get(ctx, c.ARN)
		if errs.KindOf(err) == errs.NotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign still there 10s after Delete: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
