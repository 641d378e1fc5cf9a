package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/attune-dev/attune/internal/errs"
)

// Browsers may call the runtime and events APIs (restJson1 routes mounted
// with Handle) from the origins named in Options.CORSOrigins, the way a shop's
// pages call Personalize with the AWS SDK for JavaScript v3. The control
// plane (POST / with X-Amz-Target) never answers cross-origin requests.

const (
	// corsAllowMethods is the one method the runtime and events operations use.
	corsAllowMethods = "POST"
	// corsAllowHeaders are the request headers the AWS SDK for JavaScript v3
	// sends from a browser on these operations, as Chromium's preflight lists
	// them (TestBrowserSDK records them), plus x-amz-security-token, which it
	// adds when signing with temporary credentials (Cognito).
	corsAllowHeaders = "amz-sdk-invocation-id, amz-sdk-request, authorization, content-type, x-amz-content-sha256, x-amz-date, x-amz-security-token, x-amz-user-agent"
	// corsExposeHeaders lets the SDK read the request id and error type of
	// an answer, which it otherwise could not see cross-origin.
	corsExposeHeaders = "x-amzn-requestid, x-amzn-errortype"
	// corsMaxAge is how long, in seconds, a browser may reuse a preflight
	// answer; Chromium caps it at 7200.
	corsMaxAge = "7200"
)

// cors answers preflights and labels answers for the allowed origins. The
// zero value allows no origin and adds no header.
type cors struct {
	origins map[string]bool // exact serialized origins, e.g. "https://shop.example.com"
	paths   map[string]bool // URL paths of the runtime and events routes
}

func newCORS(origins []string) cors {
	c := cors{origins: map[string]bool{}, paths: map[string]bool{}}
	for _, o := range origins {
		c.origins[o] = true
	}
	return c
}

// addRoute makes the path of a ServeMux pattern such as
// "POST /recommendations" callable from the allowed origins.
func (c cors) addRoute(pattern string) {
	_, path, ok := strings.Cut(pattern, " ")
	if !ok {
		path = pattern
	}
	c.paths[path] = true
}

// serve adds the CORS headers r's answer needs and answers a preflight
// itself; it reports whether r has been answered. Preflights carry no
// signature, so they are answered before any is checked.
func (c cors) serve(w http.ResponseWriter, r *http.Request, log *slog.Logger) bool {
	if len(c.origins) == 0 || !c.paths[r.URL.Path] {
		return false
	}
	h := w.Header()
	// Whether the answer carries CORS headers depends on Origin, so caches
	// must key on it, whatever the origin.
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	allowed := origin != "" && c.origins[origin]
	preflight := r.Method == http.MethodOptions && origin != "" && r.Header.Get("Access-Control-Request-Method") != ""
	switch {
	case preflight && allowed:
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Methods", corsAllowMethods)
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		h.Set("Access-Control-Max-Age", corsMaxAge)
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		w.WriteHeader(http.StatusNoContent)
		return true
	case preflight:
		writeError(w, r, log, runtimeAPI, errs.E(errs.AccessDenied, "origin %s may not call Attune from a browser: it is not among the origins given with --cors-origins", errs.Quote(origin)))
		return true
	case allowed:
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
	}
	return false
}

// ParseOrigins parses a comma-separated list of exact browser origins, as
// --cors-origins takes them: scheme http or https, a host, an optional
// port, nothing else ("https://shop.example.com,http://localhost:3000").
// Each must be written as browsers send it in the Origin header (lower
// case, no default port, no trailing slash), since origins are compared
// exactly. Spaces around commas are ignored; "" means no origin.
func ParseOrigins(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, ",") {
		o := strings.TrimSpace(part)
		if o == "" {
			if strings.TrimSpace(s) == "" {
				continue
			}
			return nil, fmt.Errorf("empty origin in %s", errs.Quote(s))
		}
		if err := checkOrigin(o); err != nil {
			return nil, err
		}
		if !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	return out, nil
}

// checkOrigin reports why o is not a serialized http(s) origin.
func checkOrigin(o string) error {
	if o == "*" || strings.Contains(o, "*") {
		return fmt.Errorf("origin %s: wildcards are not accepted; list each origin", errs.Quote(o))
	}
	u, err := url.Parse(o)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return fmt.Errorf("origin %s: want scheme://host[:port], such as https://shop.example.com", errs.Quote(o))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("origin %s: scheme must be http or https", errs.Quote(o))
	}
	if u.User != nil || u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(o, "#") {
		return fmt.Errorf("origin %s: an origin has no user, path (not even a trailing /), query or fragment", errs.Quote(o))
	}
	port := u.Port()
	if n, err := strconv.Atoi(port); port != "" && (err != nil || n < 1 || n > 65535 || port[0] == '0') {
		return fmt.Errorf("origin %s: port must be a number from 1 to 65535", errs.Quote(o))
	}
	if u.Hostname() == "" || strings.HasSuffix(u.Host, ":") {
		return fmt.Errorf("origin %s: want scheme://host[:port], such as https://shop.example.com", errs.Quote(o))
	}
	for _, c := range []byte(u.Host) {
		if c >= 0x80 {
			return fmt.Errorf("origin %s: browsers send a non-ASCII host in punycode (xn--...); write it that way", errs.Quote(o))
		}
	}
	// Browsers send the origin serialized: lower case, no default port.
	canon := u.Scheme + "://" + strings.ToLower(u.Host)
	switch {
	case u.Scheme == "http" && port == "80", u.Scheme == "https" && port == "443":
		canon = u.Scheme + "://" + strings.ToLower(hostOnly(u))
	}
	if canon != o {
		return fmt.Errorf("origin %s: browsers send it as %s; write it that way", errs.Quote(o), errs.Quote(canon))
	}
	return nil
}

// hostOnly is u's host without its port, in brackets for IPv6.
func hostOnly(u *url.URL) string {
	h := u.Hostname()
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}
