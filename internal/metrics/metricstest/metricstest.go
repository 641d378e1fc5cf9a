// Package metricstest reads Prometheus text exposition in tests: parse a
// scrape into metric families and pick a series by its labels. It imports
// nothing of Attune.
package metricstest

import (
	"io"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Families are the metric families of one scrape, by name.
type Families map[string]*dto.MetricFamily

// Parse reads a text-format scrape, failing t when it does not parse.
func Parse(t testing.TB, r io.Reader) Families {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// Find returns the first series of the family name whose labels include
// every pair of want, or nil.
func (f Families) Find(name string, want map[string]string) *dto.Metric {
	fam := f[name]
	if fam == nil {
		return nil
	}
	for _, m := range fam.Metric {
		n := 0
		for _, l := range m.Label {
			if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
				n++
			}
		}
		if n == len(want) {
			return m
		}
	}
	return nil
}

// Count is the value of the counter (or gauge) series, 0 when it is absent.
func (f Families) Count(name string, labels map[string]string) float64 {
	m := f.Find(name, labels)
	if m == nil {
		return 0
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.GetGauge().GetValue()
}

// Bucket is the cumulative count of the histogram series h at upper bound
// le, or -1 when h has no such bucket.
func Bucket(h *dto.Histogram, le float64) int64 {
	for _, b := range h.GetBucket() {
		if b.GetUpperBound() == le {
			return int64(b.GetCumulativeCount())
		}
	}
	return -1
}

// Want is the expected value of one counter or gauge series.
type Want struct {
	Name   string
	Labels map[string]string // a subset of the series' labels; nil for none
	Value  float64
}

// Check reports through t.Errorf every series of wants whose value differs
// (an absent series counts as 0).
func (f Families) Check(t testing.TB, wants []Want) {
	t.Helper()
	for _, w := range wants {
		if got := f.Count(w.Name, w.Labels); got != w.Value {
			t.Errorf("%s%v = %v, want %v", w.Name, w.Labels, got, w.Value)
		}
	}
}
