package csvimport

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Why a scanner of our own rather than encoding/csv:
//   - Personalize's dialect escapes `"` and `\` inside quoted fields with a
//     backslash (personalize-api.md §4.2) besides RFC 4180's doubled quotes;
//     encoding/csv has no option for that.
//   - encoding/csv allocates a []string per record (ReuseRecord still makes a
//     string per field), which at millions of rows dominates an import. Here
//     an unquoted line is split in place in bufio's buffer, and fields are
//     handed out as byte slices valid until the next record.
//   - A broken record must cost one row, not the rest of the file: a quoted
//     field that never closes is rejected and scanning resumes on the line
//     after it (see recover), which encoding/csv cannot do.

// bufferSize is the bufio buffer: large enough that nearly every line is
// returned in place by ReadSlice.
const bufferSize = 256 << 10

// maxRecordBytes bounds one record (all its physical lines). Personalize's
// largest values are 20,000-character textual fields, so a valid record is far
// smaller; the bound keeps memory flat when a stray quote would otherwise
// swallow the rest of a huge file into one field.
const maxRecordBytes = 1 << 20

// recordKind says what scanner.next found.
type recordKind int

const (
	recordOK        recordKind = iota
	recordBlank                // an empty line, skipped by the importer
	recordMalformed            // bad quoting or too long: s.problem explains
	recordEOF
)

// scanner reads CSV records from a stream. Field i of the current record is
// s.buf[s.ends[i-1]+1:s.ends[i]] (from 0 for i == 0); s.buf aliases either
// bufio's buffer or s.field, and both change on the next call to next.
type scanner struct {
	br *bufio.Reader
	// pending is input pushed back by recover, read before br.
	pending []byte
	// line counts the physical lines consumed; the current record started
	// on line start.
	line, start int64
	bomChecked  bool

	buf  []byte
	ends []int

	field []byte // unescaped fields of a record that needed the slow path
	long  []byte // a physical line longer than bufio's buffer
	raw   []byte // raw lines after a quoted record's first line, for recover

	// problem and problemField describe a recordMalformed record;
	// problemField is -1 when no one field is at fault.
	problem      string
	problemField int
}

func newScanner(r io.Reader) *scanner {
	return &scanner{br: bufio.NewReaderSize(r, bufferSize)}
}

// numFields returns the number of fields in the current record.
func (s *scanner) numFields() int { return len(s.ends) }

// fieldBytes returns field i of the current record.
func (s *scanner) fieldBytes(i int) []byte {
	from := 0
	if i > 0 {
		from = s.ends[i-1] + 1
	}
	return s.buf[from:s.ends[i]]
}

// errLineTooLong marks a physical line over maxRecordBytes; readLine has
// discarded its excess.
var errLineTooLong = errors.New("line too long")

// readLine returns the next physical line including its "\n" (absent on the
// last line of a file without one), or io.EOF when there is none. The slice
// is valid until the next call.
func (s *scanner) readLine() ([]byte, error) {
	var line []byte
	if len(s.pending) > 0 {
		if i := bytes.IndexByte(s.pending, '\n'); i >= 0 {
			line, s.pending = s.pending[:i+1], s.pending[i+1:]
		} else {
			line, s.pending = s.pending, nil
		}
		s.line++
		return line, nil
	}
	line, err := s.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		line, err = s.readLongLine(line)
	}
	if err == io.EOF && len(line) > 0 {
		err = nil // a last line without "\n"
	}
	if err == nil || errors.Is(err, errLineTooLong) {
		s.line++
		if !s.bomChecked {
			s.bomChecked = true
			line = bytes.TrimPrefix(line, []byte("\xEF\xBB\xBF"))
		}
	}
	return line, err
}

