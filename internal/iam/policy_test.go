package iam

import (
	"errors"
	"strings"
	"testing"
)

const (
	campaign = "arn:aws:personalize:us-east-1:000000000000:campaign/shop"
	other    = "arn:aws:personalize:us-east-1:000000000000:campaign/other"
	tracker  = "arn:aws:personalize:us-east-1:000000000000:event-tracker/3f2a"
)

func mustParse(t *testing.T, doc string) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse(%s) = %v", doc, err)
	}
	return p
}

func TestEvaluate(t *testing.T) {
	shop := `{"Version":"2012-10-17","Statement":[
	  {"Sid":"Recs","Effect":"Allow","Action":"personalize:GetRecommendations","Resource":"` + campaign + `"},
	  {"Effect":"Allow","Action":["personalize:PutEvents"],"Resource":["` + tracker + `"]}]}`
	describe := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"personalize:Describe*","Resource":"*"}}`
	denyWins := `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":"personalize:*","Resource":"*"},
	  {"Effect":"Deny","Action":"personalize:Delete*","Resource":"arn:aws:personalize:*:*:campaign/shop"}]}`
	wild := `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"PERSONALIZE:get?ecommendations","Resource":"arn:aws:personalize:us-east-1:000000000000:campaign/sh*"}]}`
	notAction := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["personalize:Delete*","personalize:Create*"],"Resource":"*"}]}`
	notResource := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","NotResource":"` + other + `"}]}`
	listOnly := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"personalize:List*","Resource":"arn:aws:personalize:*:*:*"}]}`
	tests := []struct {
		name, policy, action, resource string
		want                           Decision
	}{
		{"allowed action and resource", shop, "personalize:GetRecommendations", campaign, Allowed},
		{"action case-insensitive", shop, "Personalize:getrecommendations", campaign, Allowed},
		{"other campaign", shop, "personalize:GetRecommendations", other, ImplicitDeny},
		{"resource case-sensitive", shop, "personalize:GetRecommendations", strings.ToUpper(campaign), ImplicitDeny},
		{"tracker allowed", shop, "personalize:PutEvents", tracker, Allowed},
		{"PutEvents not on campaign", shop, "personalize:PutEvents", campaign, ImplicitDeny},
		{"unlisted action", shop, "personalize:DeleteCampaign", campaign, ImplicitDeny},
		{"unknown action never allowed", shop, "personalize:Nonexistent", campaign, ImplicitDeny},
		{"describe wildcard", describe, "personalize:DescribeCampaign", campaign, Allowed},
		{"describe wildcard lower", describe, "personalize:describesolutionversion", "arn:x", Allowed},
		{"describe wildcard not delete", describe, "personalize:DeleteCampaign", campaign, ImplicitDeny},
		{"deny wins", denyWins, "personalize:DeleteCampaign", campaign, ExplicitDeny},
		{"deny scoped to resource", denyWins, "personalize:DeleteCampaign", other, Allowed},
		{"allow rest", denyWins, "personalize:CreateCampaign", campaign, Allowed},
		{"question mark and prefix", wild, "personalize:GetRecommendations", campaign, Allowed},
		{"prefix mismatch", wild, "personalize:GetRecommendations", other, ImplicitDeny},
		{"not action allows others", notAction, "personalize:DescribeCampaign", campaign, Allowed},
		{"not action excludes", notAction, "personalize:DeleteCampaign", campaign, ImplicitDeny},
		{"not resource allows others", notResource, "personalize:DeleteCampaign", campaign, Allowed},
		{"not resource excludes", notResource, "personalize:DeleteCampaign", other, ImplicitDeny},
		{"list needs star resource", listOnly, "personalize:ListCampaigns", "*", ImplicitDeny},
		{"list on star", describe, "personalize:DescribeRecipe", "*", Allowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParse(t, tc.policy)
			if got := p.Evaluate(tc.action, tc.resource); got != tc.want {
				t.Errorf("Evaluate(%s, %s) = %v, want %v", tc.action, tc.resource, got, tc.want)
			}
		})
	}
	var nilPolicy *Policy
	if got := nilPolicy.Evaluate("personalize:ListCampaigns", "*"); got != ImplicitDeny {
		t.Errorf("nil policy Evaluate = %v, want ImplicitDeny", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, doc     string
		stmt          int
		member, inMsg string
	}{
		{"not json", `{"Version":`, -1, "", "invalid JSON"},
		{"array", `[]`, -1, "", "not a JSON object"},
		{"no version", `{"Statement":[]}`, -1, "Version", "required"},
		{"bad version", `{"Version":"2020-01-01","Statement":[]}`, -1, "Version", "not a policy language version"},
		{"unknown top member", `{"Version":"2012-10-17","Statment":[]}`, -1, "", `unknown member "Statment"`},
		{"no statement", `{"Version":"2012-10-17"}`, -1, "Statement", "required"},
		{"empty statements", `{"Version":"2012-10-17","Statement":[]}`, -1, "Statement", "at least one"},
		{"statement string", `{"Version":"2012-10-17","Statement":"x"}`, -1, "Statement", "object or an array"},
		{"condition", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{}}]}`, 0, "Condition", "not supported"},
		{"principal", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`, 0, "Principal", "identity-based"},
		{"unknown statement member", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Actions":"x"}]}`, 0, "", `unknown member "Actions"`},
		{"no effect", `{"Version":"2012-10-17","Statement":[{"Action":"*","Resource":"*"}]}`, 0, "Effect", "required"},
		{"bad effect", `{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"*","Resource":"*"}]}`, 0, "Effect", "neither"},
		{"no action", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}`, 0, "Action", "required"},
		{"both actions", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","NotAction":"*","Resource":"*"}]}`, 0, "Action", "not both"},
		{"no resource", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*"}]}`, 0, "Resource", "required"},
		{"empty action array", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}`, 0, "Action", "empty"},
		{"action number", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":1,"Resource":"*"}]}`, 0, "Action", "string or an array"},
		{"unknown action", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Allow","Action":["personalize:GetRecommendations","personalize:GetRecomendations"],"Resource":"*"}]}`, 1, "Action[1]", "not a Personalize operation"},
		{"unknown action in deny", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"personalize:DeleteEverything","Resource":"*"}]}`, 0, "Action[0]", "not a Personalize operation"},
		{"wildcard matching nothing", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"personalize:Frob*","Resource":"*"}]}`, 0, "Action[0]", "matches no"},
		{"other service", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`, 0, "Action[0]", "another service"},
		{"no prefix", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"GetRecommendations","Resource":"*"}]}`, 0, "NotAction[0]", "not an action"},
		{"resource not arn", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"campaign/shop"}]}`, 0, "Resource[0]", "not an ARN"},
		{"policy variable", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:personalize:::campaign/${aws:username}"}]}`, 0, "Resource[0]", "policy variable"},
		{"duplicate sid", `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"}]}`, 1, "Sid", "unique"},
		{"bad sid", `{"Version":"2012-10-17","Statement":[{"Sid":"a b","Effect":"Allow","Action":"*","Resource":"*"}]}`, 0, "Sid", "letters and digits"},
		{"duplicate member", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Effect":"Deny","Action":"*","Resource":"*"}]}`, 0, "", "appears twice"},
		{"too large", `{"Version":"2012-10-17","Id":"` + strings.Repeat("x", MaxPolicyBytes) + `"}`, -1, "", "more than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse = %v, want *Error", err)
			}
			if pe.Statement != tc.stmt || pe.Member != tc.member || !strings.Contains(pe.Msg, tc.inMsg) {
				t.Errorf("Parse = {%d %q %q}, want {%d %q ...%q...}", pe.Statement, pe.Member, pe.Msg, tc.stmt, tc.member, tc.inMsg)
			}
			if len(err.Error()) > 400 {
				t.Errorf("error is %d bytes long; it must not echo the document", len(err.Error()))
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	p := mustParse(t, `{"Version":"2012-10-17","Id":"shop","Statement":{"Sid":"One","Effect":"Deny","NotAction":"personalize:Get*","NotResource":["*"]}}`)
	if len(p.Statements) != 1 || p.ID != "shop" {
		t.Fatalf("Parse = %+v", p)
	}
	st := p.Statements[0]
	if st.Sid != "One" || st.Effect != Deny || !st.NotAction || !st.NotResource || st.Actions[0] != "personalize:get*" {
		t.Errorf("statement = %+v", st)
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything:at/all", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbb", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*a*a*a*a*b", strings.Repeat("a", 200), false},
		{"arn:*:campaign/*", "arn:aws:personalize:us-east-1:1:campaign/x", true},
		{"", "", true},
		{"", "x", false},
		{"x**", "x", true},
	}
	for _, tc := range tests {
		if got := match(tc.pattern, tc.s); got != tc.want {
			t.Errorf("match(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestActionsKnown(t *testing.T) {
	for _, a := range []string{"GetRecommendations", "putevents", "CreateDataDeletionJob"} {
		if !IsAction(a) {
			t.Errorf("IsAction(%q) = false", a)
		}
	}
	if IsAction("GetEverything") {
		t.Error("IsAction(GetEverything) = true")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"personalize:Get*","Resource":"arn:aws:personalize:*:*:campaign/*"}]}`))
	f.Add([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotAction":["personalize:Delete*"],"NotResource":"*"}}`))
	f.Add([]byte(`{"Version":"2008-10-17","Id":"x","Statement":[{"Sid":"a","Effect":"Allow","Action":"*","Resource":"*","Condition":{}}]}`))
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Effect":"Allow"}]}`))
	f.Add([]byte(`[{"Version":1}]`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := Parse(doc)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error %T is not *Error", err)
			}
			if len(err.Error()) > 600 {
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
			return
		}
		if len(p.Statements) == 0 {
			t.Fatal("accepted a policy without statements")
		}
		for _, st := range p.Statements {
			if st.Effect != Allow && st.Effect != Deny || len(st.Actions) == 0 || len(st.Resources) == 0 {
				t.Fatalf("accepted an incomplete statement %+v", st)
			}
			for _, a := range st.Actions {
				if a != strings.ToLower(a) {
					t.Fatalf("action %q not lower-cased", a)
				}
			}
		}
		// Evaluation is total and deterministic.
		d1 := p.Evaluate("personalize:GetRecommendations", campaign)
		if d2 := p.Evaluate("PERSONALIZE:GETRECOMMENDATIONS", campaign); d1 != d2 {
			t.Fatalf("case changed the decision: %v vs %v", d1, d2)
		}
	})
}

func BenchmarkEvaluate(b *testing.B) {
	p, err := Parse([]byte(`{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":"personalize:GetRecommendations","Resource":"arn:aws:personalize:us-east-1:000000000000:campaign/*"},
	  {"Effect":"Allow","Action":["personalize:PutEvents"],"Resource":["` + tracker + `"]},
	  {"Effect":"Deny","Action":"personalize:Delete*","Resource":"*"}]}`))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if p.Evaluate("personalize:GetRecommendations", campaign) != Allowed {
			b.Fatal("denied")
		}
	}
}
