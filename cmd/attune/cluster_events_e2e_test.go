package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	"github.com/aws/aws-sdk-go-v2/service/personalizeevents"
	etypes "github.com/aws/aws-sdk-go-v2/service/personalizeevents/types"
	"github.com/aws/aws-sdk-go-v2/service/personalizeruntime"
	"github.com/jackc/pgx/v5"

	"github.com/attune-dev/attune/internal/demo"
	"github.com/attune-dev/attune/internal/testenv"
)

// cluster is replicas of the real binary on one PostgreSQL schema and one
// NATS server, on loopback.
type cluster struct {
	bin, dsn, schema, bus string
	// dataDir is shared by the replicas, so that a model trained by one is
	// an artifact file every replica can read.
	dataDir string
	// flags are more serve flags of every replica.
	flags []string
}

// newCluster builds the binary and makes a fresh PostgreSQL schema. It
// skips the test with -short.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("runs replicas of the real binary; skipped with -short")
	}
	dsn, bus := testenv.Postgres(t), testenv.NATS(t)
	c := &cluster{bin: buildBinary(t), dsn: dsn, schema: fmt.Sprintf("attune_cluster_%d", rand.Uint32()), bus: bus, dataDir: t.TempDir()}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Logf("drop schema %s: %v", c.schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+c.schema+" CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", c.schema, err)
		}
	})
	return c
}

// replica is one running `attune serve` of a cluster.
type replica struct {
	c    *cluster
	addr string // fixed, so that a restarted replica is found where it was
	url  string
	cmd  *exec.Cmd
	out  *syncBuffer
}

// freeAddr returns a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs a replica on a new address.
func (c *cluster) start(t *testing.T) *replica {
	t.Helper()
	r := &replica{c: c, addr: freeAddr(t)}
	r.url = "http://" + r.addr
	r.run(t)
	return r
}

// run starts the process on r.addr and waits until it listens.
func (r *replica) run(t *testing.T) {
	t.Helper()
	r.cmd = exec.Command(r.c.bin, append([]string{"serve", "--listen", r.addr, "--admin-listen", "off", "--data-dir", r.c.dataDir,
		"--store", r.c.dsn, "--store-schema", r.c.schema, "--bus", r.c.bus, "--log-level", "warn"}, withTestLocalRoots(t, r.c.flags)...)...)
	r.cmd.Env = append(os.Environ(), "ATTUNE_ROOT_ACCESS_KEY_ID="+testAccessKey, "ATTUNE_ROOT_SECRET_ACCESS_KEY="+testSecret)
	r.out = &syncBuffer{}
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd := r.cmd
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if resp, err := http.Get(r.url + "/healthz"); err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s did not start:\n%s", r.addr, r.out.String())
		}
	}
}

// waitReady polls /readyz until it answers 200 and returns how long that took.
func (r *replica) waitReady(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	for deadline := start.Add(60 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		resp, err := http.Get(r.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s not ready after 60s:\n%s", r.addr, r.out.String())
		}
	}
}

// stop ends the replica gracefully (SIGTERM) and waits for it.
func (r *replica) stop(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Wait(); err != nil {
		t.Fatalf("replica %s stopped with %v:\n%s", r.addr, err, r.out.String())
	}
}

func (r *replica) clients() (*personalize.Client, *personalizeruntime.Client, *personalizeevents.Client) {
	ts := &testServer{URL: r.url}
	return ts.personalizeClient(), ts.runtimeClient(), eventsClient(r.url, 0)
}

// liveCampaign imports demo data, trains user-personalization-v2 and
// deploys a campaign with an event tracker, all through pc.
func liveCampaign(t *testing.T, ctx context.Context, pc *personalize.Client, name string, o demo.Options) (campaignARN, trackingID string) {
	t.Helper()
	group := demoGroup(t, ctx, pc, name, o)
	va, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String(name + "-up"), DatasetGroupArn: aws.String(group),
		RecipeArn:      aws.String("arn:aws:personalize:::recipe/aws-user-personalization-v2"),
		SolutionConfig: excludeInteracted()}) // the checks below expect the user's own items left out
	if st != "ACTIVE" {
		t.Fatalf("solution version ended %s, want ACTIVE", st)
	}
	campaignARN = deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String(name + "-live"), SolutionVersionArn: aws.String(va)})
	_, trackingID = createTracker(t, ctx, pc, group, name+"-tracker")
	return campaignARN, trackingID
}

