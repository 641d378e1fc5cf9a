package serving

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/recipe"
)

// BenchmarkLiveUsers streams 1M distinct users (5 events each, as
// PutEvents batches of 10 events would deliver them) into one group's
// histories, with and without a live-user cap, then reads back a sample
// of 1000 users (with the cap nearly all come back from the spill file,
// each evicting another). It reports the time per read-back, the live users
// held, the heap in use and the process RSS after a GC, and the spill
// file's size. Run one iteration:
//
//	go test ./internal/serving -run '^$' -bench LiveUsers -benchtime 1x
func BenchmarkLiveUsers(b *testing.B) {
	const users, perUser = 1_000_000, 5
	for _, maxLive := range []int{0, 100_000} {
		b.Run(fmt.Sprintf("cap=%d", maxLive), func(b *testing.B) {
			for range b.N {
				h := buildHistories(&recipe.Interactions{}, 500)
				if err := h.capLive(maxLive, b.TempDir()); err != nil {
					b.Fatal(err)
				}
				batch := make([]corpus.Event, 0, 10)
				for u := range users {
					id := "user-" + strconv.Itoa(u)
					for k := range perUser {
						batch = append(batch, corpus.Event{User: id, Item: "item-" + strconv.Itoa((u*7+k*13)%50_000), Type: "VIEWED",
							Time: int64(1_700_000_000 + u + k), Value: float32(math.NaN())})
						if len(batch) == cap(batch) {
							h.observe(batch)
							batch = batch[:0]
						}
					}
				}
				h.observe(batch)
				start := time.Now()
				for u := 0; u < users; u += users / 1000 {
					if got := h.user(nil, "user-"+strconv.Itoa(u)); len(got) != perUser {
						b.Fatalf("user-%d has %d events, want %d", u, len(got), perUser)
					}
				}
				b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "µs/read")
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(h.liveUsers()), "live-users")
				b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
				b.ReportMetric(float64(rssBytes())/(1<<20), "rss-MiB")
				if h.spill != nil {
					b.ReportMetric(float64(h.spill.end)/(1<<20), "spill-MiB")
				}
				runtime.KeepAlive(h)
			}
		})
	}
}

// rssBytes reads the process's resident set size (Linux), or 0.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, _ := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte("kB")))), 10, 64)
			return kb << 10
		}
	}
	return 0
}
