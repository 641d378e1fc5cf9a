package csvimport

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/attune-dev/attune/internal/schema"
)

// interactionsCSV returns a CSV of n realistic interactions: 50k users,
// 10k items with skewed popularity, three event types, rising timestamps.
func interactionsCSV(n int) []byte {
	rng := rand.New(rand.NewPCG(7, 8))
	events := []string{"VIEWED", "TRIAL_STARTED", "PURCHASED"}
	var b bytes.Buffer
	b.Grow(n * 44)
	b.WriteString(hdr)
	ts := int64(1700000000)
	pad := func(prefix string, v, width int) {
		b.WriteString(prefix)
		s := strconv.Itoa(v)
		for range width - len(s) {
			b.WriteByte('0')
		}
		b.WriteString(s)
	}
	for range n {
		ts += rng.Int64N(10)
		pad("usr_", rng.IntN(50000), 6)
		b.WriteByte(',')
		pad("itm_", rng.IntN(10000)*rng.IntN(10000)/10000, 5)
		b.WriteByte(',')
		b.WriteString(events[rng.IntN(len(events))])
		b.WriteByte(',')
		b.WriteString(strconv.FormatInt(ts, 10))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func BenchmarkImportInteractions(b *testing.B) {
	const n = 1_000_000
	data := interactionsCSV(n)
	sch := mustSchema(b, interactionsSchema)
	var encoded int
	sink := func(data []byte, rows int) error { encoded += len(data); return nil }
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		encoded = 0
		rep, err := Import(b.Context(), bytes.NewReader(data), sch, schema.Interactions, Options{}, sink)
		if err != nil || rep.Imported != n {
			b.Fatalf("Import() = %+v, %v", rep, err)
		}
	}
	b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(encoded)/n, "stored-bytes/row")
}
