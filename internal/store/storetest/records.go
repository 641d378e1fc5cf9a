package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/store"
)

func runRecords(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("StagedInvisible", func(t *testing.T) { testStagedInvisible(t, open(t)) })
	t.Run("CommitReplace", func(t *testing.T) { testCommitReplace(t, open(t)) })
	t.Run("Discard", func(t *testing.T) { testDiscard(t, open(t)) })
	t.Run("AppendSeqs", func(t *testing.T) { testAppendSeqs(t, open(t)) })
	t.Run("Scan", func(t *testing.T) { testScan(t, open(t)) })
	t.Run("ScanStops", func(t *testing.T) { testScanStops(t, open(t)) })
	t.Run("ScanDoesNotBlockWriters", func(t *testing.T) { testScanDoesNotBlockWriters(t, open(t)) })
	t.Run("Count", func(t *testing.T) { testCount(t, open(t)) })
	t.Run("DeleteRecords", func(t *testing.T) { testDeleteRecords(t, open(t)) })
	t.Run("RewriteChunks", func(t *testing.T) { testRewriteChunks(t, open(t)) })
	t.Run("LargeChunk", func(t *testing.T) { testLargeChunk(t, open(t)) })
	t.Run("InvalidChunks", func(t *testing.T) { testInvalidChunks(t, open(t)) })
	t.Run("ConcurrentAppend", func(t *testing.T) { testConcurrentAppend(t, open(t)) })
	t.Run("LatestSeq", func(t *testing.T) { testLatestSeq(t, open(t)) })
	t.Run("ChunkSeqs", func(t *testing.T) { testChunkSeqs(t, open(t)) })
}

