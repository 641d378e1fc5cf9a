package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ptypes "github.com/aws/aws-sdk-go-v2/service/personalize/types"
)

// excludeInteracted is a solution config setting exclude_interacted_items,
// for tests that expect the user's own items left out of their lists.
func excludeInteracted() *ptypes.SolutionConfig {
	return &ptypes.SolutionConfig{AlgorithmHyperParameters: map[string]string{"exclude_interacted_items": "true"}}
}

// TestExcludeInteractedItemsCLI drives user-personalization through the AWS
// CLI on a set shaped like the automatic-context notebook's (issue 19 item
// 4: 30 users, 45 items, 10k events, so every user has had most items; every
// known user used to get 0 recommendations). As in Personalize, the default
// recommends items the user already had: num-results 45 yields the whole
// 45-item catalogue. A second solution sets the hyperparameter
// exclude_interacted_items "true" through --solution-config: then none of
// the user's items come back, and the list holds at most the items left.
func TestExcludeInteractedItemsCLI(t *testing.T) {
	clis := awsCLIs(t)
	bin := clis["debian"]
	if bin == "" {
		bin = clis["pip"]
	}
	ts := startServer(t, "")
	dir := t.TempDir()
	const users, items, events = 30, 45, 10000
	rng := rand.New(rand.NewPCG(19, 4))
	had := make([]map[string]bool, users)
	var csv strings.Builder
	csv.WriteString("USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP\n")
	for i := range had {
		had[i] = map[string]bool{}
	}
	for e := range events {
		u := e % users
		// Skewed towards low item numbers, so users differ in what they had.
		it := fmt.Sprintf("item_%02d", int(float64(items)*rng.Float64()*rng.Float64()))
		had[u][it] = true
		fmt.Fprintf(&csv, "user_%02d,%s,click,%d\n", u, it, 1700000000+e*60)
	}
	if err := os.WriteFile(filepath.Join(dir, "interactions.csv"), []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	schema := `{"type":"record","name":"Interactions","namespace":"com.amazonaws.personalize.schema","fields":[` +
		`{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},{"name":"EVENT_TYPE","type":"string"},` +
		`{"name":"TIMESTAMP","type":"long"}],"version":"1.0"}`
	if err := os.WriteFile(filepath.Join(dir, "schema.json"), []byte(schema), 0o600); err != nil {
		t.Fatal(err)
	}
	must := func(args ...string) map[string]any {
		t.Helper()
		out, stderr, err := cli(t, bin, ts.URL, args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return out
	}
	wait := func(args []string, keys ...string) {
		t.Helper()
		deadline := time.Now().Add(120 * time.Second)
		for {
			st := dig(must(args...), keys...)
			if st == "ACTIVE" {
				return
			}
			if strings.Contains(st, "FAILED") || time.Now().After(deadline) {
				t.Fatalf("aws %s: status %q, want ACTIVE", strings.Join(args, " "), st)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	p := func(args ...string) []string { return append([]string{"personalize"}, args...) }
	group := dig(must(p("create-dataset-group", "--name", "ctx")...), "datasetGroupArn")
	wait(p("describe-dataset-group", "--dataset-group-arn", group), "datasetGroup", "status")
	sch := dig(must(p("create-schema", "--name", "ctx-int", "--schema", "file://"+filepath.Join(dir, "schema.json"))...), "schemaArn")
	ds := dig(must(p("create-dataset", "--name", "ctx-int", "--dataset-group-arn", group, "--dataset-type", "Interactions",
		"--schema-arn", sch)...), "datasetArn")
	wait(p("describe-dataset", "--dataset-arn", ds), "dataset", "status")
	job := dig(must(p("create-dataset-import-job", "--job-name", "ctx-import", "--dataset-arn", ds, "--role-arn", testRole,
		"--data-source", "dataLocation=file://"+filepath.Join(dir, "interactions.csv"))...), "datasetImportJobArn")
	wait(p("describe-dataset-import-job", "--dataset-import-job-arn", job), "datasetImportJob", "status")

	campaign := func(name string, extra ...string) string {
		t.Helper()
		sol := dig(must(append(p("create-solution", "--name", name, "--dataset-group-arn", group,
			"--recipe-arn", "arn:aws:personalize:::recipe/aws-user-personalization"), extra...)...), "solutionArn")
		sv := dig(must(p("create-solution-version", "--solution-arn", sol)...), "solutionVersionArn")
		wait(p("describe-solution-version", "--solution-version-arn", sv), "solutionVersion", "status")
		c := dig(must(p("create-campaign", "--name", name, "--solution-version-arn", sv)...), "campaignArn")
		wait(p("describe-campaign", "--campaign-arn", c), "campaign", "status")
		return c
	}
	recommend := func(c string, u int) []string {
		t.Helper()
		out := must("personalize-runtime", "get-recommendations", "--campaign-arn", c, "--user-id", fmt.Sprintf("user_%02d", u),
			"--num-results", fmt.Sprint(items))
		list, _ := out["itemList"].([]any)
		ids := make([]string, len(list))
		for i, it := range list {
			ids[i] = dig(it.(map[string]any), "itemId")
		}
		return ids
	}
	byDefault := campaign("ctx-default")
	excluding := campaign("ctx-exclude", "--solution-config", `{"algorithmHyperParameters":{"exclude_interacted_items":"true"}}`)
	for _, u := range []int{0, 7, 29} {
		got := recommend(byDefault, u)
		own := 0
		for _, id := range got {
			if had[u][id] {
				own++
			}
		}
		if len(got) != items || own != len(had[u]) {
			t.Errorf("default: user_%02d got %d items, %d of the %d they had; want all %d items: %v", u, len(got), own, len(had[u]), items, got)
		}
		got = recommend(excluding, u)
		for _, id := range got {
			if had[u][id] {
				t.Errorf("exclude_interacted_items=true: user_%02d got %s, which they had", u, id)
			}
		}
		if len(got) > items-len(had[u]) || len(got) == 0 && len(had[u]) < items {
			t.Errorf("exclude_interacted_items=true: user_%02d got %d items; want 1..%d (the items they had not)", u, len(got), items-len(had[u]))
		}
	}
	// describe-algorithm lists the hyperparameter with Personalize's default.
	algo := must(p("describe-algorithm", "--algorithm-arn", "arn:aws:personalize:::algorithm/aws-user-personalization")...)
	if d := dig(algo, "algorithm", "defaultHyperParameters", "exclude_interacted_items"); d != "false" {
		t.Errorf("describe-algorithm: exclude_interacted_items default %q, want \"false\"", d)
	}
}
