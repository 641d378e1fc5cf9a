package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/campaign"
	"github.com/attune-dev/attune/internal/csvimport"
	"github.com/attune-dev/attune/internal/dataset"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/resource"
	"github.com/attune-dev/attune/internal/serving"
	"github.com/attune-dev/attune/internal/train"
)

const (
	groupARN    = "arn:aws:personalize:us-east-1:000000000000:dataset-group/shop"
	datasetARN  = "arn:aws:personalize:us-east-1:000000000000:dataset/shop/INTERACTIONS"
	jobARN      = "arn:aws:personalize:us-east-1:000000000000:dataset-import-job/shop-1"
	solutionARN = "arn:aws:personalize:us-east-1:000000000000:solution/shop-up"
	versionARN  = "arn:aws:personalize:us-east-1:000000000000:solution/shop-up/abc123"
	campaignARN = "arn:aws:personalize:us-east-1:000000000000:campaign/shop-live"
)

// fakeServices implements every Deps interface over fixed data.
type fakeServices struct {
	lastRequest serving.Request
}

func (f *fakeServices) Groups(context.Context, string, int) ([]*dataset.Group, string, error) {
	return []*dataset.Group{{Meta: resource.Meta{ARN: groupARN, Name: "shop", Status: "ACTIVE"}}}, "", nil
}

func (f *fakeServices) Datasets(_ context.Context, g, _ string, _ int) ([]*dataset.Dataset, string, error) {
	if g != groupARN {
		return nil, "", nil
	}
	return []*dataset.Dataset{{Meta: resource.Meta{ARN: datasetARN, Name: "shop-interactions", Status: "ACTIVE"}, Type: "INTERACTIONS"}}, "", nil
}

func (f *fakeServices) ImportJobs(_ context.Context, d, _ string, _ int) ([]*dataset.ImportJob, string, error) {
	if d != datasetARN {
		return nil, "", nil
	}
	return []*dataset.ImportJob{{Meta: resource.Meta{ARN: jobARN, Name: "shop-1", Status: "ACTIVE"}}}, "", nil
}

func (f *fakeServices) ImportJob(_ context.Context, a string) (*dataset.ImportJob, error) {
	if a != jobARN {
		return nil, errs.E(errs.NotFound, "no job %s", a)
	}
	return &dataset.ImportJob{Meta: resource.Meta{ARN: jobARN, Name: "shop-1", Status: "ACTIVE"}, Report: &dataset.Report{
		Rows: 10, Imported: 9, Rejected: 1, IgnoredColumns: []string{"EXTRA"},
		Errors: []dataset.FileRowError{{File: "a.csv", RowError: csvimport.RowError{Row: 4, Column: "TIMESTAMP", Message: "not a number"}}},
	}}, nil
}

func (f *fakeServices) Solutions(_ context.Context, g, _ string, _ int) ([]*train.Solution, string, error) {
	return []*train.Solution{{Meta: resource.Meta{ARN: solutionARN, Name: "shop-up", Status: "ACTIVE"},
		RecipeARN: "arn:aws:personalize:::recipe/aws-user-personalization-v2"}}, "", nil
}

func (f *fakeServices) Versions(context.Context, string, string, int) ([]*train.Version, string, error) {
	return []*train.Version{{Meta: resource.Meta{ARN: versionARN, Status: "ACTIVE"}, TrainingHours: 0.01}}, "", nil
}

func (f *fakeServices) Metrics(context.Context, string) (map[string]float64, error) {
	return map[string]float64{"normalized_discounted_cumulative_gain_at_10": 0.25}, nil
}

func (f *fakeServices) List(context.Context, string, string, int) ([]*campaign.Campaign, string, error) {
	return []*campaign.Campaign{{Meta: resource.Meta{ARN: campaignARN, Name: "shop-live", Status: "ACTIVE"}, SolutionVersionARN: versionARN, MinTPS: 1}}, "", nil
}

func (f *fakeServices) Recommend(_ context.Context, r serving.Request) (*serving.Result, error) {
	f.lastRequest = r
	if r.Campaign != campaignARN {
		return nil, errs.E(errs.NotFound, "campaign %s not found", r.Campaign)
	}
	score := 0.7
	return &serving.Result{RecommendationID: "RID-1", Items: []serving.Item{
		{ID: "i1", Score: &score, Metadata: map[string]string{"CATEGORY": "Data"},
			Because: []serving.Because{{ItemID: "i0", ItemName: "Cloud Storage", EventType: "VIEWED", Contribution: 0.8}}},
		{ID: "i2", Reason: []string{"Promoted item"}, PromotionName: "promo"},
	}}, nil
}

const (
	keyID  = "AKIATESTCONSOLE00001"
	secret = "console-secret"
)

type harness struct {
	t   *testing.T
	srv *httptest.Server
	fk  *fakeServices
	now time.Time
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, func(*Options) {})
}

