package main

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"

	"github.com/attune-dev/attune/internal/demo"
)

// probe GETs path and returns the status and the body's status word.
func probe(t *testing.T, url, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(url + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body struct{ Status string }
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("GET %s answered %q, want JSON", path, b)
	}
	var all map[string]any
	_ = json.Unmarshal(b, &all)
	if len(all) != 1 {
		t.Errorf("GET %s answered %s: want a status word only", path, b)
	}
	return resp.StatusCode, body.Status
}

// TestReadinessAcrossModelLoad restarts a server whose data holds an ACTIVE
// campaign and polls /readyz from the moment it listens: it must answer
// 503 "not ready" while the campaign's model loads (/healthz is 200 all the
// while) and then 200 "ready", with the reason logged and not sent.
func TestReadinessAcrossModelLoad(t *testing.T) {
	ts := startServer(t, "", "--min-training-interactions", "-1", "--min-training-users", "-1")
	if code, word := probe(t, ts.URL, "/readyz"); code != 200 || word != "ready" {
		t.Fatalf("empty server: /readyz = %d %q, want 200 ready", code, word)
	}
	ctx := t.Context()
	pc := ts.personalizeClient()
	// Enough interactions that loading the campaign's histories at start
	// takes a while even on a fast machine.
	group := demoGroup(t, ctx, pc, "ready", demo.Options{Users: 5000, Interactions: 150000, Seed: 3})
	version, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("ready-pop"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-popularity-count")})
	if st != "ACTIVE" {
		t.Fatalf("solution version ended %s", st)
	}
	deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String("ready"), SolutionVersionArn: aws.String(version)})
	if code, _ := probe(t, ts.URL, "/readyz"); code != 200 {
		t.Fatalf("after the campaign loaded: /readyz = %d, want 200", code)
	}
	ts.Stop(t)

	// The model may load before the first probe reaches a fresh server (the
	// load of these 150k interactions takes well under a second, and a busy
	// machine can take as long to hand the test its address). Such a start
	// proves nothing either way, so the server is restarted, a few times at
	// most, until a start is caught while loading.
	var notReady, ready int
	for attempt := 1; ; attempt++ {
		ts = startServer(t, ts.DataDir, "--log-format", "json", "--log-level", "info")
		notReady, ready = pollReadiness(t, ts.URL)
		if notReady > 0 || attempt == 5 {
			break
		}
		t.Logf("start %d: the model was loaded before the first probe; restarting", attempt)
		ts.Stop(t)
	}
	if notReady == 0 || ready == 0 {
		t.Fatalf("/readyz answered 503 %d times then 200 %d times, want both (false while loading, then true)", notReady, ready)
	}
	var reasons []string
	for _, l := range jsonLogLines(t, ts.out.String()) {
		if l["msg"] == "not ready" {
			reasons = append(reasons, l["reason"].(string))
		}
	}
	if len(reasons) == 0 {
		t.Errorf("no \"not ready\" line with a reason logged:\n%s", ts.out.String())
	}
	t.Logf("/readyz: %d× 503 then 200; reasons logged: %q", notReady, reasons)
}

// pollReadiness probes /healthz and /readyz of a starting server until
// /readyz answers 200 (at most a minute) and returns how many 503 "not ready"
// and 200 "ready" answers it saw. /healthz must be 200 throughout.
func pollReadiness(t *testing.T, url string) (notReady, ready int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for ready == 0 && time.Now().Before(deadline) {
		if code, _ := probe(t, url, "/healthz"); code != 200 {
			t.Fatalf("/healthz = %d while loading, want 200", code)
		}
		switch code, word := probe(t, url, "/readyz"); {
		case code == 503 && word == "not ready":
			notReady++
		case code == 200 && word == "ready":
			ready++
		default:
			t.Fatalf("/readyz = %d %q", code, word)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return notReady, ready
}
