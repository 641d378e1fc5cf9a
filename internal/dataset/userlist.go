package dataset

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/attune-dev/attune/internal/errs"
)

// Limits of a data deletion job's input, as Personalize sets them.
const (
	// MaxDeletionInputBytes is the largest total size of a job's input files.
	MaxDeletionInputBytes = 100 << 20
	// maxUserIDLen is the longest USER_ID Personalize accepts, in characters.
	maxUserIDLen = 256
)

// readUserIDs reads one data deletion input file: CSV whose header names
// one column, USER_ID, then one user id per row. It adds the ids to users
// and returns the bytes it read. It reads at most budget bytes and fails
// with errs.Invalid beyond that. Errors name the file, the row (the header
// is row 1) and the column, never the file's content.
func readUserIDs(r io.Reader, file string, budget int64, users map[string]struct{}) (int64, error) {
	cr := &countingReader{r: io.LimitReader(r, budget+1)}
	rd := csv.NewReader(cr)
	rd.FieldsPerRecord = -1 // checked below, with a clearer message
	rd.ReuseRecord = true
	row := 0
	for {
		rec, err := rd.Read()
		if cr.n > budget {
			return cr.n, errs.E(errs.Invalid, "dataSource.dataLocation: the input files are larger than %d MB", MaxDeletionInputBytes>>20)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		row++
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				// pe.Err is one of encoding/csv's fixed messages; it never holds input.
				return cr.n, errs.E(errs.Invalid, "%s line %d: malformed CSV: %v", file, pe.StartLine, pe.Err)
			}
			return cr.n, errs.Wrap(errs.Internal, err, "read %s", file)
		}
		if row == 1 {
			if len(rec) != 1 {
				return cr.n, errs.E(errs.Invalid, "%s row 1: the header has %d columns; want exactly one, USER_ID", file, len(rec))
			}
			if !strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(rec[0], "\ufeff")), "USER_ID") {
				return cr.n, errs.E(errs.Invalid, "%s row 1: the header's column is not USER_ID", file)
			}
			continue
		}
		if len(rec) != 1 {
			return cr.n, errs.E(errs.Invalid, "%s row %d: %d fields; want 1 (USER_ID)", file, row, len(rec))
		}
		id := rec[0]
		switch n := utf8.RuneCountInString(id); {
		case id == "":
			return cr.n, errs.E(errs.Invalid, "%s row %d column USER_ID: empty", file, row)
		case n > maxUserIDLen:
			return cr.n, errs.E(errs.Invalid, "%s row %d column USER_ID: %d characters, more than %d", file, row, n, maxUserIDLen)
		case !utf8.ValidString(id):
			return cr.n, errs.E(errs.Invalid, "%s row %d column USER_ID: not valid UTF-8", file, row)
		}
		users[strings.Clone(id)] = struct{}{}
	}
	if row == 0 {
		return cr.n, errs.E(errs.Invalid, "%s: empty file; want a header row USER_ID, then one user id per row", file)
	}
	return cr.n, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