// twoReplicas starts replica A, imports demo data (seed), trains and
// deploys a live campaign with an event tracker through it, then starts
// replica B and waits until B is ready.
func (c *cluster) twoReplicas(t *testing.T, name string, seed int64) (a, b *replica, campaignARN, trackingID string) {
	t.Helper()
	a = c.start(t)
	pc, _, _ := a.clients()
	campaignARN, trackingID = liveCampaign(t, t.Context(), pc, name, demo.Options{Seed: seed, Users: 120, Interactions: 3000})
	b = c.start(t)
	b.waitReady(t)
	return a, b, campaignARN, trackingID
}

func recommendOn(t *testing.T, ctx context.Context, rc *personalizeruntime.Client, campaignARN, user string) []string {
	t.Helper()
	out, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(campaignARN),
		UserId: aws.String(user), NumResults: 10})
	if err != nil {
		t.Fatalf("GetRecommendations(%s): %v", user, err)
	}
	return ids(out.ItemList)
}

func purchase(t *testing.T, ctx context.Context, ec *personalizeevents.Client, trackingID, user, session string, items ...string) {
	t.Helper()
	in := &personalizeevents.PutEventsInput{TrackingId: aws.String(trackingID), SessionId: aws.String(session)}
	if user != "" {
		in.UserId = aws.String(user)
	}
	for _, it := range items {
		in.EventList = append(in.EventList, etypes.Event{EventType: aws.String("PURCHASED"), ItemId: aws.String(it), SentAt: aws.Time(time.Now())})
	}
	if _, err := ec.PutEvents(ctx, in); err != nil {
		t.Fatalf("PutEvents(user %q, session %s): %v", user, session, err)
	}
}

