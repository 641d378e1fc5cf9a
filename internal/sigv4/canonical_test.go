package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/errs"
)

const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// The worked example of the AWS documentation ("Examples of how to derive a
// signing key" / "Create a canonical request", IAM ListUsers). Its values
// come from AWS, not from any SDK, so this test checks Verify against the
// spec independently of the signer used by the other tests.
func TestVerifyAWSDocExample(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	if got, want := hex.EncodeToString(deriveSigningKey(secret, "20150830", "us-east-1", "iam")),
		"c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"; got != want {
		t.Fatalf("deriveSigningKey = %s, want %s", got, want)
	}

	req := Request{
		Method:   "GET",
		Path:     "/",
		RawQuery: "Action=ListUsers&Version=2010-05-08",
		Host:     "iam.amazonaws.com",
		Header: map[string][]string{
			"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"},
			"X-Amz-Date":   {"20150830T123600Z"},
			"Authorization": {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, " +
				"SignedHeaders=content-type;host;x-amz-date, " +
				"Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"},
		},
		PayloadHash: emptyHash,
	}
	auth, err := parseAuthorization(req.Header["Authorization"][0])
	if err != nil {
		t.Fatalf("parseAuthorization: %v", err)
	}
	canonical := canonicalRequest(req, auth)
	if sum := sha256.Sum256([]byte(canonical)); hex.EncodeToString(sum[:]) !=
		"f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59" {
		t.Errorf("canonicalRequest = %q, whose hash differs from the documented one", canonical)
	}

	lookup := func(id string) (string, bool) { return secret, id == "AKIDEXAMPLE" }
	now := time.Date(2015, 8, 30, 12, 40, 0, 0, time.UTC)
	id, err := Verify(req, lookup, now, Options{Service: "iam"})
	if err != nil {
		t.Fatalf("Verify(doc example) = %v, want nil", err)
	}
	if want := (Identity{AccessKeyID: "AKIDEXAMPLE", Region: "us-east-1", Date: "20150830"}); id != want {
		t.Errorf("Verify(doc example) = %+v, want %+v", id, want)
	}
	// The same request must fail for Personalize, whose scope it does not name.
	if _, err := Verify(req, lookup, now, Options{}); errs.KindOf(err) != errs.IncompleteSig {
		t.Errorf("Verify(doc example, service personalize) = %v, want kind IncompleteSig", err)
	}
}

func TestCanonicalURI(t *testing.T) {
	tests := []struct {
		name, path, want string
	}{
		{"empty", "", "/"},
		{"root", "/", "/"},
		{"simple", "/recommendations", "/recommendations"},
		{"unreserved kept", "/a-b_c.d~e/F9", "/a-b_c.d~e/F9"},
		{"escaped space encoded again", "/a%20b", "/a%2520b"},
		{"escaped slash encoded again", "/a%2Fb/c", "/a%252Fb/c"},
		{"reserved characters", "/a:b@c+d=e", "/a%3Ab%40c%2Bd%3De"},
		{"utf-8 bytes", "/\xc3\xa9", "/%C3%A9"},
		{"double slash kept", "//x//", "//x//"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := canonicalURI(tc.path); got != tc.want {
				t.Errorf("canonicalURI(%q) = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
}

func TestCanonicalQuery(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"empty", "", ""},
		{"sorted by key", "b=2&a=1", "a=1&b=2"},
		{"same key sorted by value", "k=b&k=a&k=c", "k=a&k=b&k=c"},
		{"sort after encoding", "k=a-b&k=a%2Fb", "k=a%2Fb&k=a-b"},
		{"plus is a space", "k=a+b", "k=a%20b"},
		{"encoded plus stays plus", "k=a%2Bb", "k=a%2Bb"},
		{"no value", "flag&a=1", "a=1&flag="},
		{"reserved characters", "k=a/b:c", "k=a%2Fb%3Ac"},
		{"unreserved not encoded", "k=%7E%2D", "k=~-"},
		{"undecodable pair dropped", "a=1&b=%zz", "a=1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := canonicalQuery(tc.raw); got != tc.want {
				t.Errorf("canonicalQuery(%q) = %q, want %q", tc.raw, got, tc.want)
			}
		})
	}
}

func TestCanonicalHeaders(t *testing.T) {
	req := Request{
		Host:          "127.0.0.1:4599",
		ContentLength: 2,
		Header: map[string][]string{
			"X-Multi":      {"  a   b  ", "c"},
			"x-lowercase":  {"v"},
			"Content-Type": {"application/json"},
		},
	}
	tests := []struct {
		name, header, want string
	}{
		{"host from its field", "host", "127.0.0.1:4599"},
		{"content-length from its field", "content-length", "2"},
		{"trimmed, spaces collapsed, repeats joined", "x-multi", "a b,c"},
		{"non-canonical key found", "x-lowercase", "v"},
		{"missing header is empty", "x-absent", ""},
		{"plain header", "content-type", "application/json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			writeHeaderValue(&b, signedHeaderValues(req, tc.header))
			if got := b.String(); got != tc.want {
				t.Errorf("canonical value of %q = %q, want %q", tc.header, got, tc.want)
			}
		})
	}
	// A Content-Length header, if the caller left one in the map, wins over
	// the field, because it is what the client sent.
	req.Header["Content-Length"] = []string{"7"}
	if got := signedHeaderValues(req, "content-length"); len(got) != 1 || got[0] != "7" {
		t.Errorf("signedHeaderValues(content-length with header) = %q, want [7]", got)
	}
}
