package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoginRateLimit drives the login endpoint directly (one goroutine, a
// fake clock) and checks that failures from one address are limited while
// other addresses and the right secret are not.
func TestLoginRateLimit(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var logs bytes.Buffer
	h := New(Deps{}, Options{Credentials: map[string]string{keyID: secret}, Now: func() time.Time { return now },
		Log: slog.New(slog.NewTextHandler(&logs, nil)), LoginBurst: 3, LoginRefill: 10 * time.Second})
	login := func(addr, sec string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/console/api/login", strings.NewReader(`{"accessKeyId":"`+keyID+`","secretAccessKey":"`+sec+`"}`))
		req.RemoteAddr = addr
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	const attacker, other = "192.0.2.7:4000", "198.51.100.1:5000"
	steps := []struct {
		name      string
		addr, sec string
		advance   time.Duration
		want      int
		wantRetry string
	}{
		{"first failure", attacker, "guess", 0, http.StatusUnauthorized, ""},
		{"second failure", "192.0.2.7:4001", "guess", 0, http.StatusUnauthorized, ""}, // another port, same address
		{"third failure", attacker, "guess", 0, http.StatusUnauthorized, ""},
		{"burst used up", attacker, "guess", 0, http.StatusTooManyRequests, "10"},
		{"right secret also waits", attacker, secret, 0, http.StatusTooManyRequests, "10"},
		{"other address unaffected", other, secret, 0, http.StatusOK, ""},
		{"partly refilled", attacker, "guess", 4 * time.Second, http.StatusTooManyRequests, "6"},
		{"one token back", attacker, "guess", 6 * time.Second, http.StatusUnauthorized, ""},
		{"and spent again", attacker, secret, 0, http.StatusTooManyRequests, "10"},
		{"refilled: right secret", attacker, secret, 10 * time.Second, http.StatusOK, ""},
		{"success took no token", attacker, secret, 0, http.StatusOK, ""},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		rec := login(s.addr, s.sec)
		if rec.Code != s.want || rec.Header().Get("Retry-After") != s.wantRetry {
			t.Fatalf("%s: login = %d Retry-After %q (%s), want %d Retry-After %q", s.name, rec.Code,
				rec.Header().Get("Retry-After"), rec.Body, s.want, s.wantRetry)
		}
		if s.want == http.StatusTooManyRequests && !strings.Contains(rec.Body.String(), "too many failed sign-ins") {
			t.Errorf("%s: body %s, want the console's JSON error saying why", s.name, rec.Body)
		}
	}
	if !strings.Contains(logs.String(), "console sign-in failed") || !strings.Contains(logs.String(), "accessKeyId="+keyID) ||
		!strings.Contains(logs.String(), "client=192.0.2.7") {
		t.Errorf("logs = %s, want failed sign-ins with the access key id and client address", logs.String())
	}
	if strings.Contains(logs.String(), "guess") || strings.Contains(logs.String(), secret) {
		t.Errorf("logs hold a secret: %s", logs.String())
	}
}

func TestClientAddr(t *testing.T) {
	for _, tc := range []struct{ remote, want string }{
		{"192.0.2.7:4000", "192.0.2.7"},
		{"[::ffff:192.0.2.7]:4000", "192.0.2.7"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::/64"},
		{"not an address", "not an address"},
	} {
		r := httptest.NewRequest("POST", "/", nil)
		r.RemoteAddr = tc.remote
		if got := clientAddr(r); got != tc.want {
			t.Errorf("clientAddr(%q) = %q, want %q", tc.remote, got, tc.want)
		}
	}
}

// TestLoginRateLimitParallel sends many guesses at once from one address:
// no more than the burst may reach the credential check.
func TestLoginRateLimitParallel(t *testing.T) {
	h := New(Deps{}, Options{Credentials: map[string]string{keyID: secret}, LoginBurst: 3, LoginRefill: time.Hour})
	var wg sync.WaitGroup
	var checked atomic.Int32
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest("POST", "/console/api/login", strings.NewReader(`{"accessKeyId":"`+keyID+`","secretAccessKey":"guess"}`))
			req.RemoteAddr = "192.0.2.7:4000"
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code == http.StatusUnauthorized {
				checked.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := checked.Load(); n != 3 {
		t.Errorf("%d of 50 parallel guesses were checked, want 3 (the burst)", n)
	}
}
