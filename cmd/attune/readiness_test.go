package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/attune-dev/attune/internal/campaign"
	"github.com/attune-dev/attune/internal/train"
)

// fakeCampaigns pages through campaigns two at a time.
type fakeCampaigns struct {
	all []*campaign.Campaign
	err error
}

func (f fakeCampaigns) List(_ context.Context, _, token string, limit int) ([]*campaign.Campaign, string, error) {
	if f.err != nil {
		return nil, "", f.err
	}
	i, _ := strconv.Atoi(token)
	j := min(i+min(limit, 2), len(f.all))
	next := ""
	if j < len(f.all) {
		next = strconv.Itoa(j)
	}
	return f.all[i:j], next, nil
}

type fakeRecommenders []*train.Recommender

func (f fakeRecommenders) Recommenders(context.Context, string, string, int) ([]*train.Recommender, string, error) {
	return f, "", nil
}

type fakeServing map[string]bool

func (f fakeServing) Deployed(key string) string {
	if f[key] {
		return "v"
	}
	return ""
}

type fakeBacklog struct {
	q, c   int
	behind error // CaughtUp's answer
}

func (f fakeBacklog) Backlog() (int, int) { return f.q, f.c }
func (f fakeBacklog) CaughtUp() error     { return f.behind }

func drainingNow() *atomic.Bool {
	var b atomic.Bool
	b.Store(true)
	return &b
}

func TestReadinessChecks(t *testing.T) {
	camp := func(n int, status string) *campaign.Campaign {
		c := &campaign.Campaign{}
		c.ARN, c.Status = fmt.Sprintf("campaign/c%d", n), status
		return c
	}
	rec := func(arn, status string) *train.Recommender {
		r := &train.Recommender{}
		r.ARN, r.Status = arn, status
		return r
	}
	// Five campaigns over three pages; the fifth is ACTIVE.
	camps := []*campaign.Campaign{camp(1, "ACTIVE"), camp(2, "CREATE FAILED"), camp(3, "ACTIVE"), camp(4, "CREATE IN_PROGRESS"), camp(5, "ACTIVE")}
	loaded := fakeServing{"campaign/c1": true, "campaign/c3": true, "campaign/c5": true, "recommender/r1": true}
	failed := &loadFailures{}
	failed.set("recommender/bad", true)
	for _, tc := range []struct {
		name string
		d    readinessDeps
		want string // "" = ready
	}{
		{"all loaded", readinessDeps{fakeCampaigns{all: camps}, fakeRecommenders{rec("recommender/r1", "ACTIVE"), rec("recommender/r2", "INACTIVE")}, loaded, fakeBacklog{0, 10, nil}, failed, nil}, ""},
		{"campaign on the last page loading", readinessDeps{fakeCampaigns{all: camps}, nil, fakeServing{"campaign/c1": true, "campaign/c3": true}, fakeBacklog{0, 10, nil}, failed, nil},
			"models: campaign campaign/c5: model not loaded yet"},
		{"recommender loading", readinessDeps{fakeCampaigns{}, fakeRecommenders{rec("recommender/r9", "ACTIVE")}, loaded, fakeBacklog{0, 10, nil}, failed, nil},
			"models: recommender recommender/r9: model not loaded yet"},
		{"recommender that failed to load", readinessDeps{fakeCampaigns{}, fakeRecommenders{rec("recommender/bad", "ACTIVE")}, loaded, fakeBacklog{0, 10, nil}, failed, nil}, ""},
		{"store down", readinessDeps{fakeCampaigns{err: errors.New("connection refused")}, nil, loaded, fakeBacklog{0, 10, nil}, failed, nil}, "store: connection refused"},
		{"events behind", readinessDeps{fakeCampaigns{}, fakeRecommenders{}, loaded, fakeBacklog{6, 10, nil}, failed, nil}, "events: 6 of 10"},
		{"events half full", readinessDeps{fakeCampaigns{}, fakeRecommenders{}, loaded, fakeBacklog{5, 10, nil}, failed, nil}, ""},
		{"draining before a stop", readinessDeps{fakeCampaigns{}, fakeRecommenders{}, loaded, fakeBacklog{0, 10, nil}, failed, drainingNow()},
			"shutdown: the server is shutting down"},
		{"events of other replicas not read yet", readinessDeps{fakeCampaigns{}, fakeRecommenders{}, loaded,
			fakeBacklog{0, 10, errors.New("catching up with the events of other replicas")}, failed, nil}, "events: catching up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := newReadiness(tc.d, slog.New(slog.DiscardHandler)).Ready(t.Context())
			if (tc.want == "") != (err == nil) || (err != nil && !strings.HasPrefix(err.Error(), tc.want)) {
				t.Errorf("Ready() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestFailureTrackingDeployer(t *testing.T) {
	failed := &loadFailures{}
	var fail error
	d := failureTrackingDeployer{Deployer: funcDeployer(func() error { return fail }), failed: failed}
	fail = errors.New("bad artifact")
	_ = d.DeployModel(t.Context(), train.ModelDeployment{Key: "r"})
	if !failed.has("r") {
		t.Fatal("failed load not remembered")
	}
	fail = nil
	_ = d.DeployModel(t.Context(), train.ModelDeployment{Key: "r"})
	if failed.has("r") {
		t.Fatal("successful load did not clear the failure")
	}
	fail = errors.New("bad artifact")
	_ = d.DeployModel(t.Context(), train.ModelDeployment{Key: "r"})
	d.Undeploy("r")
	if failed.has("r") {
		t.Fatal("undeploy did not clear the failure")
	}
}

// funcDeployer is a train.Deployer whose DeployModel returns f().
type funcDeployer func() error

func (f funcDeployer) DeployModel(context.Context, train.ModelDeployment) error { return f() }
func (f funcDeployer) Undeploy(string)                                          {}
