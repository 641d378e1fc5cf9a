package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalizeevents"
	etypes "github.com/aws/aws-sdk-go-v2/service/personalizeevents/types"
	"github.com/aws/aws-sdk-go-v2/service/personalizeruntime"

	"github.com/attune-dev/attune/internal/demo"
)

// TestClusterBenchmark measures cluster mode on loopback with real
// PostgreSQL and NATS: PutEvents and GetRecommendations throughput against
// one api replica and against two (the load split round robin), the event
// fan-out lag (PutEvents acknowledged by A → B's answer changed), and
// failover (kill -9 of A under load behind a load balancer that checks
// /readyz and retries connection errors: failed requests, the longest
// request, A's restart to ready). Every process, the load generator
// included, shares this machine's cores, so two replicas cannot beat one
// on CPU-bound work here; the figures show the overhead of the fan-out
// and that nothing is lost.
//
//	ATTUNE_BENCH_CLUSTER=1 go test ./cmd/attune -run TestClusterBenchmark -v -count=1
//
// ATTUNE_BENCH_CLUSTER_SECONDS sets each throughput run (default 5).
func TestClusterBenchmark(t *testing.T) {
	if os.Getenv("ATTUNE_BENCH_CLUSTER") != "1" {
		t.Skip("benchmark: set ATTUNE_BENCH_CLUSTER=1 to run")
	}
	dur := 5 * time.Second
	if s := os.Getenv("ATTUNE_BENCH_CLUSTER_SECONDS"); s != "" {
		d, err := time.ParseDuration(s + "s")
		if err != nil {
			t.Fatalf("ATTUNE_BENCH_CLUSTER_SECONDS=%q: %v", s, err)
		}
		dur = d
	}
	c := newCluster(t)
	ctx := t.Context()
	a := c.start(t)
	pcA, _, _ := a.clients()
	data := demo.Generate(demo.Options{Seed: 41})
	campaignARN, trackingID := liveCampaign(t, ctx, pcA, "bench", demo.Options{Seed: 41})
	a.waitReady(t)

	const workers = 8
	// throughput runs fn from workers goroutines for dur and returns calls/s.
	throughput := func(fn func(w, i int) error) float64 {
		var n, failed atomic.Int64
		var firstErr atomic.Value
		stop := time.Now().Add(dur)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := 0; time.Now().Before(stop); i++ {
					if err := fn(w, i); err != nil {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
						continue
					}
					n.Add(1)
				}
			})
		}
		wg.Wait()
		if failed.Load() > 0 {
			t.Errorf("%d calls failed; first: %v", failed.Load(), firstErr.Load())
		}
		return float64(n.Load()) / dur.Seconds()
	}
	type clients struct {
		rc []*personalizeruntime.Client
		ec []*personalizeevents.Client
	}
	run := func(reps ...*replica) (eventsPerSec, recsPerSec float64) {
		var cl clients
		for _, r := range reps {
			ts := &testServer{URL: r.url}
			cl.rc = append(cl.rc, ts.runtimeClient())
			cl.ec = append(cl.ec, eventsClient(r.url, workers))
		}
		eventsPerSec = throughput(func(w, i int) error {
			u := data.Users[(w*7919+i)%len(data.Users)].ID
			_, err := cl.ec[(w+i)%len(reps)].PutEvents(ctx, &personalizeevents.PutEventsInput{TrackingId: aws.String(trackingID),
				UserId: aws.String(u), SessionId: aws.String(u), EventList: []etypes.Event{{EventType: aws.String("VIEWED"),
					ItemId: aws.String(data.Items[(w*31+i)%len(data.Items)].ID), SentAt: aws.Time(time.Now())}}})
			return err
		})
		recsPerSec = throughput(func(w, i int) error {
			u := data.Users[(w*7919+i)%len(data.Users)].ID
			_, err := cl.rc[(w+i)%len(reps)].GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{
				CampaignArn: aws.String(campaignARN), UserId: aws.String(u)})
			return err
		})
		return eventsPerSec, recsPerSec
	}
	ev1, rec1 := run(a)
	b := c.start(t)
	b.waitReady(t)
	ev2, rec2 := run(a, b)
	evA, recA := run(a) // again, with B running: what the sharing of cores costs
	t.Logf("1 replica while B idles: %.0f PutEvents/s, %.0f GetRecommendations/s", evA, recA)
	t.Logf("throughput, %d client goroutines, %v each: 1 replica: %.0f PutEvents/s, %.0f GetRecommendations/s; 2 replicas: %.0f PutEvents/s (%.2fx), %.0f GetRecommendations/s (%.2fx)",
		workers, dur, ev1, rec1, ev2, ev2/ev1, rec2, rec2/rec1)

	// Fan-out lag: a purchase on A of an item B recommends, until B's
	// answer changes (user-personalization excludes bought items).
	_, rcA, ecA := a.clients()
	_, rcB, _ := b.clients()
	_ = rcA
	const n = 200
	lags := make([]time.Duration, 0, n)
	for i := range n {
		user := fmt.Sprintf("bench-lag-%d", i)
		before := recommendOn(t, ctx, rcB, campaignARN, user)
		purchase(t, ctx, ecA, trackingID, user, user, before[i%len(before)])
		_, lag := waitChange(t, "B after a purchase on A", before, time.Now(), func() []string { return recommendOn(t, ctx, rcB, campaignARN, user) })
		lags = append(lags, lag)
	}
	slices.Sort(lags)
	q := func(p float64) time.Duration { return lags[max(0, int(math.Ceil(p*float64(len(lags))))-1)] }
	t.Logf("fan-out lag (ack on A → B's answer changed, incl. one GetRecommendations round trip) over %d events: p50 %v, p99 %v, max %v",
		n, q(0.5), q(0.99), lags[len(lags)-1])
	if q(0.99) > 200*time.Millisecond {
		t.Errorf("fan-out lag p99 = %v, want at most 200ms", q(0.99))
	}

	// Failover: kill -9 A under load behind a readiness-checking,
	// connection-retrying load balancer.
	lb := newRetryingClient(t, a.url, b.url)
	cfg := sdkConfig(testAccessKey, testSecret)
	cfg.HTTPClient = &http.Client{Transport: lb}
	cfg.RetryMaxAttempts = 1
	rc := personalizeruntime.NewFromConfig(cfg, func(o *personalizeruntime.Options) { o.BaseEndpoint = aws.String(a.url) })
	loadCtx, stopLoad := context.WithCancel(ctx)
	var sent, failed atomic.Int64
	var mu sync.Mutex
	var slowest time.Duration
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; loadCtx.Err() == nil; i++ {
				t0 := time.Now()
				_, err := rc.GetRecommendations(loadCtx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(campaignARN),
					UserId: aws.String(data.Users[(w*101+i)%len(data.Users)].ID)})
				if loadCtx.Err() != nil {
					return
				}
				d := time.Since(t0)
				sent.Add(1)
				if err != nil {
					failed.Add(1)
				}
				mu.Lock()
				slowest = max(slowest, d)
				mu.Unlock()
			}
		})
	}
	time.Sleep(time.Second)
	mu.Lock()
	slowest = 0
	mu.Unlock()
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = a.cmd.Wait()
	time.Sleep(time.Second)
	t0 := time.Now()
	a.run(t)
	ready := a.waitReady(t)
	restart := time.Since(t0)
	time.Sleep(500 * time.Millisecond)
	stopLoad()
	wg.Wait()
	t.Logf("failover: kill -9 of A under load: %d requests, %d failed, %d retried on B, longest request %v; A restarted and ready in %v (%v of it after it listened)",
		sent.Load(), failed.Load(), lb.retries.Load(), slowest, restart, ready)
	if failed.Load() > 0 {
		t.Errorf("%d requests failed during the failover", failed.Load())
	}
}
