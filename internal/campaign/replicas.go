package campaign

import (
	"context"
	"reflect"

	"github.com/attune-dev/attune/internal/resource"
)

// Replicas: several serve processes may share one store. The runner that
// claims a campaign's create or update loads the model on its replica;
// every other replica learns of it here: each reconcile reads the stored
// campaigns and makes what this replica serves match them — it loads an
// ACTIVE campaign that it does not serve, or serves with another solution
// version or configuration, and drops a campaign that is gone or being
// deleted. On one node this finds nothing to do. How soon another
// replica's change is served is bounded by Options.Poll plus the model's
// load time.

// served is what this replica deployed for a campaign.
type served struct {
	version string
	cfg     Config
}

func (s *Service) deployed(campaignARN, version string, cfg Config) {
	s.smu.Lock()
	defer s.smu.Unlock()
	s.served[campaignARN] = served{version: version, cfg: cfg}
	delete(s.failed, campaignARN)
}

// undeploy stops serving a campaign on this replica.
func (s *Service) undeploy(campaignARN string) {
	s.smu.Lock()
	delete(s.served, campaignARN)
	delete(s.failed, campaignARN)
	s.smu.Unlock()
	s.deploy.Undeploy(campaignARN)
}

// syncReplica makes this replica serve what the store says is ACTIVE.
// A load that fails is logged and not retried until the campaign changes.
func (s *Service) syncReplica(ctx context.Context) {
	all, err := campaigns.All(ctx, s.st, "")
	if err != nil {
		if ctx.Err() == nil {
			s.log.ErrorContext(ctx, "list campaigns", "err", err)
		}
		return
	}
	stored := make(map[string]bool, len(all))
	for _, c := range all {
		if resource.Deleting(c.Status) {
			continue
		}
		stored[c.ARN] = true
		if c.Status != StatusActive {
			continue
		}
		want := served{version: c.SolutionVersionARN, cfg: c.Config}
		s.smu.Lock()
		have, ok := s.served[c.ARN]
		failed, didFail := s.failed[c.ARN]
		s.smu.Unlock()
		if (ok && same(have, want)) || (didFail && same(failed, want)) {
			continue
		}
		if err := s.load(ctx, c, want.version, want.cfg); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.smu.Lock()
			s.failed[c.ARN] = want
			s.smu.Unlock()
			s.log.ErrorContext(ctx, "load a campaign another replica deployed", "campaign", c.ARN, "version", want.version, "err", err)
			continue
		}
		s.log.InfoContext(ctx, "campaign deployed by another replica loaded", "campaign", c.ARN, "version", want.version)
	}
	s.smu.Lock()
	var gone []string
	for a := range s.served {
		if !stored[a] {
			gone = append(gone, a)
		}
	}
	s.smu.Unlock()
	for _, a := range gone {
		s.undeploy(a)
	}
}

func same(a, b served) bool {
	return a.version == b.version && reflect.DeepEqual(a.cfg, b.cfg)
}
