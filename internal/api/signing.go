package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/sigv4"
)

// rejectedBodyCap is the most of a body the server reads from a request
// whose signature headers it has already refused. Reading a little lets a
// client that writes its whole (small) body before it reads the answer see
// the error instead of a reset connection; reading no more keeps an
// unsigned upload from costing more than this.
const rejectedBodyCap = 64 << 10

// signedBody checks the request's signature headers, and only when they
// pass (known key, scope, date) reads the body, up to MaxBodyBytes, and
// checks the signature over it. It returns the body and who signed it.
//
// A request refused on its headers has at most rejectedBodyCap of its body
// read and is answered with Connection: close, so that an attacker without
// a key cannot make the server buffer large bodies. Every refusal is
// logged with the access key id the request named and the client address.
func (s *Server) signedBody(w http.ResponseWriter, r *http.Request, p protocol) ([]byte, sigv4.Identity, error) {
	req := sigv4.Request{
		Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Host: r.Host,
		Header: r.Header, ContentLength: r.ContentLength,
	}
	opts := sigv4.Options{Service: sigv4.DefaultService, Keys: s.keys, Region: s.opts.Scope.Region}
	if p == controlPlane {
		// The header that names the operation must be signed, so that a
		// captured DescribeDatasetGroup cannot be replayed as DeleteDatasetGroup.
		opts.SignedHeaders = []string{"x-amz-target"}
	}
	h, err := sigv4.CheckHeaders(req, s.secret, s.opts.Now(), opts)
	if err != nil {
		s.logRejected(w, r, err)
		// A client that asked "Expect: 100-continue" waits for this answer
		// before it sends anything; reading would invite the body.
		drained := false
		if !strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
			n, _ := io.CopyN(io.Discard, r.Body, rejectedBodyCap)
			drained = n < rejectedBodyCap
		}
		if !drained {
			w.Header().Set("Connection", "close")
		}
		return nil, sigv4.Identity{}, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, sigv4.Identity{}, errs.E(errs.TooLarge, "request body larger than %d bytes", s.opts.MaxBodyBytes)
		}
		return nil, sigv4.Identity{}, errs.Wrap(errs.Invalid, err, "could not read request body")
	}
	sum := sha256.Sum256(body)
	req.PayloadHash = hex.EncodeToString(sum[:])
	id, err := h.VerifyPayload(req)
	if err != nil {
		s.logRejected(w, r, err)
		return nil, sigv4.Identity{}, err
	}
	return body, id, nil
}

// logRejected logs a refused signature with the access key id the request
// named (never a secret) and the client address, for spotting guessing.
func (s *Server) logRejected(w http.ResponseWriter, r *http.Request, err error) {
	// The request's log context has no access key yet: name the claimed one.
	s.log.WarnContext(r.Context(), "signature rejected", "accessKeyId", sigv4.AccessKeyIDOf(r.Header), "client", r.RemoteAddr,
		"kind", errs.KindOf(err).String(), "reason", errs.Message(err))
}
