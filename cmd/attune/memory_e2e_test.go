package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	"github.com/aws/aws-sdk-go-v2/service/personalizeevents"
	etypes "github.com/aws/aws-sdk-go-v2/service/personalizeevents/types"
	"github.com/aws/aws-sdk-go-v2/service/personalizeruntime"

	"github.com/attune-dev/attune/internal/demo"
)

// TestLiveUserCap runs the server with --max-live-users 10 over the demo
// data (hundreds of users, so most are evicted at load): users evicted and
// brought back from the spill file, bulk ones and ones known only from
// PutEvents, get the same recommendations after a stream of new users as
// before it and as the same server without the cap after a restart; a
// second campaign of the group answers the same.
func TestLiveUserCap(t *testing.T) {
	ts := startServer(t, "", "--max-live-users", "10")
	ctx := t.Context()
	pc, rc := ts.personalizeClient(), ts.runtimeClient()
	group := demoGroup(t, ctx, pc, "capped", demo.Options{Seed: 3})
	v, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("capped-up"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-user-personalization-v2")})
	if st != "ACTIVE" {
		t.Fatal(st)
	}
	campaign := deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String("capped"), SolutionVersionArn: aws.String(v)})
	_, tracking := createTracker(t, ctx, pc, group, "capped-tracker")
	ec := eventsClient(ts.URL, 0)
	put := func(user string, items ...string) {
		t.Helper()
		var evs []etypes.Event
		for i, it := range items {
			evs = append(evs, etypes.Event{EventType: aws.String("VIEWED"), ItemId: aws.String(it), SentAt: aws.Time(time.Unix(1742200000+int64(i), 0))})
		}
		if _, err := ec.PutEvents(ctx, &personalizeevents.PutEventsInput{TrackingId: aws.String(tracking), SessionId: aws.String("s-" + user),
			UserId: aws.String(user), EventList: evs}); err != nil {
			t.Fatalf("PutEvents(%s): %v", user, err)
		}
	}
	ask := func(campaign, user string) []string {
		t.Helper()
		return recommendedIDs(t, ctx, rc, campaign, user)
	}
	put("fresh-1", "srv_003", "srv_010", "srv_011")
	users := []string{"usr_0001", "usr_0002", "usr_0150", "fresh-1"}
	before := map[string][]string{}
	for _, u := range users {
		before[u] = ask(campaign, u)
	}
	for i := range 40 { // new users push the asked ones out of memory
		put(fmt.Sprintf("stream-%02d", i), fmt.Sprintf("srv_%03d", 20+i%30))
	}
	for _, u := range users {
		if got := ask(campaign, u); !slices.Equal(got, before[u]) {
			t.Errorf("after eviction %s gets %v, before %v", u, got, before[u])
		}
	}
	// The same server without the cap, over the same store, answers the
	// same: what came back from the spill file is what was evicted.
	dir := ts.DataDir
	ts.Stop(t)
	ts = startServer(t, dir)
	pc, rc = ts.personalizeClient(), ts.runtimeClient()
	waitFor(t, "campaign reload", func() (string, error) {
		_, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(campaign), UserId: aws.String("x")})
		if err != nil {
			return "", nil
		}
		return "ACTIVE", nil
	}, "ACTIVE")
	for _, u := range users {
		if got := ask(campaign, u); !slices.Equal(got, before[u]) {
			t.Errorf("uncapped after restart %s gets %v, capped %v", u, got, before[u])
		}
	}
	second := deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String("capped-2"), SolutionVersionArn: aws.String(v)})
	for _, u := range users {
		if got := ask(second, u); !slices.Equal(got, before[u]) {
			t.Errorf("second campaign gives %s %v, first %v", u, got, before[u])
		}
	}
}

// recommendedIDs asks a campaign for 10 items for a user and returns their ids.
func recommendedIDs(t *testing.T, ctx context.Context, rc *personalizeruntime.Client, campaign, user string) []string {
	t.Helper()
	out, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(campaign),
		UserId: aws.String(user), NumResults: 10})
	if err != nil {
		t.Fatalf("GetRecommendations(%s): %v", user, err)
	}
	return ids(out.ItemList)
}
