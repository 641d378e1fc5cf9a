package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"

	"github.com/attune-dev/attune/internal/demo"
	"github.com/attune-dev/attune/internal/testenv"
)

// consolePost posts JSON to a console endpoint with c and decodes the answer.
func consolePost(t *testing.T, c *http.Client, url string, in, out any) int {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil && res.StatusCode == http.StatusOK {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatalf("POST %s: decode: %v", url, err)
		}
	}
	return res.StatusCode
}

// dumpDOM renders url in headless Chromium (skipping the test when it is not
// installed, failing it in CI: testenv.Missing) and returns the DOM after the
// page's scripts ran.
func dumpDOM(t *testing.T, url string) []byte {
	t.Helper()
	chromium := testenv.Chromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir="+t.TempDir(),
		"--virtual-time-budget=5000", "--dump-dom", url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v\n%s", err, stderr.String())
	}
	return dom
}

// TestConsole drives the console of a real server: the login, the overview
// and "try it" endpoints, and (when Chromium is installed) the page itself
// rendered by a headless browser that signs in with a one-time login link.
func TestConsole(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc := ts.personalizeClient()
	group := demoGroup(t, ctx, pc, "console-shop", demo.Options{Seed: 7})
	va, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("console-up"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-user-personalization-v2")})
	if st != "ACTIVE" {
		t.Fatalf("solution version ended %s", st)
	}
	campaignARN := deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String("console-live"), SolutionVersionArn: aws.String(va)})

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	api := ts.URL + "/console/api/"

	res, err := c.Get(api + "overview")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("overview before login = %d, want 401", res.StatusCode)
	}
	if st := consolePost(t, c, api+"login", map[string]string{"accessKeyId": testAccessKey, "secretAccessKey": "wrong"}, nil); st != http.StatusUnauthorized {
		t.Fatalf("login with a wrong secret = %d, want 401", st)
	}
	if st := consolePost(t, c, api+"login", map[string]string{"accessKeyId": testAccessKey, "secretAccessKey": testSecret}, nil); st != http.StatusOK {
		t.Fatalf("login = %d, want 200", st)
	}

	res, err = c.Get(api + "overview")
	if err != nil {
		t.Fatal(err)
	}
	var ov struct {
		Groups []struct {
			Name     string
			Datasets []struct {
				Type       string
				ImportJobs []struct {
					Status   string
					Rows     int64
					Imported int64
				}
			}
			Solutions []struct {
				Name     string
				Versions []struct {
					Status  string
					Metrics map[string]float64
				}
				Campaigns []struct{ Name, Status, SolutionVersionArn string }
			}
		}
	}
	err = json.NewDecoder(res.Body).Decode(&ov)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("overview = %d, %v", res.StatusCode, err)
	}
	if len(ov.Groups) != 1 || ov.Groups[0].Name != "console-shop" || len(ov.Groups[0].Datasets) != 3 || len(ov.Groups[0].Solutions) != 1 {
		t.Fatalf("overview = %+v, want console-shop with 3 datasets and 1 solution", ov)
	}
	for _, d := range ov.Groups[0].Datasets {
		if len(d.ImportJobs) == 0 || d.ImportJobs[0].Status != "ACTIVE" || d.ImportJobs[0].Imported == 0 {
			t.Errorf("dataset %s import jobs = %+v, want an ACTIVE import with rows", d.Type, d.ImportJobs)
		}
	}
	sol := ov.Groups[0].Solutions[0]
	if len(sol.Versions) != 1 || sol.Versions[0].Metrics["normalized_discounted_cumulative_gain_at_10"] <= 0 {
		t.Errorf("versions = %+v, want one with NDCG@10", sol.Versions)
	}
	if len(sol.Campaigns) != 1 || sol.Campaigns[0].Name != "console-live" || sol.Campaigns[0].SolutionVersionArn != va {
		t.Errorf("campaigns = %+v, want console-live on %s", sol.Campaigns, va)
	}

	user := demo.Generate(demo.Options{Seed: 7}).Events[0].User
	var rec struct {
		Items []struct {
			ItemID      string
			Score       *float64
			Explanation *struct{ Text string }
		}
	}
	if st := consolePost(t, c, api+"recommend", map[string]any{"campaignArn": campaignARN, "userId": user, "numResults": 5}, &rec); st != http.StatusOK {
		t.Fatalf("recommend = %d, want 200", st)
	}
	explained := 0
	for _, it := range rec.Items {
		if it.Explanation != nil && strings.HasPrefix(it.Explanation.Text, "Because") {
			explained++
		}
	}
	if len(rec.Items) != 5 || rec.Items[0].Score == nil || explained == 0 {
		t.Errorf("recommend = %+v, want 5 scored items, some explained", rec.Items)
	}

	t.Run("headless browser", func(t *testing.T) {
		testenv.Chromium(t)
		var link struct{ URL string }
		if st := consolePost(t, c, api+"login-link", map[string]string{}, &link); st != http.StatusOK || link.URL == "" {
			t.Fatalf("login-link = %d %+v", st, link)
		}
		dom := dumpDOM(t, ts.URL+link.URL)
		for _, want := range []string{"console-shop", "console-live", "console-up"} {
			if !bytes.Contains(dom, []byte(want)) {
				t.Errorf("rendered console lacks %q:\n%s", want, dom)
			}
		}
		if bytes.Contains(dom, []byte(`id="app-view" hidden`)) {
			t.Errorf("rendered console still shows the login form:\n%s", dom)
		}
		// The root session sees the traffic charts, drawn from /console/api/metrics.
		if bytes.Contains(dom, []byte(`id="charts" hidden`)) || !regexp.MustCompile(`id="chart-rate"[^>]*><line `).Match(dom) {
			t.Errorf("rendered console lacks the drawn traffic charts:\n%s", dom)
		}
	})
}
