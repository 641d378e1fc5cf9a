package web

import (
	"math"
	"net/http"

	dto "github.com/prometheus/client_model/go"

	"github.com/attune-dev/attune/internal/errs"
)

// Families the console's charts read (internal/metrics names them).
const (
	familyRequests = "attune_requests_total"
	familyDuration = "attune_request_duration_seconds"
	familyEvents   = "attune_events_ingested_total"
)

// metricsOut is one sample of the counters behind the console's charts.
// The page keeps a few minutes of samples and draws rates and the p99
// latency from the differences between consecutive ones, as Prometheus's
// rate() and histogram_quantile() would.
type metricsOut struct {
	// Time is when the sample was taken, in Unix milliseconds.
	Time int64 `json:"time"`
	// Requests counts requests answered by the Personalize APIs (the
	// console's own and health probes left out).
	Requests float64 `json:"requests"`
	// Events counts events ingested by PutEvents.
	Events float64 `json:"events"`
	// Bounds are the finite upper bounds (seconds) of the request-duration
	// histogram, and Cumulative the requests at or under each, summed over
	// the same requests; the last element of Cumulative, one past Bounds,
	// is the total (+Inf).
	Bounds     []float64 `json:"bounds"`
	Cumulative []float64 `json:"cumulative"`
}

// chartedAPI reports whether requests of this api label count in the
// charts: the three Personalize APIs, not the console polling itself.
func chartedAPI(api string) bool {
	return api == "personalize" || api == "personalize-runtime" || api == "personalize-events"
}

// metrics answers GET /console/api/metrics for root sessions: one sample of
// the registry's request and event counters.
func (c *console) metrics(w http.ResponseWriter, r *http.Request) error {
	if err := c.requireRoot(r, "see the server's metrics"); err != nil {
		return err
	}
	if c.opts.Metrics == nil {
		return errs.E(errs.NotFound, "metrics are not collected by this server")
	}
	fams, err := c.opts.Metrics.Gather()
	if err != nil && len(fams) == 0 {
		return err
	}
	writeJSON(w, http.StatusOK, sample(fams, c.opts.Now().UnixMilli()))
	return nil
}

// sample sums the charted series of fams.
func sample(fams []*dto.MetricFamily, now int64) metricsOut {
	out := metricsOut{Time: now, Bounds: []float64{}, Cumulative: []float64{}}
	for _, f := range fams {
		switch f.GetName() {
		case familyEvents:
			for _, m := range f.GetMetric() {
				out.Events += m.GetCounter().GetValue()
			}
		case familyRequests:
			for _, m := range f.GetMetric() {
				if chartedAPI(labelValue(m, "api")) {
					out.Requests += m.GetCounter().GetValue()
				}
			}
		case familyDuration:
			for _, m := range f.GetMetric() {
				if !chartedAPI(labelValue(m, "api")) {
					continue
				}
				h := m.GetHistogram()
				buckets := h.GetBucket()
				if len(out.Bounds) == 0 {
					for _, b := range buckets {
						if !math.IsInf(b.GetUpperBound(), 1) {
							out.Bounds = append(out.Bounds, b.GetUpperBound())
						}
					}
					out.Cumulative = make([]float64, len(out.Bounds)+1)
				}
				for i, b := range buckets {
					if i < len(out.Bounds) && b.GetUpperBound() == out.Bounds[i] {
						out.Cumulative[i] += float64(b.GetCumulativeCount())
					}
				}
				out.Cumulative[len(out.Bounds)] += float64(h.GetSampleCount())
			}
		}
	}
	return out
}

// labelValue returns the value of label name on m, or "".
func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
