package schema

import (
	"reflect"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
)

// FuzzParse checks that Parse never panics, fails only with errs.Invalid, and
// that every accepted schema is self-consistent: lookups agree with Fields,
// String round-trips, and ValidateFor is deterministic and agrees with
// Metadata and IDField.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		seedInteractions, seedUsers, seedItems, itemsExample,
		rec(`{"name":"ACTION_ID","type":"string"}`, `{"name":"VALUE","type":["null","long"]}`),
		rec(`{"name":"USER_ID","type":"string"}`, `{"name":"ACTION_ID","type":"string"}`,
			`{"name":"TIMESTAMP","type":"long"}`, `{"name":"EVENT_TYPE","type":"string"}`),
		rec(`{"name":"A","type":{"type":"int"}}`, `{"name":"B","type":["boolean","null"]}`, `{"name":"C","type":"double"}`),
		rec(`{"name":"GENRES_FIELD_1","type":"string"}`, `{"name":"GENRESFIELD1","type":"string"}`),
		rec(`{"name":"X","type":["null",["null","string"]]}`),
		rec(`{"name":"ITEM_ID","type":"string"}`, `{"name":"PROMOTION","type":["string"],"categorical":true}`),
		rec(`{"name":"P","type":["null"]}`), rec(`{"name":"Q","type":[{"type":"long"}]}`),
		`{"type":"record","name":"X","fields":[]}`,
		`[]`, `null`, `{"type":"record"`,
	} {
		f.Add(seed)
	}
	domains := []string{"", DomainECommerce, DomainVideoOnDemand}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := Parse(text)
		if err != nil {
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("Parse(%q) error kind = %v, want Invalid: %v", text, errs.KindOf(err), err)
			}
			return
		}
		if len(s.Fields) == 0 {
			t.Fatalf("Parse(%q) accepted a schema without fields", text)
		}
		seen := map[string]bool{}
		for i, fld := range s.Fields {
			if !validName(fld.Name) || fld.Type.String() == "" || fld.Type < String || fld.Type > Boolean {
				t.Fatalf("Parse(%q).Fields[%d] = %+v, want a valid name and type", text, i, fld)
			}
			if (fld.Categorical || fld.Textual || fld.ItemName) && fld.Type != String {
				t.Fatalf("Parse(%q).Fields[%d] = %+v: string attribute on a %s field", text, i, fld, fld.Type)
			}
			if fld.Categorical && fld.Textual {
				t.Fatalf("Parse(%q).Fields[%d] = %+v: both categorical and textual", text, i, fld)
			}
			key := normalize(fld.Name)
			if seen[key] {
				t.Fatalf("Parse(%q) accepted conflicting field %s", text, fld.Name)
			}
			seen[key] = true
			if got, j, ok := s.Field(fld.Name); !ok || j != i || got != fld {
				t.Fatalf("Field(%q) = %+v, %d, %v, want %+v, %d, true", fld.Name, got, j, ok, fld, i)
			}
		}
		again, err := Parse(s.String())
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("Parse(%s) = %+v, %v, want %+v, nil", s, again, err, s)
		}
		for _, typ := range datasetTypes {
			meta := s.Metadata(typ)
			id := typ.IDField()
			for _, m := range meta {
				if m.Name == id {
					t.Fatalf("Metadata(%s) includes the id field %s", typ, id)
				}
			}
			for _, domain := range domains {
				err1 := s.ValidateFor(typ, domain)
				err2 := s.ValidateFor(typ, domain)
				if (err1 == nil) != (err2 == nil) || (err1 != nil && err1.Error() != err2.Error()) {
					t.Fatalf("ValidateFor(%s, %q) = %v then %v, want the same result", typ, domain, err1, err2)
				}
				if err1 != nil {
					if errs.KindOf(err1) != errs.Invalid {
						t.Fatalf("ValidateFor(%s, %q) kind = %v, want Invalid", typ, domain, errs.KindOf(err1))
					}
					continue
				}
				if id != "" {
					if idf, _, ok := s.Field(id); !ok || idf.Type != String || idf.Nullable {
						t.Fatalf("ValidateFor(%s, %q) = nil without a required string %s", typ, domain, id)
					}
				}
				if limit := maxMetadata[typ]; len(meta) > limit {
					t.Fatalf("ValidateFor(%s, %q) = nil with %d metadata fields, limit %d", typ, domain, len(meta), limit)
				}
			}
		}
	})
}
