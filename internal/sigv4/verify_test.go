package sigv4_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/sigv4"
)

const (
	accessKey = "AKIDEXAMPLE"
	secretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	token     = "FQoGZXIvYXdzEXAMPLEsessiontoken//+=="
)

// signTime is when the test requests are signed; testNow is shortly after.
var (
	signTime = time.Date(2026, 11, 27, 10, 59, 41, 0, time.UTC)
	testNow  = signTime.Add(30 * time.Second)
)

func lookup(id string) (string, bool) {
	if id == accessKey {
		return secretKey, true
	}
	return "", false
}

// client says which header set a real client signs (see
// docs/aws-clients-and-s3.md §3, §4).
type client int

const (
	goSDK    client = iota // signs amz-sdk-*, content-length, and the rest
	botocore               // signs content-type;host;x-amz-date[;x-amz-target] only
)

// signed describes one request as a client would send it.
type signed struct {
	client  client
	method  string
	url     string
	target  string // X-Amz-Target, control plane only
	ctype   string
	body    string
	token   string // session token, if any
	service string // signing name; empty means personalize
	extra   map[string][]string
	// wantSigned is the SignedHeaders list the real client produces; the
	// test checks the SDK signer really produced it, so the scenario is what
	// it claims to be.
	wantSigned string
}

// send signs s with the real SDK signer, writes it to the wire and reads it
// back with net/http's server-side parser, and returns what internal/api
// would pass to Verify.
func (s signed) send(t testing.TB) sigv4.Request {
	t.Helper()
	r, err := http.NewRequest(s.method, s.url, nil)
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	r.Header = http.Header{}
	if s.ctype != "" {
		r.Header.Set("Content-Type", s.ctype)
	}
	if s.target != "" {
		r.Header.Set("X-Amz-Target", s.target)
	}
	for k, vs := range s.extra {
		r.Header[k] = vs
	}
	if s.client == goSDK {
		r.Header.Set("Amz-Sdk-Invocation-Id", "3e46093f-50e1-478b-a441-6c68ca7b706b")
		r.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
		r.ContentLength = int64(len(s.body))
	}
	sum := sha256.Sum256([]byte(s.body))
	service := s.service
	if service == "" {
		service = "personalize"
	}
	creds := aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey, SessionToken: s.token}
	if err := v4.NewSigner().SignHTTP(t.Context(), creds, r, hex.EncodeToString(sum[:]), service, "us-east-1", signTime); err != nil {
		t.Fatalf("SignHTTP: %v", err)
	}
	if got := r.Header.Get("Authorization"); s.wantSigned != "" && !strings.Contains(got, "SignedHeaders="+s.wantSigned+",") {
		t.Fatalf("SDK signed %q, want SignedHeaders=%s", got, s.wantSigned)
	}
	if s.client == botocore {
		// botocore sends these too, but leaves them out of the signature.
		r.Header.Set("Amz-Sdk-Invocation-Id", "ebd08896-fba7-4f46-8f1c-9c0b1aa2056a")
		r.Header.Set("Amz-Sdk-Request", "attempt=1")
		r.Header.Set("Accept-Encoding", "identity")
		r.ContentLength = int64(len(s.body))
	}
	r.Header.Set("User-Agent", "test-client/1.0")
	r.Body = io.NopCloser(strings.NewReader(s.body))

	var wire bytes.Buffer
	if err := r.Write(&wire); err != nil {
		t.Fatalf("write request: %v", err)
	}
	sr, err := http.ReadRequest(bufio.NewReader(&wire))
	if err != nil {
		t.Fatalf("read request: %v", err)
	}
	req, err := toRequest(sr)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return req
}

