// Package api is Attune's HTTP surface: Personalize's control plane
// (awsJson1_1 on POST / with X-Amz-Target), runtime and events APIs
// (restJson1 paths) on one listener, every request verified as AWS SigV4.
// It is the only package (with web) that touches *http.Request and status
// codes; wire types live here so domain types carry no json tags.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/reqlog"
	"github.com/attune-dev/attune/internal/sigv4"
)

// Options configure the handler.
type Options struct {
	// Credentials maps root access key ids to secrets: keys that may call
	// every operation. Every request must be signed with one of them or with
	// one of AccessKeys.
	Credentials map[string]string
	// MaxBodyBytes caps request bodies; 0 means 16 MiB.
	MaxBodyBytes int64
	// Now is the clock used to check signature dates; nil means time.Now.
	Now func() time.Time
	// AccessKeys, when set, are keys besides Credentials, each allowed only
	// what its IAM policy allows (authz.go).
	AccessKeys accessKeys
	// Scope is the region and account of the ARNs a Create* call would
	// create, which scoped keys are authorized on.
	Scope arn.Scope
	// CORSOrigins are the exact browser origins (as ParseOrigins returns
	// them) that may call the runtime and events APIs; none when empty.
	CORSOrigins []string
	// AccessLog, when set, receives one record per request (requests.go);
	// nil means no access log.
	AccessLog *slog.Logger
	// Metrics, when set, records every request by API, operation and
	// status (metrics.go); nil records nothing.
	Metrics RequestMetrics
}

// Server serves the Personalize APIs.
type Server struct {
	opts    Options
	keys    *sigv4.KeyCache
	log     *slog.Logger
	control map[string]operation
	mux     *http.ServeMux
	bufs    sync.Pool // *bytes.Buffer for response bodies
	cors    cors      // browser access to the runtime and events APIs (cors.go)
	// trackers maps trackingIds to event trackers for authorization; nil
	// without an events service.
	trackers trackerFinder
	// refused are the operations answered with "not supported" (unsupported.go).
	refused map[string]bool
}

// operation is one control-plane operation: it decodes its own input from
// the body and returns a value to encode as the response.
type operation func(ctx context.Context, body []byte) (any, error)

// Deps are the domain services the server calls.
type Deps struct {
	Datasets datasetService
	Recipes  recipeCatalog
	Training trainingService
	// Campaigns and Runtime serve campaigns and GetRecommendations /
	// GetPersonalizedRanking; either may be nil.
	Campaigns campaignService
	Runtime   runtimeService
	// Events serves event trackers and PutEvents / PutItems / PutUsers; may be nil.
	Events eventsService
	// Recommenders (domain use cases) and Batch inference jobs; may be nil.
	Recommenders recommenderService
	Batch        batchService
	// Filters serves CreateFilter / DescribeFilter / ListFilters /
	// DeleteFilter; may be nil.
	Filters filterService
	// Tags serves TagResource / UntagResource / ListTagsForResource; may be nil.
	Tags tagService
	// Console, when set, serves /console/ unsigned (it has its own login).
	Console http.Handler
	// Readiness decides /readyz (health.go); nil means ready whenever up.
	Readiness readiness
}

// New returns a server over deps.
func New(deps Deps, opts Options, log *slog.Logger) *Server {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 16 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if _, ok := log.Handler().(*reqlog.Handler); !ok {
		// Lines logged while serving carry the request id and access key.
		log = slog.New(reqlog.NewHandler(log.Handler()))
	}
	s := &Server{opts: opts, keys: sigv4.NewKeyCache(0), log: log, control: map[string]operation{}, mux: http.NewServeMux(),
		cors: newCORS(opts.CORSOrigins)}
	registerDatasets(s.control, deps.Datasets)
	if deps.Recommenders != nil {
		registerRecommenders(s.control, deps.Recommenders)
	}
	if deps.Batch != nil {
		registerBatch(s.control, deps.Batch)
	}
	if deps.Tags != nil {
		registerTags(s.control, deps.Tags)
	}
	if deps.Recipes != nil {
		registerRecipes(s.control, deps.Recipes)
	}
	if deps.Training != nil {
		registerSolutions(s.control, deps.Training)
	}
	if deps.Campaigns != nil {
		registerCampaigns(s.control, deps.Campaigns)
	}
	if deps.Filters != nil {
		registerFilters(s.control, deps.Filters)
	}
	if deps.Runtime != nil {
		registerRuntime(s, deps.Runtime)
	}
	if deps.Events != nil {
		registerTrackers(s.control, deps.Events)
		registerEvents(s, deps.Events)
		s.trackers, _ = deps.Events.(trackerFinder)
	}
	if deps.Console != nil {
		s.mux.Handle("/console/", deps.Console)
		s.mux.Handle("/console", deps.Console)
	}
	registerUnsupported(s)
	registerHealth(s, deps.Readiness)
	return s
}