// readLongLine gathers a line that overflowed bufio's buffer into s.long,
// keeping at most maxRecordBytes of it.
func (s *scanner) readLongLine(first []byte) ([]byte, error) {
	s.long = append(s.long[:0], first...)
	tooLong := false
	for {
		chunk, err := s.br.ReadSlice('\n')
		if len(s.long)+len(chunk) > maxRecordBytes {
			tooLong = true
		} else {
			s.long = append(s.long, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if tooLong {
			return nil, errLineTooLong
		}
		return s.long, nil
	}
}

// trimEOL removes a trailing "\n" or "\r\n".
func trimEOL(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

// next reads the next record. It returns an error only for I/O failures;
// malformed records are reported as recordMalformed so that the importer can
// reject them and go on.
func (s *scanner) next() (recordKind, error) {
	line, err := s.readLine()
	s.start = s.line
	switch {
	case err == io.EOF:
		return recordEOF, nil
	case errors.Is(err, errLineTooLong):
		s.ends = s.ends[:0]
		s.problem, s.problemField = fmt.Sprintf("line is longer than %d bytes", maxRecordBytes), -1
		return recordMalformed, nil
	case err != nil:
		return 0, fmt.Errorf("read line %d: %w", s.line, err)
	}
	content := trimEOL(line)
	if len(content) == 0 {
		return recordBlank, nil
	}
	s.ends = s.ends[:0]
	if bytes.IndexByte(content, '"') < 0 {
		// Fast path: no quotes, so fields are the bytes between commas and
		// need no copy.
		s.buf = content
		for off := 0; ; {
			i := bytes.IndexByte(content[off:], ',')
			if i < 0 {
				s.ends = append(s.ends, len(content))
				return recordOK, nil
			}
			off += i
			s.ends = append(s.ends, off)
			off++
		}
	}
	return s.slowRecord(content)
}

// slowRecord parses a record with quotes, which may span several lines,
// unescaping fields into s.field.
func (s *scanner) slowRecord(content []byte) (recordKind, error) {
	s.field = s.field[:0]
	s.raw = s.raw[:0]
	s.problem, s.problemField = "", -1
	var (
		inQuotes   bool
		afterQuote bool // a quoted field closed; only ',' or end of line may follow
		fieldStart = true
		quoteLine  int64
	)
	for {
		for i := 0; i < len(content); i++ {
			c := content[i]
			if inQuotes {
				switch {
				case c == '"' && i+1 < len(content) && content[i+1] == '"':
					s.field = append(s.field, '"')
					i++
				case c == '"':
					inQuotes, afterQuote = false, true
				case c == '\\' && i+1 < len(content) && (content[i+1] == '"' || content[i+1] == '\\'):
					s.field = append(s.field, content[i+1])
					i++
				default:
					s.field = append(s.field, c)
				}
				continue
			}
			switch {
			case c == ',':
				// Keep the separator so that fields are laid out as on the
				// fast path: field i starts one byte after ends[i-1].
				s.ends = append(s.ends, len(s.field))
				s.field = append(s.field, ',')
				fieldStart, afterQuote = true, false
			case fieldStart && c == '"':
				inQuotes, fieldStart, quoteLine = true, false, s.line
			case afterQuote && (c == ' ' || c == '\t'):
				// Padding after a closing quote ("a" ,"b") carries no data.
			default:
				if afterQuote && s.problem == "" {
					// Keep scanning to the end of the record so that the
					// next one starts in the right place.
					s.problem = "unexpected character after the closing quote of a quoted field"
					s.problemField = len(s.ends)
				}
				s.field = append(s.field, c)
				fieldStart = false
			}
		}
		if !inQuotes {
			break
		}
		// The quoted field goes on: keep the line break (as "\n", like
		// encoding/csv) and read the next line.
		line, err := s.readLine()
		switch {
		case err == io.EOF:
			return s.recover(quoteLine, true), nil
		case errors.Is(err, errLineTooLong):
			// The overlong line is already partly discarded and cannot be
			// scanned again, so the whole record so far is rejected.
			s.ends = s.ends[:0]
			s.problem, s.problemField = fmt.Sprintf("quoted field opened on line %d runs into a line longer than %d bytes", quoteLine, maxRecordBytes), -1
			return recordMalformed, nil
		case err != nil:
			return 0, fmt.Errorf("read line %d: %w", s.line, err)
		case len(s.field)+len(s.raw)+len(line) > maxRecordBytes:
			s.raw = append(s.raw, line...)
			return s.recover(quoteLine, false), nil
		}
		s.raw = append(s.raw, line...)
		s.field = append(s.field, '\n')
		content = trimEOL(line)
	}
	s.ends = append(s.ends, len(s.field))
	s.buf = s.field
	if s.problem != "" {
		return recordMalformed, nil
	}
	return recordOK, nil
}

// recover handles a quoted field that never closes (or outgrows
// maxRecordBytes): the record is rejected as its first line only, and the
// lines read after it are pushed back to be scanned again as records, so one
// stray quote costs one row instead of the rest of the file.
func (s *scanner) recover(quoteLine int64, eof bool) recordKind {
	rest := make([]byte, 0, len(s.raw)+len(s.pending))
	rest = append(rest, s.raw...)
	s.pending = append(rest, s.pending...)
	s.line = s.start
	s.problemField = len(s.ends)
	if eof {
		s.problem = fmt.Sprintf("quoted field opened on line %d never closes; the row was read as line %d alone", quoteLine, s.start)
	} else {
		s.problem = fmt.Sprintf("quoted field opened on line %d runs past %d bytes without closing; the row was read as line %d alone", quoteLine, maxRecordBytes, s.start)
	}
	s.ends = s.ends[:0]
	return recordMalformed
}