// toRequest does what internal/api does: copy the server-side request and
// hash its body.
func toRequest(r *http.Request) (sigv4.Request, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return sigv4.Request{}, err
	}
	sum := sha256.Sum256(body)
	return sigv4.Request{
		Method:        r.Method,
		Path:          r.URL.EscapedPath(),
		RawQuery:      r.URL.RawQuery,
		Host:          r.Host,
		Header:        r.Header,
		ContentLength: r.ContentLength,
		PayloadHash:   hex.EncodeToString(sum[:]),
	}, nil
}

var (
	goControl = signed{client: goSDK, method: "POST", url: "http://127.0.0.1:4599/",
		target: "AmazonPersonalize.ListDatasetGroups", ctype: "application/x-amz-json-1.1", body: "{}",
		wantSigned: "amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-date;x-amz-target"}
	botoControl = signed{client: botocore, method: "POST", url: "http://127.0.0.1:4599/",
		target: "AmazonPersonalize.ListDatasetGroups", ctype: "application/x-amz-json-1.1", body: "{}",
		wantSigned: "content-type;host;x-amz-date;x-amz-target"}
	recBody  = `{"campaignArn":"arn:aws:personalize:us-east-1:000000000000:campaign/x","userId":"u1"}`
	goRecs   = signed{client: goSDK, method: "POST", url: "http://127.0.0.1:4599/recommendations", ctype: "application/json", body: recBody, wantSigned: "amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-date"}
	botoRecs = signed{client: botocore, method: "POST", url: "http://127.0.0.1:4599/recommendations", ctype: "application/json", body: recBody, wantSigned: "content-type;host;x-amz-date"}
	evBody   = `{"trackingId": "t", "sessionId": "s", "eventList": [{"eventType": "click", "sentAt": 1700000000}]}`
)

