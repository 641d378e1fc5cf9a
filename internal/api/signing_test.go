package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/arn"
)

// countingReader is an endless body that counts what the server read.
type countingReader struct{ n int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	c.n += int64(len(p))
	return len(p), nil
}

// TestRejectedBodyNotRead checks that requests refused on their signature
// headers have at most rejectedBodyCap of their body read, and that the
// answer closes the connection when the body was larger.
func TestRejectedBodyNotRead(t *testing.T) {
	now := time.Now().UTC()
	s := New(Deps{}, Options{Credentials: map[string]string{"AKIATESTATTUNE000001": "secret"}, Scope: arn.Scope{Region: "us-east-1", Account: "000000000000"}},
		slog.New(slog.DiscardHandler))
	unknownKey := "AWS4-HMAC-SHA256 Credential=AKIANOBODY0000000000/" + now.Format("20060102") +
		"/us-east-1/personalize/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + strings.Repeat("0", 64)
	wrongRegion := strings.Replace(strings.Replace(unknownKey, "AKIANOBODY0000000000", "AKIATESTATTUNE000001", 1), "us-east-1", "eu-west-1", 1)
	targetUnsigned := strings.Replace(strings.Replace(unknownKey, "AKIANOBODY0000000000", "AKIATESTATTUNE000001", 1), ";x-amz-target", "", 1)
	for _, tc := range []struct {
		name, auth, wantType string
		size                 int64
		wantClose            bool
	}{
		{"unsigned, large", "", "MissingAuthenticationTokenException", 1 << 30, true},
		{"unknown key, large", unknownKey, "UnrecognizedClientException", 1 << 30, true},
		{"wrong region, large", wrongRegion, "InvalidSignatureException", 1 << 30, true},
		{"target unsigned, large", targetUnsigned, "IncompleteSignatureException", 1 << 30, true},
		{"unsigned, small", "", "MissingAuthenticationTokenException", 100, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := &countingReader{}
			req := httptest.NewRequest(http.MethodPost, "/", io.LimitReader(body, tc.size))
			req.Header.Set("X-Amz-Target", "AmazonPersonalize.ListDatasetGroups")
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
				req.Header.Set("X-Amz-Date", now.Format("20060102T150405Z"))
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if got := rec.Header().Get("X-Amzn-ErrorType"); got != tc.wantType {
				t.Errorf("error type = %q (%s), want %s", got, rec.Body, tc.wantType)
			}
			// Reads come in buffers; allow one beyond the cap.
			if body.n > rejectedBodyCap+32<<10 {
				t.Errorf("server read %d bytes of a refused body, want at most %d", body.n, rejectedBodyCap)
			}
			if got := rec.Header().Get("Connection") == "close"; got != tc.wantClose {
				t.Errorf("Connection: close = %v, want %v", got, tc.wantClose)
			}
		})
	}
}
