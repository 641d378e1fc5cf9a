// Package csvimport reads one CSV file of dataset records (Personalize's bulk
// import format) as a stream and turns it into record chunks. Every bad row is
// rejected and reported with its row number, column and reason; nothing is
// dropped silently, and whether too many bad rows should fail the job is left
// to the caller, who sees the Report.
//
// It imports internal/schema, internal/records and internal/errs only: it
// knows nothing of the store, blobs or HTTP. Chunks go to a sink function.
package csvimport

import (
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"strings"
	"unsafe"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/records"
	"github.com/attune-dev/attune/internal/schema"
)

// Default option values.
const (
	DefaultChunkRows         = 65536
	DefaultMaxReportedErrors = 100
)

// cancelCheckRows is how often, in rows, Import looks at ctx: often enough to
// stop within a millisecond, rarely enough to cost nothing.
const cancelCheckRows = 4096

// Options tunes Import.
type Options struct {
	// ChunkRows is the number of rows per chunk handed to the sink; 0 means
	// DefaultChunkRows.
	ChunkRows int
	// MaxReportedErrors caps Report.Errors (the counts are always exact);
	// 0 means DefaultMaxReportedErrors.
	MaxReportedErrors int
}

// RowError describes one rejected row.
type RowError struct {
	// Row is the row number a user sees when opening the file in a
	// spreadsheet: the header is row 1 (after any blank lines above it),
	// blank lines count as rows, and a row with line breaks inside quotes
	// counts once.
	Row int64
	// Line is the physical line (1-based) on which the row starts.
	Line int64
	// Column names the offending column; "" when the row as a whole is bad
	// (wrong number of columns, broken quoting across columns).
	Column  string
	Message string
}

// Report summarizes an import. Rows == Imported + Rejected; blank lines and
// the header are not rows.
type Report struct {
	Rows, Imported, Rejected int64
	// Errors holds the first Options.MaxReportedErrors rejected rows, in file order.
	Errors []RowError
	// IgnoredColumns lists header columns the schema does not declare, in
	// header order. Their values are not imported.
	IgnoredColumns []string
	// DuplicateIDs counts imported rows whose id (USER_ID of a Users
	// dataset, ITEM_ID of Items, ...) appeared in an earlier imported row of
	// the file. Such rows are still imported: which one counts is up to the
	// reader of the dataset. Always 0 for interactions.
	DuplicateIDs int64
}

// Import reads CSV from r, validates every row against sch and hands the good
// rows to sink in chunks of opts.ChunkRows rows, each encoded by package
// records with sch's fields in sch's order. The data passed to sink is newly
// allocated and may be retained.
//
// The first non-blank row is the header. Its names are matched to schema
// fields exactly (after trimming spaces and a UTF-8 byte-order mark);
// undeclared columns are ignored and listed in Report.IgnoredColumns, and a
// nullable field absent from the header is null in every row. A missing
// required field, a duplicate column name and an empty file are errs.Invalid
// errors.
//
// The CSV dialect is RFC 4180 (quoted fields with doubled quotes, commas and
// line breaks; CRLF or LF line ends) plus Personalize's backslash escapes
// \" and \\ inside quoted fields. Blank lines are skipped.
//
// Memory stays flat in the size of the file: one chunk, one record, and for
// Users, Items and Actions datasets a 64-bit hash per distinct id to count
// DuplicateIDs (so a hash collision, with odds of about n²/2⁶⁵ for n ids,
// can overcount by one).
//
// Import fails only on a bad header, a read error, a sink error or ctx being
// done; it then returns the report so far along with the error (its Imported
// count includes rows of the chunk that was not written).
func Import(ctx context.Context, r io.Reader, sch *schema.Schema, dt schema.DatasetType, opts Options,
	sink func(data []byte, rows int) error) (Report, error) {
	if opts.ChunkRows <= 0 {
		opts.ChunkRows = DefaultChunkRows
	}
	if opts.MaxReportedErrors <= 0 {
		opts.MaxReportedErrors = DefaultMaxReportedErrors
	}
	var rep Report
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("csvimport: %w", err)
	}
	s := newScanner(r)

	// The header: the first non-blank record.
	var rowNum int64
	var kind recordKind
	for {
		var err error
		if kind, err = s.next(); err != nil {
			return rep, fmt.Errorf("csvimport: header: %w", err)
		}
		rowNum++
		if kind != recordBlank {
			break
		}
	}
	switch kind {
	case recordEOF:
		return rep, errs.E(errs.Invalid, "file is empty: expected a header row")
	case recordMalformed:
		return rep, errs.E(errs.Invalid, "header row (line %d): %s", s.start, s.problem)
	}
	h, err := readHeader(s, sch)
	if err != nil {
		return rep, err
	}
	rep.IgnoredColumns = h.ignored

	im := importer{
		fields:  sch.Fields,
		h:       h,
		opts:    opts,
		rep:     &rep,
		builder: records.NewBuilder(sch.Fields),
		row:     make([]schema.Value, len(sch.Fields)),
		sink:    sink,
		idField: -1,
	}
	if name := dt.IDField(); name != "" {
		if _, i, ok := sch.Field(name); ok && h.cell[i] >= 0 {
			im.idField = i
			im.seed = maphash.MakeSeed()
			im.seen = make(map[uint64]struct{})
		}
	}

	for {
		kind, err := s.next()
		if err != nil {
			return rep, fmt.Errorf("csvimport: %w", err)
		}
		if kind == recordEOF {
			break
		}
		rowNum++
		if rowNum%cancelCheckRows == 0 {
			if err := ctx.Err(); err != nil {
				return rep, fmt.Errorf("csvimport: stopped at line %d: %w", s.start, err)
			}
		}
		if kind == recordBlank {
			continue
		}
		rep.Rows++
		if kind == recordMalformed {
			im.reject(rowNum, s.start, h.columnName(s.problemField), s.problem)
			continue
		}
		if err := im.addRow(s, rowNum); err != nil {
			return rep, err
		}
	}
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("csvimport: %w", err)
	}
	if err := im.flush(); err != nil {
		return rep, err
	}
	return rep, nil
}