// testChunkSeqs checks that ChunkSeqs lists the committed chunks ScanChunks
// would pass, by source, above after, up to limit.
func testChunkSeqs(t *testing.T, s store.Store) {
	ctx := t.Context()
	put, err := s.AppendChunks(ctx, []store.Chunk{putChunk("a", 1, "p1"), putChunk("b", 1, "other"), putChunk("a", 1, "p2")})
	must(t, "AppendChunks", err)
	must(t, "StageChunk", s.StageChunk(ctx, bulkChunk("a", "job", 1, "staged")))
	more, err := s.AppendChunks(ctx, []store.Chunk{putChunk("a", 1, "p3")})
	must(t, "AppendChunks", err)
	var bulk int64
	must(t, "CommitImport", s.CommitImport(ctx, "a", "job", false))
	must(t, "ScanChunks", s.ScanChunks(ctx, "a", store.Bulk, 0, func(c store.Chunk) error { bulk = c.Seq; return nil }))
	all := []int64{put[0], put[2], bulk, more[0]}
	slices.Sort(all)
	for _, tc := range []struct {
		name   string
		source store.Source
		after  int64
		limit  int
		want   []int64
	}{
		{"puts", store.Put, 0, 100, []int64{put[0], put[2], more[0]}},
		{"puts after the first", store.Put, put[0], 100, []int64{put[2], more[0]}},
		{"limited", store.Put, 0, 2, []int64{put[0], put[2]}},
		{"both sources", "", 0, 100, all},
		{"bulk", store.Bulk, 0, 100, []int64{bulk}},
		{"none left", store.Put, more[0], 100, nil},
	} {
		got, err := s.ChunkSeqs(ctx, "a", tc.source, tc.after, tc.limit)
		must(t, "ChunkSeqs "+tc.name, err)
		if !slices.Equal(got, tc.want) {
			t.Errorf("ChunkSeqs(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
	_, err = s.ChunkSeqs(ctx, "a", store.Put, 0, 0)
	mustKind(t, "ChunkSeqs(limit 0)", err, errs.Invalid)
	_, err = s.ChunkSeqs(ctx, "a", "SIDEWAYS", 0, 10)
	mustKind(t, "ChunkSeqs(bad source)", err, errs.Invalid)
}

// testLatestSeq checks that LatestSeq covers every chunk written before it,
// staged ones included, and none written after.
func testLatestSeq(t *testing.T, s store.Store) {
	ctx := t.Context()
	if seq, err := s.LatestSeq(ctx); err != nil || seq != 0 {
		t.Fatalf("LatestSeq of an empty store = %d, %v, want 0", seq, err)
	}
	seqs, err := s.AppendChunks(ctx, []store.Chunk{putChunk("a", 1, "x"), putChunk("b", 1, "y")})
	must(t, "AppendChunks", err)
	must(t, "StageChunk", s.StageChunk(ctx, bulkChunk("a", "job", 1, "z")))
	latest, err := s.LatestSeq(ctx)
	must(t, "LatestSeq", err)
	if latest < seqs[1] {
		t.Errorf("LatestSeq = %d, below the appended Seq %d", latest, seqs[1])
	}
	var staged int64
	must(t, "CommitImport", s.CommitImport(ctx, "a", "job", false))
	must(t, "ScanChunks", s.ScanChunks(ctx, "a", store.Bulk, 0, func(c store.Chunk) error { staged = c.Seq; return nil }))
	if latest < staged {
		t.Errorf("LatestSeq = %d, below the staged chunk's Seq %d", latest, staged)
	}
	later, err := s.AppendChunks(ctx, []store.Chunk{putChunk("c", 1, "w")})
	must(t, "AppendChunks", err)
	if later[0] <= latest {
		t.Errorf("a chunk appended after LatestSeq = %d got Seq %d, want a higher one", latest, later[0])
	}
}

func bulkChunk(dataset, job string, rows int, data string) store.Chunk {
	return store.Chunk{Dataset: dataset, Source: store.Bulk, Job: job, Rows: rows, Data: []byte(data)}
}

func putChunk(dataset string, rows int, data string) store.Chunk {
	return store.Chunk{Dataset: dataset, Source: store.Put, Rows: rows, Data: []byte(data)}
}

// scan returns every committed chunk of dataset with Seq > after from source,
// and checks that they come in increasing Seq order.
func scan(t *testing.T, s store.Store, dataset string, source store.Source, after int64) []store.Chunk {
	t.Helper()
	var out []store.Chunk
	err := s.ScanChunks(t.Context(), dataset, source, after, func(c store.Chunk) error {
		if n := len(out); n > 0 && c.Seq <= out[n-1].Seq {
			return fmt.Errorf("Seq %d after Seq %d: not increasing", c.Seq, out[n-1].Seq)
		}
		if c.Seq <= after {
			return fmt.Errorf("Seq %d not after %d", c.Seq, after)
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		t.Fatalf("ScanChunks(%q, %q, %d): %v", dataset, source, after, err)
	}
	return out
}

// payloads returns the Data of each chunk as a string.
func payloads(cs []store.Chunk) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c.Data)
	}
	return out
}

func count(t *testing.T, s store.Store, dataset string) int64 {
	t.Helper()
	n, err := s.CountRecords(t.Context(), dataset)
	if err != nil {
		t.Fatalf("CountRecords(%q): %v", dataset, err)
	}
	return n
}

func testStagedInvisible(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := []store.Chunk{
		bulkChunk("ds", "job1", 3, "a"),
		bulkChunk("ds", "job1", 5, "b"),
		bulkChunk("ds", "job1", 7, "c"),
	}
	for _, c := range want {
		must(t, "StageChunk", s.StageChunk(ctx, c))
	}
	// Another dataset staging under the same job ARN must not be committed
	// with it.
	must(t, "StageChunk(other dataset)", s.StageChunk(ctx, bulkChunk("ds2", "job1", 1, "z")))

	if got := scan(t, s, "ds", "", 0); len(got) != 0 {
		t.Errorf("ScanChunks before commit = %q, want nothing", payloads(got))
	}
	if n := count(t, s, "ds"); n != 0 {
		t.Errorf("CountRecords before commit = %d, want 0", n)
	}

	must(t, "CommitImport", s.CommitImport(ctx, "ds", "job1", false))
	got := scan(t, s, "ds", "", 0)
	if len(got) != len(want) {
		t.Fatalf("ScanChunks after commit = %q, want %d chunks", payloads(got), len(want))
	}
	for i, c := range got {
		w := want[i]
		if c.Dataset != w.Dataset || c.Source != store.Bulk || c.Job != w.Job || c.Rows != w.Rows || !bytes.Equal(c.Data, w.Data) {
			t.Errorf("chunk %d = {%q %q %q %d %q}, want {%q %q %q %d %q}", i,
				c.Dataset, c.Source, c.Job, c.Rows, c.Data, w.Dataset, store.Bulk, w.Job, w.Rows, w.Data)
		}
		if c.Seq <= 0 {
			t.Errorf("chunk %d Seq = %d, want > 0", i, c.Seq)
		}
	}
	if n := count(t, s, "ds"); n != 15 {
		t.Errorf("CountRecords after commit = %d, want 15", n)
	}
	if n := count(t, s, "ds2"); n != 0 {
		t.Errorf("CountRecords(ds2) after committing ds = %d, want 0", n)
	}

	// Committing again, or committing a job with nothing staged, changes nothing.
	must(t, "CommitImport(again)", s.CommitImport(ctx, "ds", "job1", false))
	must(t, "CommitImport(empty job)", s.CommitImport(ctx, "ds", "job-none", false))
	if n := count(t, s, "ds"); n != 15 {
		t.Errorf("CountRecords after empty commits = %d, want 15", n)
	}
}

func testCommitReplace(t *testing.T, s store.Store) {
	cases := []struct {
		name    string
		replace bool
		want    []string // payloads of ds after the second import
	}{
		{"incremental", false, []string{"old1", "put1", "old2", "put2", "new1", "new2"}},
		{"full", true, []string{"put1", "put2", "new1", "new2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			ds, other := "ds-"+tc.name, "other-"+tc.name
			must(t, "StageChunk", s.StageChunk(ctx, bulkChunk(ds, "job1", 1, "old1")))
			_, err := s.AppendChunks(ctx, []store.Chunk{putChunk(ds, 10, "put1")})
			must(t, "AppendChunks", err)
			must(t, "StageChunk", s.StageChunk(ctx, bulkChunk(ds, "job1", 2, "old2")))
			must(t, "CommitImport(job1)", s.CommitImport(ctx, ds, "job1", false))
			must(t, "StageChunk(other)", s.StageChunk(ctx, bulkChunk(other, "jobX", 4, "keep")))
			must(t, "CommitImport(other)", s.CommitImport(ctx, other, "jobX", false))
			_, err = s.AppendChunks(ctx, []store.Chunk{putChunk(ds, 20, "put2")})
			must(t, "AppendChunks", err)

			must(t, "StageChunk", s.StageChunk(ctx, bulkChunk(ds, "job2", 100, "new1")))
			// A third job still staging must survive the replace and commit later.
			must(t, "StageChunk(job3)", s.StageChunk(ctx, bulkChunk(ds, "job3", 1000, "late")))
			must(t, "StageChunk", s.StageChunk(ctx, bulkChunk(ds, "job2", 200, "new2")))
			must(t, "CommitImport(job2)", s.CommitImport(ctx, ds, "job2", tc.replace))

			if got := payloads(scan(t, s, ds, "", 0)); !slices.Equal(got, tc.want) {
				t.Errorf("after CommitImport(replace=%v): chunks = %q, want %q", tc.replace, got, tc.want)
			}
			var wantRows int64
			for _, p := range tc.want {
				wantRows += map[string]int64{"old1": 1, "old2": 2, "put1": 10, "put2": 20, "new1": 100, "new2": 200}[p]
			}
			if n := count(t, s, ds); n != wantRows {
				t.Errorf("CountRecords = %d, want %d", n, wantRows)
			}
			if got := payloads(scan(t, s, other, "", 0)); !slices.Equal(got, []string{"keep"}) {
				t.Errorf("other dataset after replace = %q, want [keep]", got)
			}

			// Committing the same job again is a no-op, even with replace:
			// its own chunks are not "other" Bulk chunks.
			must(t, "CommitImport(job2 again)", s.CommitImport(ctx, ds, "job2", tc.replace))
			if got := payloads(scan(t, s, ds, "", 0)); !slices.Equal(got, tc.want) {
				t.Errorf("after committing job2 twice: chunks = %q, want %q", got, tc.want)
			}

			must(t, "CommitImport(job3)", s.CommitImport(ctx, ds, "job3", false))
			if got := payloads(scan(t, s, ds, store.Bulk, 0)); !slices.Contains(got, "late") {
				t.Errorf("job3 staged before the replace was lost: Bulk chunks = %q", got)
			}
		})
	}
}

func testDiscard(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, "StageChunk(a)", s.StageChunk(ctx, bulkChunk("ds", "jobA", 1, "a")))
	must(t, "StageChunk(b)", s.StageChunk(ctx, bulkChunk("ds", "jobB", 2, "b")))
	must(t, "StageChunk(committed)", s.StageChunk(ctx, bulkChunk("ds", "jobC", 4, "c")))
	must(t, "CommitImport(jobC)", s.CommitImport(ctx, "ds", "jobC", false))

	must(t, "DiscardImport(jobA)", s.DiscardImport(ctx, "ds", "jobA"))
	must(t, "DiscardImport(nothing)", s.DiscardImport(ctx, "ds", "jobA"))
	must(t, "DiscardImport(unknown)", s.DiscardImport(ctx, "nope", "nope"))
	// Discarding a committed job does not remove its chunks: only staged ones.
	must(t, "DiscardImport(jobC)", s.DiscardImport(ctx, "ds", "jobC"))

	must(t, "CommitImport(jobA)", s.CommitImport(ctx, "ds", "jobA", false))
	must(t, "CommitImport(jobB)", s.CommitImport(ctx, "ds", "jobB", false))
	if got := payloads(scan(t, s, "ds", "", 0)); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("after discarding jobA: chunks = %q, want [b c]", got)
	}
}