// Handle mounts an extra signed restJson1 route (runtime, events) on the server.
func (s *Server) Handle(pattern string, p protocol, fn func(ctx context.Context, body []byte) (any, error)) {
	s.cors.addRoute(pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		op := restOperations[r.URL.Path]
		if op == "" {
			op = unsupportedPaths[r.URL.Path]
		}
		setOperation(r, op)
		s.serveSigned(w, r, p, fn)
	})
}

// ServeHTTP routes: X-Amz-Target selects the control plane; everything else
// goes by path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w, r, end := s.beginRequest(w, r)
	defer end()
	if s.cors.serve(w, r, s.log) {
		return
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		if name, ok := strings.CutPrefix(target, targetPrefix); ok && s.control[name] != nil {
			setOperation(r, name)
		}
		s.serveSigned(w, r, controlPlane, func(ctx context.Context, body []byte) (any, error) {
			return s.dispatch(ctx, target, body)
		})
		return
	}
	s.mux.ServeHTTP(w, r)
}

const targetPrefix = "AmazonPersonalize."

func (s *Server) dispatch(ctx context.Context, target string, body []byte) (any, error) {
	name, ok := strings.CutPrefix(target, targetPrefix)
	if !ok {
		return nil, errs.E(errs.UnknownOperation, "unknown operation %s: X-Amz-Target must be %s<Operation>", errs.Quote(target), targetPrefix)
	}
	op, ok := s.control[name]
	if !ok {
		return nil, errs.E(errs.UnknownOperation, "operation %s is not supported by Attune", name)
	}
	return op(ctx, body)
}

// serveSigned checks the signature headers, reads the body and verifies the
// signature over it (signing.go), authorizes the caller, runs fn and writes its
// result or error in protocol p's envelope.
func (s *Server) serveSigned(w http.ResponseWriter, r *http.Request, p protocol, fn func(ctx context.Context, body []byte) (any, error)) {
	if r.Method != http.MethodPost {
		writeError(w, r, s.log, p, errs.E(errs.Invalid, "method %s not allowed: Personalize operations use POST", r.Method))
		return
	}
	body, id, err := s.signedBody(w, r, p)
	if err == nil {
		setAccessKeyID(r, id.AccessKeyID)
		err = s.authorize(r, p, id.AccessKeyID, body)
	}
	if err != nil {
		writeError(w, r, s.log, p, err)
		return
	}
	out, err := fn(r.Context(), body)
	if err != nil {
		writeError(w, r, s.log, p, err)
		return
	}
	ct := "application/json"
	if p == controlPlane {
		ct = "application/x-amz-json-1.1"
	}
	w.Header().Set("Content-Type", ct)
	if out == nil {
		_, _ = io.WriteString(w, "{}")
		return
	}
	// Response buffers are pooled: a runtime answer is a few KB, and growing
	// a fresh buffer to that size was a visible share of a request's cost.
	buf, _ := s.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		if buf.Cap() <= 1<<20 {
			buf.Reset()
			s.bufs.Put(buf)
		}
	}()
	if err := json.NewEncoder(buf).Encode(out); err != nil {
		writeError(w, r, s.log, p, err)
		return
	}
	_, _ = w.Write(buf.Bytes())
}

// decode parses a JSON request body into v, naming the problem on failure.
func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return errs.E(errs.Invalid, "member %s: expected %s, got JSON %s", te.Field, te.Type, te.Value)
		}
		return errs.Wrap(errs.Invalid, err, "request body is not valid JSON")
	}
	return nil
}

// handle adapts a typed operation to the dispatch table.
func handle[In any, Out any](fn func(ctx context.Context, in *In) (Out, error)) operation {
	return func(ctx context.Context, body []byte) (any, error) {
		in := new(In)
		if err := decode(body, in); err != nil {
			return nil, err
		}
		return fn(ctx, in)
	}
}
