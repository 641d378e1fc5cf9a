package schema

import (
	"reflect"
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
)

// rec wraps field JSON fragments in a Personalize record.
func rec(fields ...string) string {
	return `{"type":"record","name":"Interactions","namespace":"com.amazonaws.personalize.schema",` +
		`"fields":[` + strings.Join(fields, ",") + `],"version":"1.0"}`
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []Field
	}{
		{"primitives", rec(
			`{"name":"S","type":"string"}`, `{"name":"I","type":"int"}`, `{"name":"L","type":"long"}`,
			`{"name":"F","type":"float"}`, `{"name":"D","type":"double"}`, `{"name":"B","type":"boolean"}`),
			[]Field{{Name: "S", Type: String}, {Name: "I", Type: Int}, {Name: "L", Type: Long},
				{Name: "F", Type: Float}, {Name: "D", Type: Double}, {Name: "B", Type: Boolean}}},
		{"union null first", rec(`{"name":"GENRES","type":["null","string"],"categorical":true}`),
			[]Field{{Name: "GENRES", Type: String, Nullable: true, Categorical: true}}},
		{"union null last", rec(`{"name":"PRICE","type":["float","null"]}`),
			[]Field{{Name: "PRICE", Type: Float, Nullable: true}}},
		{"one-member union is required", rec(`{"name":"PROMOTION","type":["string"],"categorical":true}`),
			[]Field{{Name: "PROMOTION", Type: String, Categorical: true}}},
		{"one-member union of a type object", rec(`{"name":"N","type":[{"type":"int"}]}`),
			[]Field{{Name: "N", Type: Int}}},
		{"type object", rec(`{"name":"N","type":{"type":"long"}}`),
			[]Field{{Name: "N", Type: Long}}},
		{"union with type object", rec(`{"name":"N","type":["null",{"type":"int"}]}`),
			[]Field{{Name: "N", Type: Int, Nullable: true}}},
		{"textual and itemName", rec(`{"name":"DESCRIPTION","type":["null","string"],"textual":true}`,
			`{"name":"TITLE","type":"string","itemName":true}`),
			[]Field{{Name: "DESCRIPTION", Type: String, Nullable: true, Textual: true},
				{Name: "TITLE", Type: String, ItemName: true}}},
		{"false attributes", rec(`{"name":"X","type":"long","categorical":false,"textual":null}`),
			[]Field{{Name: "X", Type: Long}}},
		{"extra Avro keys ignored", rec(`{"name":"_x1","type":"string","doc":"d","default":"a"}`),
			[]Field{{Name: "_x1", Type: String}}},
		{"no namespace", `{"type":"record","name":"Users","fields":[{"name":"USER_ID","type":"string"}]}`,
			[]Field{{Name: "USER_ID", Type: String}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.text)
			if err != nil {
				t.Fatalf("Parse(%s) error = %v, want nil", tc.text, err)
			}
			if !reflect.DeepEqual(s.Fields, tc.want) {
				t.Errorf("Parse(%s).Fields = %+v, want %+v", tc.text, s.Fields, tc.want)
			}
		})
	}
}

