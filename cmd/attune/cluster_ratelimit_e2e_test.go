package main

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalizeevents"
	etypes "github.com/aws/aws-sdk-go-v2/service/personalizeevents/types"
	"github.com/aws/smithy-go"
)

// TestClusterRateLimit sends one tracker's events to two replicas, round
// robin, at several times --events-rate-limit, and checks that the cluster
// accepts the limit (within 20%), not twice it: each replica takes half of
// the budget once it has heard the other's heartbeat.
func TestClusterRateLimit(t *testing.T) {
	const limit = 200.0 // events per second, cluster-wide
	c := newCluster(t)
	c.flags = []string{"--events-rate-limit", fmt.Sprint(limit)}
	ctx := t.Context()
	a, b := c.start(t), c.start(t)
	pc, _, _ := a.clients()
	group, _ := seedGroup(t, ctx, pc, "ratelimit")
	_, trackingID := createTracker(t, ctx, pc, group, "ratelimit-tracker")
	a.waitReady(t)
	b.waitReady(t)
	time.Sleep(2500 * time.Millisecond) // two heartbeats: each replica counts two

	// No SDK retries: a throttled call is counted, and tried again here.
	client := func(url string) *personalizeevents.Client {
		cfg := sdkConfig(testAccessKey, testSecret)
		cfg.RetryMaxAttempts = 1
		return personalizeevents.NewFromConfig(cfg, func(o *personalizeevents.Options) { o.BaseEndpoint = aws.String(url) })
	}
	clients := []*personalizeevents.Client{client(a.url), client(b.url)}
	var accepted, throttled, failed atomic.Int64
	var firstErr atomic.Value
	var measuring atomic.Bool
	var measured atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			ec := clients[w%2]
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				evs := make([]etypes.Event, 10)
				for k := range evs {
					evs[k] = etypes.Event{EventType: aws.String("click"), ItemId: aws.String(fmt.Sprint("i", k)), SentAt: aws.Time(time.Now())}
				}
				_, err := ec.PutEvents(ctx, &personalizeevents.PutEventsInput{TrackingId: aws.String(trackingID),
					SessionId: aws.String(fmt.Sprint("s", w)), UserId: aws.String(fmt.Sprint("u", w)), EventList: evs})
				switch {
				case err == nil:
					accepted.Add(10)
					if measuring.Load() {
						measured.Add(10)
					}
				case isThrottled(err):
					throttled.Add(1)
					time.Sleep(5 * time.Millisecond)
				default:
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	// The first second spends the buckets' bursts; then the rate is measured.
	time.Sleep(time.Second)
	measuring.Store(true)
	const window = 4 * time.Second
	time.Sleep(window)
	measuring.Store(false)
	close(stop)
	wg.Wait()
	rate := float64(measured.Load()) / window.Seconds()
	t.Logf("cluster-wide rate limit %v events/s over 2 replicas: accepted %.0f events/s over %v (%+.1f%%); %d events accepted in all, %d calls throttled",
		limit, rate, window, 100*(rate-limit)/limit, accepted.Load(), throttled.Load())
	if failed.Load() > 0 {
		t.Fatalf("%d calls failed other than by throttling; first: %v", failed.Load(), firstErr.Load())
	}
	if rate < 0.8*limit || rate > 1.2*limit {
		t.Errorf("two replicas accepted %.0f events/s of a %v events/s tracker limit, want within 20%%", rate, limit)
	}
}

// isThrottled reports whether err is Personalize's ThrottlingException.
func isThrottled(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ThrottlingException"
}
