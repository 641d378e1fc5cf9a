package schema

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
)

// The schemas the seed sample's report declared (see /work/shared/datasets/seed-sample).
const (
	seedInteractions = `{"type":"record","name":"Interactions","namespace":"com.amazonaws.personalize.schema",
		"fields":[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},
		{"name":"EVENT_TYPE","type":"string"},{"name":"TIMESTAMP","type":"long"}],"version":"1.0"}`
	seedUsers = `{"type":"record","name":"Users","namespace":"com.amazonaws.personalize.schema",
		"fields":[{"name":"USER_ID","type":"string"},
		{"name":"ROLE","type":"string","categorical":true},
		{"name":"INDUSTRY","type":"string","categorical":true},
		{"name":"COMPANY_SIZE","type":"string","categorical":true},
		{"name":"REGION","type":["null","string"],"categorical":true},
		{"name":"EXPERIENCE_LEVEL","type":["null","string"],"categorical":true},
		{"name":"AGE","type":["null","int"]},
		{"name":"ANNUAL_BUDGET","type":["null","long"]},
		{"name":"INTERESTS","type":["null","string"],"categorical":true}],"version":"1.0"}`
	seedItems = `{"type":"record","name":"Items","namespace":"com.amazonaws.personalize.schema",
		"fields":[{"name":"ITEM_ID","type":"string"},
		{"name":"SERVICE_NAME","type":"string","categorical":true},
		{"name":"CATEGORY","type":"string","categorical":true},
		{"name":"SERVICE_TIER","type":"string","categorical":true},
		{"name":"PRICE_RANGE","type":["null","string"],"categorical":true},
		{"name":"POPULARITY_SCORE","type":["null","float"]},
		{"name":"REQUIRED_SKILLS","type":["null","string"],"categorical":true},
		{"name":"TARGET_INDUSTRY","type":["null","string"],"categorical":true}],"version":"1.0"}`
	// itemsExample is the Items example of personalize-api.md §4.1.
	itemsExample = `{"type":"record","name":"Items","namespace":"com.amazonaws.personalize.schema","version":"1.0",
		"fields":[{"name":"ITEM_ID","type":"string"},
		{"name":"GENRES","type":["null","string"],"categorical":true},
		{"name":"PRICE","type":"float"},
		{"name":"CREATION_TIMESTAMP","type":"long"},
		{"name":"DESCRIPTION","type":["null","string"],"textual":true}]}`
)

