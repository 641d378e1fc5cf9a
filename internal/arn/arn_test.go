package arn

import (
	"testing"

	"github.com/attune-dev/attune/internal/errs"
)

func TestCheckName(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{"a", true}, {"seed-group_1", true}, {"9lives", true},
		{"", false}, {"-lead", false}, {"_lead", false}, {"has space", false}, {"dot.ted", false},
		{string(make([]byte, 64)), false},
	}
	for _, tc := range cases {
		err := CheckName("name", tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("CheckName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && errs.KindOf(err) != errs.Invalid {
			t.Errorf("CheckName(%q) kind = %v, want Invalid", tc.name, errs.KindOf(err))
		}
	}
}

func TestBuildAndExpect(t *testing.T) {
	s := Scope{Region: "eu-west-1", Account: "123456789012"}
	cases := []struct {
		arn    string
		typ    string
		nparts int
		ok     bool
	}{
		{s.Build(DatasetGroup, "g"), DatasetGroup, 1, true},
		{s.Build(Dataset, "g", "INTERACTIONS"), Dataset, 2, true},
		{s.Build(Solution, "s", "abcd1234"), Solution, 2, true},
		{s.Build(Solution, "s", "abcd1234"), Solution, 1, false},
		{s.Build(Schema, "x"), DatasetGroup, 1, false},
		{"arn:aws:s3:::bucket/key", DatasetGroup, 1, false},
		{"", DatasetGroup, 1, false},
	}
	for _, tc := range cases {
		_, err := Expect("m", tc.arn, tc.typ, tc.nparts)
		if (err == nil) != tc.ok {
			t.Errorf("Expect(%q, %s, %d) = %v, want ok=%v", tc.arn, tc.typ, tc.nparts, err, tc.ok)
		}
	}
	if got, want := s.Build(Dataset, "g", "ITEMS"), "arn:aws:personalize:eu-west-1:123456789012:dataset/g/ITEMS"; got != want {
		t.Errorf("Build = %s, want %s", got, want)
	}
	if got, want := Global(Recipe, "aws-sims"), "arn:aws:personalize:::recipe/aws-sims"; got != want {
		t.Errorf("Global = %s, want %s", got, want)
	}
	p, err := Parse("m", Global(Recipe, "aws-sims"))
	if err != nil || p.Type != Recipe || p.Parts[0] != "aws-sims" || p.Region != "" {
		t.Errorf("Parse(global) = %+v, %v", p, err)
	}
}
