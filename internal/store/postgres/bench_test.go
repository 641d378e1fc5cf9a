package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/attune-dev/attune/internal/store"
	"github.com/attune-dev/attune/internal/testenv"
)

// bytesPerRow is the size of one interaction row in the columnar chunk
// encoding (user, item, timestamp and event type); the rows/s metrics
// divide throughput by it, as the SQLite backend's benchmarks do.
const bytesPerRow = 24

// benchDSN returns the server testenv.Postgres would, for a benchmark
// (testenv.Postgres takes a *testing.T), or skips.
func benchDSN(b *testing.B) string {
	b.Helper()
	dsn := os.Getenv(testenv.PostgresEnv)
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(b.Context(), 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Skipf("no PostgreSQL for this benchmark: set %s (connect: %v)", testenv.PostgresEnv, err)
	}
	conn.Close(ctx)
	return dsn
}

// openBench opens a store in a fresh schema dropped when b ends.
func openBench(b *testing.B) *Store {
	b.Helper()
	dsn := benchDSN(b)
	return openTest(b, dsn, newSchema(b, dsn))
}

// randomBytes returns n incompressible bytes, the worst case for storage.
func randomBytes(n int) []byte {
	buf := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	return buf
}

// BenchmarkStageChunk stages one 64k-row chunk (1.5 MiB) per operation;
// each is its own durable transaction.
func BenchmarkStageChunk(b *testing.B) {
	s := openBench(b)
	const rows = 64 << 10
	c := store.Chunk{Dataset: "ds", Source: store.Bulk, Job: "job", Rows: rows, Data: randomBytes(rows * bytesPerRow)}
	b.SetBytes(int64(len(c.Data)))
	for b.Loop() {
		if err := s.StageChunk(b.Context(), c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkImport1M is a whole 1M-row import at the store level: 16 staged
// chunks of 64k rows, then a replacing commit.
func BenchmarkImport1M(b *testing.B) {
	s := openBench(b)
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
	// copy the blobs.
	b.ReportMetric(float64(commit.Milliseconds())/float64(b.N), "commit-ms/op")
}

// BenchmarkAppendChunks appends 10-row Put chunks, one per transaction or
// 100 per transaction (group commit), and reports events per second.
func BenchmarkAppendChunks(b *testing.B) {
	const rows = 10
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("chunks-per-tx=%d", batch), func(b *testing.B) {
			s := openBench(b)
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
	s := openBench(b)
	const rows, chunks = 64 << 10, 16
	data := randomBytes(rows * bytesPerRow)
	for range chunks {
		if _, err := s.AppendChunks(b.Context(), []store.Chunk{{Dataset: "ds", Source: store.Put, Rows: rows, Data: data}}); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(data) * chunks))
	for b.Loop() {
		n := 0
		err := s.ScanChunks(b.Context(), "ds", "", 0, func(c store.Chunk) error { n += c.Rows; return nil })
		if err != nil || n != rows*chunks {
			b.Fatalf("scanned %d rows, %v", n, err)
		}
	}
	b.ReportMetric(float64(rows*chunks*b.N)/b.Elapsed().Seconds(), "rows/s")
}
