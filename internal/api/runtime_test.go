package api

import (
	"testing"

	"github.com/attune-dev/attune/internal/serving"
)

func TestExplainText(t *testing.T) {
	tests := []struct {
		name string
		in   serving.Because
		want string
	}{
		{"past tense with a name", serving.Because{ItemID: "srv_003", ItemName: "Cloud Migration Service", EventType: "VIEWED"}, "Because you viewed Cloud Migration Service"},
		{"no name falls back to the id", serving.Because{ItemID: "srv_003", EventType: "PURCHASED"}, "Because you purchased srv_003"},
		{"several words stay verbatim", serving.Because{ItemID: "srv_003", ItemName: "CRM", EventType: "TRIAL_STARTED"}, "Because of your TRIAL_STARTED of CRM"},
		{"not past tense", serving.Because{ItemID: "x", EventType: "click"}, "Because of your click of x"},
		{"no event type", serving.Because{ItemID: "x"}, "Because of your interest in x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.Text(); got != tc.want {
				t.Errorf("Because(%+v).Text() = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
