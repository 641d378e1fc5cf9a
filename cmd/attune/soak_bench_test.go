package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	"github.com/aws/aws-sdk-go-v2/service/personalizeevents"
	etypes "github.com/aws/aws-sdk-go-v2/service/personalizeevents/types"
	"github.com/aws/aws-sdk-go-v2/service/personalizeruntime"

	"github.com/attune-dev/attune/internal/demo"
)

// The soak benchmark (closing note of the operations issue). It builds the
// real binary, deploys a campaign on the demo data with a filter and an
// event tracker, measures the peak rate of a mixed load (80%
// GetRecommendations with a filter, 15% PutEvents, 5% control-plane reads)
// with closed-loop workers, then drives the same mix open-loop at 80% of
// that peak for the soak duration. It reports errors (target 0), p50/p99
// per operation (from each request's scheduled start, so queueing counts)
// and the server's resident memory every sample interval (target: flat
// within ±10% after warm-up).
//
//	ATTUNE_SOAK=1 go test -run TestSoak -v -timeout 30m ./cmd/attune
//
// ATTUNE_SOAK_DURATION (10m), ATTUNE_SOAK_SAMPLE (30s), ATTUNE_SOAK_PEAK
// (20s of peak measurement), ATTUNE_SOAK_WORKERS (4 closed-loop workers),
// ATTUNE_SOAK_FLAGS (extra `attune serve` flags, split at spaces, e.g.
// "--max-user-history 50").
func TestSoak(t *testing.T) {
	if os.Getenv("ATTUNE_SOAK") != "1" {
		t.Skip("set ATTUNE_SOAK=1 to run the soak benchmark (10 minutes by default; see the comment above)")
	}
	dur := soakEnvDuration(t, "ATTUNE_SOAK_DURATION", 10*time.Minute)
	sample := soakEnvDuration(t, "ATTUNE_SOAK_SAMPLE", 30*time.Second)
	peakFor := soakEnvDuration(t, "ATTUNE_SOAK_PEAK", 20*time.Second)
	workers := 4
	if v := os.Getenv("ATTUNE_SOAK_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("ATTUNE_SOAK_WORKERS=%q: want a positive integer", v)
		}
		workers = n
	}

	p := &crashProc{bin: buildBinary(t), dir: t.TempDir(), flags: strings.Fields(os.Getenv("ATTUNE_SOAK_FLAGS"))}
	p.start(t)
	ctx, pc := t.Context(), p.personalize()
	o := demo.Options{Seed: 3}
	data := demo.Generate(o)
	group := demoGroup(t, ctx, pc, "soak", o)
	version, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("soak-up"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-user-personalization-v2")})
	if st != "ACTIVE" {
		t.Fatalf("version ended %s", st)
	}
	l := &soakLoad{
		data:     data,
		group:    group,
		version:  version,
		campaign: deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String("soak"), SolutionVersionArn: aws.String(version)}),
		filter:   createFilterSDK(t, ctx, pc, group, "soak-category", `EXCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)`),
		pc:       pc,
	}
	_, l.trackingID = createTracker(t, ctx, pc, group, "soak-tracker")
	// ownBodyTransport: see sdkConfig (a client-side race, not a server error).
	hc := &http.Client{Transport: ownBodyTransport{&http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}}}
	l.rc = personalizeruntime.NewFromConfig(sdkConfig(testAccessKey, testSecret), func(o *personalizeruntime.Options) {
		o.BaseEndpoint, o.HTTPClient = aws.String(p.url), hc
	})
	l.ec = personalizeevents.NewFromConfig(sdkConfig(testAccessKey, testSecret), func(o *personalizeevents.Options) {
		o.BaseEndpoint, o.HTTPClient = aws.String(p.url), hc
	})
	l.pc = personalize.NewFromConfig(sdkConfig(testAccessKey, testSecret), func(o *personalize.Options) {
		o.BaseEndpoint, o.HTTPClient = aws.String(p.url), hc
	})
	for _, it := range data.Items {
		if !strings.Contains(l.categories, it.Category) {
			l.categories += it.Category + "\n"
		}
	}

	// Peak: closed-loop workers, as fast as the server answers.
	peak := newSoakStats()
	stop := time.Now().Add(peakFor)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for time.Now().Before(stop) {
				start := time.Now()
				op, err := l.call(ctx, rng)
				peak.record(op, time.Since(start), err)
			}
		}()
	}
	wg.Wait()
	peakRate := float64(peak.total()) / peakFor.Seconds()
	rate := 0.8 * peakRate
	t.Logf("peak with %d closed-loop workers: %.0f req/s (%d errors); soaking at %.0f req/s for %v", workers, peakRate, peak.errors(), rate, dur)

	// Soak: requests scheduled at a fixed rate, latency counted from the
	// scheduled time; a pool of workers sends them.
	soak := newSoakStats()
	jobs := make(chan time.Time, 4096)
	var late atomic.Int64
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			for due := range jobs {
				op, err := l.call(ctx, rng)
				soak.record(op, time.Since(due), err)
			}
		}()
	}
	interval := time.Duration(float64(time.Second) / rate)
	begin := time.Now()
	nextSample := begin.Add(sample)
	var rss []string
	var rssMB []float64
	window := newSoakStats()
	soak.window = window
	for n := 0; ; n++ {
		due := begin.Add(time.Duration(n) * interval)
		if due.After(begin.Add(dur)) {
			break
		}
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		select {
		case jobs <- due:
		default:
			late.Add(1) // the workers are all busy: the request is counted as an error
		}
		if now := time.Now(); now.After(nextSample) {
			kb := rssKB(t, p.cmd.Process.Pid)
			w := soak.swapWindow()
			rss = append(rss, fmt.Sprintf("%.0fs %d MB", now.Sub(begin).Seconds(), kb/1024))
			rssMB = append(rssMB, float64(kb)/1024)
			t.Logf("t=%4.0fs RSS %d MB; last %v: %s", now.Sub(begin).Seconds(), kb/1024, sample, w.summary(sample))
			nextSample = nextSample.Add(sample)
		}
	}
	close(jobs)
	wg.Wait()
	t.Logf("soak %v at %.0f req/s (80%% of the %.0f req/s peak): %s; %d requests not sent in time", dur, rate, peakRate, soak.summary(dur), late.Load())
	t.Logf("RSS every %v: %s", sample, strings.Join(rss, ", "))
	if len(rssMB) > 2 {
		t.Logf("RSS after warm-up (first sample left out): %s of its mean (target ±10%%)", spread(rssMB[1:]))
	}
	if n := soak.errors() + late.Load(); n > 0 {
		t.Errorf("%d errors during the soak, want 0: %v", n, soak.errorSample())
	}
	p.stop(t)
}