func testAppendSeqs(t *testing.T, s store.Store) {
	ctx := t.Context()
	seqs, err := s.AppendChunks(ctx, nil)
	if err != nil || len(seqs) != 0 {
		t.Errorf("AppendChunks(nil) = %v, %v, want no seqs and nil", seqs, err)
	}

	var all []int64
	for round := range 5 {
		var cs []store.Chunk
		for i := range round + 1 {
			cs = append(cs, putChunk(fmt.Sprintf("ds%d", i%2), 1, fmt.Sprintf("r%d-%d", round, i)))
		}
		seqs, err := s.AppendChunks(ctx, cs)
		must(t, "AppendChunks", err)
		if len(seqs) != len(cs) {
			t.Fatalf("AppendChunks(%d chunks) returned %d seqs", len(cs), len(seqs))
		}
		all = append(all, seqs...)
		// A staged chunk takes a Seq from the same store-wide sequence.
		must(t, "StageChunk", s.StageChunk(ctx, bulkChunk("ds0", "job", 1, "bulk")))
	}
	for i := 1; i < len(all); i++ {
		if all[i] <= all[i-1] {
			t.Fatalf("AppendChunks seqs %v: not increasing at %d", all, i)
		}
	}

	// The returned Seqs are the ones ScanChunks reports.
	got := map[string]int64{}
	for _, ds := range []string{"ds0", "ds1"} {
		for _, c := range scan(t, s, ds, "", 0) {
			got[string(c.Data)] = c.Seq
		}
	}
	i := 0
	for round := range 5 {
		for j := range round + 1 {
			p := fmt.Sprintf("r%d-%d", round, j)
			if got[p] != all[i] {
				t.Errorf("ScanChunks Seq of %s = %d, AppendChunks returned %d", p, got[p], all[i])
			}
			i++
		}
	}
}