// waitChange polls rec until its answer differs from before and returns
// the new answer and how long after start it came.
func waitChange(t *testing.T, what string, before []string, start time.Time, rec func() []string) ([]string, time.Duration) {
	t.Helper()
	for {
		got := rec()
		if !slices.Equal(got, before) {
			return got, time.Since(start)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("%s: answer unchanged 5 s later: %v", what, got)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestClusterEvents runs two replicas A and B on one PostgreSQL schema and
// one NATS server: events sent to A change B's answers within 1 s, an
// anonymous session on B joined to a user on A is that user's on both, a
// tracker deleted on A is refused on B (and one created on A accepted)
// within 1 s, a campaign created on A is served by B and refused once
// deleted, and a restarted B that missed events is ready only once it
// has them.
func TestClusterEvents(t *testing.T) {
	c := newCluster(t)
	ctx := t.Context()
	a, b, campaignARN, trackingID := c.twoReplicas(t, "cluster", 31)
	_, rcA, ecA := a.clients()
	_, rcB, ecB := b.clients()

	t.Run("event on A changes B's answer", func(t *testing.T) {
		user := "cluster-new-user"
		before := recommendOn(t, ctx, rcB, campaignARN, user)
		purchase(t, ctx, ecA, trackingID, user, "s-new", before[0])
		after, lag := waitChange(t, "B after PutEvents on A", before, time.Now(), func() []string { return recommendOn(t, ctx, rcB, campaignARN, user) })
		if slices.Contains(after, before[0]) {
			t.Errorf("B still recommends %s after its purchase on A: %v", before[0], after)
		}
		if lag > time.Second {
			t.Errorf("B's answer changed %v after the PutEvents ack on A, want within 1 s", lag)
		}
		t.Logf("fan-out: B's answer changed %v after the ack on A", lag)
	})

	t.Run("anonymous session on B joined to a user on A", func(t *testing.T) {
		user := "cluster-joined-user"
		before := recommendOn(t, ctx, rcB, campaignARN, user)
		// Anonymous purchases on B, then the session signs in on A.
		purchase(t, ctx, ecB, trackingID, "", "s-anon", before[0], before[1])
		purchase(t, ctx, ecA, trackingID, user, "s-anon", before[2])
		for _, r := range []struct {
			name string
			rc   *personalizeruntime.Client
		}{{"A", rcA}, {"B", rcB}} {
			after, _ := waitChange(t, r.name+" after the join", before, time.Now(), func() []string { return recommendOn(t, ctx, r.rc, campaignARN, user) })
			for _, it := range before[:3] {
				if slices.Contains(after, it) {
					t.Errorf("%s recommends %s to %s, who bought it (anonymously on B or signed in on A): %v", r.name, it, user, after)
				}
			}
		}
		// A later anonymous event of the session on B is the user's: the
		// link A stored is read from PostgreSQL.
		cur := recommendOn(t, ctx, rcA, campaignARN, user)
		purchase(t, ctx, ecB, trackingID, "", "s-anon", cur[0])
		after, _ := waitChange(t, "A after an anonymous event of the joined session on B", cur, time.Now(), func() []string { return recommendOn(t, ctx, rcA, campaignARN, user) })
		if slices.Contains(after, cur[0]) {
			t.Errorf("A still recommends %s, bought anonymously on B by the joined session: %v", cur[0], after)
		}
	})

	// It replaces the campaign's tracker: later subtests use the new one.
	t.Run("tracker deleted on A refused on B, created on A accepted on B", func(t *testing.T) {
		pcA, _, _ := a.clients()
		trackerARN, groupARN := trackerOf(t, ctx, pcA, trackingID)
		purchase(t, ctx, ecB, trackingID, "cluster-tracker-user", "s-tracker", "x1")
		if _, err := pcA.DeleteEventTracker(ctx, &personalize.DeleteEventTrackerInput{EventTrackerArn: aws.String(trackerARN)}); err != nil {
			t.Fatal(err)
		}
		var last error
		lag := untilOn(t, "B refuses the tracker deleted on A", time.Second, func() bool {
			last = putOne(ctx, ecB, trackingID)
			if last != nil && apiCode(last) != "ResourceNotFoundException" {
				t.Fatalf("PutEvents on B with the deleted tracker: %v, want ResourceNotFoundException", last)
			}
			return last != nil
		})
		t.Logf("tracker deleted on A: refused on B %v later", lag)
		_, newID := createTracker(t, ctx, pcA, groupARN, "cluster-tracker-2")
		lag = untilOn(t, "B accepts the tracker created on A", time.Second, func() bool {
			err := putOne(ctx, ecB, newID)
			if err != nil && apiCode(err) != "ResourceNotFoundException" {
				t.Fatalf("PutEvents on B with the new tracker: %v", err)
			}
			return err == nil
		})
		t.Logf("tracker created on A: accepted on B %v after it was ACTIVE", lag)
		trackingID = newID
	})

	t.Run("campaign created on A served by B, deleted on A refused by B", func(t *testing.T) {
		pcA, _, _ := a.clients()
		d, err := pcA.DescribeCampaign(ctx, &personalize.DescribeCampaignInput{CampaignArn: aws.String(campaignARN)})
		if err != nil {
			t.Fatal(err)
		}
		second := deployCampaign(t, ctx, pcA, &personalize.CreateCampaignInput{Name: aws.String("cluster-second"),
			SolutionVersionArn: d.Campaign.SolutionVersionArn})
		get := func() error {
			_, err := rcB.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(second),
				UserId: aws.String("cluster-new-user"), NumResults: 10})
			return err
		}
		// B polls the store every 0.5 s for campaigns (no bus notice yet),
		// then loads the model: 2 s leaves room for a loaded machine.
		lag := untilOn(t, "B serves the campaign created on A", 2*time.Second, func() bool { return get() == nil })
		t.Logf("campaign ACTIVE on A: served by B %v later", lag)
		if _, err := pcA.DeleteCampaign(ctx, &personalize.DeleteCampaignInput{CampaignArn: aws.String(second)}); err != nil {
			t.Fatal(err)
		}
		lag = untilOn(t, "B refuses the campaign deleted on A", 2*time.Second, func() bool {
			err := get()
			if err != nil && apiCode(err) != "ResourceNotFoundException" {
				t.Fatalf("GetRecommendations on B for the deleted campaign: %v, want ResourceNotFoundException", err)
			}
			return err != nil
		})
		t.Logf("campaign deleted on A: refused by B %v later", lag)
	})

	t.Run("restarted B catches up before it is ready", func(t *testing.T) {
		user := "cluster-missed-user"
		before := recommendOn(t, ctx, rcA, campaignARN, user)
		b.stop(t)
		purchase(t, ctx, ecA, trackingID, user, "s-missed", before[0], before[1])
		b.run(t)
		catchUp := b.waitReady(t)
		got := recommendOn(t, ctx, rcB, campaignARN, user)
		if slices.Contains(got, before[0]) || slices.Contains(got, before[1]) {
			t.Errorf("B's first answer once ready still recommends what the user bought while B was down: %v (before %v)", got, before)
		}
		t.Logf("restart: B ready %v after it listened", catchUp)
	})

}

// trackerOf finds the ARN and dataset group of the tracker with trackingID.
func trackerOf(t *testing.T, ctx context.Context, pc *personalize.Client, trackingID string) (trackerARN, groupARN string) {
	t.Helper()
	list, err := pc.ListEventTrackers(ctx, &personalize.ListEventTrackersInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list.EventTrackers {
		d, err := pc.DescribeEventTracker(ctx, &personalize.DescribeEventTrackerInput{EventTrackerArn: s.EventTrackerArn})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(d.EventTracker.TrackingId) == trackingID {
			return aws.ToString(s.EventTrackerArn), aws.ToString(d.EventTracker.DatasetGroupArn)
		}
	}
	t.Fatalf("no event tracker with trackingId %s", trackingID)
	return "", ""
}

func putOne(ctx context.Context, ec *personalizeevents.Client, trackingID string) error {
	_, err := ec.PutEvents(ctx, &personalizeevents.PutEventsInput{TrackingId: aws.String(trackingID), SessionId: aws.String("s-probe"),
		EventList: []etypes.Event{{EventType: aws.String("PURCHASED"), ItemId: aws.String("x1"), SentAt: aws.Time(time.Now())}}})
	return err
}

// untilOn polls cond until it holds, for at most limit, and returns how
// long it took.
func untilOn(t *testing.T, what string, limit time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

// retryingClient is a load balancer in front of replicas, as HAProxy or a
// Kubernetes Service is: it sends each request to one of the replicas
// whose /readyz answered 200 at its last check (every 50 ms), and on a
// connection error (a replica stopping) to the next one.
type retryingClient struct {
	urls    []string
	ready   []atomic.Bool
	next    atomic.Uint64
	retries atomic.Int64
	// dropped counts the times a check found a ready replica no longer ready.
	dropped atomic.Int64
}

// newRetryingClient starts checking the replicas' readiness until the test
// ends.
func newRetryingClient(t *testing.T, urls ...string) *retryingClient {
	rc := &retryingClient{urls: urls, ready: make([]atomic.Bool, len(urls))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	check := func() {
		for i, u := range rc.urls {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u+"/readyz", nil)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			if was := rc.ready[i].Swap(err == nil && resp.StatusCode == http.StatusOK); was && !rc.ready[i].Load() {
				rc.dropped.Add(1)
			}
		}
	}
	check()
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			time.Sleep(50 * time.Millisecond)
			check()
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return rc
}

// pick returns the index of the replica for try i of a request that
// started at start: ready replicas first, round robin.
func (rc *retryingClient) pick(start uint64, i int) int {
	n := len(rc.urls)
	var ready []int
	for k := range n {
		if idx := (int(start) + k) % n; rc.ready[idx].Load() {
			ready = append(ready, idx)
		}
	}
	if len(ready) == 0 {
		return (int(start) + i) % n
	}
	return ready[i%len(ready)]
}

func (rc *retryingClient) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	start := rc.next.Add(1)
	var lastErr error
	for i := range 4 * len(rc.urls) {
		u := rc.urls[rc.pick(start, i)]
		r := req.Clone(req.Context())
		if r.Host == "" {
			r.Host = req.URL.Host // the signed Host, as a load balancer passes it on
		}
		r.URL.Host = strings.TrimPrefix(u, "http://")
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		resp, err := http.DefaultTransport.RoundTrip(r)
		var op *net.OpError
		// net/http's error for a kept-alive connection the server closed
		// before it read the request is unexported: match its text.
		closedIdle := err != nil && strings.Contains(err.Error(), "server closed idle connection")
		if err == nil || !(errors.As(err, &op) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || closedIdle) {
			return resp, err
		}
		// Refused, reset or closed before an answer: the replica is
		// restarting. (A request that reached it may be sent twice; the
		// events API is idempotent by eventId for training.)
		rc.retries.Add(1)
		lastErr = err
		time.Sleep(5 * time.Millisecond)
	}
	return nil, lastErr
}

// TestClusterRollingRestart restarts replica A while clients send
// recommendation requests and events to A and B through a client that
// retries on connection errors: no request fails.
func TestClusterRollingRestart(t *testing.T) {
	c := newCluster(t)
	// A stopping replica drains, as in a real rolling update: /readyz fails
	// (after up to 1 s of its answer cache) while A still serves, so the
	// client takes A out of rotation before its port closes, and puts the
	// restarted A back only once it is ready. Without it, a restart faster
	// than the client's 50 ms check leaves A marked ready and requests reach
	// the new process while its model loads (503, seen 1 run in 4).
	c.flags = []string{"--shutdown-delay", "1300ms"}
	a, b, campaignARN, trackingID := c.twoReplicas(t, "rolling", 32)

	lb := newRetryingClient(t, a.url, b.url)
	cfg := sdkConfig(testAccessKey, testSecret)
	cfg.HTTPClient = &http.Client{Transport: lb}
	restarts := 2
	var down time.Duration
	sent, failed, firstErr := underLoad(t, cfg, a.url, campaignARN, trackingID, func() {
		for range restarts {
			t0 := time.Now()
			a.stop(t)
			a.run(t)
			a.waitReady(t)
			down += time.Since(t0)
			time.Sleep(300 * time.Millisecond)
		}
	})
	t.Logf("rolling restart: %d restarts of A (%v out of rotation on average), %d requests, %d failed, %d retried on the other replica",
		restarts, down/time.Duration(restarts), sent, failed, lb.retries.Load())
	if failed != 0 {
		t.Errorf("%d of %d requests failed during the rolling restart; first: %v", failed, sent, firstErr)
	}
	if lb.dropped.Load() < int64(restarts) || sent < 100 {
		t.Errorf("A left rotation %d times with %d requests sent: the restarts did not happen under load", lb.dropped.Load(), sent)
	}
}

// underLoad runs 4 clients, half GetRecommendations and half PutEvents,
// through cfg against endpoint (with no SDK retries, which would hide
// failures) while fn runs, and returns how many requests they sent, how
// many failed and the first failure.
func underLoad(t *testing.T, cfg aws.Config, endpoint, campaignARN, trackingID string, fn func()) (sent, failed int64, firstErr any) {
	t.Helper()
	cfg.RetryMaxAttempts = 1
	rc := personalizeruntime.NewFromConfig(cfg, func(o *personalizeruntime.Options) { o.BaseEndpoint = aws.String(endpoint) })
	ec := personalizeevents.NewFromConfig(cfg, func(o *personalizeevents.Options) { o.BaseEndpoint = aws.String(endpoint) })
	var nSent, nFailed atomic.Int64
	var first atomic.Value
	loadCtx, stopLoad := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; loadCtx.Err() == nil; i++ {
				user := fmt.Sprintf("load-user-%d-%d", w, i%50)
				var err error
				if i%2 == 0 {
					_, err = rc.GetRecommendations(loadCtx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(campaignARN), UserId: aws.String(user)})
				} else {
					_, err = ec.PutEvents(loadCtx, &personalizeevents.PutEventsInput{TrackingId: aws.String(trackingID), UserId: aws.String(user),
						SessionId: aws.String(user), EventList: []etypes.Event{{EventType: aws.String("VIEWED"), ItemId: aws.String(fmt.Sprint("itm_", i%100)), SentAt: aws.Time(time.Now())}}})
				}
				if loadCtx.Err() != nil {
					return
				}
				nSent.Add(1)
				if err != nil {
					nFailed.Add(1)
					first.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	fn()
	stopLoad()
	wg.Wait()
	return nSent.Load(), nFailed.Load(), first.Load()
}

// privateNATS runs a NATS server with JetStream of the test's own on addr,
// so that the test can stop and restart it.
type privateNATS struct {
	addr, dir string
	cmd       *exec.Cmd
}

func startPrivateNATS(t *testing.T) *privateNATS {
	t.Helper()
	if _, err := exec.LookPath("nats-server"); err != nil {
		testenv.Missing(t, "nats-server not on $PATH (Debian package nats-server; scripts/ensure-nats.sh installs it)")
	}
	n := &privateNATS{addr: freeAddr(t), dir: t.TempDir()}
	n.start(t)
	return n
}

func (n *privateNATS) start(t *testing.T) {
	t.Helper()
	host, port, _ := net.SplitHostPort(n.addr)
	n.cmd = exec.Command("nats-server", "-a", host, "-p", port, "--jetstream", "--store_dir", n.dir)
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd := n.cmd
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if conn, err := net.Dial("tcp", n.addr); err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("nats-server did not start")
		}
	}
}

func (n *privateNATS) stop() {
	_ = n.cmd.Process.Kill()
	_ = n.cmd.Wait()
}

// TestClusterBusOutage stops NATS under two replicas: PutEvents keeps
// being acknowledged, the events still reach the other replica (from the
// store, within the poll interval), and once NATS is back the fast path
// resumes.
func TestClusterBusOutage(t *testing.T) {
	c := newCluster(t)
	nats := startPrivateNATS(t)
	c.bus = "nats://" + nats.addr
	ctx := t.Context()
	a, b, campaignARN, trackingID := c.twoReplicas(t, "outage", 33)
	_, _, ecA := a.clients()
	_, rcB, _ := b.clients()
	step := func(name string, max time.Duration) time.Duration {
		t.Helper()
		user := "outage-" + strings.ReplaceAll(name, " ", "-")
		before := recommendOn(t, ctx, rcB, campaignARN, user)
		purchase(t, ctx, ecA, trackingID, user, user, before[0])
		_, lag := waitChange(t, name, before, time.Now(), func() []string { return recommendOn(t, ctx, rcB, campaignARN, user) })
		if lag > max {
			t.Errorf("%s: B's answer changed %v after the ack on A, want within %v", name, lag, max)
		}
		return lag
	}
	up := step("bus up", 200*time.Millisecond)
	nats.stop()
	down := step("bus down", 3*time.Second) // the store poll: seen late at one, read at the next
	nats.start(t)
	// Reconnecting takes the client a few tries; then the fast path is back:
	// three changes in a row within 100 ms (the store poll, once a second,
	// would rarely be that quick three times).
	var back []time.Duration
	for i, deadline := 0, time.Now().Add(20*time.Second); len(back) < 3; i++ {
		if lag := step(fmt.Sprint("bus back ", i), 5*time.Second); lag < 100*time.Millisecond {
			back = append(back, lag)
		} else {
			back = back[:0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("20 s after NATS came back B still saw A's events slowly (last runs %v): the fast path did not resume", back)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("B's answer changed after the ack on A: %v with NATS up, %v with NATS down (from the store), %v once it was back", up, down, back)
}