// soakEnvDuration reads a duration from the environment.
func soakEnvDuration(t *testing.T, key string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration such as 3m", key, v)
	}
	return d
}

// spread says how far the extremes of xs lie from their mean, in percent.
func spread(xs []float64) string {
	mean, lo, hi := 0.0, xs[0], xs[0]
	for _, x := range xs {
		mean += x / float64(len(xs))
		lo, hi = min(lo, x), max(hi, x)
	}
	return fmt.Sprintf("%+.1f%% / %+.1f%%", 100*(lo-mean)/mean, 100*(hi-mean)/mean)
}

// rssKB is a process's resident set size from /proc, in KiB.
func rssKB(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read RSS: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}

// soakLoad is the mixed request load of the soak.
type soakLoad struct {
	data                     *demo.Dataset
	group, version, campaign string
	filter, trackingID       string
	categories               string // distinct item categories, one a line
	pc                       *personalize.Client
	rc                       *personalizeruntime.Client
	ec                       *personalizeevents.Client
	events                   atomic.Int64
}

// call sends one request of the mix and returns its operation name.
func (l *soakLoad) call(ctx context.Context, rng *rand.Rand) (string, error) {
	user := l.data.Users[rng.IntN(len(l.data.Users))].ID
	switch x := rng.IntN(100); {
	case x < 80:
		cats := strings.Split(strings.TrimSpace(l.categories), "\n")
		_, err := l.rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(l.campaign),
			UserId: aws.String(user), NumResults: 10, FilterArn: aws.String(l.filter),
			FilterValues: map[string]string{"CATEGORY": strconv.Quote(cats[rng.IntN(len(cats))])}})
		return "GetRecommendations", err
	case x < 95:
		n := l.events.Add(1)
		item := l.data.Items[rng.IntN(len(l.data.Items))].ID
		_, err := l.ec.PutEvents(ctx, &personalizeevents.PutEventsInput{TrackingId: aws.String(l.trackingID), UserId: aws.String(user),
			SessionId: aws.String("soak-" + user), EventList: []etypes.Event{{EventId: aws.String(fmt.Sprint("soak-", n)),
				EventType: aws.String("VIEWED"), ItemId: aws.String(item), SentAt: aws.Time(time.Now())}}})
		return "PutEvents", err
	default:
		var err error
		switch x % 3 {
		case 0:
			_, err = l.pc.DescribeCampaign(ctx, &personalize.DescribeCampaignInput{CampaignArn: aws.String(l.campaign)})
		case 1:
			_, err = l.pc.ListDatasetGroups(ctx, &personalize.ListDatasetGroupsInput{})
		default:
			_, err = l.pc.DescribeSolutionVersion(ctx, &personalize.DescribeSolutionVersionInput{SolutionVersionArn: aws.String(l.version)})
		}
		return "control-plane reads", err
	}
}

// soakStats collects latencies and errors per operation, safe for
// concurrent use.
type soakStats struct {
	// mu guards the fields below.
	mu     sync.Mutex
	lat    map[string][]time.Duration
	errs   map[string]int64
	sample []error
	window *soakStats // also records into this one, when set
}

func newSoakStats() *soakStats {
	return &soakStats{lat: map[string][]time.Duration{}, errs: map[string]int64{}}
}

func (s *soakStats) record(op string, d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lat[op] = append(s.lat[op], d)
	if err != nil {
		s.errs[op]++
		if len(s.sample) < 5 {
			s.sample = append(s.sample, err)
		}
	}
	if s.window != nil {
		s.window.record(op, d, err)
	}
}

// swapWindow returns the stats recorded since the last swap.
func (s *soakStats) swapWindow() *soakStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.window
	s.window = newSoakStats()
	return w
}

func (s *soakStats) total() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, l := range s.lat {
		n += int64(len(l))
	}
	return n
}

func (s *soakStats) errors() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, e := range s.errs {
		n += e
	}
	return n
}

func (s *soakStats) errorSample() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sample
}

// summary is one line per operation: rate, p50, p99 and errors over d.
func (s *soakStats) summary(d time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var parts []string
	for _, op := range []string{"GetRecommendations", "PutEvents", "control-plane reads"} {
		l := s.lat[op]
		parts = append(parts, fmt.Sprintf("%s %.0f/s p50 %v p99 %v errors %d", op, float64(len(l))/d.Seconds(), pct(l, 50), pct(l, 99), s.errs[op]))
	}
	return strings.Join(parts, "; ")
}
