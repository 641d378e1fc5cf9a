package records

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"iter"
	"math"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/schema"
)

func str(s string) schema.Value  { return schema.Value{Str: s} }
func i64(v int64) schema.Value   { return schema.Value{Int: v} }
func f64(v float64) schema.Value { return schema.Value{Float: v} }
func boo(v bool) schema.Value    { return schema.Value{Bool: v} }

var null = schema.Value{Null: true}

var interactionFields = []schema.Field{
	{Name: "USER_ID", Type: schema.String},
	{Name: "ITEM_ID", Type: schema.String},
	{Name: "EVENT_TYPE", Type: schema.String},
	{Name: "TIMESTAMP", Type: schema.Long},
}

var allTypes = []schema.Field{
	{Name: "S", Type: schema.String, Nullable: true},
	{Name: "I", Type: schema.Int, Nullable: true},
	{Name: "L", Type: schema.Long},
	{Name: "F", Type: schema.Float, Nullable: true},
	{Name: "D", Type: schema.Double},
	{Name: "B", Type: schema.Boolean, Nullable: true},
}

// valueAt reads row r of c back as a schema.Value, the inverse of Append.
func valueAt(t *testing.T, c *Column, r int) schema.Value {
	t.Helper()
	var v schema.Value
	var ok bool
	switch c.Type {
	case schema.String:
		v.Str, ok = c.String(r)
	case schema.Int, schema.Long:
		v.Int, ok = c.Int(r)
	case schema.Float, schema.Double:
		v.Float, ok = c.Float(r)
	case schema.Boolean:
		v.Bool, ok = c.Bool(r)
	default:
		t.Fatalf("column %q has type %v", c.Name, c.Type)
	}
	if ok == c.IsNull(r) {
		t.Fatalf("column %q row %d: accessor ok=%v but IsNull=%v", c.Name, r, ok, c.IsNull(r))
	}
	v.Null = !ok
	return v
}

func roundTrip(t *testing.T, fields []schema.Field, rows [][]schema.Value) *Batch {
	t.Helper()
	b := NewBuilder(fields)
	for _, r := range rows {
		b.Append(r)
	}
	if b.Len() != len(rows) {
		t.Fatalf("Len() = %d, want %d", b.Len(), len(rows))
	}
	got, err := Decode(b.Encode())
	if err != nil {
		t.Fatalf("Decode(Encode()) error: %v", err)
	}
	checkBatch(t, got, fields, rows)
	return got
}

