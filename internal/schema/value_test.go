package schema

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
)

func TestParseValue(t *testing.T) {
	var (
		userID      = Field{Name: "USER_ID", Type: String}
		actionID    = Field{Name: "ACTION_ID", Type: String}
		genre       = Field{Name: "GENRE", Type: String, Categorical: true}
		optGenre    = Field{Name: "GENRE", Type: String, Categorical: true, Nullable: true}
		note        = Field{Name: "NOTE", Type: String}
		desc        = Field{Name: "DESCRIPTION", Type: String, Textual: true}
		age         = Field{Name: "AGE", Type: Int}
		optAge      = Field{Name: "AGE", Type: Int, Nullable: true}
		budget      = Field{Name: "BUDGET", Type: Long}
		ts          = Field{Name: "TIMESTAMP", Type: Long}
		created     = Field{Name: "CREATION_TIMESTAMP", Type: Long, Nullable: true}
		price       = Field{Name: "PRICE", Type: Float}
		optPrice    = Field{Name: "PRICE", Type: Float, Nullable: true}
		score       = Field{Name: "SCORE", Type: Double}
		adult       = Field{Name: "ADULT", Type: Boolean}
		optAdult    = Field{Name: "ADULT", Type: Boolean, Nullable: true}
		untyped     = Field{Name: "BROKEN"}
		long256     = strings.Repeat("u", 256)
		long1000    = strings.Repeat("é", 1000) // 2000 bytes, 1000 characters
		longText    = strings.Repeat("ab", 15000)
		invalidUTF8 = "\xff\xfe"
	)
	tests := []struct {
		name    string
		field   Field
		cell    string
		want    Value
		wantErr bool
	}{
		// Null handling.
		{"nullable string empty", optGenre, "", Value{Null: true}, false},
		{"nullable int empty", optAge, "", Value{Null: true}, false},
		{"nullable float empty", optPrice, "", Value{Null: true}, false},
		{"nullable boolean empty", optAdult, "", Value{Null: true}, false},
		{"nullable timestamp empty", created, "", Value{Null: true}, false},
		{"required string empty", genre, "", Value{}, true},
		{"required id empty", userID, "", Value{}, true},
		{"required long empty", ts, "", Value{}, true},

		// Strings.
		{"id", userID, "usr_01", Value{Str: "usr_01"}, false},
		{"id at limit", userID, long256, Value{Str: long256}, false},
		{"id over limit", userID, long256 + "u", Value{}, true},
		{"action id over limit", actionID, long256 + "u", Value{}, true},
		{"categorical multi-value", genre, "Action|Crime|Biopic", Value{Str: "Action|Crime|Biopic"}, false},
		{"categorical at limit in characters", genre, long1000, Value{Str: long1000}, false},
		{"categorical over limit", genre, long1000 + "x", Value{}, true},
		{"plain string over limit", note, strings.Repeat("n", 1001), Value{}, true},
		{"string keeps spaces", note, " a b ", Value{Str: " a b "}, false},
		{"string invalid UTF-8 passes through", note, invalidUTF8, Value{Str: invalidUTF8}, false},
		{"textual under limit", desc, "A fine movie.", Value{Str: "A fine movie."}, false},
		{"textual truncated", desc, longText, Value{Str: longText[:MaxTextualLen]}, false},
		{"textual truncated by characters", desc, strings.Repeat("日", MaxTextualLen+5), Value{Str: strings.Repeat("日", MaxTextualLen)}, false},

		// Integers.
		{"int", age, "45", Value{Int: 45}, false},
		{"int negative", age, "-7", Value{Int: -7}, false},
		{"int plus sign", age, "+7", Value{Int: 7}, false},
		{"int max", age, "2147483647", Value{Int: 2147483647}, false},
		{"int min", age, "-2147483648", Value{Int: -2147483648}, false},
		{"int overflow", age, "2147483648", Value{}, true},
		{"int decimal", age, "1.5", Value{}, true},
		{"int exponent", age, "1e3", Value{}, true},
		{"int junk", age, "45 years", Value{}, true},
		{"int space", age, " 45", Value{}, true},
		{"int underscore", age, "1_000", Value{}, true},
		{"int hex", age, "0x10", Value{}, true},
		{"long", budget, "500000", Value{Int: 500000}, false},
		{"long large", budget, "9223372036854775807", Value{Int: 9223372036854775807}, false},
		{"long overflow", budget, "9223372036854775808", Value{}, true},
		{"long decimal", budget, "3.0", Value{}, true},
		{"long metadata may exceed millisecond threshold", budget, "1742033100000", Value{Int: 1742033100000}, false},

		// Timestamps.
		{"timestamp seconds", ts, "1742033100", Value{Int: 1742033100}, false},
		{"timestamp zero", ts, "0", Value{Int: 0}, false},
		{"timestamp at threshold", ts, "100000000000", Value{Int: 100000000000}, false},
		{"timestamp milliseconds", ts, "1742033100000", Value{}, true},
		{"timestamp negative milliseconds", ts, "-1742033100000", Value{}, true},
		{"timestamp ISO date", ts, "2025-03-15", Value{}, true},
		{"timestamp ISO date-time", ts, "2025-03-15T10:05:00Z", Value{}, true},
		{"timestamp fractional", ts, "1742033100.5", Value{}, true},
		{"creation timestamp milliseconds", created, "1683676800000", Value{}, true},
		{"creation timestamp seconds", created, "1683676800", Value{Int: 1683676800}, false},

		// Floating point.
		{"float", price, "9.5", Value{Float: 9.5}, false},
		{"float integer form", price, "4", Value{Float: 4}, false},
		{"float negative exponent", price, "-1.25e-2", Value{Float: float64(float32(-0.0125))}, false},
		{"float is rounded to 32 bits", price, "0.1", Value{Float: float64(float32(0.1))}, false},
		{"double keeps 64 bits", score, "0.1", Value{Float: 0.1}, false},
		{"float leading point", price, ".5", Value{Float: 0.5}, false},
		{"float upper exponent", score, "2E3", Value{Float: 2000}, false},
		{"double", score, "0.6327", Value{Float: 0.6327}, false},
		{"double NaN", score, "NaN", Value{}, true},
		{"double Inf", score, "Inf", Value{}, true},
		{"double infinity", score, "-infinity", Value{}, true},
		{"double hex", score, "0x1p-2", Value{}, true},
		{"double junk", score, "4.5 stars", Value{}, true},
		{"double comma", score, "4,5", Value{}, true},
		{"double lone exponent", score, "1e", Value{}, true},
		{"double signs only", score, "+-", Value{}, true},
		{"double overflow", score, "1e400", Value{}, true},
		{"float overflow", price, "1e39", Value{}, true},

		// Booleans.
		{"true", adult, "true", Value{Bool: true}, false},
		{"false", adult, "false", Value{Bool: false}, false},
		{"True", adult, "True", Value{}, true},
		{"TRUE", adult, "TRUE", Value{}, true},
		{"one", adult, "1", Value{}, true},
		{"yes", adult, "yes", Value{}, true},

		{"field without type", untyped, "x", Value{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.field.ParseValue(tc.cell)
			if tc.wantErr {
				if errs.KindOf(err) != errs.Invalid {
					t.Fatalf("%s.ParseValue(%.40q) = %+v, %v, want an Invalid error", tc.field.Name, tc.cell, got, err)
				}
				if !strings.Contains(err.Error(), tc.field.Name) {
					t.Errorf("%s.ParseValue(%.40q) error = %q, want it to name the field", tc.field.Name, tc.cell, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("%s.ParseValue(%.40q) = %+v, %v, want %.60v, nil", tc.field.Name, tc.cell, got, err, tc.want)
			}
		})
	}
}

// TestParseValueMessages checks the hints that send users to the usual fix.
func TestParseValueMessages(t *testing.T) {
	tests := []struct {
		name  string
		field Field
		cell  string
		want  string
	}{
		{"milliseconds", Field{Name: "TIMESTAMP", Type: Long}, "1742033100000", "looks like milliseconds; Personalize expects epoch seconds"},
		{"date", Field{Name: "TIMESTAMP", Type: Long}, "2025-03-15 10:05", "epoch seconds"},
		{"empty", Field{Name: "GENRE", Type: String}, "", "empty value for required field GENRE"},
		{"int range", Field{Name: "AGE", Type: Int}, "4294967296", "32-bit"},
		{"not integer", Field{Name: "AGE", Type: Int}, "4.5", "not an integer"},
		{"boolean case", Field{Name: "ADULT", Type: Boolean}, "True", "lower-case"},
		{"length", Field{Name: "ITEM_ID", Type: String}, strings.Repeat("i", 300), "limit is 256"},
		{"long cell described, not quoted", Field{Name: "AGE", Type: Int}, strings.Repeat("9x", 5000), "value of 10000 bytes for field AGE"},
		{"cell never quoted", Field{Name: "AGE", Type: Int}, "SECRET=hunter2", "value of 14 bytes for field AGE is not a valid int"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.field.ParseValue(tc.cell)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s.ParseValue(%.40q) error = %v, want it to contain %q", tc.field.Name, tc.cell, err, tc.want)
			}
			if err != nil && tc.cell != "" && len(tc.cell) < 100 && strings.Contains(err.Error(), tc.cell) && tc.name != "milliseconds" {
				t.Errorf("%s.ParseValue(%.40q) error %q quotes the cell", tc.field.Name, tc.cell, err)
			}
			if err != nil && len(err.Error()) > 300 {
				t.Errorf("%s.ParseValue(%.40q) error is %d bytes long, want a short message", tc.field.Name, tc.cell, len(err.Error()))
			}
		})
	}
}

