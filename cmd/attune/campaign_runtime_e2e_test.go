package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	ptypes "github.com/aws/aws-sdk-go-v2/service/personalize/types"
	"github.com/aws/aws-sdk-go-v2/service/personalizeruntime"
	rtypes "github.com/aws/aws-sdk-go-v2/service/personalizeruntime/types"

	"github.com/attune-dev/attune/internal/demo"
)

// runtimeClient returns an AWS SDK runtime client for ts.
func (ts *testServer) runtimeClient() *personalizeruntime.Client {
	return personalizeruntime.NewFromConfig(sdkConfig(testAccessKey, testSecret), func(o *personalizeruntime.Options) {
		o.BaseEndpoint = aws.String(ts.URL)
	})
}

// deployCampaign creates a campaign and waits until it is ACTIVE.
func deployCampaign(t *testing.T, ctx context.Context, pc *personalize.Client, in *personalize.CreateCampaignInput) string {
	t.Helper()
	out, err := pc.CreateCampaign(ctx, in)
	if err != nil {
		t.Fatalf("CreateCampaign %s: %v", aws.ToString(in.Name), err)
	}
	st := waitFor(t, "campaign", func() (string, error) {
		o, err := pc.DescribeCampaign(ctx, &personalize.DescribeCampaignInput{CampaignArn: out.CampaignArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(o.Campaign.Status), nil
	}, "ACTIVE", "CREATE FAILED")
	if st != "ACTIVE" {
		o, _ := pc.DescribeCampaign(ctx, &personalize.DescribeCampaignInput{CampaignArn: out.CampaignArn})
		t.Fatalf("campaign %s ended %s: %s", aws.ToString(in.Name), st, aws.ToString(o.Campaign.FailureReason))
	}
	return aws.ToString(out.CampaignArn)
}

func ids(items []rtypes.PredictedItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = aws.ToString(it.ItemId)
	}
	return out
}

// TestCampaignRuntimeWorkflow replays the seed's workflow on demo data with
// the AWS SDK clients, from import to recommendations, ranking, similar
// items, a user unseen at training and a campaign update under load.
func TestCampaignRuntimeWorkflow(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc, rc := ts.personalizeClient(), ts.runtimeClient()
	data := demo.Generate(demo.Options{Seed: 11})
	group := demoGroup(t, ctx, pc, "shop", demo.Options{Seed: 11})
	category := map[string]string{}
	for _, it := range data.Items {
		category[it.ID] = it.Category
	}

	// exclude_interacted_items: the lists below must not hold items the user had.
	va1, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("shop-up"), DatasetGroupArn: aws.String(group),
		RecipeArn:      aws.String("arn:aws:personalize:::recipe/aws-user-personalization-v2"),
		SolutionConfig: excludeInteracted()})
	if st != "ACTIVE" {
		t.Fatalf("user-personalization-v2 version ended %s", st)
	}
	m, err := pc.GetSolutionMetrics(ctx, &personalize.GetSolutionMetricsInput{SolutionVersionArn: aws.String(va1)})
	if err != nil || m.Metrics["normalized_discounted_cumulative_gain_at_10"] <= 0 {
		t.Fatalf("GetSolutionMetrics = %v, %v; want a positive NDCG@10", m, err)
	}

	// A user unseen at training: interactions imported afterwards, all in one category.
	const newUser = "usr_new_after_training"
	var dataAI []string
	for _, it := range data.Items {
		if it.Category == "Data & AI" {
			dataAI = append(dataAI, it.ID)
		}
	}
	var csv strings.Builder
	csv.WriteString("USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP\n")
	for i, id := range dataAI[:6] {
		fmt.Fprintf(&csv, "%s,%s,VIEWED,%d\n", newUser, id, 1742000000+i*60)
	}
	incr := filepath.Join(t.TempDir(), "late.csv")
	if err := os.WriteFile(incr, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	importAndWait(t, ctx, pc, "shop-late", "arn:aws:personalize:us-east-1:000000000000:dataset/shop/INTERACTIONS", "file://"+incr, "INCREMENTAL")

	campaignARN := deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String("shop-live"), SolutionVersionArn: aws.String(va1),
		MinProvisionedTPS: aws.Int32(2), CampaignConfig: &ptypes.CampaignConfig{EnableMetadataWithRecommendations: aws.Bool(true)}})
	dc, err := pc.DescribeCampaign(ctx, &personalize.DescribeCampaignInput{CampaignArn: aws.String(campaignARN)})
	if err != nil || aws.ToString(dc.Campaign.SolutionVersionArn) != va1 || aws.ToInt32(dc.Campaign.MinProvisionedTPS) != 2 {
		t.Fatalf("DescribeCampaign = %+v, %v", dc, err)
	}

	t.Run("GetRecommendations with metadata", func(t *testing.T) {
		user := data.Events[0].User
		out, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(campaignARN),
			UserId: aws.String(user), NumResults: 10, MetadataColumns: map[string][]string{"ITEMS": {"CATEGORY", "SERVICE_NAME"}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.ItemList) != 10 || !strings.HasPrefix(aws.ToString(out.RecommendationId), "RID-") {
			t.Fatalf("GetRecommendations = %d items, id %q; want 10 and RID-…", len(out.ItemList), aws.ToString(out.RecommendationId))
		}
		seen := map[string]bool{}
		for _, e := range data.Events {
			if e.User == user {
				seen[e.Item] = true
			}
		}
		sum, prev := 0.0, math.Inf(1)
		for _, it := range out.ItemList {
			id := aws.ToString(it.ItemId)
			if it.Score == nil || *it.Score > prev {
				t.Errorf("item %s score %v after %v: want descending scores", id, it.Score, prev)
				continue
			}
			prev = *it.Score
			sum += *it.Score
			if it.Metadata["CATEGORY"] != category[id] || it.Metadata["SERVICE_NAME"] == "" {
				t.Errorf("item %s metadata %v, want CATEGORY %q and a SERVICE_NAME", id, it.Metadata, category[id])
			}
			if seen[id] {
				t.Errorf("item %s was already interacted with by %s", id, user)
			}
		}
		if math.Abs(sum-1) > 1e-6 {
			t.Errorf("scores sum to %v, want 1 (softmax over the list)", sum)
		}
	})

	t.Run("GetPersonalizedRanking", func(t *testing.T) {
		in := []string{"srv_010", "unknown-item", "srv_003", "srv_050", "srv_021"}
		out, err := rc.GetPersonalizedRanking(ctx, &personalizeruntime.GetPersonalizedRankingInput{CampaignArn: aws.String(campaignARN),
			UserId: aws.String("usr_0002"), InputList: in})
		if err != nil {
			t.Fatal(err)
		}
		got := ids(out.PersonalizedRanking)
		if len(got) != len(in) || got[len(got)-1] != "unknown-item" || out.PersonalizedRanking[len(got)-1].Score != nil {
			t.Fatalf("ranking = %v, want all %d items with unknown-item last and unscored", got, len(in))
		}
		for _, it := range out.PersonalizedRanking[:len(got)-1] {
			if it.Score == nil {
				t.Errorf("known item %s has no score", aws.ToString(it.ItemId))
			}
		}
	})

	t.Run("user unseen at training", func(t *testing.T) {
		share := func(user string) float64 {
			out, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(campaignARN),
				UserId: aws.String(user), NumResults: 10})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, id := range ids(out.ItemList) {
				if category[id] == "Data & AI" {
					n++
				}
			}
			return float64(n) / float64(len(out.ItemList))
		}
		personal, cold := share(newUser), share("nobody-at-all")
		if personal < 0.4 || personal <= cold {
			t.Errorf("Data & AI share: %.2f for the user with 6 Data & AI interactions, %.2f for a user with none; want personal ≥ 0.4 and above cold", personal, cold)
		}
	})

	t.Run("similar items", func(t *testing.T) {
		vs, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("shop-sims"), DatasetGroupArn: aws.String(group),
			RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-sims")})
		if st != "ACTIVE" {
			t.Fatalf("sims version ended %s", st)
		}
		simsARN := deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String("shop-sims"), SolutionVersionArn: aws.String(vs)})
		out, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(simsARN), ItemId: aws.String("srv_001")})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.ItemList) != 25 {
			t.Errorf("similar items: %d, want the default 25", len(out.ItemList))
		}
		for _, it := range out.ItemList {
			if aws.ToString(it.ItemId) == "srv_001" || it.Score != nil {
				t.Errorf("similar item %s score %v: want other items without score", aws.ToString(it.ItemId), it.Score)
			}
		}
		_, err = rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(simsARN), UserId: aws.String("usr_0001")})
		var ii *rtypes.InvalidInputException
		if !errors.As(err, &ii) {
			t.Errorf("related items without itemId: %v, want InvalidInputException", err)
		}
		lc, err := pc.ListCampaigns(ctx, &personalize.ListCampaignsInput{SolutionArn: aws.String("arn:aws:personalize:us-east-1:000000000000:solution/shop-sims")})
		if err != nil || len(lc.Campaigns) != 1 || aws.ToString(lc.Campaigns[0].CampaignArn) != simsARN {
			t.Errorf("ListCampaigns(shop-sims) = %+v, %v; want just %s", lc, err, simsARN)
		}
		_, err = pc.DeleteSolution(ctx, &personalize.DeleteSolutionInput{SolutionArn: aws.String("arn:aws:personalize:us-east-1:000000000000:solution/shop-sims")})
		var inUse *ptypes.ResourceInUseException
		if !errors.As(err, &inUse) {
			t.Errorf("DeleteSolution with a campaign: %v, want ResourceInUseException", err)
		}
		if _, err := pc.DeleteCampaign(ctx, &personalize.DeleteCampaignInput{CampaignArn: aws.String(simsARN)}); err != nil {
			t.Fatal(err)
		}
		_, err = rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(simsARN), ItemId: aws.String("srv_001")})
		var nf *rtypes.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("deleted campaign: %v, want ResourceNotFoundException", err)
		}
	})

	t.Run("UpdateCampaign under load", func(t *testing.T) {
		v2, err := pc.CreateSolutionVersion(ctx, &personalize.CreateSolutionVersionInput{SolutionArn: aws.String("arn:aws:personalize:us-east-1:000000000000:solution/shop-up")})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "second version", func() (string, error) {
			o, err := pc.DescribeSolutionVersion(ctx, &personalize.DescribeSolutionVersionInput{SolutionVersionArn: v2.SolutionVersionArn})
			if err != nil {
				return "", err
			}
			return aws.ToString(o.SolutionVersion.Status), nil
		}, "ACTIVE")
		loadCtx, stop := context.WithCancel(ctx)
		var calls, failures atomic.Int64
		var firstErr atomic.Value
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for loadCtx.Err() == nil {
					_, err := rc.GetRecommendations(loadCtx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(campaignARN),
						UserId: aws.String(fmt.Sprintf("usr_%04d", 1+(g*37+int(calls.Load()))%400))})
					if loadCtx.Err() != nil {
						return
					}
					calls.Add(1)
					if err != nil {
						failures.Add(1)
						firstErr.CompareAndSwap(nil, err)
					}
				}
			}()
		}
		time.Sleep(200 * time.Millisecond)
		if _, err := pc.UpdateCampaign(ctx, &personalize.UpdateCampaignInput{CampaignArn: aws.String(campaignARN), SolutionVersionArn: v2.SolutionVersionArn}); err != nil {
			stop()
			wg.Wait()
			t.Fatal(err)
		}
		waitFor(t, "campaign update", func() (string, error) {
			o, err := pc.DescribeCampaign(ctx, &personalize.DescribeCampaignInput{CampaignArn: aws.String(campaignARN)})
			if err != nil || o.Campaign.LatestCampaignUpdate == nil {
				return "", err
			}
			return aws.ToString(o.Campaign.LatestCampaignUpdate.Status), nil
		}, "ACTIVE", "CREATE FAILED")
		time.Sleep(200 * time.Millisecond)
		stop()
		wg.Wait()
		o, err := pc.DescribeCampaign(ctx, &personalize.DescribeCampaignInput{CampaignArn: aws.String(campaignARN)})
		if err != nil || aws.ToString(o.Campaign.SolutionVersionArn) != aws.ToString(v2.SolutionVersionArn) || aws.ToString(o.Campaign.Status) != "ACTIVE" {
			t.Errorf("after update: %+v, %v; want ACTIVE on %s", o.Campaign, err, aws.ToString(v2.SolutionVersionArn))
		}
		if failures.Load() != 0 || calls.Load() < 20 {
			t.Errorf("%d of %d requests failed during UpdateCampaign (first: %v); want 0 of at least 20", failures.Load(), calls.Load(), firstErr.Load())
		}
		t.Logf("%d GetRecommendations during the update, none failed", calls.Load())
	})
}

