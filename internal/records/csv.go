package records

import (
	"fmt"
	"io"
	"iter"
	"strconv"

	"github.com/attune-dev/attune/internal/schema"
)

// csvFlushSize is how much WriteCSV buffers before writing, so that w sees
// few large writes instead of one per row.
const csvFlushSize = 64 << 10

// WriteCSV writes a header line with the given column names, then every row
// of every batch in order, as CSV (dataset exports). Columns are looked up by
// name in each batch: a name a batch lacks (a field added later) and a null
// value are written as empty cells. Lines end in "\n".
//
// Quoting follows RFC 4180: a cell containing a comma, a double quote, CR or
// LF is quoted and its quotes doubled. Inside quotes a backslash is written
// as `\\`, because Personalize's import dialect (which csvimport reads)
// treats a backslash in a quoted field as an escape; this keeps exports
// importable without changing their values. Unquoted cells are written
// verbatim.
//
// The first error from batches or w is returned, wrapped.
func WriteCSV(w io.Writer, header []string, batches iter.Seq2[*Batch, error]) error {
	buf := make([]byte, 0, csvFlushSize+4096)
	for i, name := range header {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendCSVCell(buf, name)
	}
	buf = append(buf, '\n')

	cols := make([]*Column, len(header))
	n := 0
	for b, err := range batches {
		if err != nil {
			return fmt.Errorf("write csv: batch %d: %w", n, err)
		}
		n++
		for i, name := range header {
			cols[i] = b.Column(name)
		}
		for r := 0; r < b.Rows; r++ {
			for i, c := range cols {
				if i > 0 {
					buf = append(buf, ',')
				}
				if c != nil {
					buf = appendValue(buf, c, r)
				}
			}
			buf = append(buf, '\n')
			if len(buf) >= csvFlushSize {
				if _, err := w.Write(buf); err != nil {
					return fmt.Errorf("write csv: %w", err)
				}
				buf = buf[:0]
			}
		}
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

func appendValue(buf []byte, c *Column, r int) []byte {
	if c.IsNull(r) {
		return buf
	}
	switch c.Type {
	case schema.String:
		return appendCSVCell(buf, c.Dict[c.Codes[r]])
	case schema.Int, schema.Long:
		return strconv.AppendInt(buf, c.Ints[r], 10)
	case schema.Float, schema.Double:
		// Float fields hold 32-bit values; formatting at their width gives
		// the short form the user wrote ("4.7", not "4.699999809265137").
		return schema.AppendFloat(buf, c.Type, c.Floats[r])
	case schema.Boolean:
		return strconv.AppendBool(buf, c.Bools[r])
	}
	return buf
}

func appendCSVCell(buf []byte, s string) []byte {
	quote := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',', '"', '\r', '\n':
			quote = true
		}
	}
	if !quote {
		return append(buf, s...)
	}
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			buf = append(buf, '"', '"')
		case '\\':
			buf = append(buf, '\\', '\\')
		default:
			buf = append(buf, c)
		}
	}
	return append(buf, '"')
}
