package demo

import (
	"bytes"
	"strings"
	"testing"
)

func TestGenerateIsDeterministicAndShaped(t *testing.T) {
	a, b := Generate(Options{Seed: 3}), Generate(Options{Seed: 3})
	var ba, bb bytes.Buffer
	if err := a.WriteInteractions(&ba); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteInteractions(&bb); err != nil {
		t.Fatal(err)
	}
	if ba.String() != bb.String() {
		t.Fatal("same seed gave different interactions")
	}
	if c := Generate(Options{Seed: 4}); len(c.Events) == len(a.Events) && c.Events[0] == a.Events[0] {
		t.Error("different seeds gave the same data")
	}
	// At least Personalize's minimum: 1000 interactions, 25 users with 2+.
	perUser := map[string]int{}
	types := map[string]int{}
	for i, e := range a.Events {
		perUser[e.User]++
		types[e.Type]++
		if i > 0 && e.Time < a.Events[i-1].Time {
			t.Fatal("events are not in time order")
		}
	}
	active := 0
	for _, n := range perUser {
		if n >= 2 {
			active++
		}
	}
	if len(a.Events) < 1000 || active < 25 {
		t.Errorf("%d events, %d users with 2+; below Personalize's minimum", len(a.Events), active)
	}
	for _, typ := range []string{"VIEWED", "TRIAL_STARTED", "PURCHASED"} {
		if types[typ] == 0 {
			t.Errorf("no %s events", typ)
		}
	}
	if types["VIEWED"] <= types["PURCHASED"] {
		t.Errorf("funnel upside down: %v", types)
	}
	var items bytes.Buffer
	if err := a.WriteItems(&items); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(items.String(), `"IT|Finance|SaaS"`) && !strings.Contains(items.String(), "IT|Finance|SaaS") {
		t.Errorf("items lack multi-valued TARGET_INDUSTRY:\n%s", items.String()[:300])
	}
}
