package records

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/schema"
)

// Batch is one decoded chunk: Rows rows stored column by column.
type Batch struct {
	Rows    int
	Columns []Column
}

// Column returns the column called name, or nil when the chunk has none
// (for instance a field added to the schema after the chunk was written).
func (b *Batch) Column(name string) *Column {
	for i := range b.Columns {
		if b.Columns[i].Name == name {
			return &b.Columns[i]
		}
	}
	return nil
}

// Column holds the values of one field for every row of a Batch. Exactly one
// group of value slices is set, by Type: Dict and Codes for String (row i is
// Dict[Codes[i]]), Ints for Int and Long, Floats for Float and Double, Bools
// for Boolean. Null rows hold a zero value (code 0, which does not index an
// empty Dict), so check Nulls or use the accessors. The Dict strings share
// one allocation per column: copy a value (strings.Clone) to keep it long
// after the batch is dropped.
type Column struct {
	Name     string
	Type     schema.Type
	Nullable bool

	Dict  []string
	Codes []uint32

	Ints   []int64
	Floats []float64
	Bools  []bool

	// Nulls[i] reports whether row i is null; nil when no row is.
	Nulls []bool
}

// IsNull reports whether row i is null.
func (c *Column) IsNull(i int) bool { return c.Nulls != nil && c.Nulls[i] }

// String returns row i of a String column; ok is false when it is null or
// the column is not a String column.
func (c *Column) String(i int) (v string, ok bool) {
	if c.Type != schema.String || c.IsNull(i) {
		return "", false
	}
	return c.Dict[c.Codes[i]], true
}

// Int returns row i of an Int or Long column; ok is false when it is null or
// the column holds another type.
func (c *Column) Int(i int) (v int64, ok bool) {
	if c.Ints == nil || c.IsNull(i) {
		return 0, false
	}
	return c.Ints[i], true
}

// Float returns row i of a Float or Double column; ok is false when it is
// null or the column holds another type.
func (c *Column) Float(i int) (v float64, ok bool) {
	if c.Floats == nil || c.IsNull(i) {
		return 0, false
	}
	return c.Floats[i], true
}

// Bool returns row i of a Boolean column; ok is false when it is null or the
// column holds another type.
func (c *Column) Bool(i int) (v bool, ok bool) {
	if c.Bools == nil || c.IsNull(i) {
		return false, false
	}
	return c.Bools[i], true
}

// maxRows bounds the row count a chunk may claim. Chunks are written with
// ~64k rows; the bound only keeps a corrupt count from overflowing size
// arithmetic. Allocations are further bounded by the bytes actually present.
const maxRows = 1 << 28

// Decode parses a chunk written by Builder.Encode. It returns an errs.Invalid
// error, never a panic, for data that is truncated, corrupt (CRC mismatch),
// of an unknown version or internally inconsistent. The Batch does not alias
// data, so the caller may reuse it.
func Decode(data []byte) (*Batch, error) {
	if len(data) < headerSize {
		return nil, corrupt("%d bytes is shorter than the header", len(data))
	}
	if data[0] != version {
		return nil, errs.E(errs.Invalid, "records: unsupported chunk version %d", data[0])
	}
	payload := data[headerSize:]
	if got, want := crc32.Checksum(payload, castagnoli), binary.LittleEndian.Uint32(data[1:headerSize]); got != want {
		return nil, corrupt("checksum mismatch (crc32c %08x, header says %08x)", got, want)
	}
	d := decoder{buf: payload}
	rows64 := d.uvarint()
	ncols := d.uvarint()
	if d.err != nil {
		return nil, d.err
	}
	if rows64 > maxRows {
		return nil, corrupt("row count %d too large", rows64)
	}
	// Each column header takes at least 3 bytes, which bounds ncols by the
	// data present before allocating for it.
	if ncols > uint64(len(d.buf))/3 {
		return nil, corrupt("column count %d too large for %d bytes", ncols, len(d.buf))
	}
	rows := int(rows64)
	b := &Batch{Rows: rows, Columns: make([]Column, ncols)}
	flags := make([]byte, ncols)
	for i := range b.Columns {
		c := &b.Columns[i]
		c.Name = string(d.bytes(d.uvarint()))
		k, f := kind(d.byte()), d.byte()
		if d.err != nil {
			return nil, d.err
		}
		t, ok := k.schemaType()
		if !ok {
			return nil, corrupt("column %q has unknown type code %d", c.Name, k)
		}
		if f&^(flagNullable|flagHasNulls) != 0 {
			return nil, corrupt("column %q has unknown flags %#x", c.Name, f)
		}
		c.Type, c.Nullable, flags[i] = t, f&flagNullable != 0, f
	}
	bitmapLen := (rows + 7) / 8
	for i := range b.Columns {
		c := &b.Columns[i]
		if flags[i]&flagHasNulls != 0 {
			c.Nulls = unpackBits(d.bytes(uint64(bitmapLen)), rows)
		}
		switch c.Type {
		case schema.String:
			d.stringBody(c, rows)
		case schema.Int, schema.Long:
			raw := d.bytes(uint64(rows) * 8)
			if d.err == nil {
				c.Ints = make([]int64, rows)
				for j := range c.Ints {
					c.Ints[j] = int64(binary.LittleEndian.Uint64(raw[j*8:]))
				}
			}
		case schema.Float, schema.Double:
			raw := d.bytes(uint64(rows) * 8)
			if d.err == nil {
				c.Floats = make([]float64, rows)
				for j := range c.Floats {
					c.Floats[j] = math.Float64frombits(binary.LittleEndian.Uint64(raw[j*8:]))
				}
			}
		case schema.Boolean:
			c.Bools = unpackBits(d.bytes(uint64(bitmapLen)), rows)
		}
		if d.err != nil {
			return nil, fmt.Errorf("column %q: %w", c.Name, d.err)
		}
	}
	if len(d.buf) != 0 {
		return nil, corrupt("%d trailing bytes", len(d.buf))
	}
	return b, nil
}