func TestParseRecord(t *testing.T) {
	s, err := Parse(rec(`{"name":"USER_ID","type":"string"}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "Interactions" || s.Namespace != "com.amazonaws.personalize.schema" {
		t.Errorf("Parse name, namespace = %q, %q, want Interactions, com.amazonaws.personalize.schema", s.Name, s.Namespace)
	}
}

func TestParseInvalid(t *testing.T) {
	long := rec(`{"name":"A","type":"string","doc":"` + strings.Repeat("x", MaxSchemaLen) + `"}`)
	tests := []struct {
		name string
		text string
		want string // must appear in the message: the field or key at fault
	}{
		{"not JSON", `{"type":"record",`, "JSON"},
		{"trailing junk", rec(`{"name":"A","type":"string"}`) + "x", "JSON"},
		{"JSON array", `[1,2]`, "object"},
		{"not a record", `{"type":"enum","name":"X","symbols":["A"]}`, `"type"`},
		{"missing name", `{"type":"record","fields":[{"name":"A","type":"string"}]}`, `"name"`},
		{"bad namespace", `{"type":"record","name":"X","namespace":"a..b","fields":[{"name":"A","type":"string"}]}`, "namespace"},
		{"no fields", `{"type":"record","name":"X"}`, "fields"},
		{"fields not a list", `{"type":"record","name":"X","fields":{}}`, "fields"},
		{"empty fields", rec(), "fields"},
		{"field not an object", rec(`"USER_ID"`), "fields[0]"},
		{"field without name", rec(`{"type":"string"}`), "fields[0]"},
		{"name with dash", rec(`{"name":"USER-ID","type":"string"}`), "USER-ID"},
		{"name starting with digit", rec(`{"name":"A","type":"string"}`, `{"name":"1X","type":"string"}`), "fields[1]"},
		{"duplicate", rec(`{"name":"A","type":"string"}`, `{"name":"A","type":"long"}`), "A"},
		{"alphanumeric duplicate", rec(`{"name":"GENRES_FIELD_1","type":"string"}`, `{"name":"GENRESFIELD1","type":"string"}`), "GENRESFIELD1"},
		{"case duplicate", rec(`{"name":"USER_ID","type":"string"}`, `{"name":"user_id","type":"string"}`), "user_id"},
		{"missing type", rec(`{"name":"A"}`), "A"},
		{"unknown type", rec(`{"name":"A","type":"str"}`), "A"},
		{"bare null", rec(`{"name":"NOTHING","type":"null"}`), "NOTHING"},
		{"bytes", rec(`{"name":"BLOB","type":"bytes"}`), "BLOB"},
		{"nested record", rec(`{"name":"ADDR","type":{"type":"record","name":"A","fields":[]}}`), "ADDR"},
		{"array", rec(`{"name":"TAGS","type":{"type":"array","items":"string"}}`), "TAGS"},
		{"map", rec(`{"name":"PROPS","type":{"type":"map","values":"string"}}`), "PROPS"},
		{"enum", rec(`{"name":"KIND","type":{"type":"enum","name":"K","symbols":["A"]}}`), "KIND"},
		{"fixed", rec(`{"name":"HASH","type":{"type":"fixed","name":"H","size":16}}`), "HASH"},
		{"logical type", rec(`{"name":"TIMESTAMP","type":{"type":"long","logicalType":"timestamp-millis"}}`), "TIMESTAMP"},
		{"type number", rec(`{"name":"A","type":3}`), "A"},
		{"union of two non-null", rec(`{"name":"MIXED","type":["string","long"]}`), "MIXED"},
		{"union of nulls", rec(`{"name":"NN","type":["null","null"]}`), "NN"},
		{"three-member union", rec(`{"name":"U3","type":["null","string","long"]}`), "U3"},
		{"one-member union of null", rec(`{"name":"U1","type":["null"]}`), "U1"},
		{"one-member nested union", rec(`{"name":"U2","type":[["null","string"]]}`), "U2"},
		{"union with array", rec(`{"name":"UA","type":["null",{"type":"array","items":"string"}]}`), "UA"},
		{"nested union", rec(`{"name":"UU","type":["null",["null","string"]]}`), "UU"},
		{"categorical on long", rec(`{"name":"AGE","type":"long","categorical":true}`), "AGE"},
		{"textual on int", rec(`{"name":"N","type":"int","textual":true}`), "N"},
		{"itemName on boolean", rec(`{"name":"B","type":"boolean","itemName":true}`), "B"},
		{"categorical and textual", rec(`{"name":"DESC","type":"string","categorical":true,"textual":true}`), "DESC"},
		{"attribute not bool", rec(`{"name":"GENRE","type":"string","categorical":"true"}`), "GENRE"},
		{"two itemNames", rec(`{"name":"T1","type":"string","itemName":true}`, `{"name":"T2","type":"string","itemName":true}`), "T2"},
		{"too long", long, "20000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.text)
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("Parse(%.80s) = %v, %v, want an Invalid error", tc.text, s, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%.80s) error = %q, want it to mention %q", tc.text, err, tc.want)
			}
		})
	}
}

func TestParseListsAllProblems(t *testing.T) {
	_, err := Parse(rec(`{"name":"A","type":"bytes"}`, `{"name":"B","type":"long","categorical":true}`))
	for _, name := range []string{"field A", "field B"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Parse(two bad fields) error = %v, want it to mention %q", err, name)
		}
	}
}

func TestField(t *testing.T) {
	s, err := Parse(rec(`{"name":"USER_ID","type":"string"}`, `{"name":"TIMESTAMP","type":"long"}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		wantIdx int
		wantOK  bool
	}{
		{"USER_ID", 0, true},
		{"TIMESTAMP", 1, true},
		{"timestamp", -1, false},
		{"", -1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, i, ok := s.Field(tc.name)
			if i != tc.wantIdx || ok != tc.wantOK {
				t.Errorf("Field(%q) = _, %d, %v, want %d, %v", tc.name, i, ok, tc.wantIdx, tc.wantOK)
			}
			if ok && f.Name != tc.name {
				t.Errorf("Field(%q).Name = %q, want %q", tc.name, f.Name, tc.name)
			}
		})
	}
}

func TestTypeString(t *testing.T) {
	tests := []struct {
		in   Type
		want string
	}{
		{String, "string"}, {Int, "int"}, {Long, "long"}, {Float, "float"}, {Double, "double"},
		{Boolean, "boolean"}, {0, "Type(0)"}, {42, "Type(42)"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.in.String(); got != tc.want {
				t.Errorf("Type(%d).String() = %q, want %q", int(tc.in), got, tc.want)
			}
		})
	}
}

func TestStringRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		text string
	}{
		{"items", itemsExample},
		{"seed users", seedUsers},
		{"all types", rec(`{"name":"S","type":"string","itemName":true}`, `{"name":"I","type":["int","null"]}`,
			`{"name":"L","type":"long"}`, `{"name":"F","type":"float"}`, `{"name":"D","type":["null","double"]}`,
			`{"name":"B","type":"boolean"}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Parse(s.String())
			if err != nil {
				t.Fatalf("Parse(%s) error = %v, want nil", s, err)
			}
			if !reflect.DeepEqual(again, s) {
				t.Errorf("Parse(%s) = %+v, want %+v", s, again, s)
			}
		})
	}
}
