package recipe

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/attune-dev/attune/internal/errs"
)

// Model files start with a fixed header: the 8-byte magic "ATTUNEMD", a
// uint16 format version and the recipe-specific kind string. Everything
// after it is little-endian; arrays carry their length as a uint64 so a
// reader can reject a truncated file before allocating.

const magic = "ATTUNEMD"

// maxArray bounds any decoded array (2^34 elements) so a corrupt length
// cannot make Decode allocate the machine away.
const maxArray = 1 << 34

// Encoder writes a model file. Errors are sticky: after the first failure
// every call is a no-op and Close returns that error.
type Encoder struct {
	w   *bufio.Writer
	err error
	buf [8]byte
}

// NewEncoder writes the header for a model of the given kind and format
// version.
func NewEncoder(w io.Writer, kind string, version uint16) *Encoder {
	e := &Encoder{w: bufio.NewWriterSize(w, 1<<16)}
	e.raw([]byte(magic))
	e.U16(version)
	e.String(kind)
	return e
}

func (e *Encoder) raw(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

// U16 writes a uint16.
func (e *Encoder) U16(v uint16) { binary.LittleEndian.PutUint16(e.buf[:], v); e.raw(e.buf[:2]) }

// U64 writes a uint64.
func (e *Encoder) U64(v uint64) { binary.LittleEndian.PutUint64(e.buf[:], v); e.raw(e.buf[:8]) }

// I64 writes an int64.
func (e *Encoder) I64(v int64) { e.U64(uint64(v)) }

// F64 writes a float64.
func (e *Encoder) F64(v float64) { e.U64(math.Float64bits(v)) }

// String writes a length-prefixed string.
func (e *Encoder) String(s string) { e.U64(uint64(len(s))); e.raw([]byte(s)) }

// Strings writes a length-prefixed string slice.
func (e *Encoder) Strings(ss []string) {
	e.U64(uint64(len(ss)))
	for _, s := range ss {
		e.String(s)
	}
}

// F32s writes a length-prefixed float32 slice.
func (e *Encoder) F32s(v []float32) {
	e.U64(uint64(len(v)))
	var b [4096]byte
	for len(v) > 0 && e.err == nil {
		n := min(len(v), len(b)/4)
		for i, x := range v[:n] {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
		e.raw(b[:4*n])
		v = v[n:]
	}
}

// I32s writes a length-prefixed int32 slice.
func (e *Encoder) I32s(v []int32) {
	e.U64(uint64(len(v)))
	var b [4096]byte
	for len(v) > 0 && e.err == nil {
		n := min(len(v), len(b)/4)
		for i, x := range v[:n] {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
		}
		e.raw(b[:4*n])
		v = v[n:]
	}
}

// I64s writes a length-prefixed int64 slice.
func (e *Encoder) I64s(v []int64) {
	e.U64(uint64(len(v)))
	for _, x := range v {
		e.I64(x)
	}
}

// Close flushes the output and returns the first error.
func (e *Encoder) Close() error {
	if e.err == nil {
		e.err = e.w.Flush()
	}
	return e.err
}

// Decoder reads a model file written by Encoder. Errors are sticky; Err
// returns the first one, classified errs.Invalid for a corrupt file.
type Decoder struct {
	r   *bufio.Reader
	err error
	buf [8]byte
	// Version is the format version read from the header.
	Version uint16
}

// NewDecoder reads and checks the header: the magic, a kind equal to kind
// and a version no newer than maxVersion.
func NewDecoder(r io.Reader, kind string, maxVersion uint16) *Decoder {
	d := &Decoder{r: bufio.NewReaderSize(r, 1<<16)}
	var m [len(magic)]byte
	d.full(m[:])
	if d.err == nil && string(m[:]) != magic {
		d.fail("not an Attune model file")
	}
	d.Version = d.U16()
	if d.err == nil && (d.Version == 0 || d.Version > maxVersion) {
		d.fail(fmt.Sprintf("model format version %d is not supported (newest %d)", d.Version, maxVersion))
	}
	if k := d.String(); d.err == nil && k != kind {
		d.fail(fmt.Sprintf("model is a %q, not a %q", k, kind))
	}
	return d
}

func (d *Decoder) fail(msg string) {
	if d.err == nil {
		d.err = errs.E(errs.Invalid, "decode model: %s", msg)
	}
}

func (d *Decoder) full(b []byte) {
	if d.err != nil {
		return
	}
	if _, err := io.ReadFull(d.r, b); err != nil {
		d.err = errs.Wrap(errs.Invalid, err, "decode model: truncated")
	}
}

// U16 reads a uint16.
func (d *Decoder) U16() uint16 {
	d.full(d.buf[:2])
	if d.err != nil {
		return 0
	}
	return binary.LittleEndian.Uint16(d.buf[:2])
}

// U64 reads a uint64.
func (d *Decoder) U64() uint64 {
	d.full(d.buf[:8])
	if d.err != nil {
		return 0
	}
	return binary.LittleEndian.Uint64(d.buf[:8])
}

// I64 reads an int64.
func (d *Decoder) I64() int64 { return int64(d.U64()) }

// F64 reads a float64.
func (d *Decoder) F64() float64 { return math.Float64frombits(d.U64()) }

func (d *Decoder) length(limit uint64) int {
	n := d.U64()
	if d.err == nil && n > limit {
		d.fail(fmt.Sprintf("array length %d is implausible", n))
	}
	if d.err != nil {
		return 0
	}
	return int(n)
}

// String reads a length-prefixed string.
func (d *Decoder) String() string {
	n := d.length(1 << 30)
	if n == 0 {
		return ""
	}
	// Read in steps of at most 64 KiB, so a corrupt length costs what the
	// file holds, not an allocation of up to 1 GiB up front.
	b := make([]byte, 0, min(n, 64<<10))
	for len(b) < n && d.err == nil {
		start := len(b)
		b = append(b, make([]byte, min(n-start, 64<<10))...)
		d.full(b[start:])
	}
	return string(b)
}

// Strings reads a length-prefixed string slice.
func (d *Decoder) Strings() []string {
	n := d.length(maxArray)
	out := make([]string, 0, min(n, 1<<20))
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.String())
	}
	return out
}

// F32s reads a length-prefixed float32 slice.
func (d *Decoder) F32s() []float32 {
	n := d.length(maxArray)
	out := make([]float32, 0, min(n, 1<<20))
	var b [4096]byte
	for len(out) < n && d.err == nil {
		k := min(n-len(out), len(b)/4)
		d.full(b[:4*k])
		for i := 0; i < k && d.err == nil; i++ {
			out = append(out, math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
	}
	return out
}

// I32s reads a length-prefixed int32 slice.
func (d *Decoder) I32s() []int32 {
	n := d.length(maxArray)
	out := make([]int32, 0, min(n, 1<<20))
	var b [4096]byte
	for len(out) < n && d.err == nil {
		k := min(n-len(out), len(b)/4)
		d.full(b[:4*k])
		for i := 0; i < k && d.err == nil; i++ {
			out = append(out, int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	}
	return out
}

// I64s reads a length-prefixed int64 slice.
func (d *Decoder) I64s() []int64 {
	n := d.length(maxArray)
	out := make([]int64, 0, min(n, 1<<20))
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.I64())
	}
	return out
}

// Check records a corruption error when ok is false, e.g. when decoded
// arrays disagree in length.
func (d *Decoder) Check(ok bool, msg string) {
	if !ok {
		d.fail(msg)
	}
}

// Err returns the first error.
func (d *Decoder) Err() error { return d.err }