func testScan(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Interleave sources and datasets so that Seq order differs from any
	// per-source or per-dataset grouping.
	seqOf := map[string]int64{}
	put := func(ds, p string) {
		seqs, err := s.AppendChunks(ctx, []store.Chunk{putChunk(ds, 1, p)})
		must(t, "AppendChunks", err)
		seqOf[p] = seqs[0]
	}
	put("ds", "p1")
	must(t, "StageChunk", s.StageChunk(ctx, bulkChunk("ds", "j", 1, "b1")))
	put("other", "o1")
	put("ds", "p2")
	must(t, "StageChunk", s.StageChunk(ctx, bulkChunk("ds", "j", 1, "b2")))
	must(t, "CommitImport", s.CommitImport(ctx, "ds", "j", false))
	put("ds", "p3")

	all := scan(t, s, "ds", "", 0)
	if got, want := payloads(all), []string{"p1", "b1", "p2", "b2", "p3"}; !slices.Equal(got, want) {
		t.Fatalf("ScanChunks(ds) = %q, want %q", got, want)
	}
	for _, c := range all {
		if want, ok := seqOf[string(c.Data)]; ok && c.Seq != want {
			t.Errorf("Seq of %s = %d, AppendChunks returned %d", c.Data, c.Seq, want)
		}
		if c.Dataset != "ds" {
			t.Errorf("chunk %s Dataset = %q, want ds", c.Data, c.Dataset)
		}
		if c.Source == store.Put && c.Job != "" {
			t.Errorf("Put chunk %s Job = %q, want empty", c.Data, c.Job)
		}
	}

	cases := []struct {
		name   string
		source store.Source
		after  int64
		want   []string
	}{
		{"all", "", 0, []string{"p1", "b1", "p2", "b2", "p3"}},
		{"bulk", store.Bulk, 0, []string{"b1", "b2"}},
		{"put", store.Put, 0, []string{"p1", "p2", "p3"}},
		{"after first", "", all[0].Seq, []string{"b1", "p2", "b2", "p3"}},
		{"after middle put", store.Put, all[2].Seq, []string{"p3"}},
		{"after middle", "", all[2].Seq, []string{"b2", "p3"}},
		{"after last", "", all[4].Seq, nil},
		{"negative after", store.Bulk, -5, []string{"b1", "b2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := payloads(scan(t, s, "ds", tc.source, tc.after)); !slices.Equal(got, tc.want) {
				t.Errorf("ScanChunks(ds, %q, %d) = %q, want %q", tc.source, tc.after, got, tc.want)
			}
		})
	}
	if got := scan(t, s, "missing", "", 0); len(got) != 0 {
		t.Errorf("ScanChunks(missing) = %q, want nothing", payloads(got))
	}
	err := s.ScanChunks(ctx, "ds", store.Source("SIDEWAYS"), 0, func(store.Chunk) error { return nil })
	mustKind(t, "ScanChunks(unknown source)", err, errs.Invalid)
}

