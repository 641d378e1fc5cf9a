package serving

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync/atomic"
	"testing"

	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/store"
)

// scanCounter counts the scans of the Interactions dataset.
type scanCounter struct {
	*chunks
	scans atomic.Int64
	fail  atomic.Bool // scans of the Interactions dataset fail
}

func (c *scanCounter) ScanChunks(ctx context.Context, dataset string, source store.Source, after int64, fn func(store.Chunk) error) error {
	if dataset == interactions {
		c.scans.Add(1)
		if c.fail.Load() {
			return errors.New("store unreachable")
		}
	}
	return c.chunks.ScanChunks(ctx, dataset, source, after, fn)
}

func countingService(f *fixture) (*Service, *scanCounter) {
	sc := &scanCounter{chunks: f.sc}
	var n atomic.Int64
	return New(sc, f.bucket, f.reg, Options{NewID: func() string { return fmt.Sprint(n.Add(1)) }},
		slog.New(slog.NewTextHandler(io.Discard, nil))), sc
}

func campaignARN(name string) string {
	return "arn:aws:personalize:us-east-1:000000000000:campaign/" + name
}

func viewed(user, item string, at int64) corpus.Event {
	return corpus.Event{User: user, Item: item, Type: "VIEWED", Time: at, Value: float32(math.NaN())}
}

// TestDeploysShareOneHistory: the second deployment of a group reads no
// interactions, both serve one history (an event observed once shows in
// both), and an interactions import makes the next deploy read again.
func TestDeploysShareOneHistory(t *testing.T) {
	f := newFixture(t)
	s, sc := countingService(f)
	v1 := f.train(t, "aws-user-personalization-v2", "v1", recipe.Params{"hidden_dimension": "8"})
	v2 := f.train(t, "aws-user-personalization-v2", "v2", recipe.Params{"hidden_dimension": "4"})
	deploy(t, s, campaignARN("one"), v1, false)
	deploy(t, s, campaignARN("two"), v2, false)
	deploy(t, s, campaignARN("one"), v2, false) // an update
	if got := sc.scans.Load(); got != 1 {
		t.Fatalf("three deploys of one group read the interactions %d times, want 1", got)
	}
	s.Observe(corpus.Update{Group: groupARN, Events: []corpus.Event{viewed("newcomer", "b01", 9000), viewed("newcomer", "b02", 9001)}})
	for _, c := range []string{"one", "two"} {
		l, err := s.lookup(campaignARN(c))
		if err != nil {
			t.Fatal(err)
		}
		if hist, _ := l.history("newcomer"); len(hist) != 2 {
			t.Errorf("campaign %s sees %d events of newcomer, want the 2 observed once", c, len(hist))
		}
	}
	s.DatasetChanged(interactions)
	deploy(t, s, campaignARN("three"), v1, false)
	if got := sc.scans.Load(); got != 2 {
		t.Errorf("deploy after an interactions import read them %d times in all, want 2", got)
	}
	s.DatasetChanged(itemsDataset) // reloaded by Run, not by a deploy
	s.DatasetChanged("arn:aws:personalize:us-east-1:000000000000:dataset/other/INTERACTIONS")
	deploy(t, s, campaignARN("four"), v1, false)
	if got := sc.scans.Load(); got != 2 {
		t.Errorf("deploy after an items import or another group's import read the interactions %d times in all, want 2", got)
	}
}

// TestLastUndeployDropsGroup: the group's state leaves memory with its
// last deployment, events for it are then not kept, and a new deployment
// reads the store again.
func TestLastUndeployDropsGroup(t *testing.T) {
	f := newFixture(t)
	s, sc := countingService(f)
	v1 := f.train(t, "aws-user-personalization-v2", "v1", recipe.Params{"hidden_dimension": "8"})
	deploy(t, s, campaignARN("one"), v1, false)
	deploy(t, s, campaignARN("two"), v1, false)
	s.Undeploy(campaignARN("one"))
	if !s.groupLoaded(groupARN) {
		t.Fatal("group state dropped while campaign two still serves it")
	}
	s.Undeploy(campaignARN("two"))
	if s.groupLoaded(groupARN) {
		t.Fatal("group state kept after its last campaign was deleted")
	}
	s.Observe(corpus.Update{Group: groupARN, Events: []corpus.Event{viewed("late", "a01", 9000)}})
	s.mu.Lock()
	n := len(s.groups)
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("%d groups in memory after events for a group nothing serves, want 0", n)
	}
	deploy(t, s, campaignARN("three"), v1, false)
	if got := sc.scans.Load(); got != 2 {
		t.Errorf("deploy after the group was dropped read the interactions %d times in all, want 2", got)
	}
	l, err := s.lookup(campaignARN("three"))
	if err != nil {
		t.Fatal(err)
	}
	if hist, _ := l.history("late"); len(hist) != 0 {
		t.Errorf("an event observed while nothing served the group is in memory: %d events", len(hist))
	}
	if hist, _ := l.history("u03"); len(hist) != 8 {
		t.Errorf("u03 has %d events after the reload, want the 8 stored", len(hist))
	}
}

// TestFailedDeployDropsGroup: a deploy that cannot read the group leaves
// no group state behind, and the next one reads it.
func TestFailedDeployDropsGroup(t *testing.T) {
	f := newFixture(t)
	s, sc := countingService(f)
	v1 := f.train(t, "aws-user-personalization-v2", "v1", recipe.Params{"hidden_dimension": "8"})
	sc.fail.Store(true)
	err := s.Deploy(t.Context(), Deployment{Campaign: campaignARN("x"), Group: groupARN, ArtifactKey: v1, Filter: corpus.NoFilter})
	if err == nil {
		t.Fatal("Deploy over a failing store succeeded")
	}
	s.mu.Lock()
	n := len(s.groups)
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("a failed deploy left %d groups in memory, want 0", n)
	}
	sc.fail.Store(false)
	deploy(t, s, campaignARN("x"), v1, false)
	if !s.groupLoaded(groupARN) {
		t.Error("the deploy after the failure did not load the group")
	}
}
