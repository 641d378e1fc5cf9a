package events

import (
	"context"
	"fmt"
	"time"

	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/records"
	"github.com/attune-dev/attune/internal/schema"
	"github.com/attune-dev/attune/internal/store"
)

// request is one validated Put* call waiting for the writer.
type request struct {
	layout *layout
	rows   [][]schema.Value
	update corpus.Update
	// eventIDs is parallel to update.Events: the client's eventId, or ""
	// when Attune generated one (a generated id is never repeated).
	eventIDs []string
	// link, when not nil, is the session → user link the call makes,
	// stored in the same transaction as its events.
	link *store.SessionLink
	done chan error // buffered: the writer never blocks on a requester
	// arrived is when the PutEvents call came in (zero for PutItems and
	// PutUsers), for the effect-lag metric.
	arrived time.Time
}

// submit queues r for the writer and waits until it is durable. A full
// queue is errs.Busy at once, so memory stays bounded under overload.
func (s *Service) submit(ctx context.Context, r *request) error {
	r.done = make(chan error, 1)
	s.qmu.RLock()
	if s.closed {
		s.qmu.RUnlock()
		return errs.E(errs.Unavailable, "the events API is shutting down")
	}
	select {
	case s.queue <- r:
	default:
		s.qmu.RUnlock()
		return errs.E(errs.Busy, "too many requests are waiting to be written (%d); retry after a short pause", cap(s.queue))
	}
	s.qmu.RUnlock()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		// The client went away; the request is still written if it was
		// accepted. A retry with the same sessionId and eventId is stored
		// again but is not counted twice: training skips later copies of
		// an event id (corpus.Builder) and the writer leaves them out of
		// serving's live state (recentEvents).
		return ctx.Err()
	}
}

// writeLoop is the single writer: it takes every request queued so far (up
// to MaxBatchRows rows), writes them in one transaction and releases them.
// When ctx is done it closes the queue and writes what is left.
func (s *Service) writeLoop(ctx context.Context) {
	// builders are per layout and reused across batches; only this goroutine
	// touches them.
	builders := map[*layout]*records.Builder{}
	// Commits must not be cut short by shutdown: a request already queued
	// is either written or told it was not.
	wctx := context.WithoutCancel(ctx)
	for {
		var first *request
		select {
		case <-ctx.Done():
			s.qmu.Lock()
			s.closed = true
			s.qmu.Unlock()
			for {
				batch := s.collect(nil, nil)
				if len(batch) == 0 {
					return
				}
				s.commit(wctx, batch, builders)
			}
		case first = <-s.queue:
		}
		s.commit(wctx, s.collect(ctx, first), builders)
		if len(builders) > 256 {
			// Layouts replaced by schema changes leave builders behind.
			clear(builders)
		}
	}
}

// collect returns first plus the requests queued behind it, waiting up to
// BatchWindow for more when that is set (and ctx is not nil).
func (s *Service) collect(ctx context.Context, first *request) []*request {
	var batch []*request
	rows := 0
	if first != nil {
		batch, rows = append(batch, first), len(first.rows)
	}
	var timeout <-chan time.Time
	if ctx != nil && s.opts.BatchWindow > 0 {
		t := time.NewTimer(s.opts.BatchWindow)
		defer t.Stop()
		timeout = t.C
	}
	for rows < s.opts.MaxBatchRows {
		if timeout == nil {
			select {
			case r := <-s.queue:
				batch, rows = append(batch, r), rows+len(r.rows)
				continue
			default:
				return batch
			}
		}
		select {
		case r := <-s.queue:
			batch, rows = append(batch, r), rows+len(r.rows)
		case <-timeout:
			return batch
		case <-ctx.Done():
			return batch
		}
	}
	return batch
}

// commit writes a batch as one chunk per dataset layout, with the session
// links it makes, in one store transaction, tells serving, then releases
// every request with the outcome.
func (s *Service) commit(ctx context.Context, batch []*request, builders map[*layout]*records.Builder) {
	if s.fan != nil {
		s.fan.commit.RLock() // until the chunks are claimed (fanout.go)
		defer s.fan.commit.RUnlock()
	}
	var order []*layout
	rows := 0
	for _, r := range batch {
		b := builders[r.layout]
		if b == nil {
			b = records.NewBuilder(r.layout.fields)
			builders[r.layout] = b
		}
		if b.Len() == 0 {
			order = append(order, r.layout)
		}
		for _, row := range r.rows {
			b.Append(row)
		}
		rows += len(r.rows)
	}
	chunks := make([]store.Chunk, len(order))
	for i, l := range order {
		b := builders[l]
		chunks[i] = store.Chunk{Dataset: l.datasetARN, Source: store.Put, Rows: b.Len(), Data: b.Encode()}
		b.Reset()
	}
	var links []store.SessionLink
	for _, r := range batch {
		if r.link != nil {
			links = append(links, *r.link)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.StoreTimeout)
	seqs, err := s.st.AppendLinked(cctx, chunks, links)
	cancel()
	if err != nil {
		err = fmt.Errorf("events: write %d rows of %d requests: %w", rows, len(batch), err)
	} else {
		for _, l := range links {
			s.sessions.put(l.Group, l.Session, l.User)
		}
		if s.obs != nil {
			s.observe(batch)
		}
		now := s.now()
		for _, r := range batch {
			if !r.arrived.IsZero() {
				s.opts.Metrics.EventEffectLag(now.Sub(r.arrived))
			}
		}
	}
	for _, r := range batch {
		r.done <- err
	}
	if err == nil && s.fan != nil {
		s.fan.committed(chunks, seqs)
	}
}

// observe hands serving one Update per dataset group of the batch, without
// events that repeat a recent client-given event id.
func (s *Service) observe(batch []*request) {
	for _, r := range batch {
		if r.eventIDs != nil {
			r.update.Events = s.recent.dropRepeats(r.update.Group, r.update.Events, r.eventIDs)
		}
	}
	if len(batch) == 1 {
		s.obs.Observe(batch[0].update)
		return
	}
	var order []string
	byGroup := map[string]*corpus.Update{}
	for _, r := range batch {
		u := byGroup[r.update.Group]
		if u == nil {
			u = &corpus.Update{Group: r.update.Group}
			byGroup[r.update.Group] = u
			order = append(order, r.update.Group)
		}
		u.Events = append(u.Events, r.update.Events...)
		u.ItemsChanged = u.ItemsChanged || r.update.ItemsChanged
		u.UsersChanged = u.UsersChanged || r.update.UsersChanged
	}
	for _, g := range order {
		s.obs.Observe(*byGroup[g])
	}
}
