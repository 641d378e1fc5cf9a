// Package web is Attune's console: a small read-mostly single-page app
// (embedded assets, no build step) and the JSON endpoints under
// /console/api/ it calls. The console has its own login, checked against the
// server's credentials, and a session cookie; it is mounted by api.
package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attune-dev/attune/internal/campaign"
	"github.com/attune-dev/attune/internal/dataset"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/ratelimit"
	"github.com/attune-dev/attune/internal/serving"
	"github.com/attune-dev/attune/internal/train"
)

//go:embed assets
var assetFS embed.FS

// DatasetService lists dataset groups, datasets and import jobs.
type DatasetService interface {
	Groups(ctx context.Context, token string, limit int) ([]*dataset.Group, string, error)
	Datasets(ctx context.Context, groupARN, token string, limit int) ([]*dataset.Dataset, string, error)
	ImportJobs(ctx context.Context, datasetARN, token string, limit int) ([]*dataset.ImportJob, string, error)
	ImportJob(ctx context.Context, jobARN string) (*dataset.ImportJob, error)
}

// TrainingService lists solutions, their versions and metrics.
type TrainingService interface {
	Solutions(ctx context.Context, groupARN, token string, limit int) ([]*train.Solution, string, error)
	Versions(ctx context.Context, solutionARN, token string, limit int) ([]*train.Version, string, error)
	Metrics(ctx context.Context, versionARN string) (map[string]float64, error)
}

// CampaignService lists campaigns.
type CampaignService interface {
	List(ctx context.Context, solutionARN, token string, limit int) ([]*campaign.Campaign, string, error)
}

// RuntimeService answers recommendation requests.
type RuntimeService interface {
	Recommend(ctx context.Context, r serving.Request) (*serving.Result, error)
}

// Deps are the services the console reads. Campaigns and Runtime may be nil.
type Deps struct {
	Datasets  DatasetService
	Training  TrainingService
	Campaigns CampaignService
	Runtime   RuntimeService
}

// Options configure the console.
type Options struct {
	// Credentials maps access key ids to secrets, as api.Options.Credentials;
	// a console login must present one pair.
	Credentials map[string]string
	// SessionTTL is how long a session lasts; 0 means 12 hours.
	SessionTTL time.Duration
	// Now is the clock of session expiry; nil means time.Now.
	Now func() time.Time
	// Log receives internal errors; nil discards them.
	Log *slog.Logger
	// LoginBurst is how many failed sign-ins in a row a client address may
	// make before it must wait; 0 means DefaultLoginBurst.
	LoginBurst int
	// LoginRefill is how often a client address that used up LoginBurst
	// regains one more attempt; 0 means DefaultLoginRefill.
	LoginRefill time.Duration
	// AccessKeys, when set, lets scoped access keys sign in (seeing only what
	// their policy allows) and root sessions manage keys (keys.go).
	AccessKeys KeyManager
	// Metrics, when set, is the registry the request-rate, latency and
	// event-rate charts read (metrics.go); nil hides them.
	Metrics prometheus.Gatherer
}

// console serves the app and its API.
type console struct {
	deps     Deps
	opts     Options
	sessions *sessions
	mux      *http.ServeMux
	logins   *ratelimit.Keyed // failed sign-ins per client address (ratelimit.go)
}

// maxBody caps console request bodies.
const maxBody = 64 << 10

// New returns the console handler; it serves paths under /console/.
func New(deps Deps, opts Options) http.Handler {
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	c := &console{deps: deps, opts: opts, sessions: newSessions(opts.Now), mux: http.NewServeMux(),
		logins: newLoginLimiter(opts.LoginBurst, opts.LoginRefill, opts.Now)}
	static, err := fs.Sub(assetFS, "assets")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	files := http.StripPrefix("/console/", http.FileServerFS(static))
	c.mux.HandleFunc("GET /console/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		files.ServeHTTP(w, r)
	})
	for _, f := range []string{"app.js", "charts.js", "app.css"} {
		c.mux.Handle("GET /console/"+f, files)
	}
	c.mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusMovedPermanently)
	})
	c.mux.Handle("POST /console/api/login", c.adapt(c.login))
	c.mux.Handle("POST /console/api/session", c.adapt(c.exchange))
	c.mux.Handle("POST /console/api/logout", c.adapt(c.logout))
	c.mux.Handle("POST /console/api/login-link", c.adapt(c.authed(c.loginLink)))
	c.mux.Handle("GET /console/api/overview", c.adapt(c.authed(c.overview)))
	c.mux.Handle("POST /console/api/recommend", c.adapt(c.authed(c.recommend)))
	c.mux.Handle("GET /console/api/metrics", c.adapt(c.authed(c.metrics)))
	c.handleKeys()
	c.mux.Handle("/console/api/", c.adapt(func(w http.ResponseWriter, r *http.Request) error {
		return errs.E(errs.NotFound, "no console endpoint %s %s", r.Method, r.URL.Path)
	}))
	return c
}

func (c *console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
	c.mux.ServeHTTP(w, r)
}

// errorBody is the console's one error shape.
type errorBody struct {
	Error string `json:"error"`
}

// adapt turns a handler that returns an error into an http.Handler: the one
// place that writes console errors.
func (c *console) adapt(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil || errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			return
		}
		status := statusOf(errs.KindOf(err))
		msg := errs.Message(err)
		if status == http.StatusInternalServerError {
			// The api server sets the request id on every response.
			id := w.Header().Get("X-Amzn-RequestId")
			c.opts.Log.ErrorContext(r.Context(), "console request", "method", r.Method, "path", r.URL.Path, "err", err)
			if id != "" {
				msg = "internal error (request id " + id + ")"
			}
		}
		writeJSON(w, status, errorBody{Error: msg})
	})
}

func statusOf(k errs.Kind) int {
	switch k {
	case errs.Invalid, errs.InvalidNextToken:
		return http.StatusBadRequest
	case errs.Unauthenticated, errs.MissingAuth, errs.BadSignature, errs.IncompleteSig:
		return http.StatusUnauthorized
	case errs.AccessDenied:
		return http.StatusForbidden
	case errs.NotFound:
		return http.StatusNotFound
	case errs.AlreadyExists, errs.InUse:
		return http.StatusConflict
	case errs.TooLarge:
		return http.StatusRequestEntityTooLarge
	case errs.Busy, errs.LimitExceeded:
		return http.StatusTooManyRequests
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON request body into v. Requiring a JSON content type
// keeps cross-site form posts out even without the SameSite cookie.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return errs.E(errs.Invalid, "Content-Type must be application/json")
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return errs.Wrap(errs.Invalid, err, "read request body")
	}
	if len(b) > maxBody {
		return errs.E(errs.TooLarge, "request body over %d bytes", maxBody)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errs.Wrap(errs.Invalid, err, "request body is not valid JSON: %v", err)
	}
	return nil
}