func TestParseDatasetType(t *testing.T) {
	tests := []struct {
		in      string
		want    DatasetType
		wantErr bool
	}{
		{"Interactions", Interactions, false},
		{"INTERACTIONS", Interactions, false},
		{"items", Items, false},
		{"Users", Users, false},
		{"actions", Actions, false},
		{"action_interactions", ActionInteractions, false},
		{"Action_Interactions", ActionInteractions, false},
		{"ActionInteractions", "", true},
		{"events", "", true},
		{"", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDatasetType(tc.in)
			if tc.wantErr {
				if errs.KindOf(err) != errs.Invalid {
					t.Errorf("ParseDatasetType(%q) = %q, %v, want an Invalid error", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ParseDatasetType(%q) = %q, %v, want %q, nil", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestIDField(t *testing.T) {
	tests := []struct {
		in   DatasetType
		want string
	}{
		{Users, "USER_ID"}, {Items, "ITEM_ID"}, {Actions, "ACTION_ID"},
		{Interactions, ""}, {ActionInteractions, ""}, {"BOGUS", ""},
	}
	for _, tc := range tests {
		t.Run(string(tc.in), func(t *testing.T) {
			if got := tc.in.IDField(); got != tc.want {
				t.Errorf("%s.IDField() = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	tests := []struct {
		name string
		text string
		typ  DatasetType
		want []string
	}{
		{"seed interactions", seedInteractions, Interactions, nil},
		{"interactions context", rec(`{"name":"USER_ID","type":"string"}`, `{"name":"DEVICE","type":"string","categorical":true}`,
			`{"name":"EVENT_VALUE","type":"float"}`, `{"name":"IMPRESSION","type":"string"}`, `{"name":"LOCATION","type":"string"}`),
			Interactions, []string{"DEVICE", "LOCATION"}},
		{"seed users", seedUsers, Users,
			[]string{"ROLE", "INDUSTRY", "COMPANY_SIZE", "REGION", "EXPERIENCE_LEVEL", "AGE", "ANNUAL_BUDGET", "INTERESTS"}},
		{"items example", itemsExample, Items, []string{"GENRES", "PRICE", "DESCRIPTION"}},
		{"items schema read as users", itemsExample, Users, []string{"ITEM_ID", "GENRES", "PRICE", "CREATION_TIMESTAMP", "DESCRIPTION"}},
		{"actions", rec(`{"name":"ACTION_ID","type":"string"}`, `{"name":"VALUE","type":"long"}`, `{"name":"LEVEL","type":"string","categorical":true}`),
			Actions, []string{"LEVEL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range s.Metadata(tc.typ) {
				got = append(got, f.Name)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Metadata(%s) = %v, want %v", tc.typ, got, tc.want)
			}
		})
	}
}

// fields builds n categorical string fields named PREFIX_0 ... as JSON fragments.
func fields(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`{"name":"%s_%d","type":"string","categorical":true}`, prefix, i)
	}
	return out
}

func TestValidateFor(t *testing.T) {
	const (
		userID    = `{"name":"USER_ID","type":"string"}`
		itemID    = `{"name":"ITEM_ID","type":"string"}`
		actionID  = `{"name":"ACTION_ID","type":"string"}`
		timestamp = `{"name":"TIMESTAMP","type":"long"}`
		eventType = `{"name":"EVENT_TYPE","type":"string"}`
		genre     = `{"name":"GENRE","type":"string","categorical":true}`
	)
	interactions := func(extra ...string) string { return rec(append([]string{userID, itemID, timestamp}, extra...)...) }
	tests := []struct {
		name   string
		text   string
		typ    DatasetType
		domain string
		want   string // "" for valid; otherwise a field or phrase the message must contain
	}{
		// Interactions.
		{"seed interactions", seedInteractions, Interactions, "", ""},
		{"minimal interactions", interactions(), Interactions, "", ""},
		{"all reserved interactions", interactions(eventType, `{"name":"EVENT_VALUE","type":["null","double"]}`,
			`{"name":"IMPRESSION","type":["null","string"]}`, `{"name":"RECOMMENDATION_ID","type":["string","null"]}`,
			`{"name":"EVENT_ATTRIBUTION_SOURCE","type":["null","string"]}`), Interactions, "", ""},
		{"five metadata", interactions(fields("CTX", 5)...), Interactions, "", ""},
		{"six metadata", interactions(fields("CTX", 6)...), Interactions, "", "at most 5 metadata fields"},
		{"missing USER_ID", rec(itemID, timestamp), Interactions, "", "USER_ID"},
		{"missing ITEM_ID", rec(userID, timestamp), Interactions, "", "ITEM_ID"},
		{"missing TIMESTAMP", rec(userID, itemID), Interactions, "", "TIMESTAMP"},
		{"lower-case user_id", rec(`{"name":"user_id","type":"string"}`, itemID, timestamp), Interactions, "", "case-sensitive"},
		{"USER_ID long", rec(`{"name":"USER_ID","type":"long"}`, itemID, timestamp), Interactions, "", "USER_ID"},
		{"ITEM_ID nullable", rec(userID, `{"name":"ITEM_ID","type":["null","string"]}`, timestamp), Interactions, "", "ITEM_ID"},
		{"TIMESTAMP int", rec(userID, itemID, `{"name":"TIMESTAMP","type":"int"}`), Interactions, "", "TIMESTAMP"},
		{"TIMESTAMP string", rec(userID, itemID, `{"name":"TIMESTAMP","type":"string"}`), Interactions, "", "TIMESTAMP"},
		{"TIMESTAMP nullable", rec(userID, itemID, `{"name":"TIMESTAMP","type":["null","long"]}`), Interactions, "", "TIMESTAMP"},
		{"EVENT_TYPE categorical", interactions(`{"name":"EVENT_TYPE","type":"string","categorical":true}`), Interactions, "", "EVENT_TYPE"},
		{"EVENT_TYPE long", interactions(`{"name":"EVENT_TYPE","type":"long"}`), Interactions, "", "EVENT_TYPE"},
		{"EVENT_VALUE string", interactions(`{"name":"EVENT_VALUE","type":"string"}`), Interactions, "", "EVENT_VALUE"},
		{"EVENT_VALUE int", interactions(`{"name":"EVENT_VALUE","type":"int"}`), Interactions, "", "EVENT_VALUE"},
		{"IMPRESSION long", interactions(`{"name":"IMPRESSION","type":"long"}`), Interactions, "", "IMPRESSION"},
		{"RECOMMENDATION_ID categorical", interactions(`{"name":"RECOMMENDATION_ID","type":"string","categorical":true}`), Interactions, "", "RECOMMENDATION_ID"},
		{"EVENT_ATTRIBUTION_SOURCE boolean", interactions(`{"name":"EVENT_ATTRIBUTION_SOURCE","type":"boolean"}`), Interactions, "", "EVENT_ATTRIBUTION_SOURCE"},
		{"textual in interactions", interactions(`{"name":"NOTE","type":"string","textual":true}`), Interactions, "", "NOTE"},
		{"itemName in interactions", interactions(`{"name":"TITLE","type":"string","itemName":true}`), Interactions, "", "TITLE"},
		{"ECOMMERCE interactions", interactions(eventType), Interactions, DomainECommerce, ""},
		{"ECOMMERCE interactions without EVENT_TYPE", interactions(), Interactions, DomainECommerce, "EVENT_TYPE"},
		{"VOD interactions without EVENT_TYPE", interactions(), Interactions, DomainVideoOnDemand, "EVENT_TYPE"},
		{"ECOMMERCE interactions nullable EVENT_TYPE", interactions(`{"name":"EVENT_TYPE","type":["null","string"]}`), Interactions, DomainECommerce, "EVENT_TYPE"},

		// Users.
		{"seed users", seedUsers, Users, "", ""},
		{"users only USER_ID", rec(userID), Users, "", "at least one metadata field"},
		{"users without USER_ID", rec(genre), Users, "", "USER_ID"},
		{"users numeric metadata", rec(userID, `{"name":"AGE","type":"int"}`), Users, "", ""},
		{"users 25 metadata", rec(append([]string{userID}, fields("U", MaxUsersMetadata)...)...), Users, "", ""},
		{"users 26 metadata", rec(append([]string{userID}, fields("U", MaxUsersMetadata+1)...)...), Users, "", "at most 25"},
		{"users textual", rec(userID, `{"name":"BIO","type":"string","textual":true}`), Users, "", "BIO"},
		{"USER_ID categorical", rec(`{"name":"USER_ID","type":"string","categorical":true}`, genre), Users, "", "USER_ID"},
		{"VOD users", rec(userID, `{"name":"SUBSCRIPTION_MODEL","type":"string","categorical":true}`), Users, DomainVideoOnDemand, ""},
		{"VOD users plain SUBSCRIPTION_MODEL", rec(userID, `{"name":"SUBSCRIPTION_MODEL","type":"string"}`), Users, DomainVideoOnDemand, "SUBSCRIPTION_MODEL"},
		{"ECOMMERCE users", rec(userID, genre), Users, DomainECommerce, ""},

		// Items.
		{"seed items", seedItems, Items, "", ""},
		{"items example", itemsExample, Items, "", ""},
		{"items ID and CREATION_TIMESTAMP", rec(itemID, `{"name":"CREATION_TIMESTAMP","type":"long"}`), Items, "", ""},
		{"items only ITEM_ID", rec(itemID), Items, "", "at least one metadata field"},
		{"items without ITEM_ID", rec(genre), Items, "", "ITEM_ID"},
		{"items CREATION_TIMESTAMP int", rec(itemID, `{"name":"CREATION_TIMESTAMP","type":"int"}`), Items, "", "CREATION_TIMESTAMP"},
		{"items CREATION_TIMESTAMP nullable", rec(itemID, `{"name":"CREATION_TIMESTAMP","type":["null","long"]}`), Items, "", ""},
		{"items itemName", rec(itemID, `{"name":"TITLE","type":"string","itemName":true}`), Items, "", ""},
		{"items 100 metadata", rec(append([]string{itemID}, fields("I", MaxItemsMetadata)...)...), Items, "", ""},
		{"items 101 metadata", rec(append([]string{itemID}, fields("I", MaxItemsMetadata+1)...)...), Items, "", "at most 100"},
		{"ITEM_ID textual", rec(`{"name":"ITEM_ID","type":"string","textual":true}`, genre), Items, "", "ITEM_ID"},
		{"ECOMMERCE items", rec(itemID, `{"name":"PRICE","type":"float"}`, `{"name":"CATEGORY_L1","type":"string","categorical":true}`,
			`{"name":"CATEGORY_L2","type":["null","string"],"categorical":true}`,
			`{"name":"PRODUCT_DESCRIPTION","type":["null","string"],"textual":true}`), Items, DomainECommerce, ""},
		{"ECOMMERCE items without PRICE", rec(itemID, `{"name":"CATEGORY_L1","type":"string","categorical":true}`), Items, DomainECommerce, "PRICE"},
		{"ECOMMERCE items PRICE string", rec(itemID, `{"name":"PRICE","type":"string"}`, `{"name":"CATEGORY_L1","type":"string","categorical":true}`), Items, DomainECommerce, "PRICE"},
		{"ECOMMERCE items plain CATEGORY_L1", rec(itemID, `{"name":"PRICE","type":"float"}`, `{"name":"CATEGORY_L1","type":"string"}`), Items, DomainECommerce, "CATEGORY_L1"},
		{"ECOMMERCE items PRODUCT_DESCRIPTION not textual", rec(itemID, `{"name":"PRICE","type":"float"}`,
			`{"name":"CATEGORY_L1","type":"string","categorical":true}`, `{"name":"PRODUCT_DESCRIPTION","type":"string"}`), Items, DomainECommerce, "PRODUCT_DESCRIPTION"},
		{"VOD items", rec(itemID, `{"name":"GENRES","type":"string","categorical":true}`, `{"name":"CREATION_TIMESTAMP","type":"long"}`), Items, DomainVideoOnDemand, ""},
		{"VOD items without GENRES", rec(itemID, `{"name":"CREATION_TIMESTAMP","type":"long"}`), Items, DomainVideoOnDemand, "GENRES"},
		{"VOD items plain GENRES", rec(itemID, `{"name":"GENRES","type":"string"}`, `{"name":"CREATION_TIMESTAMP","type":"long"}`), Items, DomainVideoOnDemand, "GENRES"},
		{"VOD items without CREATION_TIMESTAMP", rec(itemID, `{"name":"GENRES","type":"string","categorical":true}`), Items, DomainVideoOnDemand, "CREATION_TIMESTAMP"},

		// Actions and action interactions.
		{"actions", rec(actionID, `{"name":"VALUE","type":["null","long"]}`, `{"name":"MEMBERSHIP_LEVEL","type":["null","string"],"categorical":true}`,
			`{"name":"CREATION_TIMESTAMP","type":"long"}`, `{"name":"REPEAT_FREQUENCY","type":["null","int"]}`,
			`{"name":"ACTION_EXPIRATION_TIMESTAMP","type":["null","long"]}`), Actions, "", ""},
		{"actions only ACTION_ID", rec(actionID), Actions, "", "at least one metadata field"},
		{"actions REPEAT_FREQUENCY float", rec(actionID, `{"name":"REPEAT_FREQUENCY","type":"float"}`), Actions, "", "REPEAT_FREQUENCY"},
		{"actions VALUE string", rec(actionID, `{"name":"VALUE","type":"string"}`), Actions, "", "VALUE"},
		{"actions 11 metadata", rec(append([]string{actionID}, fields("A", MaxActionsMetadata+1)...)...), Actions, "", "at most 10"},
		{"actions in a domain", rec(actionID, genre), Actions, DomainECommerce, "ACTIONS"},
		{"action interactions", rec(userID, actionID, timestamp, eventType), ActionInteractions, "", ""},
		{"action interactions without EVENT_TYPE", rec(userID, actionID, timestamp), ActionInteractions, "", "EVENT_TYPE"},
		{"action interactions without ACTION_ID", rec(userID, timestamp, eventType), ActionInteractions, "", "ACTION_ID"},
		{"action interactions in a domain", rec(userID, actionID, timestamp, eventType), ActionInteractions, DomainVideoOnDemand, "ACTION_INTERACTIONS"},

		// Arguments.
		{"unknown domain", seedInteractions, Interactions, "RETAIL", "RETAIL"},
		{"unknown dataset type", seedInteractions, "EVENTS", "", "EVENTS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			err = s.ValidateFor(tc.typ, tc.domain)
			if tc.want == "" {
				if err != nil {
					t.Errorf("ValidateFor(%s, %q) = %v, want nil", tc.typ, tc.domain, err)
				}
				return
			}
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("ValidateFor(%s, %q) = %v, want an Invalid error", tc.typ, tc.domain, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ValidateFor(%s, %q) = %q, want it to mention %q", tc.typ, tc.domain, err, tc.want)
			}
		})
	}
}
