// Package reqlog carries what identifies one request (its id, the access
// key id that signed it, the operation it called) in a context.Context, and
// provides a slog.Handler that adds the id and key to every record logged
// with that context, so domain code logs with slog's *Context methods and
// never receives a per-request logger.
//
// It is a leaf: it imports the standard library only, and must not import
// net/http or any Attune package.
package reqlog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
)

// Attribute keys the handler adds to records logged while serving a request.
const (
	KeyRequestID   = "requestId"
	KeyAccessKeyID = "accessKeyId"
)

// Request is what is known about one request being served. The id is fixed
// at creation; the access key and operation are learnt later (once the
// signature is verified, once the target is parsed) and may be set from
// the request's goroutine while others read them, so they sit behind a lock.
type Request struct {
	id string

	// mu guards the fields below.
	mu          sync.Mutex
	accessKeyID string
	operation   string
}

// New returns a Request with the given id (the x-amzn-RequestId header).
func New(id string) *Request { return &Request{id: id} }

// ID returns the request id.
func (r *Request) ID() string { return r.id }

// SetAccessKeyID records the access key id that signed the request.
func (r *Request) SetAccessKeyID(id string) {
	r.mu.Lock()
	r.accessKeyID = id
	r.mu.Unlock()
}

// AccessKeyID returns the access key id that signed the request, or "" when
// none has (yet).
func (r *Request) AccessKeyID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.accessKeyID
}

// SetOperation records the operation the request calls (e.g.
// "GetRecommendations").
func (r *Request) SetOperation(op string) {
	r.mu.Lock()
	r.operation = op
	r.mu.Unlock()
}

// Operation returns the operation recorded by SetOperation, or "".
func (r *Request) Operation() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.operation
}

type ctxKey struct{}

// With returns a context carrying r.
func With(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, ctxKey{}, r)
}

// From returns the Request ctx carries, or nil.
func From(ctx context.Context) *Request {
	r, _ := ctx.Value(ctxKey{}).(*Request)
	return r
}

// Handler adds the request id and access key id of the context's Request
// (when there is one) to every record, before passing it to the wrapped
// handler. Records logged without a context, or with one that carries no
// Request, pass through unchanged.
//
// The attributes are added at the top level unless the logger was narrowed
// with WithGroup, in which case they land in that group like any other
// attribute of the record.
type Handler struct {
	inner slog.Handler
}

// NewHandler wraps inner.
func NewHandler(inner slog.Handler) *Handler { return &Handler{inner: inner} }

// Enabled reports whether the wrapped handler handles records at level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle adds the request attributes to rec and passes it on.
func (h *Handler) Handle(ctx context.Context, rec slog.Record) error {
	if ctx != nil {
		if r := From(ctx); r != nil {
			rec = rec.Clone()
			rec.AddAttrs(slog.String(KeyRequestID, r.id))
			if k := r.AccessKeyID(); k != "" {
				rec.AddAttrs(slog.String(KeyAccessKeyID, k))
			}
		}
	}
	return h.inner.Handle(ctx, rec)
}

// WithAttrs returns a Handler whose wrapped handler has attrs.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{inner: h.inner.WithAttrs(attrs)}
}

// WithGroup returns a Handler whose wrapped handler opens group name.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{inner: h.inner.WithGroup(name)}
}

// Formats are the values ParseFormat accepts.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// NewLogger returns a logger writing records at level and above to w in
// format (FormatText or FormatJSON), through a Handler. Errors name the
// unknown format.
func NewLogger(w io.Writer, format string, level slog.Level) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	var inner slog.Handler
	switch format {
	case FormatText, "":
		inner = slog.NewTextHandler(w, opts)
	case FormatJSON:
		inner = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: want %s or %s", format, FormatText, FormatJSON)
	}
	return slog.New(NewHandler(inner)), nil
}