func checkBatch(t *testing.T, got *Batch, fields []schema.Field, rows [][]schema.Value) {
	t.Helper()
	if got.Rows != len(rows) {
		t.Fatalf("Rows = %d, want %d", got.Rows, len(rows))
	}
	if len(got.Columns) != len(fields) {
		t.Fatalf("%d columns, want %d", len(got.Columns), len(fields))
	}
	for i, f := range fields {
		c := got.Column(f.Name)
		if c != &got.Columns[i] {
			t.Fatalf("Column(%q) is not Columns[%d]", f.Name, i)
		}
		if c.Type != f.Type || c.Nullable != f.Nullable {
			t.Errorf("column %q: type %v nullable %v, want %v %v", f.Name, c.Type, c.Nullable, f.Type, f.Nullable)
		}
		for r, row := range rows {
			if v := valueAt(t, c, r); v != row[i] {
				t.Errorf("column %q row %d = %+v, want %+v", f.Name, r, v, row[i])
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	many := func(n int, f func(i int) []schema.Value) [][]schema.Value {
		rows := make([][]schema.Value, n)
		for i := range rows {
			rows[i] = f(i)
		}
		return rows
	}
	tests := []struct {
		name   string
		fields []schema.Field
		rows   [][]schema.Value
	}{
		{"no rows", interactionFields, nil},
		{"no columns", nil, [][]schema.Value{{}, {}, {}}},
		{"interactions", interactionFields, [][]schema.Value{
			{str("u1"), str("i1"), str("click"), i64(1700000000)},
			{str("u1"), str("i2"), str("click"), i64(1700000001)},
			{str("u2"), str("i1"), str("buy"), i64(-5)},
		}},
		{"every type with nulls", allTypes, [][]schema.Value{
			{str("a"), i64(1), i64(math.MaxInt64), f64(1.5), f64(-2.25), boo(true)},
			{null, null, i64(math.MinInt64), null, f64(math.Inf(1)), null},
			{str(""), i64(-1), i64(0), f64(0), f64(1e300), boo(false)},
			{str("a"), i64(7), i64(3), f64(-0.5), f64(math.SmallestNonzeroFloat64), boo(true)},
		}},
		{"all null strings", allTypes[:1], [][]schema.Value{{null}, {null}}},
		{"unicode and separators", allTypes[:1], [][]schema.Value{
			{str("日本語")}, {str("a,b\n\"c\"\\")}, {str("\x00\xff")},
		}},
		{"bools across bytes", []schema.Field{{Name: "B", Type: schema.Boolean}}, many(21, func(i int) []schema.Value {
			return []schema.Value{boo(i%3 == 0)}
		})},
		{"two-byte codes", interactionFields[:1], many(300, func(i int) []schema.Value {
			return []schema.Value{str(fmt.Sprintf("u%d", i))}
		})},
		{"four-byte codes", interactionFields[:1], many(70000, func(i int) []schema.Value {
			return []schema.Value{str(fmt.Sprintf("u%d", i%66000))}
		})},
		{"nulls across bytes", allTypes[:2], many(17, func(i int) []schema.Value {
			if i%5 == 0 {
				return []schema.Value{null, null}
			}
			return []schema.Value{str("x"), i64(int64(i))}
		})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := roundTrip(t, tc.fields, tc.rows)
			for i := range got.Columns {
				c := &got.Columns[i]
				anyNull := false
				for r := range tc.rows {
					anyNull = anyNull || tc.rows[r][i].Null
				}
				if (c.Nulls != nil) != anyNull {
					t.Errorf("column %q: Nulls set = %v, want %v", c.Name, c.Nulls != nil, anyNull)
				}
			}
		})
	}
}

func TestDictionaryIsPerChunkAndCompact(t *testing.T) {
	b := NewBuilder(interactionFields[:1])
	for i := 0; i < 1000; i++ {
		b.Append([]schema.Value{str([]string{"a", "b", "a", "c"}[i%4])})
	}
	got, err := Decode(b.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "c"}; !reflect.DeepEqual(got.Columns[0].Dict, want) {
		t.Errorf("Dict = %q, want %q", got.Columns[0].Dict, want)
	}
	// 1000 one-byte codes plus a few header bytes.
	if n := len(b.Encode()); n > 1100 {
		t.Errorf("len(Encode()) = %d for 1000 rows of 3 distinct values, want ≤ 1100", n)
	}
}

func TestResetReusesBuilder(t *testing.T) {
	b := NewBuilder(allTypes)
	first := [][]schema.Value{
		{null, null, i64(1), null, f64(1), null},
		{str("old"), i64(2), i64(2), f64(2), f64(2), boo(true)},
	}
	for _, r := range first {
		b.Append(r)
	}
	b.Encode()
	b.Reset()
	if b.Len() != 0 {
		t.Fatalf("Len() after Reset = %d, want 0", b.Len())
	}
	// Nothing of the first chunk (nulls, true bits, dictionary) may leak into the second.
	second := [][]schema.Value{
		{str("new"), i64(3), i64(3), f64(3), f64(3), boo(false)},
	}
	for _, r := range second {
		b.Append(r)
	}
	got, err := Decode(b.Encode())
	if err != nil {
		t.Fatal(err)
	}
	checkBatch(t, got, allTypes, second)
	if d := got.Column("S").Dict; !reflect.DeepEqual(d, []string{"new"}) {
		t.Errorf("Dict after Reset = %q, want [new]", d)
	}
}

func TestAppendCopiesStrings(t *testing.T) {
	buf := []byte("user-1")
	b := NewBuilder(interactionFields[:1])
	// Alias the buffer the way csvimport does, then overwrite it.
	b.Append([]schema.Value{str(string(buf))})
	s := unsafeString(buf)
	b.Append([]schema.Value{str(s)})
	b.Append([]schema.Value{str(s)})
	copy(buf, "XXXXXX")
	got, err := Decode(b.Encode())
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < 3; r++ {
		if v, _ := got.Columns[0].String(r); v != "user-1" {
			t.Errorf("row %d = %q after the caller's buffer changed, want %q", r, v, "user-1")
		}
	}
}

func TestAccessorsOnWrongType(t *testing.T) {
	got := roundTrip(t, allTypes, [][]schema.Value{{str("a"), i64(1), i64(2), f64(3), f64(4), boo(true)}})
	s, l, d, bo := got.Column("S"), got.Column("L"), got.Column("D"), got.Column("B")
	if _, ok := s.Int(0); ok {
		t.Error("String column: Int(0) ok = true, want false")
	}
	if _, ok := l.String(0); ok {
		t.Error("Long column: String(0) ok = true, want false")
	}
	if _, ok := d.Bool(0); ok {
		t.Error("Double column: Bool(0) ok = true, want false")
	}
	if _, ok := bo.Float(0); ok {
		t.Error("Boolean column: Float(0) ok = true, want false")
	}
	if c := got.Column("MISSING"); c != nil {
		t.Errorf("Column(MISSING) = %v, want nil", c)
	}
}

func sampleChunk(t testing.TB) []byte {
	t.Helper()
	b := NewBuilder(allTypes)
	b.Append([]schema.Value{str("a"), i64(1), i64(2), f64(3), f64(4), boo(true)})
	b.Append([]schema.Value{null, null, i64(5), null, f64(6), null})
	b.Append([]schema.Value{str("b"), i64(7), i64(8), f64(9), f64(10), boo(false)})
	return b.Encode()
}

// reseal recomputes the CRC so that a test can reach the checks behind it.
func reseal(data []byte) []byte {
	out := bytes.Clone(data)
	binary.LittleEndian.PutUint32(out[1:headerSize], crc32c(out[headerSize:]))
	return out
}

func TestDecodeRejectsBadData(t *testing.T) {
	good := sampleChunk(t)
	flip := func(i int) []byte { d := bytes.Clone(good); d[i] ^= 0x10; return d }
	tests := []struct {
		name string
		data []byte
	}{
		{"nil", nil},
		{"short header", good[:3]},
		{"bad version", append([]byte{99}, good[1:]...)},
		{"flipped payload bit", flip(len(good) - 1)},
		{"flipped crc bit", flip(2)},
		{"trailing byte", reseal(append(bytes.Clone(good), 0))},
		{"truncated and resealed", reseal(good[:len(good)-1])},
		{"unknown type code", reseal(func() []byte {
			d := bytes.Clone(good)
			// rows, ncols, nameLen=1, 'S', kind
			d[headerSize+4] = 42
			return d
		}())},
		{"unknown flags", reseal(func() []byte {
			d := bytes.Clone(good)
			d[headerSize+5] = 0x80
			return d
		}())},
		{"huge row count", reseal(append([]byte{version, 0, 0, 0, 0}, binary.AppendUvarint(nil, 1<<40)...))},
		{"huge column count", reseal(append([]byte{version, 0, 0, 0, 0, 1}, binary.AppendUvarint(nil, 1<<40)...))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.data)
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("Decode() = %v, %v; want an errs.Invalid error", got, err)
			}
		})
	}
	// Every truncation must fail cleanly, with or without a valid CRC.
	for n := range len(good) {
		if _, err := Decode(good[:n]); errs.KindOf(err) != errs.Invalid {
			t.Errorf("Decode(good[:%d]) error = %v, want errs.Invalid", n, err)
		}
		if n >= headerSize {
			if _, err := Decode(reseal(good[:n])); errs.KindOf(err) != errs.Invalid {
				t.Errorf("Decode(reseal(good[:%d])) error = %v, want errs.Invalid", n, err)
			}
		}
	}
}