var errStop = errors.New("stop here")

func testScanStops(t *testing.T, s store.Store) {
	ctx := t.Context()
	var cs []store.Chunk
	for i := range 10 {
		cs = append(cs, putChunk("ds", 1, fmt.Sprint(i)))
	}
	_, err := s.AppendChunks(ctx, cs)
	must(t, "AppendChunks", err)

	calls := 0
	err = s.ScanChunks(ctx, "ds", "", 0, func(store.Chunk) error {
		calls++
		if calls == 3 {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Errorf("ScanChunks with fn failing = %v, want an error wrapping errStop", err)
	}
	if calls != 3 {
		t.Errorf("fn called %d times after failing on call 3", calls)
	}

	// Cancelling mid-scan stops it with the context's error.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	calls = 0
	err = s.ScanChunks(cctx, "ds", "", 0, func(store.Chunk) error {
		calls++
		if calls == 2 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls > 3 {
		t.Errorf("ScanChunks cancelled at call 2 = %v after %d calls, want context.Canceled after 2 or 3", err, calls)
	}
}

// testScanDoesNotBlockWriters checks that a scan streams without holding the
// store's write path: fn writes to the store and reads from it mid-scan.
func testScanDoesNotBlockWriters(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i := range 5 {
		_, err := s.AppendChunks(ctx, []store.Chunk{putChunk("ds", 1, fmt.Sprint(i))})
		must(t, "AppendChunks", err)
	}
	must(t, "CreateResource", s.CreateResource(ctx, newResource("arn:attune:dataset/ds", "dataset", "", base)))

	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	seen := 0
	err := s.ScanChunks(ctx, "ds", "", 0, func(c store.Chunk) error {
		seen++
		if _, err := s.AppendChunks(wctx, []store.Chunk{putChunk("ds2", 1, "during "+string(c.Data))}); err != nil {
			return fmt.Errorf("AppendChunks during scan: %w", err)
		}
		if err := s.StageChunk(wctx, bulkChunk("ds2", "job", 1, "staged")); err != nil {
			return fmt.Errorf("StageChunk during scan: %w", err)
		}
		if _, err := s.GetResource(wctx, "dataset", "arn:attune:dataset/ds"); err != nil {
			return fmt.Errorf("GetResource during scan: %w", err)
		}
		if _, err := s.CountRecords(wctx, "ds2"); err != nil {
			return fmt.Errorf("CountRecords during scan: %w", err)
		}
		return nil
	})
	must(t, "ScanChunks with writes in fn", err)
	if seen != 5 {
		t.Errorf("scan saw %d chunks, want 5", seen)
	}
	if n := count(t, s, "ds2"); n != 5 {
		t.Errorf("CountRecords(ds2) after the scan = %d, want 5", n)
	}
}

func testCount(t *testing.T, s store.Store) {
	ctx := t.Context()
	if n := count(t, s, "unknown"); n != 0 {
		t.Errorf("CountRecords(unknown) = %d, want 0", n)
	}
	_, err := s.AppendChunks(ctx, []store.Chunk{putChunk("ds", 10, "a"), putChunk("ds", 0, "empty"), putChunk("x", 99, "b")})
	must(t, "AppendChunks", err)
	must(t, "StageChunk", s.StageChunk(ctx, bulkChunk("ds", "j", 1000, "c")))
	if n := count(t, s, "ds"); n != 10 {
		t.Errorf("CountRecords(ds) with a staged chunk = %d, want 10", n)
	}
	must(t, "CommitImport", s.CommitImport(ctx, "ds", "j", false))
	if n := count(t, s, "ds"); n != 1010 {
		t.Errorf("CountRecords(ds) = %d, want 1010", n)
	}
	// Counts are int64: they must not wrap at 2^31.
	big := []store.Chunk{putChunk("huge", 1<<30, "1"), putChunk("huge", 1<<30, "2"), putChunk("huge", 1<<30, "3")}
	_, err = s.AppendChunks(ctx, big)
	must(t, "AppendChunks(huge)", err)
	if n := count(t, s, "huge"); n != 3<<30 {
		t.Errorf("CountRecords(huge) = %d, want %d", n, int64(3)<<30)
	}
}

func testDeleteRecords(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, "StageChunk", s.StageChunk(ctx, bulkChunk("ds", "j1", 1, "committed")))
	must(t, "CommitImport", s.CommitImport(ctx, "ds", "j1", false))
	must(t, "StageChunk", s.StageChunk(ctx, bulkChunk("ds", "j2", 1, "staged")))
	_, err := s.AppendChunks(ctx, []store.Chunk{putChunk("ds", 1, "put"), putChunk("keep", 1, "kept")})
	must(t, "AppendChunks", err)
	must(t, "StageChunk(keep)", s.StageChunk(ctx, bulkChunk("keep", "j2", 1, "kept-staged")))

	must(t, "DeleteRecords", s.DeleteRecords(ctx, "ds"))
	must(t, "DeleteRecords(again)", s.DeleteRecords(ctx, "ds"))
	if got := scan(t, s, "ds", "", 0); len(got) != 0 {
		t.Errorf("ScanChunks after DeleteRecords = %q, want nothing", payloads(got))
	}
	// The staged chunk went too: committing its job brings nothing back.
	must(t, "CommitImport(j2)", s.CommitImport(ctx, "ds", "j2", false))
	if n := count(t, s, "ds"); n != 0 {
		t.Errorf("CountRecords after DeleteRecords and commit = %d, want 0", n)
	}
	must(t, "CommitImport(keep)", s.CommitImport(ctx, "keep", "j2", false))
	if got := payloads(scan(t, s, "keep", "", 0)); !slices.Equal(got, []string{"kept", "kept-staged"}) {
		t.Errorf("other dataset after DeleteRecords = %q, want [kept kept-staged]", got)
	}
}

func testLargeChunk(t *testing.T, s store.Store) {
	ctx := t.Context()
	data := make([]byte, 3<<20+17)
	x := uint32(2463534242)
	for i := range data {
		x ^= x << 13 // xorshift: incompressible and position-dependent
		x ^= x >> 17
		x ^= x << 5
		data[i] = byte(x)
	}
	c := store.Chunk{Dataset: "ds", Source: store.Bulk, Job: "j", Rows: 65536, Data: data}
	must(t, "StageChunk(3 MiB)", s.StageChunk(ctx, c))
	must(t, "CommitImport", s.CommitImport(ctx, "ds", "j", false))
	_, err := s.AppendChunks(ctx, []store.Chunk{{Dataset: "ds", Source: store.Put, Rows: 1, Data: data[:1<<20]}})
	must(t, "AppendChunks(1 MiB)", err)
	got := scan(t, s, "ds", "", 0)
	if len(got) != 2 || !bytes.Equal(got[0].Data, data) || !bytes.Equal(got[1].Data, data[:1<<20]) {
		t.Fatalf("large chunks did not round-trip byte for byte (%d chunks)", len(got))
	}
}

func testInvalidChunks(t *testing.T, s store.Store) {
	ctx := t.Context()
	cases := []struct {
		name string
		call func() error
	}{
		{"stage without dataset", func() error { return s.StageChunk(ctx, bulkChunk("", "j", 1, "x")) }},
		{"stage without job", func() error { return s.StageChunk(ctx, bulkChunk("ds", "", 1, "x")) }},
		{"stage a Put chunk", func() error {
			c := bulkChunk("ds", "j", 1, "x")
			c.Source = store.Put
			return s.StageChunk(ctx, c)
		}},
		{"stage negative rows", func() error { return s.StageChunk(ctx, bulkChunk("ds", "j", -1, "x")) }},
		{"append without dataset", func() error {
			_, err := s.AppendChunks(ctx, []store.Chunk{putChunk("ds", 1, "ok"), putChunk("", 1, "x")})
			return err
		}},
		{"append a Bulk chunk", func() error {
			_, err := s.AppendChunks(ctx, []store.Chunk{bulkChunk("ds", "j", 1, "x")})
			return err
		}},
		{"append negative rows", func() error {
			_, err := s.AppendChunks(ctx, []store.Chunk{putChunk("ds", -3, "x")})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { mustKind(t, tc.name, tc.call(), errs.Invalid) })
	}
	// A rejected batch is rejected whole.
	must(t, "CommitImport", s.CommitImport(ctx, "ds", "j", false))
	if got := scan(t, s, "ds", "", 0); len(got) != 0 {
		t.Errorf("chunks after invalid writes = %q, want nothing", payloads(got))
	}
}

func testConcurrentAppend(t *testing.T, s store.Store) {
	ctx := t.Context()
	const writers, calls, perCall = 8, 40, 3
	returned := make([][]int64, writers)
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range calls {
				var cs []store.Chunk
				for j := range perCall {
					cs = append(cs, putChunk("ds", 1, fmt.Sprintf("w%d-%d-%d", w, i, j)))
				}
				seqs, err := s.AppendChunks(ctx, cs)
				if err != nil {
					errc <- fmt.Errorf("writer %d call %d: %w", w, i, err)
					return
				}
				returned[w] = append(returned[w], seqs...)
			}
		})
	}
	// A concurrent import and reader must not disturb the writers either.
	wg.Go(func() {
		for i := range 20 {
			if err := s.StageChunk(ctx, bulkChunk("ds", "job", 1, fmt.Sprintf("bulk-%d", i))); err != nil {
				errc <- fmt.Errorf("StageChunk %d: %w", i, err)
				return
			}
			if _, err := s.CountRecords(ctx, "ds"); err != nil {
				errc <- fmt.Errorf("CountRecords: %w", err)
				return
			}
		}
	})
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	must(t, "CommitImport", s.CommitImport(ctx, "ds", "job", false))

	seqOf := map[string]int64{}
	for _, c := range scan(t, s, "ds", "", 0) {
		if _, dup := seqOf[string(c.Data)]; dup {
			t.Errorf("chunk %s stored twice", c.Data)
		}
		seqOf[string(c.Data)] = c.Seq
	}
	if want := writers*calls*perCall + 20; len(seqOf) != want {
		t.Errorf("stored %d distinct chunks, want %d", len(seqOf), want)
	}
	for w := range writers {
		for i := range calls {
			for j := range perCall {
				p := fmt.Sprintf("w%d-%d-%d", w, i, j)
				if seqOf[p] != returned[w][i*perCall+j] {
					t.Errorf("%s: scanned Seq %d, AppendChunks returned %d", p, seqOf[p], returned[w][i*perCall+j])
				}
			}
		}
	}
	if n := count(t, s, "ds"); n != writers*calls*perCall+20 {
		t.Errorf("CountRecords = %d, want %d", n, writers*calls*perCall+20)
	}
}

func testRewriteChunks(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, "StageChunk", s.StageChunk(ctx, bulkChunk("ds", "j1", 2, "a")))
	must(t, "CommitImport", s.CommitImport(ctx, "ds", "j1", false))
	must(t, "StageChunk", s.StageChunk(ctx, bulkChunk("ds", "j2", 3, "b")))
	_, err := s.AppendChunks(ctx, []store.Chunk{putChunk("ds", 1, "c"), putChunk("other", 4, "x")})
	must(t, "AppendChunks", err)
	before := scan(t, s, "ds", "", 0)

	var seen []string
	err = s.RewriteChunks(ctx, "ds", func(c store.Chunk) (*store.Rewrite, error) {
		seen = append(seen, fmt.Sprintf("%s/%s/%d", c.Data, c.Source, c.Rows))
		switch string(c.Data) {
		case "a":
			return &store.Rewrite{Rows: 1, Data: []byte("a2")}, nil
		case "b":
			return &store.Rewrite{}, nil // delete the staged chunk
		}
		return nil, nil
	})
	must(t, "RewriteChunks", err)
	if want := []string{"a/BULK/2", "b/BULK/3", "c/PUT/1"}; !slices.Equal(seen, want) {
		t.Errorf("RewriteChunks visited %q, want %q (every chunk, staged too, in Seq order)", seen, want)
	}
	after := scan(t, s, "ds", "", 0)
	if got := payloads(after); !slices.Equal(got, []string{"a2", "c"}) {
		t.Fatalf("ScanChunks after RewriteChunks = %q, want [a2 c]", got)
	}
	if after[0].Seq != before[0].Seq || after[0].Source != store.Bulk || after[0].Job != "j1" || after[1].Seq != before[1].Seq {
		t.Errorf("rewritten chunks = %+v, want the Seqs, Source and Job of %+v", after, before)
	}
	if n := count(t, s, "ds"); n != 2 {
		t.Errorf("CountRecords after RewriteChunks = %d, want 2", n)
	}
	// The deleted staged chunk does not come back when its job commits.
	must(t, "CommitImport(j2)", s.CommitImport(ctx, "ds", "j2", false))
	if got := payloads(scan(t, s, "ds", "", 0)); !slices.Equal(got, []string{"a2", "c"}) {
		t.Errorf("after committing the job of a deleted staged chunk = %q, want [a2 c]", got)
	}
	if got := payloads(scan(t, s, "other", "", 0)); !slices.Equal(got, []string{"x"}) {
		t.Errorf("other dataset after RewriteChunks = %q, want [x]", got)
	}

	// fn's error stops the rewrite and is returned.
	stop := errors.New("stop")
	calls := 0
	err = s.RewriteChunks(ctx, "ds", func(store.Chunk) (*store.Rewrite, error) {
		calls++
		return nil, stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("RewriteChunks with failing fn = %v after %d calls, want %v after 1", err, calls, stop)
	}
	err = s.RewriteChunks(ctx, "ds", func(store.Chunk) (*store.Rewrite, error) { return &store.Rewrite{Rows: -1}, nil })
	mustKind(t, "RewriteChunks(Rows -1)", err, errs.Invalid)
	must(t, "RewriteChunks(no chunks)", s.RewriteChunks(ctx, "none", func(store.Chunk) (*store.Rewrite, error) {
		return nil, errors.New("called for a dataset without chunks")
	}))
	must(t, "Purge", s.Purge(ctx))
	if got := payloads(scan(t, s, "ds", "", 0)); !slices.Equal(got, []string{"a2", "c"}) {
		t.Errorf("after Purge = %q, want [a2 c]", got)
	}
}
