package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	ptypes "github.com/aws/aws-sdk-go-v2/service/personalize/types"
	"github.com/aws/aws-sdk-go-v2/service/personalizeevents"
	etypes "github.com/aws/aws-sdk-go-v2/service/personalizeevents/types"
	"github.com/aws/aws-sdk-go-v2/service/personalizeruntime"
	rtypes "github.com/aws/aws-sdk-go-v2/service/personalizeruntime/types"
	"github.com/aws/smithy-go"

	"github.com/attune-dev/attune/internal/demo"
)

// createFilterSDK creates a filter and waits until it is ACTIVE.
func createFilterSDK(t *testing.T, ctx context.Context, pc *personalize.Client, group, name, expr string) string {
	t.Helper()
	out, err := pc.CreateFilter(ctx, &personalize.CreateFilterInput{Name: aws.String(name), DatasetGroupArn: aws.String(group), FilterExpression: aws.String(expr)})
	if err != nil {
		t.Fatalf("CreateFilter %s: %v", name, err)
	}
	waitFor(t, "filter "+name, func() (string, error) {
		o, err := pc.DescribeFilter(ctx, &personalize.DescribeFilterInput{FilterArn: out.FilterArn})
		if err != nil {
			return "", err
		}
		if aws.ToString(o.Filter.FilterExpression) != expr || aws.ToString(o.Filter.DatasetGroupArn) != group {
			t.Fatalf("DescribeFilter = %+v, want expression %q in %s", o.Filter, expr, group)
		}
		return aws.ToString(o.Filter.Status), nil
	}, "ACTIVE")
	return aws.ToString(out.FilterArn)
}

// rawRuntime posts a signed runtime request and decodes the raw JSON
// answer, to see members the SDK drops (Attune's explanation).
func rawRuntime(t *testing.T, url, path string, in any) map[string]any {
	t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(t.Context(), aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret}, req,
		hex.EncodeToString(sum[:]), "personalize", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s = %d %s", path, resp.StatusCode, b)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("POST %s: %v in %s", path, err, b)
	}
	return out
}

