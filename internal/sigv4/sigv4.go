// Package sigv4 verifies AWS Signature Version 4 on incoming requests, so that
// the AWS CLI and SDKs can call Attune with ordinary access keys by changing
// only their endpoint.
//
// It sees a request as a plain Request value that internal/api fills in: it
// must not import net/http (only api touches *http.Request) and imports
// nothing of Attune but errs. Time comes in as an argument, never time.Now.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/textproto"
	"strconv"
	"time"

	"github.com/attune-dev/attune/internal/errs"
)

const (
	// DefaultService is the signing name that all three Personalize APIs
	// (control plane, runtime, events) put in their credential scope.
	DefaultService = "personalize"
	// DefaultMaxSkew is how far a request's X-Amz-Date may be from the
	// server's clock; AWS uses the same 15 minutes.
	DefaultMaxSkew = 15 * time.Minute

	algorithm  = "AWS4-HMAC-SHA256"
	terminator = "aws4_request"
	timeFormat = "20060102T150405Z"
	dateFormat = "20060102"
)

// Request is what Verify needs to know about an incoming HTTP request. The
// caller copies it from the server-side *http.Request.
type Request struct {
	Method   string
	Path     string // r.URL.EscapedPath(): the path as the client encoded it
	RawQuery string // r.URL.RawQuery
	Host     string // r.Host: Go moves Host out of the header map
	// Header is r.Header, with canonical keys.
	Header map[string][]string
	// ContentLength is r.ContentLength. The Go SDK signs content-length; its
	// value is taken from Header when present there (Go's HTTP/1.1 server
	// keeps it) and from this field otherwise. -1 means unknown.
	ContentLength int64
	// PayloadHash is the lowercase hex SHA-256 of the body, computed by the
	// caller. It is used even if the client sent X-Amz-Content-Sha256, so an
	// UNSIGNED-PAYLOAD request never passes with an unprotected body.
	PayloadHash string
}

// Options tune Verify and CheckHeaders. The zero value verifies Personalize
// requests from any region with a 15-minute skew and no key cache.
type Options struct {
	// Service is the signing name expected in the credential scope; empty
	// means DefaultService.
	Service string
	// MaxSkew is the largest accepted difference between X-Amz-Date and the
	// server's clock, in either direction; 0 means DefaultMaxSkew.
	MaxSkew time.Duration
	// Keys caches derived signing keys across calls; nil derives the key on
	// every call (four HMACs). Share one cache per server.
	Keys *KeyCache
	// Region is the only region a credential scope may name; empty accepts
	// any region.
	Region string
	// SignedHeaders are header names (lower case) that must be among the
	// SignedHeaders besides host, such as x-amz-target on an awsJson API;
	// nil requires only host.
	SignedHeaders []string
}

// SecretLookup returns the secret access key for an access key ID, and false
// when the ID is unknown. It must be safe for concurrent use if Verify is.
type SecretLookup func(accessKeyID string) (secret string, ok bool)

// Identity is who signed a verified request.
type Identity struct {
	AccessKeyID string
	Region      string // region of the credential scope, e.g. "us-east-1"
	Date        string // date of the credential scope, YYYYMMDD
}