func TestParseValueAllocs(t *testing.T) {
	tests := []struct {
		name  string
		field Field
		cell  string
	}{
		{"string", Field{Name: "ITEM_ID", Type: String}, "srv_04"},
		{"long categorical", Field{Name: "GENRE", Type: String, Categorical: true}, strings.Repeat("é", 900)},
		{"textual truncated", Field{Name: "DESCRIPTION", Type: String, Textual: true}, strings.Repeat("ab", 15000)},
		{"int", Field{Name: "AGE", Type: Int}, "45"},
		{"timestamp", Field{Name: "TIMESTAMP", Type: Long}, "1742033100"},
		{"float", Field{Name: "PRICE", Type: Float}, "9.5"},
		{"double", Field{Name: "SCORE", Type: Double}, "-1.25e-2"},
		{"boolean", Field{Name: "ADULT", Type: Boolean}, "true"},
		{"null", Field{Name: "AGE", Type: Int, Nullable: true}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			allocs := testing.AllocsPerRun(100, func() {
				if _, err := tc.field.ParseValue(tc.cell); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%s.ParseValue(%.20q) allocates %v times per call, want 0", tc.field.Name, tc.cell, allocs)
			}
		})
	}
}

// seedRows are the first rows of the seed sample's interactions.csv and
// users.csv, messy columns included: only the declared fields are parsed.
const (
	seedInteractionRows = `USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP,SESSION_DURATION,DEVICE_TYPE,LOCATION,USER_RATING
usr_01,srv_04,VIEWED,1742033100,5min,Desktop,"New York, USA",4.5
usr_02,srv_03,TRIAL_STARTED,1741971600,15min,Desktop,"London, UK",4.8
`
	seedUserRows = `USER_ID,ROLE,INDUSTRY,COMPANY_SIZE,REGION,EXPERIENCE_LEVEL,AGE,ANNUAL_BUDGET,INTERESTS
usr_01,IT Manager,Finance,Enterprise,North America,Senior,45,500000,Cloud Security; Data
usr_04,DevOps Engineer,E-commerce,Large,North America,Mid-Level,30,250000,Automation; Infrastru
`
)

