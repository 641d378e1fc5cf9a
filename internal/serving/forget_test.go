package serving

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/schema"
)

// TestForgetMakesUsersUnknown checks that a forgotten user, with a trained
// factor and a history, gets what a stranger gets at the next request,
// as does their anonymous session, while other users keep their answers;
// and that a model deployed later ignores factors of users the store no
// longer has.
func TestForgetMakesUsersUnknown(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	key := f.train(t, "aws-user-personalization-v2", "v1", recipe.Params{"hidden_dimension": "8"})
	deploy(t, s, campaignUP, key, false)
	ctx := t.Context()
	ask := func(user string) []string {
		t.Helper()
		res, err := s.Recommend(ctx, Request{Campaign: campaignUP, UserID: user, NumResults: 6})
		if err != nil {
			t.Fatal(err)
		}
		return ids(res.Items)
	}
	s.Observe(corpus.Update{Group: groupARN, Events: []corpus.Event{{Session: "sess-3", Item: "b05", Type: "VIEWED", Time: 9000, Value: float32(math.NaN())},
		{Session: "sess-3", Item: "b06", Type: "VIEWED", Time: 9001, Value: float32(math.NaN())}}})
	stranger, other := ask("stranger"), ask("u25")
	if slices.Equal(ask("u03"), stranger) || slices.Equal(ask("sess-3"), stranger) {
		t.Fatal("before Forget the user or session already gets a stranger's answer: the test would prove nothing")
	}
	s.Forget(groupARN, map[string]struct{}{"u03": {}}, map[string]struct{}{"sess-3": {}})
	if got := ask("u03"); !slices.Equal(got, stranger) {
		t.Errorf("forgotten user gets %v, want a stranger's %v", got, stranger)
	}
	if got := ask("sess-3"); !slices.Equal(got, stranger) {
		t.Errorf("forgotten session gets %v, want a stranger's %v", got, stranger)
	}
	if got := ask("u25"); !slices.Equal(got, other) {
		t.Errorf("another user's answer changed from %v to %v", other, got)
	}

	// A new service (a restart) over a store without u03's rows: the model
	// trained with u03 must not use its factor.
	var rows [][]schema.Value
	for u := range 40 {
		if u == 3 {
			continue
		}
		for k := range 8 {
			cat := "a"
			if u >= 20 {
				cat = "b"
			}
			rows = append(rows, []schema.Value{str(fmt.Sprintf("u%02d", u)), str(fmt.Sprintf("%s%02d", cat, (u%20+k*5)%12)), str("VIEWED"), {Int: int64(1000 + u*100 + k)}})
		}
	}
	f.sc.all = f.sc.all[:0]
	f.sc.add(interactions, interactionFields, rows)
	s2 := f.service(t)
	deploy(t, s2, campaignUP, key, false)
	res, err := s2.Recommend(ctx, Request{Campaign: campaignUP, UserID: "u03", NumResults: 6})
	if err != nil {
		t.Fatal(err)
	}
	res2, err := s2.Recommend(ctx, Request{Campaign: campaignUP, UserID: "stranger", NumResults: 6})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(res.Items), ids(res2.Items)) {
		t.Errorf("after reload without u03's records, u03 gets %v, want a stranger's %v", ids(res.Items), ids(res2.Items))
	}
}
