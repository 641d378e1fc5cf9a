package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/attune-dev/attune/internal/serving"
)

const shopOrigin = "https://shop.example.com"

// corsServer is a server with a canned runtime that lets shopOrigin in.
func corsServer(t *testing.T, origins ...string) (*Server, time.Time) {
	t.Helper()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := New(Deps{Runtime: cannedRuntime{&serving.Result{Items: []serving.Item{{ID: "itm_1"}}, RecommendationID: "RID-x"}}},
		Options{Credentials: map[string]string{"AKID": "SECRET"}, Now: func() time.Time { return now }, CORSOrigins: origins},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	return s, now
}

// corsRequest builds a request; signed ones carry a valid SigV4 signature.
func corsRequest(t *testing.T, method, path, origin string, header map[string]string, body string, signAt time.Time) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, "http://127.0.0.1:8080"+path, strings.NewReader(body))
	for k, v := range header {
		r.Header.Set(k, v)
	}
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	if !signAt.IsZero() {
		sum := sha256.Sum256([]byte(body))
		creds := aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET"}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), "personalize", "us-east-1", signAt); err != nil {
			t.Fatal(err)
		}
		r.Body = io.NopCloser(bytes.NewReader([]byte(body)))
	}
	return r
}

func TestCORS(t *testing.T) {
	preflightHeaders := map[string]string{"Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "amz-sdk-invocation-id,amz-sdk-request,authorization,content-type,x-amz-content-sha256,x-amz-date,x-amz-user-agent"}
	recBody := `{"campaignArn":"arn:aws:personalize:us-east-1:000000000000:campaign/shop","userId":"u1"}`
	const unsigned = false
	tests := []struct {
		name    string
		origins []string
		method  string
		path    string
		origin  string
		header  map[string]string
		body    string
		signed  bool
		// want
		status    int
		allowed   bool   // Access-Control-Allow-Origin: origin, and the rest for its kind
		preflight bool   // the preflight headers are present
		vary      bool   // Vary: Origin
		errType   string // X-Amzn-ErrorType, "" for none
	}{
		{name: "preflight from an allowed origin", origins: []string{shopOrigin}, method: http.MethodOptions, path: "/recommendations",
			origin: shopOrigin, header: preflightHeaders, status: http.StatusNoContent, allowed: true, preflight: true, vary: true},
		{name: "preflight on personalized ranking", origins: []string{"http://localhost:3000", shopOrigin}, method: http.MethodOptions,
			path: "/personalize-ranking", origin: shopOrigin, header: preflightHeaders, status: http.StatusNoContent, allowed: true, preflight: true, vary: true},
		{name: "preflight from another origin", origins: []string{shopOrigin}, method: http.MethodOptions, path: "/recommendations",
			origin: "https://evil.example.com", header: preflightHeaders, status: http.StatusForbidden, vary: true, errType: "AccessDeniedException"},
		{name: "preflight from a look-alike origin", origins: []string{shopOrigin}, method: http.MethodOptions, path: "/recommendations",
			origin: shopOrigin + ":443", header: preflightHeaders, status: http.StatusForbidden, vary: true, errType: "AccessDeniedException"},
		{name: "preflight with no origins configured", method: http.MethodOptions, path: "/recommendations",
			origin: shopOrigin, header: preflightHeaders, status: http.StatusMethodNotAllowed},
		{name: "preflight on the control plane", origins: []string{shopOrigin}, method: http.MethodOptions, path: "/",
			origin: shopOrigin, header: preflightHeaders, status: http.StatusNotFound},
		{name: "preflight on an unknown path", origins: []string{shopOrigin}, method: http.MethodOptions, path: "/recommendationsx",
			origin: shopOrigin, header: preflightHeaders, status: http.StatusNotFound},
		{name: "signed call from an allowed origin", origins: []string{shopOrigin}, method: http.MethodPost, path: "/recommendations",
			origin: shopOrigin, header: map[string]string{"Content-Type": "application/json"}, body: recBody, signed: true,
			status: http.StatusOK, allowed: true, vary: true},
		{name: "error answer to an allowed origin", origins: []string{shopOrigin}, method: http.MethodPost, path: "/recommendations",
			origin: shopOrigin, header: map[string]string{"Content-Type": "application/json"}, body: recBody, signed: unsigned,
			status: http.StatusForbidden, allowed: true, vary: true, errType: "MissingAuthenticationTokenException"},
		{name: "signed call from another origin", origins: []string{shopOrigin}, method: http.MethodPost, path: "/recommendations",
			origin: "http://localhost:3000", header: map[string]string{"Content-Type": "application/json"}, body: recBody, signed: true,
			status: http.StatusOK, vary: true},
		{name: "signed call without an origin", origins: []string{shopOrigin}, method: http.MethodPost, path: "/recommendations",
			header: map[string]string{"Content-Type": "application/json"}, body: recBody, signed: true, status: http.StatusOK, vary: true},
		{name: "control plane call from an allowed origin", origins: []string{shopOrigin}, method: http.MethodPost, path: "/",
			origin: shopOrigin, header: map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonPersonalize.ListRecipes"},
			body: "{}", signed: true, status: http.StatusBadRequest, errType: "UnknownOperationException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, now := corsServer(t, tc.origins...)
			var at time.Time
			if tc.signed {
				at = now
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, corsRequest(t, tc.method, tc.path, tc.origin, tc.header, tc.body, at))
			h := w.Result().Header
			if w.Code != tc.status {
				t.Errorf("%s %s from %q = %d, want %d (%s)", tc.method, tc.path, tc.origin, w.Code, tc.status, w.Body)
			}
			wantOrigin := ""
			if tc.allowed {
				wantOrigin = tc.origin
			}
			if got := h.Get("Access-Control-Allow-Origin"); got != wantOrigin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, wantOrigin)
			}
			wantPre := map[string]string{"Access-Control-Allow-Methods": "", "Access-Control-Allow-Headers": "", "Access-Control-Max-Age": ""}
			if tc.preflight {
				wantPre = map[string]string{"Access-Control-Allow-Methods": "POST", "Access-Control-Allow-Headers": corsAllowHeaders, "Access-Control-Max-Age": "7200"}
			}
			for k, want := range wantPre {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			wantExpose := ""
			if tc.allowed && !tc.preflight {
				wantExpose = "x-amzn-requestid, x-amzn-errortype"
			}
			if got := h.Get("Access-Control-Expose-Headers"); got != wantExpose {
				t.Errorf("Access-Control-Expose-Headers = %q, want %q", got, wantExpose)
			}
			if got := slices.Contains(h.Values("Vary"), "Origin"); got != tc.vary {
				t.Errorf("Vary = %q, want Origin among them: %v", h.Values("Vary"), tc.vary)
			}
			if got := h.Get("X-Amzn-ErrorType"); !strings.HasPrefix(got, tc.errType) || (tc.errType == "") != (got == "") {
				t.Errorf("X-Amzn-ErrorType = %q, want %q", got, tc.errType)
			}
			if h.Get("X-Amzn-RequestId") == "" {
				t.Error("no X-Amzn-RequestId")
			}
		})
	}
}

