package sigv4

import (
	"slices"
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
)

const validAuth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/us-east-1/personalize/aws4_request, " +
	"SignedHeaders=content-type;host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseAuthorization(t *testing.T) {
	want := authorization{
		accessKeyID: "AKIDEXAMPLE", date: "20261127", region: "us-east-1", service: "personalize",
		signedHeaders:    []string{"content-type", "host", "x-amz-date"},
		signedHeadersRaw: "content-type;host;x-amz-date",
		signature:        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	}
	valid := []struct{ name, value string }{
		{"go sdk and botocore form", validAuth},
		{"no spaces after commas", strings.ReplaceAll(validAuth, ", ", ",")},
		{"parameters reordered", "AWS4-HMAC-SHA256 Signature=" + want.signature +
			", SignedHeaders=content-type;host;x-amz-date, Credential=AKIDEXAMPLE/20261127/us-east-1/personalize/aws4_request"},
		{"surrounding spaces", "  " + validAuth + "  "},
	}
	for _, tc := range valid {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAuthorization(tc.value)
			if err != nil {
				t.Fatalf("parseAuthorization(%q) = %v, want nil error", tc.value, err)
			}
			if got.accessKeyID != want.accessKeyID || got.date != want.date || got.region != want.region ||
				got.service != want.service || got.signedHeadersRaw != want.signedHeadersRaw ||
				got.signature != want.signature || !slices.Equal(got.signedHeaders, want.signedHeaders) {
				t.Errorf("parseAuthorization(%q) = %+v, want %+v", tc.value, got, want)
			}
		})
	}

	invalid := []struct{ name, value string }{
		{"empty", ""},
		{"bearer token", "Bearer abc"},
		{"sigv2", "AWS AKIDEXAMPLE:c2lnbmF0dXJl"},
		{"sha1 algorithm", strings.Replace(validAuth, "SHA256", "SHA1", 1)},
		{"algorithm only", "AWS4-HMAC-SHA256"},
		{"missing credential", strings.Replace(validAuth, "Credential=AKIDEXAMPLE/20261127/us-east-1/personalize/aws4_request, ", "", 1)},
		{"missing signed headers", strings.Replace(validAuth, "SignedHeaders=content-type;host;x-amz-date, ", "", 1)},
		{"missing signature", strings.Replace(validAuth, ", Signature=", ", X=", 1)},
		{"empty signature", validAuth[:strings.Index(validAuth, "Signature=")+len("Signature=")]},
		{"part without equals", validAuth + ", garbage"},
		{"unknown parameter", validAuth + ", Foo=bar"},
		{"repeated parameter", validAuth + ", Signature=00"},
		{"credential with four parts", strings.Replace(validAuth, "/aws4_request", "", 1)},
		{"credential with six parts", strings.Replace(validAuth, "aws4_request", "aws4_request/x", 1)},
		{"empty access key", strings.Replace(validAuth, "AKIDEXAMPLE", "", 1)},
		{"bad scope date", strings.Replace(validAuth, "20261127", "2026-11-27", 1)},
		{"impossible scope date", strings.Replace(validAuth, "20261127", "20261399", 1)},
		{"empty region", strings.Replace(validAuth, "us-east-1", "", 1)},
		{"empty service", strings.Replace(validAuth, "personalize", "", 1)},
		{"bad terminator", strings.Replace(validAuth, "aws4_request", "aws4_reqest", 1)},
		{"empty signed header name", strings.Replace(validAuth, "host;", ";", 1)},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseAuthorization(tc.value)
			if got := errs.KindOf(err); got != errs.IncompleteSig {
				t.Errorf("parseAuthorization(%q) = %v (kind %v), want kind IncompleteSig", tc.value, err, got)
			}
		})
	}
}

// FuzzParseAuthorization checks that the parser never panics, classifies
// every rejection as IncompleteSig, and accepts only complete headers.
func FuzzParseAuthorization(f *testing.F) {
	f.Add(validAuth)
	f.Add(strings.ReplaceAll(validAuth, ", ", ","))
	f.Add("AWS4-HMAC-SHA256 Credential=////, SignedHeaders=;, Signature=")
	f.Add("AWS4-HMAC-SHA256 ,,,==,Credential==")
	f.Add("Bearer x")
	f.Add("")
	f.Fuzz(func(t *testing.T, value string) {
		a, err := parseAuthorization(value)
		if err != nil {
			if k := errs.KindOf(err); k != errs.IncompleteSig {
				t.Fatalf("parseAuthorization(%q) error kind = %v, want IncompleteSig", value, k)
			}
			return
		}
		if a.accessKeyID == "" || !validDate(a.date) || a.region == "" || a.service == "" ||
			a.signature == "" || len(a.signedHeaders) == 0 || slices.Contains(a.signedHeaders, "") {
			t.Fatalf("parseAuthorization(%q) = %+v with a missing part, want an error", value, a)
		}
		if strings.Join(a.signedHeaders, ";") != a.signedHeadersRaw {
			t.Fatalf("parseAuthorization(%q): signedHeaders %q do not rejoin to %q", value, a.signedHeaders, a.signedHeadersRaw)
		}
	})
}
