package sqlite

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/store"
)

// bytesPerRow is the size of one interaction row in the columnar chunk
// encoding (user, item, timestamp and event type, before compression); the
// rows/s metrics divide throughput by it.
const bytesPerRow = 24

// randomBytes returns n incompressible bytes, as a compressed chunk is.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// BenchmarkStageChunk stages one 64k-row chunk per operation; each is its
// own durable (fsynced) transaction.
func BenchmarkStageChunk(b *testing.B) {
	for _, pageSize := range []int{4096, 16384, 65536} {
		b.Run(fmt.Sprintf("page=%d", pageSize), func(b *testing.B) {
			s, err := Open(b.Context(), b.TempDir(), Options{PageSize: pageSize})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const rows = 64 << 10
			c := store.Chunk{Dataset: "ds", Source: store.Bulk, Job: "job", Rows: rows, Data: randomBytes(rows * bytesPerRow)}
			b.SetBytes(int64(len(c.Data)))
			b.ResetTimer()
			for b.Loop() {
				if err := s.StageChunk(b.Context(), c); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkImport1M is a whole 1M-row import at the store level: 16 staged
// chunks of 64k rows, then a replacing commit.
func BenchmarkImport1M(b *testing.B) {
	s, err := Open(b.Context(), b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const rows, chunks = 64 << 10, 16
	data := randomBytes(rows * bytesPerRow)
	b.SetBytes(int64(len(data) * chunks))
	i := 0
	var commit time.Duration
	for b.Loop() {
		job := fmt.Sprintf("job-%d", i)
		i++
		for range chunks {
			c := store.Chunk{Dataset: "ds", Source: store.Bulk, Job: job, Rows: rows, Data: data}
			if err := s.StageChunk(b.Context(), c); err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		if err := s.CommitImport(b.Context(), "ds", job, true); err != nil {
			b.Fatal(err)
		}
		commit += time.Since(start)
	}
	b.ReportMetric(float64(rows*chunks*b.N)/b.Elapsed().Seconds(), "rows/s")
	// The commit flips a flag and deletes the previous import; it must not
	// rewrite the blobs.
	b.ReportMetric(float64(commit.Milliseconds())/float64(b.N), "commit-ms/op")
}

// BenchmarkAppendChunks appends 10-row Put chunks, one per transaction or
// 100 per transaction (group commit), and reports events per second.
func BenchmarkAppendChunks(b *testing.B) {
	const rows = 10
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("chunks-per-tx=%d", batch), func(b *testing.B) {
			s, err := Open(b.Context(), b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			cs := make([]store.Chunk, batch)
			for i := range cs {
				cs[i] = store.Chunk{Dataset: "ds", Source: store.Put, Rows: rows, Data: randomBytes(rows * bytesPerRow)}
			}
			b.SetBytes(int64(batch * rows * bytesPerRow))
			for b.Loop() {
				if _, err := s.AppendChunks(b.Context(), cs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(batch*rows*b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
		})
	}
}

// BenchmarkScanChunks reads back 64k-row chunks.
func BenchmarkScanChunks(b *testing.B) {
	s, err := Open(b.Context(), b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const rows, chunks = 64 << 10, 16
	data := randomBytes(rows * bytesPerRow)
	for range chunks {
		if _, err := s.AppendChunks(b.Context(), []store.Chunk{{Dataset: "ds", Source: store.Put, Rows: rows, Data: data}}); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(data) * chunks))
	start := time.Now()
	for b.Loop() {
		n := 0
		err := s.ScanChunks(b.Context(), "ds", "", 0, func(c store.Chunk) error { n += c.Rows; return nil })
		if err != nil || n != rows*chunks {
			b.Fatalf("scanned %d rows, %v", n, err)
		}
	}
	b.ReportMetric(float64(rows*chunks*b.N)/time.Since(start).Seconds(), "rows/s")
}