// TestFiltersPromotionsAndExplanations drives filters, promotions,
// reasons and explanations on demo data through the AWS SDK (and the AWS
// CLI when installed).
func TestFiltersPromotionsAndExplanations(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc, rc := ts.personalizeClient(), ts.runtimeClient()
	opts := demo.Options{Seed: 5}
	data := demo.Generate(opts)
	group := demoGroup(t, ctx, pc, "flt", opts)
	category := map[string]string{}
	for _, it := range data.Items {
		category[it.ID] = it.Category
	}

	t.Run("bad expressions are refused with the position", func(t *testing.T) {
		for _, expr := range []string{
			`EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("PURCHASED"`,
			`INCLUDE ItemID WHERE Items.COLOUR IN ("red")`,
			`INCLUDE ItemID WHER Items.CATEGORY IN ("Cloud")`,
		} {
			_, err := pc.CreateFilter(ctx, &personalize.CreateFilterInput{Name: aws.String("bad"), DatasetGroupArn: aws.String(group), FilterExpression: aws.String(expr)})
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidInputException" || !strings.Contains(ae.ErrorMessage(), "offset") {
				t.Errorf("CreateFilter(%q) = %v, want InvalidInputException giving the offset", expr, err)
			}
		}
	})

	noPurchased := createFilterSDK(t, ctx, pc, group, "no-purchased", `EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("PURCHASED")`)
	byCategory := createFilterSDK(t, ctx, pc, group, "by-category", `INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)`)
	cloud := createFilterSDK(t, ctx, pc, group, "cloud", `INCLUDE ItemID WHERE Items.CATEGORY IN ("Cloud")`)

	t.Run("ListFilters pages under Filters", func(t *testing.T) {
		var names []string
		p := personalize.NewListFiltersPaginator(pc, &personalize.ListFiltersInput{DatasetGroupArn: aws.String(group), MaxResults: aws.Int32(2)})
		pages := 0
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, f := range page.Filters {
				names = append(names, aws.ToString(f.Name))
			}
		}
		slices.Sort(names)
		if pages != 2 || !slices.Equal(names, []string{"by-category", "cloud", "no-purchased"}) {
			t.Errorf("ListFilters = %v in %d pages, want the 3 filters in 2 pages of 2", names, pages)
		}
	})

	va, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("flt-up"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-user-personalization-v2")})
	vp, st2 := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("flt-pop"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-popularity-count")})
	if st != "ACTIVE" || st2 != "ACTIVE" {
		t.Fatalf("versions ended %s and %s", st, st2)
	}
	up := deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String("flt-up"), SolutionVersionArn: aws.String(va),
		CampaignConfig: &ptypes.CampaignConfig{EnableMetadataWithRecommendations: aws.Bool(true)}})
	pop := deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String("flt-pop"), SolutionVersionArn: aws.String(vp)})

	if _, err := pc.DeleteDatasetGroup(ctx, &personalize.DeleteDatasetGroupInput{DatasetGroupArn: aws.String(group)}); err == nil {
		t.Error("DeleteDatasetGroup with filters succeeded, want ResourceInUseException")
	}

	t.Run("purchased items never come back, imported or sent live", func(t *testing.T) {
		// The popularity campaign does not leave out seen items, so only the filter does.
		bought := map[string]map[string]bool{}
		for _, e := range data.Events {
			if e.Type == "PURCHASED" {
				if bought[e.User] == nil {
					bought[e.User] = map[string]bool{}
				}
				bought[e.User][e.Item] = true
			}
		}
		var user string
		for u, items := range bought {
			if user == "" || len(items) > len(bought[user]) || (len(items) == len(bought[user]) && u < user) {
				user = u
			}
		}
		ask := func(filter string) []string {
			in := &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(pop), UserId: aws.String(user), NumResults: 50}
			if filter != "" {
				in.FilterArn = aws.String(filter)
			}
			out, err := rc.GetRecommendations(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			return ids(out.ItemList)
		}
		unfiltered := ask("")
		if !slices.ContainsFunc(unfiltered, func(id string) bool { return bought[user][id] }) {
			t.Fatalf("unfiltered popular items %v hold none of %s's purchases %v; the check below would be vacuous", unfiltered, user, bought[user])
		}
		filtered := ask(noPurchased)
		for _, id := range filtered {
			if bought[user][id] {
				t.Errorf("filtered answer has %s, which %s purchased", id, user)
			}
		}
		_, trackingID := createTracker(t, ctx, pc, group, "flt-tracker")
		live := filtered[0]
		if _, err := eventsClient(ts.URL, 0).PutEvents(ctx, &personalizeevents.PutEventsInput{TrackingId: aws.String(trackingID), UserId: aws.String(user),
			SessionId: aws.String("s-" + user), EventList: []etypes.Event{{EventType: aws.String("PURCHASED"), ItemId: aws.String(live), SentAt: aws.Time(time.Now())}}}); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(ask(noPurchased), live) {
			t.Errorf("%s was recommended right after PutEvents recorded its purchase", live)
		}
	})

	t.Run("a $CATEGORY filter returns only that category", func(t *testing.T) {
		user := data.Events[0].User
		out, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(up), UserId: aws.String(user), NumResults: 10,
			FilterArn: aws.String(byCategory), FilterValues: map[string]string{"CATEGORY": `"Data & AI"`}, MetadataColumns: map[string][]string{"ITEMS": {"CATEGORY"}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.ItemList) == 0 {
			t.Fatal("no items")
		}
		for _, it := range out.ItemList {
			if c := category[aws.ToString(it.ItemId)]; c != "Data & AI" || it.Metadata["CATEGORY"] != c {
				t.Errorf("item %s of category %q (metadata %v), want Data & AI", aws.ToString(it.ItemId), c, it.Metadata)
			}
		}
		_, err = rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(up), UserId: aws.String(user), FilterArn: aws.String(byCategory)})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidInputException" || !strings.Contains(ae.ErrorMessage(), "CATEGORY") {
			t.Errorf("without filterValues = %v, want InvalidInputException naming CATEGORY", err)
		}
		// Personalize requires each value in escaped double quotes; a bare
		// value is refused, not silently matched against nothing.
		_, err = rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(up), UserId: aws.String(user),
			FilterArn: aws.String(byCategory), FilterValues: map[string]string{"CATEGORY": "Data-AI"}})
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidInputException" || !strings.Contains(ae.ErrorMessage(), "CATEGORY") ||
			!strings.Contains(ae.ErrorMessage(), "double quotes") || strings.Contains(ae.ErrorMessage(), "Data-AI") {
			t.Errorf("unquoted filterValues = %v, want InvalidInputException naming CATEGORY and asking for double quotes", err)
		}
		_, err = rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(up), UserId: aws.String(user),
			FilterArn: aws.String("arn:aws:personalize:us-east-1:000000000000:filter/nope")})
		var nf *rtypes.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("unknown filter = %v, want ResourceNotFoundException", err)
		}
	})

	t.Run("a promotion occupies its share with reasons and explanations", func(t *testing.T) {
		user := data.Events[0].User
		out, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(up), UserId: aws.String(user), NumResults: 10,
			Promotions: []rtypes.Promotion{{Name: aws.String("cloud-week"), PercentPromotedItems: aws.Int32(20), FilterArn: aws.String(cloud)}},
			Context:    map[string]string{"DEVICE": "mobile"}})
		if err != nil {
			t.Fatal(err)
		}
		promoted := 0
		for _, it := range out.ItemList {
			if aws.ToString(it.PromotionName) != "cloud-week" {
				continue
			}
			promoted++
			if category[aws.ToString(it.ItemId)] != "Cloud" || !slices.Contains(it.Reason, "Promoted item") {
				t.Errorf("promoted %s (%s) reason %v, want a Cloud item with reason Promoted item", aws.ToString(it.ItemId), category[aws.ToString(it.ItemId)], it.Reason)
			}
		}
		if promoted != 2 || len(out.ItemList) != 10 {
			t.Errorf("%d of %d items promoted, want 20%% of 10 = 2", promoted, len(out.ItemList))
		}
		raw := rawRuntime(t, ts.URL, "/recommendations", map[string]any{"campaignArn": up, "userId": user, "numResults": 5})
		list, _ := raw["itemList"].([]any)
		explained := 0
		for _, x := range list {
			e, _ := x.(map[string]any)["explanation"].(map[string]any)
			if e == nil {
				continue
			}
			explained++
			text, _ := e["text"].(string)
			because, _ := e["because"].([]any)
			if !strings.HasPrefix(text, "Because ") || len(because) == 0 {
				t.Errorf("explanation %v, want a sentence and the history items", e)
			}
		}
		if explained == 0 {
			t.Errorf("no item of %v is explained", list)
		}
	})

	t.Run("AWS CLI", func(t *testing.T) {
		clis := awsCLIs(t)
		for name, bin := range clis {
			t.Run(name, func(t *testing.T) {
				_, stderr, err := cli(t, bin, ts.URL, "personalize", "create-filter", "--name", "cli-bad", "--dataset-group-arn", group,
					"--filter-expression", `INCLUDE ItemID WHERE Items.CATEGORY IN ("Cloud"`)
				if err == nil || !strings.Contains(stderr, "InvalidInputException") || !strings.Contains(stderr, "offset") {
					t.Errorf("create-filter with a bad expression: err %v, stderr %s", err, stderr)
				}
				out, stderr, err := cli(t, bin, ts.URL, "personalize", "list-filters", "--dataset-group-arn", group, "--page-size", "1")
				if fs, _ := out["Filters"].([]any); err != nil || len(fs) != 3 {
					t.Errorf("list-filters = %v, %v %s; want the 3 filters", out, err, stderr)
				}
				out, stderr, err = cli(t, bin, ts.URL, "personalize-runtime", "get-recommendations", "--campaign-arn", up, "--user-id", data.Events[0].User,
					"--num-results", "5", "--filter-arn", byCategory, "--filter-values", `{"CATEGORY": "\"Cloud\""}`)
				items, _ := out["itemList"].([]any)
				if err != nil || len(items) == 0 {
					t.Fatalf("get-recommendations: %v %s", err, stderr)
				}
				for _, x := range items {
					if id, _ := x.(map[string]any)["itemId"].(string); category[id] != "Cloud" {
						t.Errorf("get-recommendations with the Cloud filter returned %s (%s)", id, category[id])
					}
				}
			})
		}
	})

	t.Run("DeleteFilter", func(t *testing.T) {
		if _, err := pc.DeleteFilter(ctx, &personalize.DeleteFilterInput{FilterArn: aws.String(cloud)}); err != nil {
			t.Fatal(err)
		}
		_, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(up), UserId: aws.String(data.Events[0].User), FilterArn: aws.String(cloud)})
		var nf *rtypes.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("deleted filter = %v, want ResourceNotFoundException", err)
		}
	})
}
