package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	"github.com/aws/aws-sdk-go-v2/service/personalizeruntime"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/attune-dev/attune/internal/demo"
	"github.com/attune-dev/attune/internal/testenv"
)

// browserSDKDir holds the shop page, its script and the committed bundle of
// the real AWS SDK for JavaScript v3 clients (scripts/build-browser-sdk.sh).
const browserSDKDir = "testdata/browser"

// pageOutcome is what page.js writes into #result for one step.
type pageOutcome struct {
	OK *struct {
		Items            []string
		RecommendationID string
		Status           int
		RequestID        string
	}
	Error     string
	Message   string
	Status    int
	RequestID string
}

// TestBrowserSDK: a shop page served from another origin calls Attune from
// headless Chromium with the real @aws-sdk/client-personalize-runtime and
// @aws-sdk/client-personalize-events, signed with a key whose policy allows
// only GetRecommendations on one campaign and PutEvents on one tracker. From
// the origin given to --cors-origins the calls succeed, the event changes
// the next recommendation, and a second campaign is refused with
// AccessDeniedException that the SDK can read; from another origin the
// browser refuses to send the call. The preflights Chromium saw are logged.
func TestBrowserSDK(t *testing.T) {
	chromium := testenv.Chromium(t)

	// The page's server starts first, so that the API server can allow its
	// origin. localhost on the same port is another origin, not allowed.
	page := httptest.NewServer(http.FileServer(http.Dir(browserSDKDir)))
	t.Cleanup(page.Close)
	pageOrigin := page.URL
	otherOrigin := strings.Replace(page.URL, "127.0.0.1", "localhost", 1)
	ts := startServer(t, "", "--cors-origins", pageOrigin)
	apiURL, err := url.Parse(ts.URL)
	if err != nil {
		t.Fatal(err)
	}

	ctx := t.Context()
	pc := ts.personalizeClient()
	group := demoGroup(t, ctx, pc, "browser-shop", demo.Options{Seed: 7})
	version, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("browser-up"), DatasetGroupArn: aws.String(group),
		RecipeArn:      aws.String("arn:aws:personalize:::recipe/aws-user-personalization-v2"),
		SolutionConfig: excludeInteracted()}) // the checks below expect the user's own items left out
	if st != "ACTIVE" {
		t.Fatalf("solution version ended %s", st)
	}
	shopCampaign := deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String("browser-shop"), SolutionVersionArn: aws.String(version)})
	otherCampaign := deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String("browser-other"), SolutionVersionArn: aws.String(version)})
	trackerARN, trackingID := createTracker(t, ctx, pc, group, "browser-events")
	keyID, secret := createAccessKey(t, ts, "browser-shop", `{"Version":"2012-10-17","Statement":[
	  {"Sid":"Recommend","Effect":"Allow","Action":"personalize:GetRecommendations","Resource":"`+shopCampaign+`"},
	  {"Sid":"Events","Effect":"Allow","Action":"personalize:PutEvents","Resource":"`+trackerARN+`"}]}`)
	user := demo.Generate(demo.Options{Seed: 7}).Events[0].User

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.UserDataDir(t.TempDir()))
	defer cancelAlloc()
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if _, err := chromedp.Targets(browserCtx); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}

	query := url.Values{"endpoint": {ts.URL}, "region": {"us-east-1"}, "accessKeyId": {keyID}, "secretAccessKey": {secret},
		"userId": {user}, "campaignArn": {shopCampaign}, "otherCampaignArn": {otherCampaign}, "trackingId": {trackingID}}

	// From the allowed origin.
	out, net := runShopPage(t, browserCtx, pageOrigin+"/page.html?"+query.Encode(), apiURL.Host)
	before, put, after, denied := out["before"], out["putEvents"], out["after"], out["otherCampaign"]
	if before.OK == nil || len(before.OK.Items) != 10 || before.OK.Status != http.StatusOK || before.OK.RecommendationID == "" {
		t.Fatalf("GetRecommendations from %s = %+v, want 10 items", pageOrigin, before)
	}
	if before.OK.RequestID == "" {
		t.Errorf("the SDK could not read the request id (Access-Control-Expose-Headers): %+v", before.OK)
	}
	if put.OK == nil || put.OK.Status != http.StatusOK {
		t.Fatalf("PutEvents from %s = %+v, want 200", pageOrigin, put)
	}
	top := before.OK.Items[0]
	if after.OK == nil || len(after.OK.Items) == 0 || slices.Contains(after.OK.Items, top) {
		t.Errorf("GetRecommendations after PURCHASED %s = %+v, want a list without it (the user's own items are excluded)", top, after)
	}
	wantDenied := "User: arn:aws:iam::000000000000:user/browser-shop is not authorized to perform: personalize:GetRecommendations on resource: " + otherCampaign
	if denied.OK != nil || denied.Error != "AccessDeniedException" || denied.Status != http.StatusForbidden ||
		!strings.Contains(denied.Message, wantDenied) || denied.RequestID == "" {
		t.Errorf("GetRecommendations on another campaign from the page = %+v, want 403 AccessDeniedException %q with a request id", denied, wantDenied)
	}
	// The event is in the server's serving state, not only in the page's view.
	rc := personalizeruntime.NewFromConfig(sdkConfig(testAccessKey, testSecret), func(o *personalizeruntime.Options) { o.BaseEndpoint = aws.String(ts.URL) })
	rec, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(shopCampaign), UserId: aws.String(user), NumResults: 25})
	if err != nil || slices.Contains(ids(rec.ItemList), top) {
		t.Errorf("GetRecommendations with the root key after the page's event: %v, %v; want no %s", err, rec, top)
	}

	preflights := net.preflights()
	if len(preflights) < 2 {
		t.Fatalf("saw %d preflights from %s, want one for /recommendations and one for /events:\n%s", len(preflights), pageOrigin, net.dump())
	}
	allowHeaders := ""
	for _, p := range preflights {
		t.Logf("preflight Chromium sent for %s %s:\n  request:  %s\n  response: %d %s", p.reqHeaders["Access-Control-Request-Method"], p.url,
			headerLine(p.reqHeaders), p.status, headerLine(p.respHeaders))
		if p.status != http.StatusNoContent || p.respHeaders["Access-Control-Allow-Origin"] != pageOrigin ||
			p.respHeaders["Access-Control-Allow-Methods"] != "POST" || !strings.Contains(p.respHeaders["Vary"], "Origin") ||
			p.respHeaders["Access-Control-Max-Age"] == "" {
			t.Errorf("preflight for %s answered %d %v, want 204 allowing %s, POST, Vary: Origin and a max age", p.url, p.status, p.respHeaders, pageOrigin)
		}
		allowHeaders = p.respHeaders["Access-Control-Allow-Headers"]
		// What the SDK sends is exactly what Attune allows, plus the session
		// token it sends only with temporary credentials.
		requested := strings.Split(p.reqHeaders["Access-Control-Request-Headers"], ",")
		requested = append(requested, "x-amz-security-token")
		sort.Strings(requested)
		allowed := strings.Split(allowHeaders, ", ")
		sort.Strings(allowed)
		if !slices.Equal(requested, allowed) {
			t.Errorf("preflight for %s asked for headers %q; Attune allows %q: keep corsAllowHeaders equal to what the SDK sends", p.url, requested, allowed)
		}
	}
	t.Logf("Access-Control-Allow-Headers: %s", allowHeaders)

	// From an origin not in --cors-origins the browser refuses the call.
	out, net = runShopPage(t, browserCtx, otherOrigin+"/page.html?"+query.Encode(), apiURL.Host)
	if b := out["before"]; b.OK != nil || b.Error != "TypeError" {
		t.Errorf("GetRecommendations from %s = %+v, want the browser's TypeError (blocked by CORS)", otherOrigin, b)
	}
	preflights = net.preflights()
	if len(preflights) == 0 {
		t.Fatalf("saw no preflight from %s:\n%s", otherOrigin, net.dump())
	}
	for _, p := range preflights {
		t.Logf("preflight from the other origin, %s:\n  request:  %s\n  response: %d %s", p.url, headerLine(p.reqHeaders), p.status, headerLine(p.respHeaders))
		if p.respHeaders["Access-Control-Allow-Origin"] != "" || p.status != http.StatusForbidden {
			t.Errorf("preflight from %s answered %d %v, want 403 without Access-Control-Allow-Origin", otherOrigin, p.status, p.respHeaders)
		}
	}
	for _, r := range net.calls() {
		t.Logf("call from the other origin: %s %s: %s", r.method, r.url, r.failure)
		if r.status != 0 || !strings.Contains(r.failure, "CORS") {
			t.Errorf("call from %s to %s: status %d, failure %q; want it blocked by CORS, never sent", otherOrigin, r.url, r.status, r.failure)
		}
	}
}

