package sigv4

import (
	"strings"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/errs"
)

// FuzzCheckHeaders feeds arbitrary Authorization and X-Amz-Date values to
// the header phase: it must never panic, must classify every refusal as one
// of the signature kinds (never Internal), and may pass only a request whose
// scope is the configured service and region, signs host and x-amz-target,
// and names the one known key.
func FuzzCheckHeaders(f *testing.F) {
	now := time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)
	f.Add(strings.Replace(validAuth, "content-type;host;x-amz-date", "host;x-amz-date;x-amz-target", 1), "20261127T105941Z")
	f.Add(validAuth, "20261127T105941Z")
	f.Add(strings.Replace(validAuth, "us-east-1", "eu-west-1", 1), "20261127T105941Z")
	f.Add(validAuth, "20261127T235959Z")
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/us-east-1/personalize/aws4_request,SignedHeaders=host;x-amz-target,Signature=00", "2026")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, auth, date string) {
		h := map[string][]string{}
		if auth != "" {
			h["Authorization"] = []string{auth}
		}
		if date != "" {
			h["X-Amz-Date"] = []string{date}
		}
		lookup := func(id string) (string, bool) { return "secret", id == "AKIDEXAMPLE" }
		hdr, err := CheckHeaders(Request{Method: "POST", Path: "/", Header: h}, lookup, now,
			Options{Region: "us-east-1", SignedHeaders: []string{"x-amz-target"}})
		if err != nil {
			switch k := errs.KindOf(err); k {
			case errs.MissingAuth, errs.IncompleteSig, errs.BadSignature, errs.Unauthenticated:
			default:
				t.Fatalf("CheckHeaders(%q, %q) error kind %v, want a signature kind: %v", auth, date, k, err)
			}
			if msg := errs.Message(err); len(msg) > 400 {
				t.Fatalf("CheckHeaders(%q, %q) message is %d bytes long, want client text cut short", auth, date, len(msg))
			}
			return
		}
		a := hdr.auth
		if a.accessKeyID != "AKIDEXAMPLE" || a.region != "us-east-1" || a.service != DefaultService ||
			!a.signs("host") || !a.signs("x-amz-target") || !strings.HasPrefix(hdr.amzDate, a.date) {
			t.Fatalf("CheckHeaders(%q, %q) passed %+v", auth, date, a)
		}
	})
}