// Messages as AWS words them, so clients print what users would see from AWS.
const (
	msgMissingAuth  = "Missing Authentication Token"
	msgUnknownKey   = "The security token included in the request is invalid."
	msgBadSignature = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

// Verify checks the AWS Signature Version 4 of req against the secret that
// lookup returns for its access key, at time now: CheckHeaders followed by
// Header.VerifyPayload. It is for callers that already hold the whole body.
//
// Errors are classified as CheckHeaders and VerifyPayload classify them.
// Verify is safe for concurrent use.
func Verify(req Request, lookup SecretLookup, now time.Time, opts Options) (Identity, error) {
	h, err := CheckHeaders(req, lookup, now, opts)
	if err != nil {
		return Identity{}, err
	}
	return h.VerifyPayload(req)
}

// Header is a request whose Authorization header passed CheckHeaders: well
// formed, scoped to the expected service and region, dated within the skew,
// signed with a known key. Only its payload signature is left to check.
type Header struct {
	auth    authorization
	amzDate string
	secret  string
	keys    *KeyCache
}

// AccessKeyIDOf returns the access key id an Authorization header names,
// as LoggableKeyID shows it, or "" when the header does not parse. It is for
// logging a rejected request.
func AccessKeyIDOf(header map[string][]string) string {
	vs := headerValues(header, "Authorization")
	if len(vs) == 0 {
		return ""
	}
	auth, err := parseAuthorization(vs[0])
	if err != nil {
		return ""
	}
	return LoggableKeyID(auth.accessKeyID)
}

// LoggableKeyID returns id for a log line when it has the shape of an access
// key id (16 to 128 upper-case letters and digits, as AWS's and Attune's
// are), and otherwise only its length: an id field may hold a secret pasted
// into the wrong box, and logs must never hold a secret.
func LoggableKeyID(id string) string {
	ok := len(id) >= 16 && len(id) <= 128
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
	}
	if !ok {
		return "(not an access key id, " + strconv.Itoa(len(id)) + " bytes)"
	}
	return id
}

// CheckHeaders is the first phase of verification: everything that can be
// decided from the headers alone, so that a server can refuse an unsigned or
// forged request before it reads (and buffers) the body. req.PayloadHash is
// not used.
//
// Errors are classified with errs: MissingAuth when the request carries no
// signature at all; IncompleteSig when the Authorization header or the
// credential scope is malformed, names another service, disagrees with
// X-Amz-Date, or does not sign host or one of opts.SignedHeaders;
// BadSignature when the scope names another region than opts.Region or
// X-Amz-Date is more than MaxSkew away from now; Unauthenticated for an
// unknown access key. CheckHeaders is safe for concurrent use.
func CheckHeaders(req Request, lookup SecretLookup, now time.Time, opts Options) (Header, error) {
	service := opts.Service
	if service == "" {
		service = DefaultService
	}
	maxSkew := opts.MaxSkew
	if maxSkew == 0 {
		maxSkew = DefaultMaxSkew
	}

	authValues := headerValues(req.Header, "Authorization")
	dateValues := headerValues(req.Header, "X-Amz-Date")
	switch {
	case len(authValues) == 0 && len(dateValues) == 0:
		return Header{}, errs.E(errs.MissingAuth, msgMissingAuth)
	case len(authValues) == 0:
		return Header{}, errs.E(errs.IncompleteSig, "Request has an 'X-Amz-Date' header but no Authorization header.")
	case len(authValues) > 1:
		// Two signatures would leave it open which one was checked.
		return Header{}, errs.E(errs.IncompleteSig, "Request has more than one Authorization header.")
	}
	auth, err := parseAuthorization(authValues[0])
	if err != nil {
		return Header{}, err
	}
	if auth.service != service {
		return Header{}, errs.E(errs.IncompleteSig, "Credential should be scoped to correct service: '%s'.", service)
	}
	if len(dateValues) == 0 {
		return Header{}, errs.E(errs.IncompleteSig, "Authorization header requires existence of an 'X-Amz-Date' header.")
	}
	amzDate := dateValues[0]
	signedAt, err := time.Parse(timeFormat, amzDate)
	if err != nil || len(amzDate) != len(timeFormat) {
		return Header{}, errs.E(errs.IncompleteSig,
			"X-Amz-Date must be in ISO-8601 basic format (YYYYMMDD'T'HHMMSS'Z'), got '%s'.", truncate(amzDate))
	}
	if auth.date != amzDate[:len(dateFormat)] {
		return Header{}, errs.E(errs.IncompleteSig,
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			auth.date, amzDate[:len(dateFormat)], amzDate)
	}
	if !auth.signs("host") {
		// Without host in the signature a request could be replayed against
		// another endpoint that shares the key.
		return Header{}, errs.E(errs.IncompleteSig, "'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	for _, name := range opts.SignedHeaders {
		// A header that selects what the request does (X-Amz-Target) must be
		// signed, or a captured request could be replayed as another call.
		if !auth.signs(name) {
			return Header{}, errs.E(errs.IncompleteSig, "'%s' must be a 'SignedHeader' in the AWS Authorization.",
				textproto.CanonicalMIMEHeaderKey(name))
		}
	}
	if opts.Region != "" && auth.region != opts.Region {
		return Header{}, errs.E(errs.BadSignature, "Credential should be scoped to a valid region, not '%s'.", truncate(auth.region))
	}
	if err := checkSkew(signedAt, now, maxSkew); err != nil {
		return Header{}, err
	}

	secret, ok := lookup(auth.accessKeyID)
	if !ok {
		return Header{}, errs.E(errs.Unauthenticated, msgUnknownKey)
	}
	return Header{auth: auth, amzDate: amzDate, secret: secret, keys: opts.Keys}, nil
}

// Identity returns who signed the request, before the payload is checked.
func (h Header) Identity() Identity {
	return Identity{AccessKeyID: h.auth.accessKeyID, Region: h.auth.region, Date: h.auth.date}
}

// VerifyPayload is the second phase: it computes the signature over req,
// whose PayloadHash is the SHA-256 of the body now read, and compares it
// with the one the client sent. The error is BadSignature when they differ;
// an empty PayloadHash (or a zero Header) is a caller bug and gives an
// unclassified (Internal) error. VerifyPayload is safe for concurrent use.
func (h Header) VerifyPayload(req Request) (Identity, error) {
	if h.amzDate == "" {
		return Identity{}, errors.New("sigv4: VerifyPayload on a Header that CheckHeaders did not return")
	}
	if req.PayloadHash == "" {
		return Identity{}, errors.New("sigv4: Request.PayloadHash is empty")
	}
	auth := h.auth
	canonical := canonicalRequest(req, auth)
	canonicalHash := sha256.Sum256([]byte(canonical))
	scope := auth.date + "/" + auth.region + "/" + auth.service + "/" + terminator
	stringToSign := algorithm + "\n" + h.amzDate + "\n" + scope + "\n" + hex.EncodeToString(canonicalHash[:])

	key := h.keys.signingKey(h.secret, auth.date, auth.region, auth.service)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(stringToSign))
	var want [2 * sha256.Size]byte
	hex.Encode(want[:], mac.Sum(nil))
	// Constant time, so response timing does not reveal how much of a
	// guessed signature was right.
	if !hmac.Equal(want[:], []byte(auth.signature)) {
		// The string to sign helps debug a client without exposing header
		// values such as a session token; it goes to logs, not the client.
		return Identity{}, &errs.Error{Kind: errs.BadSignature, Msg: msgBadSignature,
			Err: fmt.Errorf("string to sign %q, signed headers %q", stringToSign, auth.signedHeadersRaw)}
	}
	return h.Identity(), nil
}