// TestRuntimeErrors checks the runtime's error shapes and statuses through the SDK.
func TestRuntimeErrors(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc, rc := ts.personalizeClient(), ts.runtimeClient()
	group := demoGroup(t, ctx, pc, "errs", demo.Options{Seed: 5, Users: 120, Interactions: 3000})
	va, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("errs-pop"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-popularity-count")})
	if st != "ACTIVE" {
		t.Fatalf("version ended %s", st)
	}
	camp := deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String("errs-pop"), SolutionVersionArn: aws.String(va)})
	unknown := "arn:aws:personalize:us-east-1:000000000000:campaign/nope"
	var ii *rtypes.InvalidInputException
	var nf *rtypes.ResourceNotFoundException
	cases := []struct {
		name string
		in   *personalizeruntime.GetRecommendationsInput
		want any
	}{
		{"unknown campaign", &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(unknown), UserId: aws.String("u")}, &nf},
		{"no campaign or recommender", &personalizeruntime.GetRecommendationsInput{UserId: aws.String("u")}, &ii},
		{"both campaign and recommender", &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(camp),
			RecommenderArn: aws.String("arn:aws:personalize:us-east-1:000000000000:recommender/r"), UserId: aws.String("u")}, &ii},
		{"too many results", &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(camp), NumResults: 501}, &ii},
		{"metadata not enabled", &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(camp),
			MetadataColumns: map[string][]string{"ITEMS": {"CATEGORY"}}}, &ii},
		{"unknown filter", &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(camp),
			FilterArn: aws.String("arn:aws:personalize:us-east-1:000000000000:filter/f")}, &nf},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rc.GetRecommendations(ctx, tc.in)
			if !errors.As(err, tc.want) {
				t.Errorf("GetRecommendations = %v, want %T", err, tc.want)
			}
		})
	}
	out, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(camp), NumResults: 5})
	if err != nil || len(out.ItemList) != 5 || out.ItemList[0].Score != nil {
		t.Errorf("popularity without userId = %+v, %v; want 5 unscored items", out, err)
	}
	// Control-plane validation of campaigns.
	_, err = pc.CreateCampaign(ctx, &personalize.CreateCampaignInput{Name: aws.String("bad-tps"), SolutionVersionArn: aws.String(va), MinProvisionedTPS: aws.Int32(0)})
	var cii *ptypes.InvalidInputException
	if !errors.As(err, &cii) {
		t.Errorf("minProvisionedTPS 0: %v, want InvalidInputException", err)
	}
	_, err = pc.CreateCampaign(ctx, &personalize.CreateCampaignInput{Name: aws.String("bad-expl"), SolutionVersionArn: aws.String(va),
		CampaignConfig: &ptypes.CampaignConfig{ItemExplorationConfig: map[string]string{"explorationWeight": "1.5"}}})
	if !errors.As(err, &cii) {
		t.Errorf("explorationWeight 1.5: %v, want InvalidInputException", err)
	}
	_, err = pc.CreateCampaign(ctx, &personalize.CreateCampaignInput{Name: aws.String("latest"), SolutionVersionArn: aws.String("arn:aws:personalize:us-east-1:000000000000:solution/errs-pop/$LATEST"),
		CampaignConfig: &ptypes.CampaignConfig{SyncWithLatestSolutionVersion: aws.Bool(true)}})
	if err != nil {
		t.Errorf("CreateCampaign with $LATEST and sync: %v", err)
	}
	_, err = pc.CreateCampaign(ctx, &personalize.CreateCampaignInput{Name: aws.String("errs-pop"), SolutionVersionArn: aws.String(va)})
	var exists *ptypes.ResourceAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Errorf("duplicate campaign: %v, want ResourceAlreadyExistsException", err)
	}
}