func TestParseValueSeedSample(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		rows   string
	}{
		{"interactions", seedInteractions, seedInteractionRows},
		{"users", seedUsers, seedUserRows},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.schema)
			if err != nil {
				t.Fatal(err)
			}
			records, err := csv.NewReader(strings.NewReader(tc.rows)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			header, n := records[0], 0
			for _, row := range records[1:] {
				for col, name := range header {
					f, _, ok := s.Field(name)
					if !ok {
						continue
					}
					n++
					if _, err := f.ParseValue(row[col]); err != nil {
						t.Errorf("%s.ParseValue(%q) = %v, want nil", name, row[col], err)
					}
				}
			}
			if want := 2 * len(s.Fields); n != want {
				t.Errorf("parsed %d cells, want %d (every declared field of every row)", n, want)
			}
		})
	}
}

var sinkValue Value

func BenchmarkParseValue(b *testing.B) {
	benches := []struct {
		name  string
		field Field
		cell  string
	}{
		{"string", Field{Name: "ITEM_ID", Type: String}, "srv_04"},
		{"int", Field{Name: "AGE", Type: Int}, "45"},
		{"timestamp", Field{Name: "TIMESTAMP", Type: Long}, "1742033100"},
		{"float", Field{Name: "PRICE", Type: Float}, "9.5"},
		{"double", Field{Name: "SCORE", Type: Double}, "0.6327"},
		{"boolean", Field{Name: "ADULT", Type: Boolean}, "false"},
	}
	for _, bc := range benches {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v, err := bc.field.ParseValue(bc.cell)
				if err != nil {
					b.Fatal(err)
				}
				sinkValue = v
			}
		})
	}
}
