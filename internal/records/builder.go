// Package records is the columnar encoding of dataset rows that the store
// persists as opaque chunks (store.Chunk.Data). A chunk holds up to a few tens
// of thousands of rows and describes itself: its header carries the column
// names and types, because a dataset's schema can change after its records
// were written (UpdateDataset) and old chunks must still decode.
//
// Layout of an encoded chunk (all integers little-endian, "uv" = uvarint):
//
//	version  byte    = 1
//	crc      uint32  CRC-32C (Castagnoli) of payload
//	payload:
//	  rows uv, ncols uv
//	  ncols × { nameLen uv, name, kind byte, flags byte (1 nullable, 2 has nulls) }
//	  ncols × body:
//	    null bitmap, ceil(rows/8) bytes, bit i = row i is null (only if flag 2)
//	    String:        dictLen uv, dictBytes uv, dictLen × len uv, dict bytes,
//	                   code width byte (1, 2 or 4), rows × code
//	    Int, Long:     rows × int64
//	    Float, Double: rows × float64 bits
//	    Boolean:       bitmap, ceil(rows/8) bytes
//
// Strings are dictionary-encoded per chunk because ids and event types repeat
// a lot; codes take the narrowest width that fits the dictionary. Null rows
// keep a zero slot in every body so that row i is at index i everywhere.
//
// It imports only the standard library and internal/schema; it must not
// import the store, I/O backends or net/http.
package records

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/attune-dev/attune/internal/schema"
)

// version is the first byte of every chunk. Bump it on any layout change and
// keep decoding the old versions.
const version = 1

// headerSize is the version byte plus the CRC.
const headerSize = 1 + 4

// Column flags in the chunk header.
const (
	flagNullable = 1 << 0
	flagHasNulls = 1 << 1
)

// kind is the on-disk type code of a column. It is deliberately separate from
// schema.Type so that reordering that enum can never change stored data.
type kind byte

const (
	kindString  kind = 1
	kindInt     kind = 2
	kindLong    kind = 3
	kindFloat   kind = 4
	kindDouble  kind = 5
	kindBoolean kind = 6
)

func kindOf(t schema.Type) (kind, bool) {
	switch t {
	case schema.String:
		return kindString, true
	case schema.Int:
		return kindInt, true
	case schema.Long:
		return kindLong, true
	case schema.Float:
		return kindFloat, true
	case schema.Double:
		return kindDouble, true
	case schema.Boolean:
		return kindBoolean, true
	}
	return 0, false
}

func (k kind) schemaType() (schema.Type, bool) {
	switch k {
	case kindString:
		return schema.String, true
	case kindInt:
		return schema.Int, true
	case kindLong:
		return schema.Long, true
	case kindFloat:
		return schema.Float, true
	case kindDouble:
		return schema.Double, true
	case kindBoolean:
		return schema.Boolean, true
	}
	return 0, false
}

// castagnoli is read-only after init; CRC-32C is hardware-accelerated on
// amd64 and arm64, so checksumming costs little next to encoding.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Builder accumulates rows of one set of fields and encodes them as a chunk.
// It reuses its buffers across Reset, so one Builder serves a whole import.
// A Builder is not safe for concurrent use.
type Builder struct {
	cols []builderColumn
	rows int
}

type builderColumn struct {
	name     string
	kind     kind
	nullable bool
	hasNulls bool
	nulls    []byte // bitmap, one bit per row, grown 8 rows at a time

	// String columns. haveLast/lastCode skip the dictionary for runs of
	// equal values, which are common (sorted files, one user's consecutive
	// events).
	dict     *strDict
	codes    []uint32
	lastCode uint32
	haveLast bool

	ints   []int64
	floats []float64
	bools  []byte // bitmap
}

// NewBuilder returns a Builder for rows with one value per field, in field
// order. It panics if a field has a type outside schema's enumeration, which
// is a programming error, not bad data.
func NewBuilder(fields []schema.Field) *Builder {
	b := &Builder{cols: make([]builderColumn, len(fields))}
	for i, f := range fields {
		k, ok := kindOf(f.Type)
		if !ok {
			panic(fmt.Sprintf("records.NewBuilder: field %q has unknown type %v", f.Name, f.Type))
		}
		c := &b.cols[i]
		c.name, c.kind, c.nullable = f.Name, k, f.Nullable
		if k == kindString {
			c.dict = newStrDict()
		}
	}
	return b
}

// Append adds one row: row[i] is the value of field i, read from the member
// of schema.Value that matches the field's type. Append copies any string it
// keeps, so row may alias a buffer the caller reuses. A null value is
// recorded even for a non-nullable field: validation is the caller's job.
// Append panics if len(row) differs from the number of fields.
func (b *Builder) Append(row []schema.Value) {
	if len(row) != len(b.cols) {
		panic(fmt.Sprintf("records.Builder.Append: row has %d values, builder has %d fields", len(row), len(b.cols)))
	}
	r := b.rows
	newByte := r&7 == 0
	for i := range b.cols {
		c := &b.cols[i]
		v := &row[i]
		if newByte {
			c.nulls = append(c.nulls, 0)
			if c.kind == kindBoolean {
				c.bools = append(c.bools, 0)
			}
		}
		if v.Null {
			c.hasNulls = true
			c.nulls[r>>3] |= 1 << (r & 7)
		}
		switch c.kind {
		case kindString:
			if v.Null {
				c.codes = append(c.codes, 0)
			} else {
				c.codes = append(c.codes, c.code(v.Str))
			}
		case kindInt, kindLong:
			if v.Null {
				c.ints = append(c.ints, 0)
			} else {
				c.ints = append(c.ints, v.Int)
			}
		case kindFloat, kindDouble:
			if v.Null {
				c.floats = append(c.floats, 0)
			} else {
				c.floats = append(c.floats, v.Float)
			}
		case kindBoolean:
			if !v.Null && v.Bool {
				c.bools[r>>3] |= 1 << (r & 7)
			}
		}
	}
	b.rows++
}

