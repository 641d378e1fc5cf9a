package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
)

func TestDecodeEventList(t *testing.T) {
	cases := []struct {
		name       string
		list       string
		kind       errs.Kind // errs.Internal means success
		member     string    // named in the message on failure
		properties string    // text of eventList[0].properties on success
	}{
		{"properties as a JSON string", `[{"eventType":"click","sentAt":1700000000.5,"properties":"{\"a\":1}"}]`, errs.Internal, "", `{"a":1}`},
		{"properties as an object", `[{"eventType":"click","sentAt":1,"properties":{"a":1}}]`, errs.Internal, "", `{"a":1}`},
		{"sentAt as a string", `[{"eventType":"click","sentAt":1},{"eventType":"click","sentAt":"2023-11-14"}]`, errs.Invalid, "eventList[1].sentAt", ""},
		{"impression not a list", `[{"eventType":"click","sentAt":1,"impression":"a|b"}]`, errs.Invalid, "eventList[0].impression", ""},
		{"eventValue not a number", `[{"eventType":"click","sentAt":1,"eventValue":"high"}]`, errs.Invalid, "eventList[0].eventValue", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var raw []json.RawMessage
			if err := json.Unmarshal([]byte(tc.list), &raw); err != nil {
				t.Fatal(err)
			}
			evs, err := decodeList[eventIn]("eventList", raw)
			if tc.kind == errs.Internal {
				if err != nil {
					t.Fatalf("decodeList = %v, want success", err)
				}
				if got := evs[0].Properties.text; got == nil || *got != tc.properties {
					t.Errorf("properties = %v, want %s", got, tc.properties)
				}
				return
			}
			if errs.KindOf(err) != tc.kind || !strings.Contains(errs.Message(err), tc.member) {
				t.Errorf("decodeList = %v, want kind %v naming %s", err, tc.kind, tc.member)
			}
		})
	}
}
