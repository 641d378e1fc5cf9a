package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	ptypes "github.com/aws/aws-sdk-go-v2/service/personalize/types"
	"github.com/aws/aws-sdk-go-v2/service/personalizeevents"
	etypes "github.com/aws/aws-sdk-go-v2/service/personalizeevents/types"
	"github.com/aws/aws-sdk-go-v2/service/personalizeruntime"

	"github.com/attune-dev/attune/internal/demo"
)

// TestRetriedEventsAndMetadataAsImported drives two behaviours clients trip
// on through the AWS SDK for Go v2:
//   - a PutEvents retried with the same sessionId and eventId is trained on
//     once, as in Personalize (300 copies of one event do not make an item
//     trend; 300 distinct events do);
//   - float item metadata comes back as imported: the CSV's "4.3" as "4.3"
//     and PutItems' 9.99 as "9.99", not float32 noise like "9.989999771118164".
func TestRetriedEventsAndMetadataAsImported(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc, rc, ec := ts.personalizeClient(), ts.runtimeClient(), eventsClient(ts.URL, 0)
	o := demo.Options{Seed: 23}
	data := demo.Generate(o)
	group := demoGroup(t, ctx, pc, "retries", o)
	_, trackingID := createTracker(t, ctx, pc, group, "retries-tracker")

	// The events below go in the newest trend window of aws-trending-now,
	// which counts every interaction: 300 distinct events for control, 5 for
	// middle, and one event of retried sent 300 times. Counted once, as in
	// Personalize, retried trends behind middle; counted 300 times, ahead.
	const end = 1742000000 + 3600 // demo.Generate's events end at 1742000000
	recent := map[string]bool{}
	for _, e := range data.Events {
		if e.Time > end-2*3*3600 {
			recent[e.Item] = true
		}
	}
	var quiet []string // items without interactions in the two newest 3h windows
	for _, it := range data.Items {
		if !recent[it.ID] {
			quiet = append(quiet, it.ID)
		}
	}
	if len(quiet) < 3 {
		t.Fatalf("only %d items without recent interactions", len(quiet))
	}
	control, middle, retried := quiet[0], quiet[1], quiet[2]
	sent := aws.Time(time.Unix(end, 0))
	put := func(session string, evs []etypes.Event) {
		t.Helper()
		if _, err := ec.PutEvents(ctx, &personalizeevents.PutEventsInput{TrackingId: aws.String(trackingID), SessionId: aws.String(session),
			UserId: aws.String("shopper-" + session), EventList: evs}); err != nil {
			t.Fatalf("PutEvents: %v", err)
		}
	}
	ev := func(id, item string) etypes.Event {
		return etypes.Event{EventId: aws.String(id), EventType: aws.String("VIEWED"), ItemId: aws.String(item), SentAt: sent}
	}
	for call := range 30 {
		same, distinct := make([]etypes.Event, 10), make([]etypes.Event, 10)
		for i := range same {
			same[i] = ev("order-1", retried) // a client retrying one event, within and across calls
			distinct[i] = ev(fmt.Sprintf("view-%d-%d", call, i), control)
		}
		put("retrying", same)
		put("busy", distinct)
	}
	put("few", []etypes.Event{ev("f1", middle), ev("f2", middle), ev("f3", middle), ev("f4", middle), ev("f5", middle)})
	// PutItems replaces control's row: its other columns as imported, a new score.
	var props string
	for _, it := range data.Items {
		if it.ID == control {
			b, err := json.Marshal(map[string]any{"serviceName": it.Name, "category": it.Category, "serviceTier": it.Tier,
				"priceRange": it.PriceRange, "creationTimestamp": it.Created, "targetIndustry": strings.Join(it.Industries, "|")})
			if err != nil {
				t.Fatal(err)
			}
			props = strings.TrimSuffix(string(b), "}") + `,"popularityScore":9.99}` // the number as a shop's JSON has it
		}
	}
	itemsARN := "arn:aws:personalize:us-east-1:000000000000:dataset/retries/ITEMS"
	if _, err := ec.PutItems(ctx, &personalizeevents.PutItemsInput{DatasetArn: aws.String(itemsARN),
		Items: []etypes.Item{{ItemId: aws.String(control), Properties: aws.String(props)}}}); err != nil {
		t.Fatalf("PutItems: %v", err)
	}

	version, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("retries-trend"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-trending-now")})
	if st != "ACTIVE" {
		t.Fatalf("trending version ended %s", st)
	}
	campaign := deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String("retries-trend"), SolutionVersionArn: aws.String(version),
		CampaignConfig: &ptypes.CampaignConfig{EnableMetadataWithRecommendations: aws.Bool(true)}})

	all, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(campaign),
		UserId: aws.String("a-newcomer"), NumResults: int32(min(len(data.Items), 500))})
	if err != nil {
		t.Fatal(err)
	}
	rank := ids(all.ItemList)
	pos := func(id string) int {
		if i := slices.Index(rank, id); i >= 0 {
			return i
		}
		return len(rank)
	}
	if pos(control) != 0 || pos(middle) >= pos(retried) {
		t.Errorf("trending order puts %s (300 events) at %d, %s (5 events) at %d, %s (one event sent 300 times) at %d; want them in this order: the repeats were trained on",
			control, pos(control), middle, pos(middle), retried, pos(retried))
	}

	text := map[string]string{}
	for _, it := range data.Items {
		// demo.WriteItems writes "%.1f" ("4.3", "7.0"); a float column gives
		// back the shortest text of the same value ("4.3", "7").
		x, err := strconv.ParseFloat(strconv.FormatFloat(it.Popularity, 'f', 1, 64), 32)
		if err != nil {
			t.Fatal(err)
		}
		text[it.ID] = strconv.FormatFloat(x, 'f', -1, 32)
	}
	text[control] = "9.99"
	top, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(campaign),
		UserId: aws.String("a-newcomer"), NumResults: 10, MetadataColumns: map[string][]string{"ITEMS": {"POPULARITY_SCORE"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(top.ItemList) == 0 || aws.ToString(top.ItemList[0].ItemId) != control {
		t.Fatalf("GetRecommendations with metadata = %v, want %s first", ids(top.ItemList), control)
	}
	for _, it := range top.ItemList {
		id := aws.ToString(it.ItemId)
		if got, want := it.Metadata["POPULARITY_SCORE"], text[id]; got != want {
			t.Errorf("item %s POPULARITY_SCORE = %q, want %q as imported", id, got, want)
		}
	}
}
