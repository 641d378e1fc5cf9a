package api

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/accesskeys"
	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/events"
	"github.com/attune-dev/attune/internal/iam"
)

type fakeKeys map[string]*accesskeys.Principal

func (f fakeKeys) Lookup(id string) (*accesskeys.Principal, bool) { p, ok := f[id]; return p, ok }

type fakeTrackers map[string]string

func (f fakeTrackers) TrackerByTrackingID(_ context.Context, id string) (*events.Tracker, error) {
	a, ok := f[id]
	if !ok {
		return nil, errs.E(errs.NotFound, "no tracker with trackingId %s", id)
	}
	t := &events.Tracker{}
	t.ARN = a
	return t, nil
}

const (
	acct     = "arn:aws:personalize:us-east-1:000000000000:"
	shopCamp = acct + "campaign/shop"
	shopTrk  = acct + "event-tracker/abc123"
)

func authzServer(t testing.TB, policy string) *Server {
	t.Helper()
	pol, err := iam.Parse([]byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	s := New(Deps{}, Options{
		Credentials: map[string]string{"ROOT": "root-secret"},
		AccessKeys:  fakeKeys{"SHOP": {AccessKeyID: "SHOP", Name: "web-shop", ARN: "arn:aws:iam::000000000000:user/web-shop", Policy: pol}},
		Scope:       arn.Scope{Region: "us-east-1", Account: "000000000000"},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	// The control operations are registered without services here; authorize
	// only needs their names.
	for _, op := range []string{"DeleteCampaign", "DescribeCampaign", "CreateCampaign", "ListCampaigns", "CreateDataset"} {
		s.control[op] = nil
	}
	s.trackers = fakeTrackers{"trk-1": shopTrk}
	return s
}

func TestAuthorize(t *testing.T) {
	s := authzServer(t, `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":["personalize:GetRecommendations","personalize:Describe*"],"Resource":"`+acct+`campaign/shop*"},
	  {"Effect":"Allow","Action":"personalize:PutEvents","Resource":"`+shopTrk+`"},
	  {"Effect":"Allow","Action":"personalize:CreateDataset","Resource":"`+acct+`dataset/shop/*"},
	  {"Effect":"Deny","Action":"personalize:DescribeCampaign","Resource":"`+acct+`campaign/shop-secret"}]}`)
	tests := []struct {
		name, key, target, path, body string
		kind                          errs.Kind // Internal = allowed
		inMsg                         string
	}{
		{"root skips policy", "ROOT", "AmazonPersonalize.DeleteCampaign", "/", `{"campaignArn":"` + shopCamp + `"}`, errs.Internal, ""},
		{"allowed recommendations", "SHOP", "", "/recommendations", `{"campaignArn":"` + shopCamp + `","userId":"u"}`, errs.Internal, ""},
		{"other campaign", "SHOP", "", "/recommendations", `{"campaignArn":"` + acct + `campaign/other"}`, errs.AccessDenied,
			"User: arn:aws:iam::000000000000:user/web-shop is not authorized to perform: personalize:GetRecommendations on resource: " + acct + "campaign/other because no identity-based policy allows the personalize:GetRecommendations action"},
		{"filter must be allowed too", "SHOP", "", "/recommendations", `{"campaignArn":"` + shopCamp + `","filterArn":"` + acct + `filter/f"}`, errs.AccessDenied, "on resource: " + acct + "filter/f"},
		{"recommender", "SHOP", "", "/recommendations", `{"recommenderArn":"` + acct + `recommender/r"}`, errs.AccessDenied, "recommender/r"},
		{"ranking not allowed", "SHOP", "", "/personalize-ranking", `{"campaignArn":"` + shopCamp + `"}`, errs.AccessDenied, "personalize:GetPersonalizedRanking"},
		{"put events on tracker", "SHOP", "", "/events", `{"trackingId":"trk-1","sessionId":"s"}`, errs.Internal, ""},
		{"unknown tracking id", "SHOP", "", "/events", `{"trackingId":"nope"}`, errs.NotFound, ""},
		{"long tracking id", "SHOP", "", "/events", `{"trackingId":"` + strings.Repeat("t", 300) + `"}`, errs.Invalid, "trackingId"},
		{"put items", "SHOP", "", "/items", `{"datasetArn":"` + acct + `dataset/shop/ITEMS"}`, errs.AccessDenied, "personalize:PutItems on resource: " + acct + "dataset/shop/ITEMS"},
		{"describe wildcard", "SHOP", "AmazonPersonalize.DescribeCampaign", "/", `{"campaignArn":"` + shopCamp + `"}`, errs.Internal, ""},
		{"explicit deny", "SHOP", "AmazonPersonalize.DescribeCampaign", "/", `{"campaignArn":"` + acct + `campaign/shop-secret"}`, errs.AccessDenied, "with an explicit deny in an identity-based policy"},
		{"delete denied", "SHOP", "AmazonPersonalize.DeleteCampaign", "/", `{"campaignArn":"` + shopCamp + `"}`, errs.AccessDenied, "personalize:DeleteCampaign on resource: " + shopCamp},
		{"create names new arn", "SHOP", "AmazonPersonalize.CreateCampaign", "/", `{"name":"shop2"}`, errs.AccessDenied, "on resource: " + acct + "campaign/shop2"},
		{"create dataset in group", "SHOP", "AmazonPersonalize.CreateDataset", "/", `{"datasetGroupArn":"` + acct + `dataset-group/shop","datasetType":"Interactions"}`, errs.Internal, ""},
		{"list on star", "SHOP", "AmazonPersonalize.ListCampaigns", "/", `{}`, errs.AccessDenied, "on resource: *"},
		{"unknown operation left to dispatch", "SHOP", "AmazonPersonalize.Frobnicate", "/", `{}`, errs.Internal, ""},
		{"bad json", "SHOP", "", "/recommendations", `{`, errs.Invalid, ""},
		{"deleted key", "GONE", "", "/recommendations", `{}`, errs.Unauthenticated, ""},
		{"long arn is cut", "SHOP", "", "/recommendations", `{"campaignArn":"` + acct + "campaign/" + strings.Repeat("x", 5000) + `"}`, errs.AccessDenied, "…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", tc.path, strings.NewReader(tc.body))
			p := runtimeAPI
			if tc.target != "" {
				r.Header.Set("X-Amz-Target", tc.target)
				p = controlPlane
			}
			err := s.authorize(r, p, tc.key, []byte(tc.body))
			if tc.kind == errs.Internal {
				if err != nil {
					t.Fatalf("authorize = %v, want allowed", err)
				}
				return
			}
			if errs.KindOf(err) != tc.kind || !strings.Contains(errs.Message(err), tc.inMsg) {
				t.Fatalf("authorize = %v (%v), want %v containing %q", err, errs.KindOf(err), tc.kind, tc.inMsg)
			}
			if len(errs.Message(err)) > 1000 {
				t.Errorf("message of %d bytes", len(errs.Message(err)))
			}
		})
	}
}

// TestEveryOperationHasAResource guards the tables in authz.go: every
// Personalize control-plane action (all that Attune serves, checked below,
// and those it does not serve yet) is authorized on a resource chosen on
// purpose, not by falling through to "*".
func TestEveryOperationHasAResource(t *testing.T) {
	control := map[string]operation{}
	registerDatasets(control, nil)
	registerRecommenders(control, nil)
	registerTags(control, nil)
	registerRecipes(control, nil)
	registerSolutions(control, nil)
	registerCampaigns(control, nil)
	registerFilters(control, nil)
	registerTrackers(control, nil)
	// registerBatch takes method values at registration and needs a real service.
	for op := range control {
		if !iam.IsAction(op) {
			t.Errorf("operation %s is not an IAM action in internal/iam", op)
		}
	}
	special := map[string]bool{"CreateDataset": true, "CreateEventTracker": true, "CreateSolutionVersion": true}
	for _, op := range iam.Actions() {
		if _, rest := restOperationsByName()[op]; rest || op == "GetActionRecommendations" || op == "PutActions" || op == "PutActionInteractions" {
			continue
		}
		_, created := createdType[op]
		_, targeted := targetMember[op]
		if !created && !targeted && !special[op] && !strings.HasPrefix(op, "List") {
			t.Errorf("operation %s has no resource mapping in authz.go", op)
		}
	}
}

func restOperationsByName() map[string]bool {
	m := map[string]bool{}
	for _, op := range restOperations {
		m[op] = true
	}
	return m
}

// BenchmarkAuthorize is the cost a scoped key adds to a GetRecommendations
// call (body decode + policy evaluation), against the root key's map lookup.
func BenchmarkAuthorize(b *testing.B) {
	s := authzServer(b, `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":"personalize:GetRecommendations","Resource":"`+shopCamp+`"},
	  {"Effect":"Allow","Action":"personalize:PutEvents","Resource":"`+shopTrk+`"}]}`)
	body := []byte(`{"campaignArn":"` + shopCamp + `","userId":"u-123","numResults":25,"filterValues":{}}`)
	for _, key := range []string{"ROOT", "SHOP"} {
		b.Run(key, func(b *testing.B) {
			r := httptest.NewRequest("POST", "/recommendations", nil)
			for b.Loop() {
				if err := s.authorize(r, runtimeAPI, key, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