// newHarnessWith is newHarness with options changed by set.
func newHarnessWith(t *testing.T, set func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, fk: &fakeServices{}, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	opts := Options{Credentials: map[string]string{keyID: secret}, SessionTTL: time.Hour, Now: func() time.Time { return h.now }}
	set(&opts)
	h.srv = httptest.NewServer(New(Deps{Datasets: h.fk, Training: h.fk, Campaigns: h.fk, Runtime: h.fk}, opts))
	t.Cleanup(h.srv.Close)
	return h
}

// client returns an HTTP client with its own cookie jar.
func (h *harness) client() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

// do sends a request and decodes the JSON answer into out (when not nil).
func (h *harness) do(c *http.Client, method, path, body string, out any) int {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.t.Context(), method, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			h.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return res.StatusCode
}

func (h *harness) login(c *http.Client) {
	h.t.Helper()
	if st := h.do(c, "POST", "/console/api/login", `{"accessKeyId":"`+keyID+`","secretAccessKey":"`+secret+`"}`, nil); st != http.StatusOK {
		h.t.Fatalf("login = %d, want 200", st)
	}
}

func TestLoginRequired(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct{ name, method, path, body string }{
		{"overview", "GET", "/console/api/overview", ""},
		{"recommend", "POST", "/console/api/recommend", `{"campaignArn":"` + campaignARN + `","userId":"u1"}`},
		{"login-link", "POST", "/console/api/login-link", `{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body errorBody
			if st := h.do(h.client(), tc.method, tc.path, tc.body, &body); st != http.StatusUnauthorized || body.Error == "" {
				t.Errorf("%s %s = %d %+v, want 401 with an error", tc.method, tc.path, st, body)
			}
		})
	}
}

func TestLoginRefusesBadCredentials(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct{ name, body string }{
		{"wrong secret", `{"accessKeyId":"` + keyID + `","secretAccessKey":"nope"}`},
		{"unknown key", `{"accessKeyId":"AKIAOTHER","secretAccessKey":"` + secret + `"}`},
		{"empty", `{"accessKeyId":"","secretAccessKey":""}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := h.client()
			var body errorBody
			if st := h.do(c, "POST", "/console/api/login", tc.body, &body); st != http.StatusUnauthorized || body.Error == "" {
				t.Fatalf("login = %d %+v, want 401", st, body)
			}
			if st := h.do(c, "GET", "/console/api/overview", "", nil); st != http.StatusUnauthorized {
				t.Errorf("overview after refused login = %d, want 401", st)
			}
		})
	}
}

