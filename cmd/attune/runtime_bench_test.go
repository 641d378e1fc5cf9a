package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
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
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	"github.com/aws/aws-sdk-go-v2/service/personalize/types"
)

// The runtime benchmark (closing-note figures of the campaigns issue). It
// builds the real binary, imports a synthetic catalogue of 100k items,
// trains aws-user-personalization-v2 with 64 factors, deploys a campaign,
// then measures GetRecommendations over loopback from a second process (this
// test binary re-executed as a load generator, signing with the SDK's SigV4
// signer), and the cold start of `attune serve` with that model: seconds
// until the first answer and the resident memory of the serving process.
//
//	ATTUNE_BENCH_RUNTIME=1 go test -run TestRuntimeBenchmark -v -timeout 60m ./cmd/attune
//
// Sizes: ATTUNE_BENCH_ITEMS (100000), ATTUNE_BENCH_INTERACTIONS (1000000),
// ATTUNE_BENCH_USERS (50000); load: ATTUNE_BENCH_SECONDS (15),
// ATTUNE_BENCH_CONCURRENCY (2: one request in flight per core of this 2-core box;
// more only queues, raising p99 without raising throughput).
func TestRuntimeBenchmark(t *testing.T) {
	if os.Getenv("ATTUNE_BENCH_RUNTIME") == "" {
		t.Skip("set ATTUNE_BENCH_RUNTIME=1 to run the runtime benchmark (minutes; see the comment above)")
	}
	env := func(k string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
			return v
		}
		return def
	}
	nItems, nInter, nUsers := env("ATTUNE_BENCH_ITEMS", 100000), env("ATTUNE_BENCH_INTERACTIONS", 1000000), env("ATTUNE_BENCH_USERS", 50000)
	seconds, conc := env("ATTUNE_BENCH_SECONDS", 15), env("ATTUNE_BENCH_CONCURRENCY", 2)

	bin := filepath.Join(t.TempDir(), "attune")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	csvPath := filepath.Join(t.TempDir(), "interactions.csv")
	start := time.Now()
	writeBenchInteractions(t, csvPath, nItems, nInter, nUsers)
	t.Logf("generated %d interactions (%d users, %d items) in %.1fs", nInter, nUsers, nItems, time.Since(start).Seconds())

	proc, url := startProcess(t, bin, dir, "--min-training-interactions", "1000")
	ctx := t.Context()
	pc := (&testServer{URL: url}).personalizeClient()
	_, ds := seedGroup(t, ctx, pc, "bench")
	start = time.Now()
	importAndWait(t, ctx, pc, "bench-import", ds["Interactions"], "file://"+csvPath, "")
	t.Logf("import: %.1fs", time.Since(start).Seconds())
	start = time.Now()
	sol, err := pc.CreateSolution(ctx, &personalize.CreateSolutionInput{Name: aws.String("bench"),
		DatasetGroupArn: aws.String("arn:aws:personalize:us-east-1:000000000000:dataset-group/bench"),
		RecipeArn:       aws.String("arn:aws:personalize:::recipe/aws-user-personalization-v2"), PerformAutoTraining: aws.Bool(false),
		SolutionConfig: &types.SolutionConfig{AlgorithmHyperParameters: map[string]string{"hidden_dimension": "64", "epochs": "4"}}})
	if err != nil {
		t.Fatal(err)
	}
	rtAwait(t, "solution", func() (string, error) {
		o, err := pc.DescribeSolution(ctx, &personalize.DescribeSolutionInput{SolutionArn: sol.SolutionArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.Solution.Status), nil
	}, "ACTIVE")
	v, err := pc.CreateSolutionVersion(ctx, &personalize.CreateSolutionVersionInput{SolutionArn: sol.SolutionArn})
	if err != nil {
		t.Fatal(err)
	}
	if st := rtAwait(t, "training", func() (string, error) {
		o, err := pc.DescribeSolutionVersion(ctx, &personalize.DescribeSolutionVersionInput{SolutionVersionArn: v.SolutionVersionArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.SolutionVersion.Status), nil
	}, "ACTIVE", "CREATE FAILED"); st != "ACTIVE" {
		t.Fatalf("training ended %s", st)
	}
	t.Logf("training (with its offline evaluation): %.1fs", time.Since(start).Seconds())
	start = time.Now()
	camp, err := pc.CreateCampaign(ctx, &personalize.CreateCampaignInput{Name: aws.String("bench"), SolutionVersionArn: v.SolutionVersionArn})
	if err != nil {
		t.Fatal(err)
	}
	campaignARN := aws.ToString(camp.CampaignArn)
	if st := rtAwait(t, "campaign", func() (string, error) {
		o, err := pc.DescribeCampaign(ctx, &personalize.DescribeCampaignInput{CampaignArn: camp.CampaignArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.Campaign.Status), nil
	}, "ACTIVE", "CREATE FAILED"); st != "ACTIVE" {
		t.Fatalf("campaign ended %s", st)
	}
	t.Logf("campaign deployed in %.1fs", time.Since(start).Seconds())

	res := runLoadGenerator(t, url, campaignARN, nUsers, seconds, conc)
	t.Logf("GetRecommendations (25 items, 100k×64 model, %d connections, %ds): %.0f req/s, p50 %.2f ms, p99 %.2f ms, %d errors",
		conc, seconds, res.RPS, res.P50, res.P99, res.Errors)
	if res.Errors > 0 {
		t.Errorf("%d requests failed under load", res.Errors)
	}

	// Cold start: restart on the same data dir and time the first answer.
	_ = proc.Process.Signal(syscall.SIGTERM)
	_ = proc.Wait()
	start = time.Now()
	proc2, url2 := startProcess(t, bin, dir, "--min-training-interactions", "1000")
	listening := time.Since(start)
	gen := newSignedRequester(url2, campaignARN)
	for {
		code, err := gen.do("usr_000001")
		if err == nil && code == http.StatusOK {
			break
		}
		if time.Since(start) > 10*time.Minute {
			t.Fatalf("no answer 10 minutes after restart (last status %d, %v)", code, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	first := time.Since(start)
	rss := rssKiB(t, proc2.Process.Pid)
	art, _ := filepath.Glob(filepath.Join(dir, "artifacts", "models", "bench", "*.model"))
	var artSize int64
	if len(art) == 1 {
		if fi, err := os.Stat(art[0]); err == nil {
			artSize = fi.Size()
		}
	}
	t.Logf("cold start with %d interactions: listening after %.2fs, first answer after %.2fs; RSS %d MiB with the campaign loaded (model artifact %d MiB)",
		nInter, listening.Seconds(), first.Seconds(), rss>>10, artSize>>20)
	emptyDir := t.TempDir()
	proc3, _ := startProcess(t, bin, emptyDir, "--min-training-interactions", "1000")
	base := rssKiB(t, proc3.Process.Pid)
	t.Logf("RSS of an idle server with no campaign: %d MiB; so about %d MiB per loaded campaign of this size", base>>10, (rss-base)>>10)
}

// rtAwait is waitFor with room for big models: it polls for up to an hour.
func rtAwait(t *testing.T, what string, get func() (string, error), final ...string) string {
	t.Helper()
	deadline := time.Now().Add(time.Hour)
	for {
		st, err := get()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if slices.Contains(final, st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %q after an hour", what, st)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// writeBenchInteractions writes a synthetic interactions CSV: users draw
// items from a few of 200 latent clusters with a Zipf-like popularity, so
// the model has structure and every item can appear.
func writeBenchInteractions(t *testing.T, path string, items, n, users int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP\n")
	rng := rand.New(rand.NewPCG(1, 2))
	const clusters = 200
	per := items / clusters
	buf := make([]byte, 0, 64)
	for i := range n {
		u := i % users
		c := (u*7 + rng.IntN(3)) % clusters
		// Squaring a uniform draw favours low ranks: a popularity skew.
		r := rng.Float64()
		item := c*per + int(r*r*float64(per))
		buf = buf[:0]
		buf = fmt.Appendf(buf, "usr_%06d,itm_%06d,VIEWED,%d\n", u, item, 1700000000+i)
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func rssKiB(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// loadResult is what the load generator reports.
type loadResult struct {
	Requests, Errors int
	RPS, P50, P99    float64 // requests per second; latencies in ms
}

// runLoadGenerator re-executes this test binary as TestRuntimeLoadGenerator
// and returns its figures.
func runLoadGenerator(t *testing.T, url, campaignARN string, users, seconds, conc int) loadResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRuntimeLoadGenerator$", "-test.v")
	cmd.Env = append(os.Environ(), "ATTUNE_LOADGEN_URL="+url, "ATTUNE_LOADGEN_CAMPAIGN="+campaignARN,
		fmt.Sprint("ATTUNE_LOADGEN_USERS=", users), fmt.Sprint("ATTUNE_LOADGEN_SECONDS=", seconds), fmt.Sprint("ATTUNE_LOADGEN_CONCURRENCY=", conc))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("load generator: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if j, ok := strings.CutPrefix(strings.TrimSpace(line), "LOADGEN "); ok {
			var r loadResult
			if err := json.Unmarshal([]byte(j), &r); err != nil {
				t.Fatal(err)
			}
			return r
		}
	}
	t.Fatalf("load generator printed no result:\n%s", out)
	return loadResult{}
}

// TestRuntimeLoadGenerator is the load generator process; it runs only
// when runLoadGenerator starts it.
func TestRuntimeLoadGenerator(t *testing.T) {
	url := os.Getenv("ATTUNE_LOADGEN_URL")
	if url == "" {
		t.Skip("the runtime benchmark's load generator; started by TestRuntimeBenchmark")
	}
	atoi := func(k string) int { n, _ := strconv.Atoi(os.Getenv(k)); return max(n, 1) }
	users, seconds, conc := atoi("ATTUNE_LOADGEN_USERS"), atoi("ATTUNE_LOADGEN_SECONDS"), atoi("ATTUNE_LOADGEN_CONCURRENCY")
	gen := newSignedRequester(url, os.Getenv("ATTUNE_LOADGEN_CAMPAIGN"))
	// Warm up connections and caches.
	for i := range 200 {
		_, _ = gen.do(fmt.Sprintf("usr_%06d", i%users))
	}
	var mu sync.Mutex
	var lat []time.Duration
	errors := 0
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	var wg sync.WaitGroup
	start := time.Now()
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			var mine []time.Duration
			bad := 0
			for time.Now().Before(deadline) {
				t0 := time.Now()
				code, err := gen.do(fmt.Sprintf("usr_%06d", rng.IntN(users)))
				mine = append(mine, time.Since(t0))
				if err != nil || code != http.StatusOK {
					bad++
				}
			}
			mu.Lock()
			lat, errors = append(lat, mine...), errors+bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	r := loadResult{Requests: len(lat), Errors: errors, RPS: float64(len(lat)) / elapsed.Seconds(), P50: pct(0.50), P99: pct(0.99)}
	b, _ := json.Marshal(r)
	fmt.Printf("LOADGEN %s\n", b)
}

// signedRequester sends SigV4-signed GetRecommendations over keep-alive
// connections with the SDK's signer and no other SDK machinery, so the
// generator spends little CPU next to the server on a small machine.
type signedRequester struct {
	url, campaign string
	client        *http.Client
	signer        *v4.Signer
	creds         aws.Credentials
}

func newSignedRequester(url, campaign string) *signedRequester {
	return &signedRequester{url: url + "/recommendations", campaign: campaign, signer: v4.NewSigner(),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second},
		creds:  aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret}}
}

func (g *signedRequester) do(user string) (int, error) {
	body := []byte(`{"campaignArn":"` + g.campaign + `","userId":"` + user + `"}`)
	req, err := http.NewRequest(http.MethodPost, g.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	if err := g.signer.SignHTTP(context.Background(), g.creds, req, hex.EncodeToString(sum[:]), "personalize", "us-east-1", time.Now()); err != nil {
		return 0, err
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
