package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	ptypes "github.com/aws/aws-sdk-go-v2/service/personalize/types"
	"github.com/aws/aws-sdk-go-v2/service/personalizeruntime"

	"github.com/attune-dev/attune/internal/demo"
)

// TestAutomaticRetrainingWithSyncedCampaign checks issue 5's automatic
// retraining end to end with the AWS SDK: a solution with
// performAutoTraining and schedulingExpression "rate(1 minute)" gets an
// AUTOMATIC version one minute after its newest (manual) version, and a
// campaign deployed on "<solutionArn>/$LATEST" with
// syncWithLatestSolutionVersion switches to it while GetRecommendations
// callers see no failed request.
//
// It waits for the schedule (about 70-90 s of wall time) and so runs in
// parallel with the other tests and is skipped under -short.
func TestAutomaticRetrainingWithSyncedCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped under -short: waits about 70 s for a rate(1 minute) automatic training")
	}
	t.Parallel()
	ts := startServer(t, "")
	ctx := t.Context()
	pc, rc := ts.personalizeClient(), ts.runtimeClient()
	data := demo.Generate(demo.Options{Seed: 5})
	group := demoGroup(t, ctx, pc, "autotrain", demo.Options{Seed: 5})

	const schedule = "rate(1 minute)"
	manualARN, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("autotrain-up"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-user-personalization-v2"), PerformAutoTraining: aws.Bool(true),
		SolutionConfig: &ptypes.SolutionConfig{AutoTrainingConfig: &ptypes.AutoTrainingConfig{SchedulingExpression: aws.String(schedule)}}})
	if st != "ACTIVE" {
		t.Fatalf("manual solution version ended %s, want ACTIVE", st)
	}
	mv, err := pc.DescribeSolutionVersion(ctx, &personalize.DescribeSolutionVersionInput{SolutionVersionArn: aws.String(manualARN)})
	if err != nil {
		t.Fatal(err)
	}
	solutionARN := aws.ToString(mv.SolutionVersion.SolutionArn)
	if mv.SolutionVersion.TrainingType != ptypes.TrainingTypeManual {
		t.Errorf("manual version trainingType = %q, want MANUAL", mv.SolutionVersion.TrainingType)
	}
	ds, err := pc.DescribeSolution(ctx, &personalize.DescribeSolutionInput{SolutionArn: aws.String(solutionARN)})
	if err != nil {
		t.Fatal(err)
	}
	if got := ds.Solution; !aws.ToBool(got.PerformAutoTraining) || got.SolutionConfig == nil || got.SolutionConfig.AutoTrainingConfig == nil ||
		aws.ToString(got.SolutionConfig.AutoTrainingConfig.SchedulingExpression) != schedule {
		t.Fatalf("DescribeSolution: performAutoTraining %v, solutionConfig %+v; want true and schedulingExpression %q",
			aws.ToBool(got.PerformAutoTraining), got.SolutionConfig, schedule)
	}

	campaignARN := deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String("autotrain-live"),
		SolutionVersionArn: aws.String(solutionARN + "/$LATEST"),
		CampaignConfig:     &ptypes.CampaignConfig{SyncWithLatestSolutionVersion: aws.Bool(true)}})
	dc, err := pc.DescribeCampaign(ctx, &personalize.DescribeCampaignInput{CampaignArn: aws.String(campaignARN)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(dc.Campaign.SolutionVersionArn); got != manualARN {
		t.Fatalf("DescribeCampaign solutionVersionArn = %q, want the manual version %q", got, manualARN)
	}

	// Callers that must never see a failure while the campaign switches.
	var calls, failures atomic.Int64
	var firstErr sync.Once
	var firstErrMsg atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; ; i += 4 {
				select {
				case <-stop:
					return
				default:
				}
				user := data.Users[i%len(data.Users)].ID
				out, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(campaignARN),
					UserId: aws.String(user), NumResults: 10})
				calls.Add(1)
				if err == nil && len(out.ItemList) == 0 {
					err = fmt.Errorf("no items")
				}
				if err != nil {
					failures.Add(1)
					firstErr.Do(func() { firstErrMsg.Store(fmt.Sprintf("GetRecommendations(%s): %v", user, err)) })
				}
				time.Sleep(2 * time.Millisecond) // leave CPU to the training
			}
		})
	}
	stopCallers := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopCallers)

	start := time.Now()
	deadline := start.Add(3 * time.Minute)
	var auto ptypes.SolutionVersionSummary
	for auto.SolutionVersionArn == nil {
		if time.Now().After(deadline) {
			t.Fatalf("no ACTIVE AUTOMATIC solution version within 3 minutes (schedule %s)", schedule)
		}
		time.Sleep(500 * time.Millisecond)
		lv, err := pc.ListSolutionVersions(ctx, &personalize.ListSolutionVersionsInput{SolutionArn: aws.String(solutionARN)})
		if err != nil {
			t.Fatalf("ListSolutionVersions: %v", err)
		}
		for _, v := range lv.SolutionVersions {
			if v.TrainingType != ptypes.TrainingTypeAutomatic {
				continue
			}
			switch aws.ToString(v.Status) {
			case "ACTIVE":
				auto = v
			case "CREATE FAILED":
				t.Fatalf("automatic version %s failed: %s", aws.ToString(v.SolutionVersionArn), aws.ToString(v.FailureReason))
			}
		}
	}
	autoARN := aws.ToString(auto.SolutionVersionArn)
	trainedAt := time.Since(start)
	if gap := auto.CreationDateTime.Sub(*mv.SolutionVersion.CreationDateTime); gap < time.Minute {
		t.Errorf("automatic version created %v after the manual one, want at least the schedule's 1m", gap)
	}
	av, err := pc.DescribeSolutionVersion(ctx, &personalize.DescribeSolutionVersionInput{SolutionVersionArn: aws.String(autoARN)})
	if err != nil {
		t.Fatal(err)
	}
	if av.SolutionVersion.TrainingMode != ptypes.TrainingModeAutotrain || av.SolutionVersion.TrainingType != ptypes.TrainingTypeAutomatic {
		t.Errorf("automatic version: trainingMode %q, trainingType %q; want AUTOTRAIN, AUTOMATIC",
			av.SolutionVersion.TrainingMode, av.SolutionVersion.TrainingType)
	}

	for {
		dc, err := pc.DescribeCampaign(ctx, &personalize.DescribeCampaignInput{CampaignArn: aws.String(campaignARN)})
		if err != nil {
			t.Fatalf("DescribeCampaign: %v", err)
		}
		served := aws.ToString(dc.Campaign.SolutionVersionArn)
		if u := dc.Campaign.LatestCampaignUpdate; u != nil && aws.ToString(u.Status) == "ACTIVE" && aws.ToString(u.SolutionVersionArn) == autoARN {
			served = autoARN
		}
		if served == autoARN {
			if st := aws.ToString(dc.Campaign.Status); st != "ACTIVE" {
				t.Errorf("campaign status after the switch = %q, want ACTIVE", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign still serves %s 3 minutes in; want the automatic version %s", served, autoARN)
		}
		time.Sleep(100 * time.Millisecond)
	}
	switched := time.Since(start)
	// Keep calling a moment after the switch so the swap itself is covered.
	before := calls.Load()
	for calls.Load() < before+50 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stopCallers()
	if n := failures.Load(); n > 0 {
		t.Errorf("%d of %d GetRecommendations calls failed during automatic retraining; first: %v", n, calls.Load(), firstErrMsg.Load())
	}
	if calls.Load() < 100 {
		t.Errorf("only %d GetRecommendations calls were made; want at least 100 to cover the switch", calls.Load())
	}
	t.Logf("automatic version ACTIVE %v and campaign switched %v after the campaign was deployed; %d requests, %d failed",
		trainedAt.Round(time.Second), switched.Round(time.Second), calls.Load(), failures.Load())
}