// header maps the file's columns to schema fields.
type header struct {
	names   []string // trimmed header names, by column
	named   int      // 1 + the index of the last named column
	cell    []int    // cell[fieldIndex] = column index, or -1 when absent (null)
	ignored []string
}

func (h *header) columnName(col int) string {
	if col >= 0 && col < len(h.names) {
		return h.names[col]
	}
	return ""
}

func readHeader(s *scanner, sch *schema.Schema) (*header, error) {
	h := &header{cell: make([]int, len(sch.Fields))}
	for i := range h.cell {
		h.cell[i] = -1
	}
	// Personalize matches header names to schema fields regardless of case
	// (the exploration sample's items header is creation_timestamp). A
	// schema's field names already differ after ignoring case.
	folded := make(map[string]int, len(sch.Fields))
	for fi, f := range sch.Fields {
		folded[strings.ToLower(f.Name)] = fi
	}
	seen := make(map[string]int, s.numFields())
	for col := range s.numFields() {
		name := strings.TrimSpace(string(s.fieldBytes(col)))
		h.names = append(h.names, name)
		if name != "" {
			h.named = col + 1
		}
		if name == "" {
			// A trailing comma makes an unnamed column; it holds nothing
			// the schema could declare, so it is neither listed nor a duplicate.
			continue
		}
		if prev, dup := seen[name]; dup {
			return nil, errs.E(errs.Invalid, "duplicate column %s in the header (columns %d and %d)", columnLabel(name, col), prev+1, col+1)
		}
		seen[name] = col
		fi, ok := folded[strings.ToLower(name)]
		if !ok {
			h.ignored = append(h.ignored, columnLabel(name, col))
			continue
		}
		if prev := h.cell[fi]; prev >= 0 {
			// Two columns for one field (ITEM_ID and item_id): neither can
			// be chosen without guessing which one holds the data.
			return nil, errs.E(errs.Invalid, "columns %s (column %d) and %s (column %d) both name field %s; header names match fields regardless of case",
				columnLabel(h.names[prev], prev), prev+1, columnLabel(name, col), col+1, sch.Fields[fi].Name)
		}
		h.cell[fi] = col
	}
	var missing []string
	for fi, f := range sch.Fields {
		if h.cell[fi] >= 0 || f.Nullable {
			continue
		}
		missing = append(missing, fmt.Sprintf("%q", f.Name))
	}
	if len(missing) == 0 {
		return h, nil
	}
	noun := "column"
	if len(missing) > 1 {
		noun = "columns"
	}
	const maxListed = 20
	var found []string
	for col, n := range h.names[:min(len(h.names), maxListed)] {
		found = append(found, columnLabel(n, col))
	}
	more := ""
	if len(h.names) > maxListed {
		more = fmt.Sprintf(", and %d more", len(h.names)-maxListed)
	}
	return nil, errs.E(errs.Invalid, "missing required %s %s in the header (found: %s%s)",
		noun, strings.Join(missing, ", "), strings.Join(found, ", "), more)
}