func TestSessionCookie(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", h.srv.URL+"/console/api/login",
		strings.NewReader(`{"accessKeyId":"`+keyID+`","secretAccessKey":"`+secret+`"}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var ck *http.Cookie
	for _, x := range res.Cookies() {
		if x.Name == cookieName {
			ck = x
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/console/" || len(ck.Value) < 43 {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Strict, Path /console/, a 32-byte token", ck)
	}
	if st := h.do(c, "GET", "/console/api/overview", "", nil); st != http.StatusOK {
		t.Fatalf("overview with session = %d, want 200", st)
	}
	h.now = h.now.Add(2 * time.Hour) // past SessionTTL
	if st := h.do(c, "GET", "/console/api/overview", "", nil); st != http.StatusUnauthorized {
		t.Errorf("overview with expired session = %d, want 401", st)
	}
}

func TestOverview(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	h.login(c)
	var ov overviewOut
	if st := h.do(c, "GET", "/console/api/overview", "", &ov); st != http.StatusOK {
		t.Fatalf("overview = %d", st)
	}
	if len(ov.Groups) != 1 || ov.Groups[0].Name != "shop" {
		t.Fatalf("groups = %+v, want shop", ov.Groups)
	}
	g := ov.Groups[0]
	if len(g.Datasets) != 1 || len(g.Datasets[0].ImportJobs) != 1 {
		t.Fatalf("datasets = %+v, want one with one import job", g.Datasets)
	}
	j := g.Datasets[0].ImportJobs[0]
	if j.Rows != 10 || j.Imported != 9 || j.Rejected != 1 || len(j.IgnoredColumns) != 1 || len(j.RowErrors) != 1 || j.RowErrors[0].Row != 4 {
		t.Errorf("import job = %+v, want the report of the full job", j)
	}
	if len(g.Solutions) != 1 || g.Solutions[0].Recipe != "aws-user-personalization-v2" || len(g.Solutions[0].Versions) != 1 {
		t.Fatalf("solutions = %+v", g.Solutions)
	}
	if v := g.Solutions[0].Versions[0]; v.Metrics["normalized_discounted_cumulative_gain_at_10"] != 0.25 || v.TrainingHours != 0.01 {
		t.Errorf("version = %+v, want metrics and training hours", v)
	}
	if cs := g.Solutions[0].Campaigns; len(cs) != 1 || cs[0].Name != "shop-live" || cs[0].VersionARN != versionARN {
		t.Errorf("campaigns = %+v, want shop-live on %s", cs, versionARN)
	}

	// The raw JSON uses the documented member names.
	var raw map[string][]map[string]any
	h.do(c, "GET", "/console/api/overview", "", &raw)
	for _, k := range []string{"name", "arn", "status", "datasets", "solutions"} {
		if _, ok := raw["groups"][0][k]; !ok {
			t.Errorf("group JSON lacks %q: %v", k, raw["groups"][0])
		}
	}
}

func TestRecommend(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	h.login(c)
	var out recommendOut
	body := `{"campaignArn":"` + campaignARN + `","userId":"u1","itemId":"i9","numResults":5,"metadataColumns":["CATEGORY"]}`
	if st := h.do(c, "POST", "/console/api/recommend", body, &out); st != http.StatusOK {
		t.Fatalf("recommend = %d", st)
	}
	want := serving.Request{Campaign: campaignARN, UserID: "u1", ItemID: "i9", NumResults: 5, MetadataColumns: []string{"CATEGORY"}}
	got := h.fk.lastRequest
	if got.Campaign != want.Campaign || got.UserID != want.UserID || got.ItemID != want.ItemID || got.NumResults != want.NumResults ||
		len(got.MetadataColumns) != 1 {
		t.Errorf("Recommend got %+v, want %+v", got, want)
	}
	if out.RecommendationID != "RID-1" || len(out.Items) != 2 {
		t.Fatalf("recommend = %+v", out)
	}
	if it := out.Items[0]; it.Score == nil || *it.Score != 0.7 || it.Metadata["CATEGORY"] != "Data" || it.Explanation == nil ||
		it.Explanation.Text != "Because you viewed Cloud Storage" {
		t.Errorf("item 0 = %+v, want score, metadata and explanation", it)
	}
	if it := out.Items[1]; len(it.Reason) != 1 || it.PromotionName != "promo" {
		t.Errorf("item 1 = %+v, want a reason and promotion", it)
	}

	var e errorBody
	if st := h.do(c, "POST", "/console/api/recommend", `{"campaignArn":"arn:nope","userId":"u1"}`, &e); st != http.StatusNotFound || e.Error == "" {
		t.Errorf("recommend on unknown campaign = %d %+v, want 404", st, e)
	}
	if st := h.do(c, "POST", "/console/api/recommend", `{"campaignArn":"`+campaignARN+`"}`, &e); st != http.StatusBadRequest {
		t.Errorf("recommend without user or item = %d, want 400", st)
	}
}

func TestLogout(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	h.login(c)
	if st := h.do(c, "POST", "/console/api/logout", `{}`, nil); st != http.StatusOK {
		t.Fatalf("logout = %d", st)
	}
	if st := h.do(c, "GET", "/console/api/overview", "", nil); st != http.StatusUnauthorized {
		t.Errorf("overview after logout = %d, want 401", st)
	}
}

func TestLoginLink(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	h.login(c)
	var link struct{ Token, URL string }
	if st := h.do(c, "POST", "/console/api/login-link", `{}`, &link); st != http.StatusOK || link.Token == "" ||
		link.URL != "/console/?session="+link.Token {
		t.Fatalf("login-link = %d %+v", st, link)
	}
	browser := h.client()
	if st := h.do(browser, "POST", "/console/api/session", `{"token":"`+link.Token+`"}`, nil); st != http.StatusOK {
		t.Fatalf("session exchange = %d, want 200", st)
	}
	if st := h.do(browser, "GET", "/console/api/overview", "", nil); st != http.StatusOK {
		t.Errorf("overview after exchange = %d, want 200", st)
	}
	if st := h.do(h.client(), "POST", "/console/api/session", `{"token":"`+link.Token+`"}`, nil); st != http.StatusUnauthorized {
		t.Errorf("second exchange of the same token = %d, want 401", st)
	}
	h.do(c, "POST", "/console/api/login-link", `{}`, &link)
	h.now = h.now.Add(2 * linkTTL)
	if st := h.do(h.client(), "POST", "/console/api/session", `{"token":"`+link.Token+`"}`, nil); st != http.StatusUnauthorized {
		t.Errorf("exchange of an expired token = %d, want 401", st)
	}
}

func TestAssets(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct{ path, contentType, contains string }{
		{"/console/", "text/html", "login-form"},
		{"/console/app.js", "javascript", "renderOverview"},
		{"/console/app.css", "text/css", "table"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, err := h.client().Get(h.srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), tc.contentType) || !strings.Contains(string(b), tc.contains) {
				t.Errorf("GET %s = %d %q, want 200 %s containing %q", tc.path, res.StatusCode, res.Header.Get("Content-Type"), tc.contentType, tc.contains)
			}
		})
	}
}