// runShopPage loads pageURL in a new tab, waits for page.js to finish and
// returns its outcome per step and the tab's requests to apiHost.
func runShopPage(t *testing.T, browserCtx context.Context, pageURL, apiHost string) (map[string]pageOutcome, *netRecorder) {
	t.Helper()
	rec := &netRecorder{apiHost: apiHost, reqs: map[network.RequestID]*seenRequest{}}
	// The listener is added before the tab's first command, so it sees
	// every event (it must return fast: it runs in the tab's read loop).
	tab, cancel := chromedp.NewContext(browserCtx, chromedp.WithListener(rec.observe))
	defer cancel()
	tab, cancelTimeout := context.WithTimeout(tab, 90*time.Second)
	defer cancelTimeout()
	if err := chromedp.Do(tab, chromedp.Navigate(pageURL), chromedp.WaitReady(chromedp.ID("done"))); err != nil {
		t.Fatalf("load %s: %v\npage exceptions: %v\nrequests to the API:\n%s", pageURL, err, rec.exceptionTexts(), rec.dump())
	}
	result, err := chromedp.Run(tab, chromedp.Text(chromedp.ID("result")))
	if err != nil {
		t.Fatalf("read #result: %v", err)
	}
	out := map[string]pageOutcome{}
	if err := json.Unmarshal([]byte(result), &out); err != nil {
		t.Fatalf("page result %q: %v", result, err)
	}
	return out, rec
}

