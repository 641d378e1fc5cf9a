package sigv4

import (
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// canonicalRequest builds the SigV4 canonical request:
//
//	Method \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n PayloadHash
//
// The headers are exactly those the client listed in SignedHeaders, in its
// order: botocore and the Go SDK sign different sets, and unsigned headers
// (User-Agent, the CLI's Amz-Sdk-*) must not matter.
func canonicalRequest(req Request, auth authorization) string {
	var b strings.Builder
	b.Grow(256 + len(req.Path) + len(req.RawQuery))
	b.WriteString(req.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(req.Path))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(req.RawQuery))
	b.WriteByte('\n')
	for _, name := range auth.signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		writeHeaderValue(&b, signedHeaderValues(req, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(auth.signedHeadersRaw)
	b.WriteByte('\n')
	b.WriteString(req.PayloadHash)
	return b.String()
}

// canonicalURI encodes an already escaped path once more, keeping '/'. For
// every service but S3, SigV4 signs the path encoded twice relative to the raw
// path: "/a b" travels as "/a%20b" and is signed as "/a%2520b". The SDK
// signer does the same to URL.EscapedPath, which is what the caller passes.
func canonicalURI(escapedPath string) string {
	if escapedPath == "" {
		return "/"
	}
	return uriEncode(escapedPath, false)
}

// canonicalQuery sorts the query parameters by encoded name, then by encoded
// value, and encodes both the AWS way (space as %20, never '+'). Pairs that
// do not decode are dropped, as Go's url.ParseQuery (and so the handler)
// drops them, and as the Go SDK signer, which signs URL.Query(), does.
func canonicalQuery(rawQuery string) string {
	if rawQuery == "" {
		return ""
	}
	values, _ := url.ParseQuery(rawQuery)
	pairs := make([][2]string, 0, len(values))
	for k, vs := range values {
		ek := uriEncode(k, true)
		for _, v := range vs {
			pairs = append(pairs, [2]string{ek, uriEncode(v, true)})
		}
	}
	slices.SortFunc(pairs, func(x, y [2]string) int {
		if c := strings.Compare(x[0], y[0]); c != 0 {
			return c
		}
		return strings.Compare(x[1], y[1])
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p[0])
		b.WriteByte('=')
		b.WriteString(p[1])
	}
	return b.String()
}

// uriEncode percent-encodes every byte but the RFC 3986 unreserved
// characters, with upper-case hex; '/' is kept unless encodeSlash.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !keep(s[i], encodeSlash) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	out := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keep(c, encodeSlash) {
			out = append(out, c)
			continue
		}
		out = append(out, '%', hexDigits[c>>4], hexDigits[c&0xF])
	}
	return string(out)
}

func keep(c byte, encodeSlash bool) bool {
	switch {
	case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return true
	case c == '-', c == '_', c == '.', c == '~':
		return true
	case c == '/':
		return !encodeSlash
	}
	return false
}

// signedHeaderValues returns the values the client signed for the lower-case
// header name, as the server received them. Go's server keeps Host and
// Content-Length out of the header map, so they come from their own fields.
func signedHeaderValues(req Request, name string) []string {
	switch name {
	case "host":
		if req.Host != "" {
			return []string{req.Host}
		}
	case "content-length":
		if vs := headerValues(req.Header, "Content-Length"); len(vs) > 0 {
			return vs
		}
		if req.ContentLength >= 0 {
			return []string{strconv.FormatInt(req.ContentLength, 10)}
		}
	}
	return headerValues(req.Header, name)
}

// headerValues looks name up in h by its canonical key first and then, for
// keys a caller did not canonicalize, case-insensitively.
func headerValues(h map[string][]string, name string) []string {
	if vs, ok := h[textproto.CanonicalMIMEHeaderKey(name)]; ok {
		return vs
	}
	for k, vs := range h {
		if strings.EqualFold(k, name) {
			return vs
		}
	}
	return nil
}

// writeHeaderValue writes the canonical form of a header: each value trimmed
// with runs of spaces collapsed to one, repeated headers joined with ','. A
// signed header the request lacks is written empty, so it fails to match
// unless the client really signed an empty value.
func writeHeaderValue(b *strings.Builder, values []string) {
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		v = strings.Trim(v, " \t")
		prevSpace := false
		for j := 0; j < len(v); j++ {
			c := v[j]
			if c == ' ' {
				if prevSpace {
					continue
				}
				prevSpace = true
			} else {
				prevSpace = false
			}
			b.WriteByte(c)
		}
	}
}