func corrupt(format string, args ...any) error {
	return errs.E(errs.Invalid, "records: corrupt chunk: "+format, args...)
}

// decoder reads from buf and records the first error; after an error every
// read returns zero values, so callers check err once per step.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = corrupt(format, args...)
	}
	d.buf = nil
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) byte() byte {
	b := d.bytes(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// bytes returns the next n bytes, or nil after recording an error when fewer
// remain. The comparison is done in uint64 so a huge n cannot overflow.
func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) {
		d.fail("truncated: need %d bytes, have %d", n, len(d.buf))
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) stringBody(c *Column, rows int) {
	dictLen := d.uvarint()
	dictBytes := d.uvarint()
	// Every dictionary entry has at least a one-byte length.
	if d.err == nil && dictLen > uint64(len(d.buf)) {
		d.fail("dictionary size %d too large", dictLen)
	}
	if d.err != nil {
		return
	}
	lens := make([]int, dictLen)
	var total uint64
	for i := range lens {
		n := d.uvarint()
		total += n
		if d.err != nil || n > dictBytes || total > dictBytes {
			d.fail("dictionary lengths exceed %d bytes", dictBytes)
			return
		}
		lens[i] = int(n)
	}
	if total != dictBytes {
		d.fail("dictionary lengths sum to %d, header says %d", total, dictBytes)
		return
	}
	raw := d.bytes(dictBytes)
	if d.err != nil {
		return
	}
	// One allocation for the whole dictionary: entries are substrings of it.
	var all string
	if len(raw) > 0 {
		all = string(raw)
	}
	c.Dict = make([]string, dictLen)
	off := 0
	for i, n := range lens {
		c.Dict[i] = all[off : off+n]
		off += n
	}
	w := d.byte()
	if d.err != nil {
		return
	}
	if w != 1 && w != 2 && w != 4 {
		d.fail("bad code width %d", w)
		return
	}
	codes := d.bytes(uint64(rows) * uint64(w))
	if d.err != nil {
		return
	}
	c.Codes = make([]uint32, rows)
	switch w {
	case 1:
		for i := range c.Codes {
			c.Codes[i] = uint32(codes[i])
		}
	case 2:
		for i := range c.Codes {
			c.Codes[i] = uint32(binary.LittleEndian.Uint16(codes[i*2:]))
		}
	case 4:
		for i := range c.Codes {
			c.Codes[i] = binary.LittleEndian.Uint32(codes[i*4:])
		}
	}
	// Validate once so that accessors can index Dict without checks.
	for i, code := range c.Codes {
		if c.IsNull(i) {
			if code != 0 {
				d.fail("null row %d has code %d", i, code)
				return
			}
		} else if uint64(code) >= dictLen {
			d.fail("row %d has code %d outside a dictionary of %d", i, code, dictLen)
			return
		}
	}
}

func unpackBits(bits []byte, n int) []bool {
	if bits == nil {
		return nil
	}
	out := make([]bool, n)
	for i := range out {
		out[i] = bits[i>>3]&(1<<(i&7)) != 0
	}
	return out
}
