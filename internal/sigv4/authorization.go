package sigv4

import (
	"slices"
	"strings"
	"time"

	"github.com/attune-dev/attune/internal/errs"
)

// authorization is a parsed SigV4 Authorization header:
//
//	AWS4-HMAC-SHA256 Credential=AKID/20261127/us-east-1/personalize/aws4_request,
//	    SignedHeaders=content-type;host;x-amz-date, Signature=<64 hex digits>
type authorization struct {
	accessKeyID string
	date        string // YYYYMMDD of the credential scope
	region      string
	service     string
	// signedHeaders is signedHeadersRaw split on ';'. The raw form is kept
	// because it goes into the canonical request exactly as the client sent it.
	signedHeaders    []string
	signedHeadersRaw string
	signature        string
}

// signs reports whether name (lower case) is among the signed headers.
func (a authorization) signs(name string) bool {
	for _, h := range a.signedHeaders {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// paramNames are the parameters of a SigV4 Authorization header.
var paramNames = [...]string{"Credential", "SignedHeaders", "Signature"}

// parseAuthorization parses an Authorization header value. Every error it
// returns is classified errs.IncompleteSig.
func parseAuthorization(value string) (authorization, error) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(value), " ")
	if alg != algorithm {
		return authorization{}, errs.E(errs.IncompleteSig,
			"Unsupported AWS 'algorithm' in the Authorization header: only '%s' is supported.", algorithm)
	}

	// params holds Credential, SignedHeaders and Signature, in paramNames order.
	var params [len(paramNames)]string
	var seen [len(paramNames)]bool
	// Both botocore and the Go SDK separate the parameters with ", ", but
	// the spec only requires commas, so spaces are optional.
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		key, val, ok := strings.Cut(part, "=")
		if !ok {
			return authorization{}, errs.E(errs.IncompleteSig,
				"'%s' not a valid key=value pair (missing equal-sign) in Authorization header.", truncate(part))
		}
		i := slices.Index(paramNames[:], key)
		switch {
		case i < 0:
			return authorization{}, errs.E(errs.IncompleteSig,
				"Unknown parameter '%s' in Authorization header.", truncate(key))
		case seen[i]:
			// A repeated parameter would make it ambiguous which one counts.
			return authorization{}, errs.E(errs.IncompleteSig,
				"Parameter '%s' appears more than once in Authorization header.", key)
		}
		seen[i] = true
		params[i] = val
	}

	var missing []string
	for i, name := range paramNames {
		if params[i] == "" {
			missing = append(missing, "Authorization header requires '"+name+"' parameter.")
		}
	}
	if len(missing) > 0 {
		return authorization{}, errs.E(errs.IncompleteSig, "%s", strings.Join(missing, " "))
	}
	credential, signedHeaders, signature := params[0], params[1], params[2]

	a := authorization{signedHeadersRaw: signedHeaders, signature: signature}
	if err := a.parseCredential(credential); err != nil {
		return authorization{}, err
	}
	a.signedHeaders = strings.Split(signedHeaders, ";")
	for _, h := range a.signedHeaders {
		if h == "" {
			return authorization{}, errs.E(errs.IncompleteSig,
				"SignedHeaders '%s' has an empty header name.", truncate(signedHeaders))
		}
	}
	return a, nil
}

// parseCredential parses "AKID/YYYYMMDD/region/service/aws4_request".
func (a *authorization) parseCredential(credential string) error {
	parts := strings.Split(credential, "/")
	if len(parts) != 5 {
		return errs.E(errs.IncompleteSig,
			"Credential must have the form <access key>/<YYYYMMDD>/<region>/<service>/aws4_request, got '%s'.",
			truncate(credential))
	}
	a.accessKeyID, a.date, a.region, a.service = parts[0], parts[1], parts[2], parts[3]
	switch {
	case a.accessKeyID == "":
		return errs.E(errs.IncompleteSig, "Credential should contain an access key ID.")
	case !validDate(a.date):
		return errs.E(errs.IncompleteSig, "Credential should be scoped to a valid date (YYYYMMDD), not '%s'.", truncate(a.date))
	case a.region == "":
		return errs.E(errs.IncompleteSig, "Credential should be scoped to a valid region.")
	case a.service == "":
		return errs.E(errs.IncompleteSig, "Credential should be scoped to a valid service.")
	case parts[4] != terminator:
		return errs.E(errs.IncompleteSig, "Credential should be scoped with a valid terminator: '%s', not '%s'.",
			terminator, truncate(parts[4]))
	}
	return nil
}

func validDate(s string) bool {
	if len(s) != len(dateFormat) {
		return false
	}
	_, err := time.Parse(dateFormat, s)
	return err == nil
}
