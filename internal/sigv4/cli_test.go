package sigv4_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/sigv4"
	"github.com/attune-dev/attune/internal/testenv"
)

// verifyServer answers every request that Verify accepts with 200 "{}" and
// records each outcome, so a test can see what a real client sent.
type verifyServer struct {
	mu      sync.Mutex
	results []verifyResult
}

type verifyResult struct {
	path   string
	id     sigv4.Identity
	err    error
	signed string // the Authorization header, for failure messages
	token  string // X-Amz-Security-Token as received
}

func (s *verifyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var id sigv4.Identity
	req, err := toRequest(r)
	if err == nil {
		id, err = sigv4.Verify(req, lookup, time.Now(), sigv4.Options{})
	}
	s.mu.Lock()
	s.results = append(s.results, verifyResult{path: r.URL.Path, id: id, err: err,
		signed: r.Header.Get("Authorization"), token: r.Header.Get("X-Amz-Security-Token")})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if err != nil {
		// 400, not 5xx: the CLI would retry a server error.
		w.Header().Set("X-Amzn-ErrorType", "InvalidSignatureException")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"__type":"InvalidSignatureException","message":"signature rejected"}`))
		return
	}
	w.Write([]byte("{}"))
}

func (s *verifyServer) take() []verifyResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.results
	s.results = nil
	return r
}

// TestAWSCLI signs requests with the pip AWS CLI (botocore), which is the
// client most users will point at Attune.
func TestAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping AWS CLI test in -short mode")
	}
	if _, err := exec.LookPath("aws"); err != nil {
		testenv.Missing(t, "the AWS CLI (`aws`, e.g. `pip install awscli`) is not on PATH")
	}
	srv := &verifyServer{}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)

	tests := []struct {
		name     string
		args     []string
		secret   string
		token    string
		wantPath string
		wantKind errs.Kind // Internal means success
	}{
		{name: "control plane", args: []string{"personalize", "list-dataset-groups"}, secret: secretKey, wantPath: "/"},
		{name: "wrong secret", args: []string{"personalize", "list-dataset-groups"}, secret: "wrong", wantPath: "/",
			wantKind: errs.BadSignature},
		{name: "runtime", args: []string{"personalize-runtime", "get-recommendations", "--campaign-arn",
			"arn:aws:personalize:us-east-1:000000000000:campaign/x", "--user-id", "u1"}, secret: secretKey, wantPath: "/recommendations"},
		{name: "events with session token", args: []string{"personalize-events", "put-events", "--tracking-id", "t",
			"--session-id", "s", "--event-list", `[{"eventType":"click","sentAt":1700000000}]`},
			secret: secretKey, token: token, wantPath: "/events"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			args := append(tc.args, "--endpoint-url", ts.URL, "--region", "us-east-1")
			cmd := exec.CommandContext(ctx, "aws", args...)
			cmd.Env = cliEnv(tc.secret, tc.token)
			out, runErr := cmd.CombinedOutput()

			results := srv.take()
			if len(results) != 1 {
				t.Fatalf("server saw %d requests, want 1; aws %v: %v\n%s", len(results), args, runErr, out)
			}
			res := results[0]
			if res.path != tc.wantPath {
				t.Errorf("request path = %q, want %q", res.path, tc.wantPath)
			}
			if tc.wantKind != errs.Internal {
				if got := errs.KindOf(res.err); res.err == nil || got != tc.wantKind {
					t.Errorf("Verify = %v (kind %v), want kind %v", res.err, got, tc.wantKind)
				}
				if runErr == nil {
					t.Errorf("aws %v succeeded, want a failure after the server rejected it", args)
				}
				return
			}
			if res.err != nil {
				t.Fatalf("Verify(%s) = %v, want nil", res.signed, res.err)
			}
			if runErr != nil {
				t.Fatalf("aws %v: %v\n%s", args, runErr, out)
			}
			if res.id.AccessKeyID != accessKey || res.id.Region != "us-east-1" || len(res.id.Date) != len("20060102") {
				t.Errorf("Verify = %+v, want access key %s in us-east-1 with a YYYYMMDD date", res.id, accessKey)
			}
			if tc.token != "" && (res.token != tc.token || !strings.Contains(res.signed, "x-amz-security-token")) {
				t.Errorf("session token %q, Authorization %q: want the token sent and signed", res.token, res.signed)
			}
		})
	}
}

// cliEnv isolates the CLI from the user's AWS configuration.
func cliEnv(secret, token string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"AWS_ACCESS_KEY_ID="+accessKey,
		"AWS_SECRET_ACCESS_KEY="+secret,
		"AWS_PAGER=",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
	)
	if token != "" {
		env = append(env, "AWS_SESSION_TOKEN="+token)
	}
	return env
}
