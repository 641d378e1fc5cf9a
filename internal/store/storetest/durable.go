package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/store"
)

// RunDurable checks that everything acknowledged survives closing and
// reopening a store kept in a directory. open must open (creating when
// needed) the store kept in dir and arrange for it to be closed with
// t.Cleanup; the suite also closes it itself, so Close must be idempotent.
func RunDurable(t *testing.T, open func(t *testing.T, dir string) store.Store) {
	t.Helper()
	dir := t.TempDir()
	ctx := t.Context()

	s := open(t, dir)
	var want []store.Resource
	for i := range 30 {
		r := newResource(fmt.Sprintf("arn:attune:dataset/%02d", i), "dataset", "g", base.Add(time.Duration(i)*time.Second))
		must(t, "CreateResource", s.CreateResource(ctx, r))
		r.Version = 1
		want = append(want, r)
	}
	upd := want[3]
	upd.Status = "ACTIVE AGAIN"
	upd, err := s.UpdateResource(ctx, upd)
	must(t, "UpdateResource", err)
	want[3] = upd
	must(t, "DeleteResource", s.DeleteResource(ctx, "dataset", want[5].ARN))
	deleted := want[5].ARN
	want = slices.Delete(want, 5, 6)

	// A page token is stateless: one issued before the restart still works.
	_, token, err := s.ListResources(ctx, store.ListQuery{Kind: "dataset", Parent: "g", Limit: 10})
	must(t, "ListResources", err)

	must(t, "StageChunk", s.StageChunk(ctx, bulkChunk("ds", "done", 100, "committed-bulk")))
	must(t, "CommitImport", s.CommitImport(ctx, "ds", "done", false))
	putSeqs, err := s.AppendChunks(ctx, []store.Chunk{putChunk("ds", 1, "put-a"), putChunk("ds", 2, "put-b")})
	must(t, "AppendChunks", err)
	// An import interrupted by the restart: its chunk stays staged.
	must(t, "StageChunk", s.StageChunk(ctx, bulkChunk("ds", "interrupted", 7, "staged-bulk")))
	must(t, "StageChunk", s.StageChunk(ctx, bulkChunk("ds", "resumed", 9, "resumed-bulk")))
	must(t, "Close", s.Close())
	must(t, "Close (again)", s.Close())

	s = open(t, dir)
	for _, w := range want {
		got, err := s.GetResource(ctx, "dataset", w.ARN)
		if err != nil {
			t.Errorf("GetResource(%s) after reopen: %v", w.ARN, err)
			continue
		}
		if d := equalResource(got, w); d != "" {
			t.Errorf("GetResource(%s) after reopen: %s", w.ARN, d)
		}
	}
	_, err = s.GetResource(ctx, "dataset", deleted)
	mustKind(t, "GetResource(deleted) after reopen", err, errs.NotFound)
	rest := listAll(t, s, store.ListQuery{Kind: "dataset", Parent: "g", Limit: 10, PageToken: token})
	if len(rest) != len(want)-10 {
		t.Errorf("pages after reopen with an old token: %d items, want %d", len(rest), len(want)-10)
	}

	chunks := scan(t, s, "ds", "", 0)
	if got := payloads(chunks); !slices.Equal(got, []string{"committed-bulk", "put-a", "put-b"}) {
		t.Fatalf("chunks after reopen = %q, want [committed-bulk put-a put-b]", got)
	}
	if chunks[1].Seq != putSeqs[0] || chunks[2].Seq != putSeqs[1] {
		t.Errorf("Put Seqs after reopen = %d, %d, want %v", chunks[1].Seq, chunks[2].Seq, putSeqs)
	}
	if n := count(t, s, "ds"); n != 103 {
		t.Errorf("CountRecords after reopen = %d, want 103", n)
	}

	// Sequence numbers keep increasing across the restart.
	seqs, err := s.AppendChunks(ctx, []store.Chunk{putChunk("ds", 1, "put-c")})
	must(t, "AppendChunks after reopen", err)
	if seqs[0] <= putSeqs[1] {
		t.Errorf("Seq after reopen = %d, want > %d", seqs[0], putSeqs[1])
	}
	must(t, "DiscardImport(interrupted)", s.DiscardImport(ctx, "ds", "interrupted"))
	must(t, "CommitImport(resumed)", s.CommitImport(ctx, "ds", "resumed", false))
	must(t, "CommitImport(interrupted)", s.CommitImport(ctx, "ds", "interrupted", false))
	if got := payloads(scan(t, s, "ds", store.Bulk, 0)); !slices.Equal(got, []string{"committed-bulk", "resumed-bulk"}) {
		t.Errorf("Bulk chunks after discard and commit = %q, want [committed-bulk resumed-bulk]", got)
	}
	must(t, "Close", s.Close())

	// The writes made after the first reopen are durable too.
	s = open(t, dir)
	if n := count(t, s, "ds"); n != 113 {
		t.Errorf("CountRecords after second reopen = %d, want 113", n)
	}
}