// importer holds the per-row state of one Import.
type importer struct {
	fields  []schema.Field
	h       *header
	opts    Options
	rep     *Report
	builder *records.Builder
	row     []schema.Value
	sink    func([]byte, int) error
	chunks  int

	idField int // index of the id field, -1 when duplicates are not counted
	seed    maphash.Seed
	seen    map[uint64]struct{}
}

func (im *importer) reject(row, line int64, column, msg string) {
	im.rep.Rejected++
	if len(im.rep.Errors) < im.opts.MaxReportedErrors {
		im.rep.Errors = append(im.rep.Errors, RowError{Row: row, Line: line, Column: column, Message: msg})
	}
}

// addRow validates the scanner's current record and appends it to the chunk,
// or rejects it. It fails only when a full chunk cannot be written.
func (im *importer) addRow(s *scanner, rowNum int64) error {
	if n := s.numFields(); n != len(im.h.names) && !im.trailingSlack(s, n) {
		im.reject(rowNum, s.start, "", fmt.Sprintf("row has %d columns; the header has %d", n, len(im.h.names)))
		return nil
	}
	for fi := range im.fields {
		f := &im.fields[fi]
		col := im.h.cell[fi]
		if col < 0 {
			im.row[fi] = schema.Value{Null: true}
			continue
		}
		// The cell aliases the scanner's buffer rather than being copied:
		// ParseValue does not retain it and Builder.Append copies the strings
		// it keeps, so nothing outlives this row. This is what keeps the
		// import free of per-field allocations.
		b := s.fieldBytes(col)
		v, err := f.ParseValue(unsafe.String(unsafe.SliceData(b), len(b)))
		if err != nil {
			im.reject(rowNum, s.start, f.Name, errs.Message(err))
			return nil
		}
		im.row[fi] = v
	}
	im.builder.Append(im.row)
	im.rep.Imported++
	if im.idField >= 0 && !im.row[im.idField].Null {
		h := maphash.String(im.seed, im.row[im.idField].Str)
		if _, dup := im.seen[h]; dup {
			im.rep.DuplicateIDs++
		} else {
			im.seen[h] = struct{}{}
		}
	}
	if im.builder.Len() >= im.opts.ChunkRows {
		return im.flush()
	}
	return nil
}

// trailingSlack reports whether a row of n fields, a number different from
// the header's, differs only by trailing empty cells: a row may lack columns
// the header leaves unnamed, and may add columns that are empty. Spreadsheet
// exports produce both (a stray trailing comma on the header or on rows), and
// no value is lost or shifted by accepting them.
func (im *importer) trailingSlack(s *scanner, n int) bool {
	if n < len(im.h.names) {
		return n >= im.h.named
	}
	for col := len(im.h.names); col < n; col++ {
		if len(s.fieldBytes(col)) != 0 {
			return false
		}
	}
	return true
}

// flush hands the rows built so far to the sink.
func (im *importer) flush() error {
	n := im.builder.Len()
	if n == 0 {
		return nil
	}
	data := im.builder.Encode()
	im.builder.Reset()
	im.chunks++
	if err := im.sink(data, n); err != nil {
		return fmt.Errorf("csvimport: write chunk %d (%d rows): %w", im.chunks, n, err)
	}
	return nil
}

// maxColumnName is the longest header cell reported as a column name.
const maxColumnName = 150

// columnLabel is how a header cell appears in reports and errors. A cell
// that looks like a column name (letters, digits and '_', as Avro names,
// up to 150 characters) is shown as it is. Anything else is not shown at
// all, only its position and length: a file that is not the CSV it was
// meant to be must not have its first line copied into job descriptions.
func columnLabel(name string, col int) string {
	if isColumnName(name) {
		return name
	}
	return fmt.Sprintf("(column %d: not a column name, %d bytes)", col+1, len(name))
}

func isColumnName(s string) bool {
	if s == "" || len(s) > maxColumnName {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
