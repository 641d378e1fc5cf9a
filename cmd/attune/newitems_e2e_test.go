package main

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	ptypes "github.com/aws/aws-sdk-go-v2/service/personalize/types"
	"github.com/aws/aws-sdk-go-v2/service/personalizeevents"
	etypes "github.com/aws/aws-sdk-go-v2/service/personalizeevents/types"
	"github.com/aws/aws-sdk-go-v2/service/personalizeruntime"
	rtypes "github.com/aws/aws-sdk-go-v2/service/personalizeruntime/types"

	"github.com/attune-dev/attune/internal/demo"
)

// TestPutItemsNewItemIsExplored checks issue 5's "PutItems makes a new item
// recommendable before the next training": an item the model never saw is
// explored in user-personalization lists, picked by its metadata.
func TestPutItemsNewItemIsExplored(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc, rc := ts.personalizeClient(), ts.runtimeClient()
	group := demoGroup(t, ctx, pc, "newitems", demo.Options{Seed: 9})
	v, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("newitems-up"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-user-personalization")})
	if st != "ACTIVE" {
		t.Fatal(st)
	}
	explore := deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String("newitems-explore"), SolutionVersionArn: aws.String(v),
		CampaignConfig: &ptypes.CampaignConfig{EnableMetadataWithRecommendations: aws.Bool(true),
			ItemExplorationConfig: map[string]string{"explorationWeight": "0.3"}}})
	quiet := deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String("newitems-quiet"), SolutionVersionArn: aws.String(v),
		CampaignConfig: &ptypes.CampaignConfig{EnableMetadataWithRecommendations: aws.Bool(true), ItemExplorationConfig: map[string]string{"explorationWeight": "0"}}})

	ask := func(campaign string) *personalizeruntime.GetRecommendationsOutput {
		out, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(campaign),
			UserId: aws.String("usr_0007"), NumResults: 10, MetadataColumns: map[string][]string{"ITEMS": {"CATEGORY", "SERVICE_NAME"}}})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if campaignHas(ask(explore), "srv_new_1") {
		t.Fatal("the new item is recommended before it exists")
	}
	// The new item shares the category of the user's top recommendation.
	category := ask(explore).ItemList[0].Metadata["CATEGORY"]
	props, _ := json.Marshal(map[string]any{"serviceName": "Sovereign Cloud Landing Zone", "category": category,
		"serviceTier": "Premium", "priceRange": "High", "popularityScore": 8.1, "creationTimestamp": 1742100000, "targetIndustry": "IT"})
	ec := eventsClient(ts.URL, 0)
	itemsARN := "arn:aws:personalize:us-east-1:000000000000:dataset/newitems/ITEMS"
	if _, err := ec.PutItems(ctx, &personalizeevents.PutItemsInput{DatasetArn: aws.String(itemsARN),
		Items: []etypes.Item{{ItemId: aws.String("srv_new_1"), Properties: aws.String(string(props))}}}); err != nil {
		t.Fatalf("PutItems: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var out *personalizeruntime.GetRecommendationsOutput
	for {
		out = ask(explore)
		if campaignHas(out, "srv_new_1") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	i := slices.IndexFunc(out.ItemList, func(p rtypes.PredictedItem) bool { return aws.ToString(p.ItemId) == "srv_new_1" })
	if i < 0 {
		t.Fatalf("the new item was never explored: %v", ids(out.ItemList))
	}
	got := out.ItemList[i]
	if !slices.Contains(got.Reason, "Exploration") || got.Metadata["SERVICE_NAME"] != "Sovereign Cloud Landing Zone" {
		t.Errorf("explored item = reason %v, metadata %v; want Exploration and its PutItems metadata", got.Reason, got.Metadata)
	}
	if len(out.ItemList) != 10 {
		t.Errorf("%d items, want the 10 asked for", len(out.ItemList))
	}
	if campaignHas(ask(quiet), "srv_new_1") {
		t.Error("a campaign with explorationWeight 0 explored the new item")
	}
}

func campaignHas(out *personalizeruntime.GetRecommendationsOutput, id string) bool {
	return slices.ContainsFunc(out.ItemList, func(p rtypes.PredictedItem) bool { return aws.ToString(p.ItemId) == id })
}