func TestVerifyValid(t *testing.T) {
	tests := []struct {
		name string
		req  signed
	}{
		{"go sdk control plane", goControl},
		{"botocore control plane", botoControl},
		{"go sdk recommendations", goRecs},
		{"botocore recommendations", botoRecs},
		{"go sdk events", signed{client: goSDK, method: "POST", url: "http://127.0.0.1:4599/events", ctype: "application/json", body: evBody}},
		{"botocore events", signed{client: botocore, method: "POST", url: "http://127.0.0.1:4599/events", ctype: "application/json", body: evBody}},
		{"go sdk events with session token", signed{client: goSDK, method: "POST", url: "http://127.0.0.1:4599/events",
			ctype: "application/json", body: evBody, token: token,
			wantSigned: "amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-date;x-amz-security-token"}},
		{"botocore control plane with session token", signed{client: botocore, method: "POST", url: "http://127.0.0.1:4599/",
			target: "AmazonPersonalize.ListDatasetGroups", ctype: "application/x-amz-json-1.1", body: "{}", token: token,
			wantSigned: "content-type;host;x-amz-date;x-amz-security-token;x-amz-target"}},
		{"query string", signed{client: goSDK, method: "GET", url: "http://127.0.0.1:4599/items?b=2&a=1&a=0&k=a%20b&p=x%2By&t=~&s=a/b&flag"}},
		{"host without port", signed{client: goSDK, method: "POST", url: "http://personalize.local/recommendations", ctype: "application/json", body: recBody}},
		{"host with other port", signed{client: botocore, method: "POST", url: "https://localhost:8443/events", ctype: "application/json", body: evBody}},
		{"path with spaces and escapes", signed{client: goSDK, method: "POST", url: "http://127.0.0.1:4599/a%20b/c%2Fd/%C3%A9", body: "x"}},
		{"empty body", signed{client: goSDK, method: "GET", url: "http://127.0.0.1:4599/", wantSigned: "amz-sdk-invocation-id;amz-sdk-request;host;x-amz-date"}},
		{"repeated and spaced headers", signed{client: goSDK, method: "POST", url: "http://127.0.0.1:4599/", body: "{}",
			extra: map[string][]string{"X-Custom": {"  a    b ", "c"}, "X-Other": {"x\ty"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req.send(t)
			for _, keys := range []*sigv4.KeyCache{nil, sigv4.NewKeyCache(0)} {
				id, err := sigv4.Verify(req, lookup, testNow, sigv4.Options{Keys: keys})
				if err != nil {
					t.Fatalf("Verify(%s) = %v, want nil", req.Header["Authorization"], err)
				}
				if want := (sigv4.Identity{AccessKeyID: accessKey, Region: "us-east-1", Date: "20261127"}); id != want {
					t.Errorf("Verify = %+v, want %+v", id, want)
				}
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	otherSecret := func(string) (string, bool) { return "not-the-secret", true }
	setAuth := func(old, new string) func(*sigv4.Request) {
		return func(r *sigv4.Request) {
			r.Header["Authorization"] = []string{strings.Replace(r.Header["Authorization"][0], old, new, 1)}
		}
	}
	tokenReq := signed{client: goSDK, method: "POST", url: "http://127.0.0.1:4599/events", ctype: "application/json", body: evBody, token: token}
	tests := []struct {
		name   string
		req    signed
		mutate func(*sigv4.Request)
		lookup sigv4.SecretLookup
		now    time.Time
		opts   sigv4.Options
		want   errs.Kind
	}{
		{name: "body tampered", req: goControl, want: errs.BadSignature,
			mutate: func(r *sigv4.Request) { r.PayloadHash = strings.Repeat("0", 64) }},
		{name: "botocore body tampered", req: botoRecs, want: errs.BadSignature,
			mutate: func(r *sigv4.Request) { r.PayloadHash = strings.Repeat("0", 64) }},
		{name: "signed header tampered", req: goControl, want: errs.BadSignature,
			mutate: func(r *sigv4.Request) { r.Header["X-Amz-Target"] = []string{"AmazonPersonalize.DeleteDatasetGroup"} }},
		{name: "botocore signed header tampered", req: botoRecs, want: errs.BadSignature,
			mutate: func(r *sigv4.Request) { r.Header["Content-Type"] = []string{"text/plain"} }},
		{name: "host tampered", req: goControl, want: errs.BadSignature,
			mutate: func(r *sigv4.Request) { r.Host = "127.0.0.1:4600" }},
		{name: "content length tampered", req: goControl, want: errs.BadSignature,
			mutate: func(r *sigv4.Request) { r.Header["Content-Length"] = []string{"3"}; r.ContentLength = 3 }},
		{name: "content length field tampered, header absent", req: goControl, want: errs.BadSignature,
			mutate: func(r *sigv4.Request) { delete(r.Header, "Content-Length"); r.ContentLength = 3 }},
		{name: "path tampered", req: goRecs, want: errs.BadSignature,
			mutate: func(r *sigv4.Request) { r.Path = "/personalize-ranking" }},
		{name: "method tampered", req: goRecs, want: errs.BadSignature,
			mutate: func(r *sigv4.Request) { r.Method = "PUT" }},
		{name: "query added", req: goRecs, want: errs.BadSignature,
			mutate: func(r *sigv4.Request) { r.RawQuery = "x=1" }},
		{name: "signature tampered", req: goControl, want: errs.BadSignature, mutate: setAuth("Signature=", "Signature=0")},
		{name: "session token tampered", req: tokenReq, want: errs.BadSignature,
			mutate: func(r *sigv4.Request) { r.Header["X-Amz-Security-Token"] = []string{"other"} }},
		{name: "session token removed", req: tokenReq, want: errs.BadSignature,
			mutate: func(r *sigv4.Request) { delete(r.Header, "X-Amz-Security-Token") }},
		{name: "wrong secret", req: goControl, lookup: otherSecret, want: errs.BadSignature},
		{name: "unknown access key", req: goControl, want: errs.Unauthenticated, mutate: setAuth(accessKey, "AKIDUNKNOWN")},
		{name: "no authorization and no date", req: goControl, want: errs.MissingAuth,
			mutate: func(r *sigv4.Request) { delete(r.Header, "Authorization"); delete(r.Header, "X-Amz-Date") }},
		{name: "no authorization", req: goControl, want: errs.IncompleteSig,
			mutate: func(r *sigv4.Request) { delete(r.Header, "Authorization") }},
		{name: "two authorization headers", req: goControl, want: errs.IncompleteSig,
			mutate: func(r *sigv4.Request) { r.Header["Authorization"] = append(r.Header["Authorization"], "x") }},
		{name: "garbage authorization", req: goControl, want: errs.IncompleteSig,
			mutate: func(r *sigv4.Request) { r.Header["Authorization"] = []string{"garbage"} }},
		{name: "missing signature part", req: goControl, want: errs.IncompleteSig, mutate: setAuth(", Signature=", ", X=")},
		{name: "missing x-amz-date", req: goControl, want: errs.IncompleteSig,
			mutate: func(r *sigv4.Request) { delete(r.Header, "X-Amz-Date") }},
		{name: "malformed x-amz-date", req: goControl, want: errs.IncompleteSig,
			mutate: func(r *sigv4.Request) { r.Header["X-Amz-Date"] = []string{"Fri, 27 Nov 2026 10:59:41 GMT"} }},
		{name: "scope date differs from x-amz-date", req: goControl, want: errs.IncompleteSig, mutate: setAuth("/20261127/", "/20261126/")},
		{name: "wrong service in scope", req: func() signed { s := goControl; s.service = "s3"; return s }(), want: errs.IncompleteSig},
		{name: "service other than configured", req: goControl, opts: sigv4.Options{Service: "iam"}, want: errs.IncompleteSig},
		{name: "host not signed", req: goControl, want: errs.IncompleteSig, mutate: setAuth("content-type;host;", "content-type;")},
		{name: "signed too long ago", req: goControl, now: signTime.Add(16 * time.Minute), want: errs.BadSignature},
		{name: "signed in the future", req: goControl, now: signTime.Add(-16 * time.Minute), want: errs.BadSignature},
		{name: "older than custom skew", req: goControl, now: signTime.Add(2 * time.Minute),
			opts: sigv4.Options{MaxSkew: time.Minute}, want: errs.BadSignature},
		{name: "region other than configured", req: goControl, opts: sigv4.Options{Region: "eu-west-1"}, want: errs.BadSignature},
		{name: "required header not signed", req: botoRecs, opts: sigv4.Options{SignedHeaders: []string{"x-amz-target"}},
			want: errs.IncompleteSig},
		{name: "target unsigned but present", req: goControl, opts: sigv4.Options{SignedHeaders: []string{"x-amz-target"}},
			want: errs.IncompleteSig, mutate: setAuth(";x-amz-target", "")},
		// Controls: changes that must not break a valid signature.
		{name: "region as configured", req: goControl, opts: sigv4.Options{Region: "us-east-1"}},
		{name: "required header signed", req: botoControl, opts: sigv4.Options{SignedHeaders: []string{"x-amz-target"}}},
		{name: "unsigned header changed", req: botoControl,
			mutate: func(r *sigv4.Request) {
				r.Header["User-Agent"] = []string{"other"}
				r.Header["Amz-Sdk-Request"] = []string{"attempt=2"}
				// botocore does not sign content-length.
				r.Header["Content-Length"] = []string{"3"}
				r.ContentLength = 3
			}},
		{name: "content length from field when header absent", req: goControl,
			mutate: func(r *sigv4.Request) { delete(r.Header, "Content-Length") }},
		{name: "within skew", req: goControl, now: signTime.Add(14 * time.Minute)},
		{name: "within skew, clock behind", req: goControl, now: signTime.Add(-14 * time.Minute)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req.send(t)
			if tc.mutate != nil {
				tc.mutate(&req)
			}
			lk, now := tc.lookup, tc.now
			if lk == nil {
				lk = lookup
			}
			if now.IsZero() {
				now = testNow
			}
			_, err := sigv4.Verify(req, lk, now, tc.opts)
			if tc.want == errs.Internal {
				if err != nil {
					t.Fatalf("Verify = %v, want nil", err)
				}
				return
			}
			if got := errs.KindOf(err); err == nil || got != tc.want {
				t.Fatalf("Verify = %v (kind %v), want kind %v", err, got, tc.want)
			}
			if errs.Message(err) == "" {
				t.Errorf("Verify error %v has no client message", err)
			}
		})
	}
}

// TestVerifyEmptyPayloadHash checks that a caller that forgot to hash the
// body gets an internal error rather than a confusing signature mismatch.
func TestVerifyEmptyPayloadHash(t *testing.T) {
	req := goControl.send(t)
	req.PayloadHash = ""
	if _, err := sigv4.Verify(req, lookup, testNow, sigv4.Options{}); err == nil || errs.KindOf(err) != errs.Internal {
		t.Errorf("Verify(no PayloadHash) = %v, want an Internal error", err)
	}
}

// TestCheckHeadersBeforeBody checks the two phases: CheckHeaders decides
// without the payload hash (so a server need not read the body first), and
// VerifyPayload then catches a body that differs from the signed one.
func TestCheckHeadersBeforeBody(t *testing.T) {
	req := goControl.send(t)
	hash := req.PayloadHash
	req.PayloadHash = ""
	h, err := sigv4.CheckHeaders(req, lookup, testNow, sigv4.Options{Region: "us-east-1"})
	if err != nil {
		t.Fatalf("CheckHeaders(no payload hash) = %v, want nil", err)
	}
	if got := h.Identity().AccessKeyID; got != accessKey {
		t.Errorf("CheckHeaders().Identity().AccessKeyID = %q, want %q", got, accessKey)
	}
	req.PayloadHash = strings.Repeat("0", 64)
	if _, err := h.VerifyPayload(req); errs.KindOf(err) != errs.BadSignature {
		t.Errorf("VerifyPayload(other body) = %v, want BadSignature", err)
	}
	req.PayloadHash = hash
	if id, err := h.VerifyPayload(req); err != nil || id.AccessKeyID != accessKey {
		t.Errorf("VerifyPayload(signed body) = %+v, %v; want %s, nil", id, err, accessKey)
	}
	if _, err := (sigv4.Header{}).VerifyPayload(req); err == nil || errs.KindOf(err) != errs.Internal {
		t.Errorf("zero Header.VerifyPayload = %v, want an Internal error", err)
	}
	if got, want := sigv4.AccessKeyIDOf(req.Header), sigv4.LoggableKeyID(accessKey); got != want {
		t.Errorf("AccessKeyIDOf = %q, want %q", got, want)
	}
	if got := sigv4.AccessKeyIDOf(map[string][]string{"Authorization": {"Bearer x"}}); got != "" {
		t.Errorf("AccessKeyIDOf(Bearer) = %q, want empty", got)
	}
}

func TestLoggableKeyID(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"AKIATESTATTUNE000001", "AKIATESTATTUNE000001"},
		{"AKIDEXAMPLE", "(not an access key id, 11 bytes)"},
		{secretKey, "(not an access key id, 40 bytes)"},
		{"akiatestattune000001", "(not an access key id, 20 bytes)"},
		{strings.Repeat("A", 129), "(not an access key id, 129 bytes)"},
	} {
		if got := sigv4.LoggableKeyID(tc.in); got != tc.want {
			t.Errorf("LoggableKeyID(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	req := goControl.send(b)
	for _, bc := range []struct {
		name string
		keys *sigv4.KeyCache
	}{{"cached key", sigv4.NewKeyCache(0)}, {"derived key", nil}} {
		b.Run(bc.name, func(b *testing.B) {
			opts := sigv4.Options{Keys: bc.keys}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := sigv4.Verify(req, lookup, testNow, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