// fakeEvents mounts the events routes; preflights never reach its methods.
type fakeEvents struct{ eventsService }

// TestCORSEveryRESTRoute: every runtime and events route answers a
// preflight from an allowed origin.
func TestCORSEveryRESTRoute(t *testing.T) {
	s := New(Deps{Runtime: cannedRuntime{}, Events: fakeEvents{}}, Options{Credentials: map[string]string{"AKID": "SECRET"}, CORSOrigins: []string{shopOrigin}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if len(restOperations) < 5 {
		t.Fatalf("restOperations = %v, want the runtime and events routes", restOperations)
	}
	for path, op := range restOperations {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, corsRequest(t, http.MethodOptions, path, shopOrigin, map[string]string{"Access-Control-Request-Method": "POST"}, "", time.Time{}))
		if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != shopOrigin {
			t.Errorf("preflight of %s (%s) = %d %v, want 204 allowing %s", path, op, w.Code, w.Header(), shopOrigin)
		}
	}
}

// TestCORSAllowHeadersCoverSDK checks the allowed headers against what the
// AWS SDK for JavaScript v3 sends from a browser (recorded from Chromium's
// preflight by TestBrowserSDK in cmd/attune) and the session token it adds
// with temporary credentials.
func TestCORSAllowHeadersCoverSDK(t *testing.T) {
	allowed := strings.Split(corsAllowHeaders, ", ")
	for _, h := range []string{"amz-sdk-invocation-id", "amz-sdk-request", "authorization", "content-type", "x-amz-content-sha256",
		"x-amz-date", "x-amz-security-token", "x-amz-user-agent"} {
		if !slices.Contains(allowed, h) {
			t.Errorf("Access-Control-Allow-Headers lacks %s", h)
		}
	}
	if len(allowed) != 8 {
		t.Errorf("Access-Control-Allow-Headers = %q, want exactly the 8 the SDK sends", corsAllowHeaders)
	}
}

func TestParseOrigins(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string // part of the error, "" for none
	}{
		{"", nil, ""},
		{"  ", nil, ""},
		{"https://shop.example.com", []string{"https://shop.example.com"}, ""},
		{"https://shop.example.com, http://localhost:3000", []string{"https://shop.example.com", "http://localhost:3000"}, ""},
		{"http://127.0.0.1:8081,http://127.0.0.1:8081", []string{"http://127.0.0.1:8081"}, ""},
		{"http://[::1]:3000", []string{"http://[::1]:3000"}, ""},
		{"https://xn--bcher-kva.example", []string{"https://xn--bcher-kva.example"}, ""},
		{"*", nil, "wildcards"},
		{"https://*.example.com", nil, "wildcards"},
		{"shop.example.com", nil, "scheme://host"},
		{"ftp://shop.example.com", nil, "http or https"},
		{"https://shop.example.com/", nil, "trailing /"},
		{"https://shop.example.com/path", nil, "path"},
		{"https://shop.example.com?x=1", nil, "query"},
		{"https://shop.example.com#top", nil, "fragment"},
		{"https://user@shop.example.com", nil, "user"},
		{"https://Shop.Example.com", nil, `"https://shop.example.com"`},
		{"HTTPS://shop.example.com", nil, `"https://shop.example.com"`},
		{"https://shop.example.com:443", nil, `"https://shop.example.com"`},
		{"http://shop.example.com:80", nil, `"http://shop.example.com"`},
		{"http://shop.example.com:0", nil, "port"},
		{"http://shop.example.com:65536", nil, "port"},
		{"http://shop.example.com:08080", nil, "port"},
		{"http://shop.example.com:", nil, "scheme://host"},
		{"https://bücher.example", nil, "punycode"},
		{"https://a.example.com,,https://b.example.com", nil, "empty origin"},
		{"null", nil, "scheme://host"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseOrigins(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseOrigins(%q) = %q, %v; want an error containing %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("ParseOrigins(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// FuzzParseOrigins: whatever it accepts is a list of serialized http(s)
// origins that parses back to itself; long input is never echoed whole.
func FuzzParseOrigins(f *testing.F) {
	for _, s := range []string{"", "https://shop.example.com", "http://localhost:3000, https://a.b", "http://[::1]:80", "https://x:443",
		"https://Shop.example.com/", "ftp://x", "*", "http://a%41.com", "http://a.com:99999", "http://user:pw@x", "http://x#", "http://x?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseOrigins(s)
		if err != nil {
			if len(s) > 1000 && strings.Contains(err.Error(), s) {
				t.Fatalf("error quotes %d bytes of input whole", len(s))
			}
			return
		}
		for _, o := range got {
			u, perr := url.Parse(o)
			if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Scheme+"://"+u.Host != o || u.Path != "" {
				t.Fatalf("ParseOrigins(%q) accepted %q, which is not a serialized origin", s, o)
			}
		}
		again, err := ParseOrigins(strings.Join(got, ","))
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("ParseOrigins(join(%q)) = %q, %v; want the same list", got, again, err)
		}
	})
}
