package campaign

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/arn"
)

// TestReplicasFollowTheStore runs two campaign services (replicas A and
// B, each with its own deployer) over one store: whichever replica's
// runner deploys a create or update, both serve it, keep serving the old
// version when an update fails, and drop a campaign deleted on A.
func TestReplicasFollowTheStore(t *testing.T) {
	a := newEnv(t)
	bDep := &fakeDeployer{serving: map[string]Deployment{}}
	b := &env{vers: a.vers, dep: bDep, svc: New(a.svc.st, a.vers, bDep, Options{Scope: arn.Scope{Region: "us-east-1", Account: "000000000000"},
		Poll: 10 * time.Millisecond}, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))}
	a.run(t)
	b.run(t)
	ctx := context.Background()
	var campaignARN string
	both := func(what string, cond func(d Deployment, ok bool) bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			da, okA := a.dep.get(campaignARN)
			db, okB := bDep.get(campaignARN)
			if cond(da, okA) && cond(db, okB) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: A serves %+v (%v), B serves %+v (%v)", what, da, okA, db, okB)
			}
		}
	}
	c, err := a.svc.Create(ctx, CreateInput{Name: "shared", SolutionVersionARN: v1})
	if err != nil {
		t.Fatal(err)
	}
	campaignARN = c.ARN
	both("created", func(d Deployment, ok bool) bool { return ok && d.SolutionVersion == v1 })

	if _, err := a.svc.Update(ctx, UpdateInput{CampaignARN: c.ARN, SolutionVersionARN: vBroke}); err != nil {
		t.Fatal(err)
	}
	a.await(t, c.ARN, func(c *Campaign) bool { return c.Latest != nil && c.Latest.Status == StatusCreateFailed })
	time.Sleep(50 * time.Millisecond) // several polls of B
	both("failed update", func(d Deployment, ok bool) bool { return ok && d.SolutionVersion == v1 })

	if _, err := a.svc.Update(ctx, UpdateInput{CampaignARN: c.ARN, SolutionVersionARN: v2}); err != nil {
		t.Fatal(err)
	}
	both("updated version", func(d Deployment, ok bool) bool { return ok && d.SolutionVersion == v2 })

	if _, err := a.svc.Update(ctx, UpdateInput{CampaignARN: c.ARN, Config: &Config{ExplorationWeight: "0"}}); err != nil {
		t.Fatal(err)
	}
	both("updated configuration", func(d Deployment, ok bool) bool { return ok && d.SolutionVersion == v2 && d.Exploration == nil })

	if err := a.svc.Delete(ctx, c.ARN); err != nil {
		t.Fatal(err)
	}
	both("deleted", func(_ Deployment, ok bool) bool { return !ok })
}