// checkSkew rejects a request signed more than maxSkew before or after now,
// which bounds how long a captured request can be replayed.
func checkSkew(signedAt, now time.Time, maxSkew time.Duration) error {
	minutes := strconv.FormatFloat(maxSkew.Minutes(), 'f', -1, 64)
	now = now.UTC()
	if earliest := now.Add(-maxSkew); signedAt.Before(earliest) {
		return errs.E(errs.BadSignature, "Signature expired: %s is now earlier than %s (%s - %s min.)",
			signedAt.Format(timeFormat), earliest.Format(timeFormat), now.Format(timeFormat), minutes)
	}
	if latest := now.Add(maxSkew); signedAt.After(latest) {
		return errs.E(errs.BadSignature, "Signature not yet current: %s is still later than %s (%s + %s min.)",
			signedAt.Format(timeFormat), latest.Format(timeFormat), now.Format(timeFormat), minutes)
	}
	return nil
}

// deriveSigningKey computes the SigV4 signing key, a chain of HMACs that
// scopes the secret to one day, region and service.
func deriveSigningKey(secret, date, region, service string) []byte {
	key := hmacSHA256([]byte("AWS4"+secret), date)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	return hmacSHA256(key, terminator)
}

func hmacSHA256(key []byte, data string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(data))
	return mac.Sum(nil)
}

// truncate bounds client-supplied text echoed in error messages.
func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
