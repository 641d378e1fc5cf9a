package schema

import (
	"math"
	"strconv"
)

// AppendFloat appends x, a value of a Float or Double field, as the
// shortest decimal text that reads back to the same value at the field's
// width: a Float field holds 32-bit values, so 19.63 stored as float32 is
// "19.63", not the float64 expansion "19.6299991607666". Magnitudes from
// 1e-6 up to 1e21 are written without an exponent ("1234567", not
// "1.234567e+06"), as JavaScript and most CSV writers do; others use one.
func AppendFloat(buf []byte, t Type, x float64) []byte {
	bits := 64
	if t == Float {
		bits = 32
	}
	if a := math.Abs(x); a == 0 || (a >= 1e-6 && a < 1e21) {
		return strconv.AppendFloat(buf, x, 'f', -1, bits)
	}
	return strconv.AppendFloat(buf, x, 'g', -1, bits)
}

// FormatFloat is AppendFloat to a new string.
func FormatFloat(t Type, x float64) string {
	return string(AppendFloat(nil, t, x))
}