// netRecorder keeps what Chromium reports about a tab's requests to the API.
type netRecorder struct {
	apiHost string
	mu      sync.Mutex
	reqs    map[network.RequestID]*seenRequest
	order   []network.RequestID
	errors  []string // uncaught exceptions of the page
}

// seenRequest is one request as Chromium's network domain reported it.
type seenRequest struct {
	url, method, typ string
	reqHeaders       map[string]string
	status           int
	respHeaders      map[string]string
	failure          string
}

func (n *netRecorder) observe(ev any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		n.errors = append(n.errors, e.ExceptionDetails.Text)
	case *network.EventRequestWillBeSent:
		u, err := url.Parse(e.Request.URL)
		if err != nil || u.Host != n.apiHost {
			return
		}
		n.order = append(n.order, e.RequestID)
		n.reqs[e.RequestID] = &seenRequest{url: e.Request.URL, method: e.Request.Method, typ: string(e.Type), reqHeaders: canonHeaders(e.Request.Headers)}
	case *network.EventResponseReceived:
		if r := n.reqs[e.RequestID]; r != nil {
			r.status = int(e.Response.Status)
			r.respHeaders = canonHeaders(e.Response.Headers)
		}
	case *network.EventLoadingFailed:
		if r := n.reqs[e.RequestID]; r != nil {
			r.failure = e.ErrorText
			if e.CorsErrorStatus != nil {
				r.failure += " (CORS: " + string(e.CorsErrorStatus.CorsError) + ")"
			}
		}
	}
}

// preflights are the CORS preflights seen, in order.
func (n *netRecorder) preflights() []seenRequest { return n.seen(true) }

// calls are the other requests to the API, in order.
func (n *netRecorder) calls() []seenRequest { return n.seen(false) }

func (n *netRecorder) seen(preflight bool) []seenRequest {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []seenRequest
	for _, id := range n.order {
		r := n.reqs[id]
		if (r.typ == string(network.ResourceTypePreflight) || r.method == http.MethodOptions) == preflight {
			out = append(out, *r)
		}
	}
	return out
}

func (n *netRecorder) exceptionTexts() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.errors)
}

func (n *netRecorder) dump() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var b strings.Builder
	for _, id := range n.order {
		r := n.reqs[id]
		b.WriteString("  " + r.typ + " " + r.method + " " + r.url + " -> " + http.StatusText(r.status) + " " + r.failure + "\n")
	}
	return b.String()
}

// canonHeaders turns Chromium's header map into canonical names and strings.
func canonHeaders(h network.Headers) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		s, _ := v.(string)
		out[http.CanonicalHeaderKey(k)] = s
	}
	return out
}

// headerLine prints headers sorted by name on one line.
func headerLine(h map[string]string) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		// Chromium joins repeated headers with newlines.
		parts[i] = k + ": " + strings.ReplaceAll(h[k], "\n", ", ")
	}
	return strings.Join(parts, "; ")
}

// TestCORSOriginsFlag: --cors-origins and ATTUNE_CORS_ORIGINS take exact
// origins and refuse anything a browser would never send as one.
func TestCORSOriginsFlag(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string
		bad  bool
	}{
		{"default is none", nil, nil, nil, false},
		{"flag", []string{"--cors-origins", "https://shop.example.com, http://localhost:3000"}, nil,
			[]string{"https://shop.example.com", "http://localhost:3000"}, false},
		{"environment", nil, map[string]string{"ATTUNE_CORS_ORIGINS": "http://127.0.0.1:5173"}, []string{"http://127.0.0.1:5173"}, false},
		{"flag wins over environment", []string{"--cors-origins", "https://a.example"}, map[string]string{"ATTUNE_CORS_ORIGINS": "https://b.example"},
			[]string{"https://a.example"}, false},
		{"trailing slash", []string{"--cors-origins", "https://shop.example.com/"}, nil, nil, true},
		{"wildcard", nil, map[string]string{"ATTUNE_CORS_ORIGINS": "*"}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseServe(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if tc.bad {
				var ue usageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--cors-origins") {
					t.Fatalf("parseServe(%q) = %v, want a usage error naming --cors-origins", tc.args, err)
				}
				return
			}
			if err != nil || !slices.Equal(c.corsOrigins, tc.want) {
				t.Fatalf("parseServe(%q) origins = %q, %v; want %q", tc.args, c.corsOrigins, err, tc.want)
			}
		})
	}
}
