package serving

import (
	"context"

	"github.com/attune-dev/attune/internal/arn"
)

// A dataset group's live state (histories, item and user catalogues) is
// shared by every deployment of the group: campaigns, recommenders and
// batch jobs. It is read from the store when the first of them loads, or
// when an import or a data deletion made it stale, and kept current by
// Observe in between, so a further deploy reads no interactions. It leaves
// memory with the group's last deployment; events for a group nothing
// serves are not kept.

// acquireGroup returns the group's state, created when missing, counted as
// in use by one deploy until releaseGroup.
func (s *Service) acquireGroup(groupARN string) (*group, error) {
	g, err := s.groupFor(groupARN)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[groupARN] != g {
		// Dropped between groupFor and here: start afresh.
		s.groups[groupARN] = g
	}
	g.deploying++
	return g, nil
}

// releaseGroup ends a deploy started by acquireGroup, dropping the group's
// state when the deploy failed and nothing else uses it.
func (s *Service) releaseGroup(g *group) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g.deploying--
	s.dropUnusedLocked(g)
}

// dropUnusedLocked forgets a group's live state when no deployment serves
// it and no deploy is loading it. Requests in flight keep what they loaded;
// the memory is freed when they finish. s.mu must be held.
func (s *Service) dropUnusedLocked(g *group) {
	if g.deploying > 0 || s.groups[g.arn] != g {
		return
	}
	for _, sl := range *s.table.Load() {
		if l := sl.cur.Load(); l != nil && l.g == g {
			return
		}
	}
	delete(s.groups, g.arn)
	// Observe no longer reaches it: should a deploy that raced with this
	// still pick it up, it must read the store again.
	g.bulkStale.Store(true)
	s.log.Info("dataset group state dropped: no deployment serves it", "group", g.arn)
}

// prepareGroup makes the group's live state current for a deploy: it
// reads it from the store only when no deployment loaded it yet, or an
// import or a data deletion made it stale. Concurrent deploys of one group
// wait for the first one's read instead of each reading the dataset.
func (s *Service) prepareGroup(ctx context.Context, g *group) error {
	g.loadMu.Lock()
	defer g.loadMu.Unlock()
	if g.hist.Load() != nil && !g.bulkStale.Load() && !g.histStale.Load() {
		return nil
	}
	g.bulkStale.Store(false)
	g.histStale.Store(false)
	if err := s.refreshGroup(ctx, g); err != nil {
		g.bulkStale.Store(true) // read again at the next deploy
		return err
	}
	return nil
}

// groupLoaded reports whether a group's live state is in memory.
func (s *Service) groupLoaded(groupARN string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupARN]
	return g != nil && g.hist.Load() != nil
}

// DatasetChanged tells serving that a dataset's stored records changed in
// bulk (an import committed, records deleted). A changed Interactions
// dataset is read again at the group's next deploy, as before (a live
// campaign keeps its history, which PutEvents keep current); changed Items
// or Users are reloaded in the background by Run. Datasets of groups that
// nothing serves are ignored. It does no I/O and is safe for concurrent
// use.
func (s *Service) DatasetChanged(datasetARN string) {
	p, err := arn.Expect("datasetArn", datasetARN, arn.Dataset, 2)
	if err != nil {
		return
	}
	groupARN := arn.Scope{Region: p.Region, Account: p.Account}.Build(arn.DatasetGroup, p.Parts[0])
	s.mu.Lock()
	g := s.groups[groupARN]
	s.mu.Unlock()
	if g == nil {
		return
	}
	switch datasetARN {
	case g.interactions:
		g.bulkStale.Store(true)
		return
	case g.items:
		g.itemsStale.Store(true)
	case g.usersDS:
		g.usersStale.Store(true)
	default:
		return
	}
	s.queueReload(g)
}

// queueReload asks Run to reload the group's stale parts.
func (s *Service) queueReload(g *group) {
	if !g.queued.Swap(true) {
		select {
		case s.reloads <- g:
		default:
			// The queue is full of reloads that will read the newest rows anyway.
			g.queued.Store(false)
		}
	}
}
