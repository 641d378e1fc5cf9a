package metrics

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/store"
)

// liveUsers reports attune_live_users{campaign} at scrape time from a
// function serving provides, so serving keeps no gauge of its own up to date.
type liveUsers struct {
	desc  *prometheus.Desc
	count func() map[string]int
}

// RegisterLiveUsers registers attune_live_users{campaign}: count returns,
// per deployed campaign (or recommender) ARN, the users whose history serving
// holds in memory. count is called once per scrape.
func RegisterLiveUsers(reg prometheus.Registerer, count func() map[string]int) {
	reg.MustRegister(&liveUsers{count: count, desc: prometheus.NewDesc(Namespace+"_live_users",
		"Users whose recent interactions serving holds in memory, by campaign or recommender ARN.", []string{"campaign"}, nil)})
}

// Describe implements prometheus.Collector.
func (c *liveUsers) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *liveUsers) Collect(ch chan<- prometheus.Metric) {
	for campaign, n := range c.count() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), campaign)
	}
}

// JobKinds are the store kinds attune_jobs{kind} counts.
var jobKinds = []string{arn.DatasetImportJob, arn.DatasetExportJob, arn.DataDeletionJob, arn.SolutionVersion,
	arn.BatchInference, arn.BatchSegment}

// resourceLister is the part of store.Resources the jobs gauge reads.
type resourceLister interface {
	ListResources(ctx context.Context, q store.ListQuery) ([]store.Resource, string, error)
}

// JobsOptions configure the attune_jobs gauge.
type JobsOptions struct {
	// MaxAge is how long one count is reused across scrapes; 0 means 10s.
	MaxAge time.Duration
	// Timeout bounds the store reads of one count; 0 means 2s. On timeout
	// or error the previous count is reported.
	Timeout time.Duration
	// MaxPerKind caps the jobs listed per kind (100 per page); 0 means 20,000.
	MaxPerKind int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// jobs reports attune_jobs{kind,status} by listing job resources at scrape
// time (cached for MaxAge), so every job counts whichever package runs it,
// and a restart reports the jobs that survived it.
type jobs struct {
	desc *prometheus.Desc
	st   resourceLister
	opts JobsOptions

	// mu guards the fields below; it also serialises counts.
	mu     sync.Mutex
	at     time.Time
	counts map[[2]string]int
}

// RegisterJobs registers attune_jobs{kind,status} over st.
func RegisterJobs(reg prometheus.Registerer, st resourceLister, opts JobsOptions) {
	if opts.MaxAge <= 0 {
		opts.MaxAge = 10 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.MaxPerKind <= 0 {
		opts.MaxPerKind = 20000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	reg.MustRegister(&jobs{st: st, opts: opts, desc: prometheus.NewDesc(Namespace+"_jobs",
		"Jobs by kind (dataset-import-job, solution-version, batch-inference-job, ...) and status, as stored.", []string{"kind", "status"}, nil)})
}

// Describe implements prometheus.Collector.
func (c *jobs) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *jobs) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.opts.Now(); c.counts == nil || now.Sub(c.at) >= c.opts.MaxAge {
		if counts, ok := c.count(); ok {
			c.counts, c.at = counts, now
		}
	}
	keys := make([][2]string, 0, len(c.counts))
	for k := range c.counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"\x00"+keys[i][1] < keys[j][0]+"\x00"+keys[j][1] })
	for _, k := range keys {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(c.counts[k]), k[0], k[1])
	}
}

// count lists every job kind; ok is false when the store failed or timed out.
func (c *jobs) count() (map[[2]string]int, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	counts := map[[2]string]int{}
	for _, kind := range jobKinds {
		seen, token := 0, ""
		for seen < c.opts.MaxPerKind {
			page, next, err := c.st.ListResources(ctx, store.ListQuery{Kind: kind, PageToken: token})
			if err != nil {
				return nil, false
			}
			for _, r := range page {
				counts[[2]string{kind, r.Status}]++
			}
			seen += len(page)
			if token = next; token == "" {
				break
			}
		}
	}
	return counts, true
}
