// Package metrics holds Attune's Prometheus collectors and the admin handler
// that exposes them (/metrics, /debug/pprof). Domain packages never import it:
// each declares the small interface it records through (events.Metrics,
// dataset.Metrics, ...) and cmd/attune passes a *Metrics in their Options.
// The registry is always passed in; the client library's global default
// registry is never used. It may import store and arn, nothing of the domain.
package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every Attune metric.
const Namespace = "attune"

// RequestBuckets are the upper bounds (seconds) of the request-duration
// histogram: runtime answers take about a millisecond, control-plane calls
// that scan a store a few hundred.
var requestBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewRegistry returns a registry holding the Go runtime and process
// collectors, ready for New.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Metrics records what Attune does. Its methods are safe for concurrent use
// and cheap enough for the request path (one map lookup and an atomic add).
type Metrics struct {
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	eventsIngested prometheus.Counter
	eventsRejected *prometheus.CounterVec
	effectLag      prometheus.Histogram
	importRows     *prometheus.CounterVec
	training       *prometheus.HistogramVec
	modelLoad      prometheus.Histogram
}

// New creates Attune's collectors and registers them with reg. It panics
// when reg already holds them (a wiring mistake, as with MustRegister).
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "requests_total",
			Help: "HTTP requests answered, by API (personalize, personalize-runtime, personalize-events, console, health), operation and status code."},
			[]string{"api", "operation", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "request_duration_seconds",
			Help: "Time from a request's arrival to its answer being written, by API and operation.", Buckets: requestBuckets},
			[]string{"api", "operation"}),
		eventsIngested: prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "events_ingested_total",
			Help: "Events accepted by PutEvents and made durable."}),
		eventsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "events_rejected_total",
			Help: "Events of PutEvents calls that failed, by reason (invalid, not_found, throttled, unavailable, canceled, internal)."},
			[]string{"reason"}),
		effectLag: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "event_effect_lag_seconds",
			Help:    "Time from a PutEvents call's arrival until its events are durable and in serving's live state.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5}}),
		importRows: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "import_rows_total",
			Help: "Rows read by dataset import jobs, by dataset type and outcome (imported, rejected, discarded: good rows of a job that failed)."},
			[]string{"dataset_type", "outcome"}),
		training: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "training_duration_seconds",
			Help:    "Time to train a solution version (data load, HPO trials, final fit and metrics), by recipe.",
			Buckets: prometheus.ExponentialBuckets(0.1, 2.5, 12)}, []string{"recipe"}),
		modelLoad: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "model_load_seconds",
			Help:    "Time to load a model into serving (campaign or recommender deploy), artifact read to ready.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 12)}),
	}
	reg.MustRegister(m.requests, m.duration, m.eventsIngested, m.eventsRejected, m.effectLag, m.importRows, m.training, m.modelLoad)
	return m
}

// Request records one answered HTTP request. api and operation must come
// from a fixed table (never raw client input) so the label sets stay
// bounded; code is the HTTP status written.
func (m *Metrics) Request(api, operation string, code int, d time.Duration) {
	m.requests.WithLabelValues(api, operation, statusText(code)).Inc()
	m.duration.WithLabelValues(api, operation).Observe(d.Seconds())
}

// statusText avoids an allocation for the common codes.
func statusText(code int) string {
	switch code {
	case 200:
		return "200"
	case 400:
		return "400"
	case 404:
		return "404"
	case 429:
		return "429"
	}
	return strconv.Itoa(code)
}

// EventsIngested counts n events made durable.
func (m *Metrics) EventsIngested(n int) { m.eventsIngested.Add(float64(n)) }

// EventsRejected counts n events of a failed PutEvents call.
func (m *Metrics) EventsRejected(reason string, n int) {
	m.eventsRejected.WithLabelValues(reason).Add(float64(n))
}

// EventEffectLag records the lag of one PutEvents call.
func (m *Metrics) EventEffectLag(d time.Duration) { m.effectLag.Observe(d.Seconds()) }

// ImportRows counts n rows of an import job of datasetType with outcome.
func (m *Metrics) ImportRows(datasetType, outcome string, n int) {
	if n > 0 {
		m.importRows.WithLabelValues(datasetType, outcome).Add(float64(n))
	}
}

// TrainingDuration records one finished training of recipe (its name, not
// its ARN).
func (m *Metrics) TrainingDuration(recipe string, d time.Duration) {
	m.training.WithLabelValues(recipe).Observe(d.Seconds())
}

// ModelLoaded records one model load into serving.
func (m *Metrics) ModelLoaded(d time.Duration) { m.modelLoad.Observe(d.Seconds()) }
