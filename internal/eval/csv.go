package eval

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
)

// builder appends interactions to compact arrays, mapping ids to dense
// indexes. Starting it from an existing set's tables (extend) keeps that
// set's indexes and appends new ids after them.
type builder struct {
	d                   *recipe.Interactions
	users, items, types map[string]int32
}

func newBuilder() *builder {
	return &builder{
		d:     &recipe.Interactions{},
		users: map[string]int32{}, items: map[string]int32{}, types: map[string]int32{},
	}
}

// extend returns a builder whose tables start as copies of base's. Copies,
// because appending to base's slices could write into memory base shares
// with its other users.
func extend(base *recipe.Interactions) *builder {
	b := &builder{d: &recipe.Interactions{
		UserIDs:    slices.Clone(base.UserIDs),
		ItemIDs:    slices.Clone(base.ItemIDs),
		EventTypes: slices.Clone(base.EventTypes),
	}}
	b.users = indexOf(b.d.UserIDs)
	b.items = indexOf(b.d.ItemIDs)
	b.types = indexOf(b.d.EventTypes)
	return b
}

func indexOf(ids []string) map[string]int32 {
	m := make(map[string]int32, len(ids))
	for i, id := range ids {
		m[id] = int32(i)
	}
	return m
}

func intern(m map[string]int32, table *[]string, id string) int32 {
	if i, ok := m[id]; ok {
		return i
	}
	i := int32(len(*table))
	// Clone: id may be a slice of the CSV reader's whole-record string,
	// which would otherwise stay alive for as long as the table does.
	id = strings.Clone(id)
	m[id] = i
	*table = append(*table, id)
	return i
}

func (b *builder) add(user, item string, ts int64, event string, value float32) error {
	if len(b.types) >= math.MaxUint16 {
		if _, ok := b.types[event]; !ok {
			return errs.E(errs.Invalid, "more than %d distinct EVENT_TYPE values", math.MaxUint16)
		}
	}
	d := b.d
	d.User = append(d.User, intern(b.users, &d.UserIDs, user))
	d.Item = append(d.Item, intern(b.items, &d.ItemIDs, item))
	d.Event = append(d.Event, uint16(intern(b.types, &d.EventTypes, event)))
	d.Time = append(d.Time, ts)
	d.Value = append(d.Value, value)
	return nil
}

// ReadInteractionsCSV reads an interactions file: a header line, then one
// interaction per line. Columns are matched by name, case-insensitively:
// USER_ID and ITEM_ID are required; TIMESTAMP (epoch seconds; 0 when the
// column is absent), EVENT_TYPE ("" when absent or empty) and EVENT_VALUE
// (NaN when absent or empty) are optional; other columns are ignored. The
// file is read as a stream, one record at a time.
//
// A malformed file is errs.Invalid naming the line, and where it applies the
// column: a missing required column, an empty id, a TIMESTAMP that is not an
// integer, an EVENT_VALUE that is not a number, bad CSV quoting.
func ReadInteractionsCSV(r io.Reader) (*recipe.Interactions, error) {
	return readCSV(r, newBuilder())
}

// ReadInteractionsCSVOnto reads a file like ReadInteractionsCSV (a test
// file), mapping its ids onto base's tables (the training file): a user,
// item or event type already in base keeps base's index, and new ones are
// appended after base's. base is not modified.
//
// So an item index ≥ len(base.ItemIDs) is an item the training data never
// saw. NewTestSet keeps such items as relevant, and since no model trained
// on base can recommend them they can never be hit: a test file full of new
// items scores low, which is the truth about that model on that data.
func ReadInteractionsCSVOnto(r io.Reader, base *recipe.Interactions) (*recipe.Interactions, error) {
	return readCSV(r, extend(base))
}

func readCSV(r io.Reader, b *builder) (*recipe.Interactions, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // short lines get our error, which names the column
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errs.E(errs.Invalid, "line 1: empty file, want a header with USER_ID and ITEM_ID")
	}
	if err != nil {
		return nil, csvError(err)
	}
	cols := map[string]int{"USER_ID": -1, "ITEM_ID": -1, "TIMESTAMP": -1, "EVENT_TYPE": -1, "EVENT_VALUE": -1}
	for i, h := range header {
		name := strings.ToUpper(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if c, ok := cols[name]; ok {
			if c >= 0 {
				return nil, errs.E(errs.Invalid, "line 1: column %s appears twice", name)
			}
			cols[name] = i
		}
	}
	for _, req := range []string{"USER_ID", "ITEM_ID"} {
		if cols[req] < 0 {
			return nil, errs.E(errs.Invalid, "line 1: header has no %s column", req)
		}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return b.d, nil
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		field := func(name string) (string, bool, error) {
			c := cols[name]
			if c < 0 {
				return "", false, nil
			}
			if c >= len(rec) {
				return "", false, errs.E(errs.Invalid, "line %d, column %d (%s): missing, the line has %d fields", line, c+1, name, len(rec))
			}
			return strings.TrimSpace(rec[c]), true, nil
		}
		bad := func(name, format string, args ...any) error {
			return errs.E(errs.Invalid, "line %d, column %d (%s): %s", line, cols[name]+1, name, fmt.Sprintf(format, args...))
		}
		var vals [5]string
		for i, name := range []string{"USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE"} {
			v, present, err := field(name)
			if err != nil {
				return nil, err
			}
			if i < 2 && present && v == "" {
				return nil, bad(name, "empty")
			}
			vals[i] = v
		}
		var ts int64
		if cols["TIMESTAMP"] >= 0 {
			if ts, err = parseTimestamp(vals[2]); err != nil {
				return nil, bad("TIMESTAMP", "%q is not epoch seconds", vals[2])
			}
		}
		value := float32(math.NaN())
		if vals[4] != "" {
			v, err := strconv.ParseFloat(vals[4], 32)
			if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
				return nil, bad("EVENT_VALUE", "%q is not a number", vals[4])
			}
			value = float32(v)
		}
		if err := b.add(vals[0], vals[1], ts, vals[3], value); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
	}
}

// parseTimestamp reads epoch seconds, accepting an integral float such as
// "1742033100.0" because spreadsheet exports write them that way.
func parseTimestamp(s string) (int64, error) {
	if ts, err := strconv.ParseInt(s, 10, 64); err == nil {
		return ts, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, errors.New("not an integer")
	}
	return int64(f), nil
}

// csvError classifies a parse error of encoding/csv, which already names the
// line and column.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return errs.E(errs.Invalid, "line %d, column %d: bad CSV: %v", pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("read interactions: %w", err)
}
