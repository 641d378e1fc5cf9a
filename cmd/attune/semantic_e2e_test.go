package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	"github.com/aws/aws-sdk-go-v2/service/personalize/types"
	"github.com/aws/aws-sdk-go-v2/service/personalizeruntime"

	"github.com/attune-dev/attune/internal/demo"
)

// TestSemanticSimilarity trains aws-semantic-similarity on the demo
// catalogue with SERVICE_NAME as a textual field and asks for items related
// to one by GetRecommendations with an itemId; describe-recipe says the
// method is lexical; a group whose Items schema has no text field fails
// the version with a message saying what is needed.
func TestSemanticSimilarity(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc, rc := ts.personalizeClient(), ts.runtimeClient()
	r, err := pc.DescribeRecipe(ctx, &personalize.DescribeRecipeInput{RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-semantic-similarity")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(r.Recipe.RecipeType) != "RELATED_ITEMS" || !strings.Contains(aws.ToString(r.Recipe.Description), "lexical") {
		t.Errorf("describe-recipe = %s %q, want RELATED_ITEMS and a description saying it is lexical",
			aws.ToString(r.Recipe.RecipeType), aws.ToString(r.Recipe.Description))
	}
	o := demo.Options{Users: 80, Interactions: 3000, Seed: 17}
	group := demoGroupWith(t, ctx, pc, "sem", o, textualItemsSchema)
	version, st := trainVersion(t, ctx, pc, &personalize.CreateSolutionInput{Name: aws.String("sem"), DatasetGroupArn: aws.String(group),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-semantic-similarity")})
	if st != "ACTIVE" {
		t.Fatalf("semantic similarity version %s", st)
	}
	campaign := deployCampaign(t, ctx, pc, &personalize.CreateCampaignInput{Name: aws.String("sem"), SolutionVersionArn: aws.String(version),
		CampaignConfig: &types.CampaignConfig{EnableMetadataWithRecommendations: aws.Bool(true)}})
	names := map[string]string{}
	for _, it := range demo.Generate(o).Items {
		names[it.ID] = it.Name
	}
	anchor := "srv_001"
	out, err := rc.GetRecommendations(ctx, &personalizeruntime.GetRecommendationsInput{CampaignArn: aws.String(campaign), ItemId: aws.String(anchor),
		NumResults: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ItemList) != 5 {
		t.Fatalf("GetRecommendations(itemId) = %d items, want 5", len(out.ItemList))
	}
	// The nearest item shares a word of the anchor's name.
	words := map[string]bool{}
	for _, w := range strings.Fields(strings.ToLower(names[anchor])) {
		words[w] = true
	}
	shared := false
	for _, w := range strings.Fields(strings.ToLower(names[aws.ToString(out.ItemList[0].ItemId)])) {
		shared = shared || words[w]
	}
	if !shared {
		t.Errorf("first item related to %q is %q: they share no word", names[anchor], names[aws.ToString(out.ItemList[0].ItemId)])
	}
	for _, it := range out.ItemList {
		if it.ItemId == nil || aws.ToString(it.ItemId) == anchor {
			t.Errorf("related items contain the anchor or an empty id: %+v", out.ItemList)
		}
	}
	// Without a text field the version fails, saying why.
	plain := demoGroup(t, ctx, pc, "sem-plain", o)
	sol, err := pc.CreateSolution(ctx, &personalize.CreateSolutionInput{Name: aws.String("sem-plain"), DatasetGroupArn: aws.String(plain),
		RecipeArn: aws.String("arn:aws:personalize:::recipe/aws-semantic-similarity")})
	if err != nil {
		t.Fatal(err)
	}
	v, err := pc.CreateSolutionVersion(ctx, &personalize.CreateSolutionVersionInput{SolutionArn: sol.SolutionArn})
	if err != nil {
		var ii *types.InvalidInputException
		if !errors.As(err, &ii) {
			t.Fatal(err)
		}
		return
	}
	var reason string
	waitFor(t, "plain version", func() (string, error) {
		o, err := pc.DescribeSolutionVersion(ctx, &personalize.DescribeSolutionVersionInput{SolutionVersionArn: v.SolutionVersionArn})
		if err != nil {
			return "", err
		}
		reason = aws.ToString(o.SolutionVersion.FailureReason)
		return aws.ToString(o.SolutionVersion.Status), nil
	}, "CREATE FAILED", "ACTIVE")
	if !strings.Contains(reason, "textual") {
		t.Errorf("version without text fields: failure reason %q, want one naming the textual field it needs", reason)
	}
}
