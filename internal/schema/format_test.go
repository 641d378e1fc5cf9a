package schema

import (
	"strconv"
	"testing"
)

func TestFormatFloat(t *testing.T) {
	tests := []struct {
		name string
		typ  Type
		in   string // as imported
		want string
	}{
		{"float keeps the imported text", Float, "19.63", "19.63"},
		{"float PutItems value", Float, "9.99", "9.99"},
		{"float trailing zero", Float, "4.70", "4.7"},
		{"float integer", Float, "1234567", "1234567"},
		{"float negative", Float, "-0.125", "-0.125"},
		{"float zero", Float, "0", "0"},
		{"float tiny uses an exponent", Float, "1e-7", "1e-07"},
		{"float huge uses an exponent", Float, "3e38", "3e+38"},
		{"double full precision", Double, "0.1234567890123", "0.1234567890123"},
		{"double large integer", Double, "12345678901234567", "12345678901234568"},
		{"double 1e21", Double, "1e21", "1e+21"},
		{"double just below 1e21", Double, "999999999999999900000", "999999999999999900000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Field{Name: "PRICE", Type: tc.typ}.ParseValue(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got := FormatFloat(tc.typ, v.Float); got != tc.want {
				t.Errorf("FormatFloat(%v, Parse(%q)) = %q, want %q", tc.typ, tc.in, got, tc.want)
			}
		})
	}
}

// TestFormatFloatRoundTrips checks over many float32 values that the text
// reads back to the same stored value at the field's width.
func TestFormatFloatRoundTrips(t *testing.T) {
	for i := 0; i < 200000; i++ {
		x := float64(float32(float64(i)*0.37 - 1000.01))
		s := FormatFloat(Float, x)
		back, err := strconv.ParseFloat(s, 32)
		if err != nil || back != x {
			t.Fatalf("FormatFloat(Float, %v) = %q, reads back as %v, %v", x, s, back, err)
		}
	}
}