// code returns the dictionary code of s, adding a private copy of s to the
// dictionary the first time it is seen in this chunk.
func (c *builderColumn) code(s string) uint32 {
	if c.haveLast && string(c.dict.value(c.lastCode)) == s {
		return c.lastCode
	}
	code := c.dict.code(s)
	c.lastCode, c.haveLast = code, true
	return code
}

// Len returns the number of rows appended since the last Reset.
func (b *Builder) Len() int { return b.rows }

// Reset discards the rows but keeps the allocated buffers for the next chunk.
func (b *Builder) Reset() {
	b.rows = 0
	for i := range b.cols {
		c := &b.cols[i]
		c.hasNulls = false
		c.nulls = c.nulls[:0]
		if c.dict != nil {
			c.dict.reset()
		}
		c.codes = c.codes[:0]
		c.lastCode, c.haveLast = 0, false
		c.ints = c.ints[:0]
		c.floats = c.floats[:0]
		c.bools = c.bools[:0]
	}
}

func codeWidth(dictLen int) int {
	switch {
	case dictLen <= 1<<8:
		return 1
	case dictLen <= 1<<16:
		return 2
	default:
		return 4
	}
}

// Encode returns the rows appended since the last Reset as one chunk. The
// returned slice is newly allocated and owned by the caller; call Reset
// before appending the next chunk's rows.
func (b *Builder) Encode() []byte {
	rows := b.rows
	bitmapLen := (rows + 7) / 8

	// Size the output exactly so that encoding is a single allocation.
	size := headerSize + uvarintLen(uint64(rows)) + uvarintLen(uint64(len(b.cols)))
	for i := range b.cols {
		c := &b.cols[i]
		size += uvarintLen(uint64(len(c.name))) + len(c.name) + 2
		if c.hasNulls {
			size += bitmapLen
		}
		switch c.kind {
		case kindString:
			d := c.dict
			for code := range d.len() {
				size += uvarintLen(uint64(len(d.value(uint32(code)))))
			}
			size += uvarintLen(uint64(d.len())) + uvarintLen(uint64(d.bytes)) + d.bytes
			size += 1 + rows*codeWidth(d.len())
		case kindInt, kindLong, kindFloat, kindDouble:
			size += rows * 8
		case kindBoolean:
			size += bitmapLen
		}
	}

	out := make([]byte, headerSize, size)
	out[0] = version
	out = binary.AppendUvarint(out, uint64(rows))
	out = binary.AppendUvarint(out, uint64(len(b.cols)))
	for i := range b.cols {
		c := &b.cols[i]
		out = binary.AppendUvarint(out, uint64(len(c.name)))
		out = append(out, c.name...)
		var flags byte
		if c.nullable {
			flags |= flagNullable
		}
		if c.hasNulls {
			flags |= flagHasNulls
		}
		out = append(out, byte(c.kind), flags)
	}
	for i := range b.cols {
		c := &b.cols[i]
		if c.hasNulls {
			out = append(out, c.nulls[:bitmapLen]...)
		}
		switch c.kind {
		case kindString:
			out = appendStringBody(out, c.dict, c.codes)
		case kindInt, kindLong:
			for _, v := range c.ints {
				out = binary.LittleEndian.AppendUint64(out, uint64(v))
			}
		case kindFloat, kindDouble:
			for _, v := range c.floats {
				out = binary.LittleEndian.AppendUint64(out, math.Float64bits(v))
			}
		case kindBoolean:
			out = append(out, c.bools[:bitmapLen]...)
		}
	}
	binary.LittleEndian.PutUint32(out[1:headerSize], crc32.Checksum(out[headerSize:], castagnoli))
	return out
}

func appendStringBody(out []byte, d *strDict, codes []uint32) []byte {
	n := d.len()
	out = binary.AppendUvarint(out, uint64(n))
	out = binary.AppendUvarint(out, uint64(d.bytes))
	for code := range n {
		out = binary.AppendUvarint(out, uint64(len(d.value(uint32(code)))))
	}
	for code := range n {
		out = append(out, d.value(uint32(code))...)
	}
	w := codeWidth(n)
	out = append(out, byte(w))
	switch w {
	case 1:
		for _, c := range codes {
			out = append(out, byte(c))
		}
	case 2:
		for _, c := range codes {
			out = binary.LittleEndian.AppendUint16(out, uint16(c))
		}
	default:
		for _, c := range codes {
			out = binary.LittleEndian.AppendUint32(out, c)
		}
	}
	return out
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}