func TestDecodeRejectsCodeOutsideDictionary(t *testing.T) {
	b := NewBuilder(interactionFields[:1])
	b.Append([]schema.Value{str("only")})
	data := b.Encode()
	// The last byte is the single one-byte code (0); point it past the dictionary.
	data[len(data)-1] = 1
	if _, err := Decode(reseal(data)); errs.KindOf(err) != errs.Invalid {
		t.Fatalf("Decode(code 1 of 1-entry dict) error = %v, want errs.Invalid", err)
	}
}

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func batchesOf(bs ...*Batch) iter.Seq2[*Batch, error] {
	return func(yield func(*Batch, error) bool) {
		for _, b := range bs {
			if !yield(b, nil) {
				return
			}
		}
	}
}

func TestWriteCSV(t *testing.T) {
	fields := []schema.Field{
		{Name: "ID", Type: schema.String},
		{Name: "TEXT", Type: schema.String, Nullable: true},
		{Name: "N", Type: schema.Long, Nullable: true},
		{Name: "F", Type: schema.Float, Nullable: true},
		{Name: "D", Type: schema.Double, Nullable: true},
		{Name: "B", Type: schema.Boolean, Nullable: true},
	}
	enc := func(rows ...[]schema.Value) *Batch {
		b := NewBuilder(fields)
		for _, r := range rows {
			b.Append(r)
		}
		got, err := Decode(b.Encode())
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	tests := []struct {
		name    string
		header  []string
		batches []*Batch
		want    string
	}{
		{"header only", []string{"ID", "TEXT"}, nil, "ID,TEXT\n"},
		{"plain values", []string{"ID", "N", "F", "D", "B"},
			[]*Batch{enc([]schema.Value{str("a"), null, i64(-3), f64(float64(float32(4.7))), f64(0.1), boo(true)})},
			"ID,N,F,D,B\na,-3,4.7,0.1,true\n"},
		{"nulls are empty", []string{"ID", "TEXT", "N", "B"},
			[]*Batch{enc([]schema.Value{str("a"), null, null, null, null, null})},
			"ID,TEXT,N,B\na,,,\n"},
		{"quoting", []string{"TEXT"},
			[]*Batch{enc(
				[]schema.Value{str("x"), str(`New York, USA`), null, null, null, null},
				[]schema.Value{str("x"), str(`say "hi"`), null, null, null, null},
				[]schema.Value{str("x"), str("two\nlines"), null, null, null, null},
				[]schema.Value{str("x"), str(`C:\dir, "q"`), null, null, null, null},
				[]schema.Value{str("x"), str(`back\slash`), null, null, null, null},
			)},
			"TEXT\n\"New York, USA\"\n\"say \"\"hi\"\"\"\n\"two\nlines\"\n\"C:\\\\dir, \"\"q\"\"\"\nback\\slash\n"},
		{"absent column and several batches", []string{"ID", "GONE"},
			[]*Batch{enc([]schema.Value{str("a"), null, null, null, null, null}), enc([]schema.Value{str("b"), null, null, null, null, null})},
			"ID,GONE\na,\nb,\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			if err := WriteCSV(&out, tc.header, batchesOf(tc.batches...)); err != nil {
				t.Fatalf("WriteCSV() error: %v", err)
			}
			if out.String() != tc.want {
				t.Errorf("WriteCSV() = %q, want %q", out.String(), tc.want)
			}
		})
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestWriteCSVErrors(t *testing.T) {
	boom := errors.New("boom")
	failing := func(yield func(*Batch, error) bool) { yield(nil, boom) }
	if err := WriteCSV(&strings.Builder{}, []string{"A"}, failing); !errors.Is(err, boom) {
		t.Errorf("WriteCSV(failing batches) error = %v, want %v", err, boom)
	}
	if err := WriteCSV(failWriter{boom}, []string{"A"}, batchesOf()); !errors.Is(err, boom) {
		t.Errorf("WriteCSV(failing writer) error = %v, want %v", err, boom)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(sampleChunk(f))
	b := NewBuilder(interactionFields)
	for i := 0; i < 300; i++ {
		b.Append([]schema.Value{str(fmt.Sprint("u", i)), str("i"), str("e"), i64(int64(i))})
	}
	f.Add(b.Encode())
	f.Add([]byte{version, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		// Fuzzed bytes rarely carry a valid CRC; check both the raw input and
		// a resealed copy so the parser behind the CRC is explored too.
		for _, d := range [][]byte{data, resealAny(data)} {
			got, err := Decode(d)
			if err != nil {
				if errs.KindOf(err) != errs.Invalid {
					t.Fatalf("Decode() error kind = %v, want Invalid: %v", errs.KindOf(err), err)
				}
				continue
			}
			for i := range got.Columns {
				c := &got.Columns[i]
				for r := 0; r < got.Rows; r++ {
					valueAt(t, c, r) // must not panic
				}
			}
		}
	})
}

func resealAny(data []byte) []byte {
	if len(data) < headerSize {
		return data
	}
	return reseal(data)
}

func TestStrDict(t *testing.T) {
	d := newStrDict()
	const n = 100000 // several grow steps
	for pass := range 2 {
		for i := range n {
			s := fmt.Sprint("k", i)
			if code := d.code(s); code != uint32(i) {
				t.Fatalf("pass %d: code(%q) = %d, want %d", pass, s, code, i)
			}
		}
		if d.len() != n {
			t.Fatalf("pass %d: len() = %d, want %d", pass, d.len(), n)
		}
	}
	if got := string(d.value(12345)); got != "k12345" {
		t.Errorf("value(12345) = %q, want %q", got, "k12345")
	}
	d.reset()
	if d.len() != 0 || d.code("k5") != 0 {
		t.Errorf("after reset: len() = %d, code(k5) = %d; want 0, 0", d.len(), d.code("k5"))
	}
}
