package records

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/attune-dev/attune/internal/schema"
)

const benchRows = 1 << 16

// benchInteractions returns benchRows realistic interaction rows: 20k users,
// 5k items with a skewed popularity, three event types, rising timestamps.
func benchInteractions() [][]schema.Value {
	rng := rand.New(rand.NewPCG(1, 2))
	events := []string{"VIEWED", "TRIAL_STARTED", "PURCHASED"}
	rows := make([][]schema.Value, benchRows)
	ts := int64(1700000000)
	for i := range rows {
		ts += rng.Int64N(30)
		item := rng.IntN(5000) * rng.IntN(5000) / 5000 // popular items first
		rows[i] = []schema.Value{
			{Str: fmt.Sprintf("usr_%06d", rng.IntN(20000))},
			{Str: fmt.Sprintf("itm_%05d", item)},
			{Str: events[rng.IntN(len(events))]},
			{Int: ts},
		}
	}
	return rows
}

func BenchmarkEncode(b *testing.B) {
	rows := benchInteractions()
	bl := NewBuilder(interactionFields)
	var size int
	b.ReportAllocs()
	for b.Loop() {
		bl.Reset()
		for _, r := range rows {
			bl.Append(r)
		}
		size = len(bl.Encode())
	}
	b.ReportMetric(float64(b.N)*benchRows/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(size)/benchRows, "bytes/row")
}

func BenchmarkDecode(b *testing.B) {
	rows := benchInteractions()
	bl := NewBuilder(interactionFields)
	for _, r := range rows {
		bl.Append(r)
	}
	data := bl.Encode()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*benchRows/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(len(data))/benchRows, "bytes/row")
}
