package csvimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/records"
	"github.com/attune-dev/attune/internal/schema"
)

const interactionsSchema = `{"type":"record","name":"Interactions","namespace":"com.amazonaws.personalize.schema","version":"1.0",
 "fields":[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},
           {"name":"EVENT_TYPE","type":"string"},{"name":"TIMESTAMP","type":"long"}]}`

const itemsSchema = `{"type":"record","name":"Items","version":"1.0",
 "fields":[{"name":"ITEM_ID","type":"string"},
           {"name":"PRICE","type":["null","float"]},
           {"name":"IN_STOCK","type":["null","boolean"]},
           {"name":"STOCK","type":["null","int"]},
           {"name":"SCORE","type":["null","double"]},
           {"name":"CREATION_TIMESTAMP","type":["null","long"]},
           {"name":"DESCRIPTION","type":["null","string"],"textual":true}]}`

func mustSchema(t testing.TB, text string) *schema.Schema {
	t.Helper()
	s, err := schema.Parse(text)
	if err != nil {
		t.Fatalf("schema.Parse: %v", err)
	}
	return s
}

// result is what an import produced: the report, the decoded rows rendered
// as strings ("<null>" for null), and the rows of each sink call.
type result struct {
	rep    Report
	rows   [][]string
	chunks []int
}

func render(c *records.Column, r int) string {
	if c.IsNull(r) {
		return "<null>"
	}
	switch c.Type {
	case schema.String:
		v, _ := c.String(r)
		return v
	case schema.Int, schema.Long:
		v, _ := c.Int(r)
		return strconv.FormatInt(v, 10)
	case schema.Float, schema.Double:
		v, _ := c.Float(r)
		return strconv.FormatFloat(v, 'g', -1, 32)
	case schema.Boolean:
		v, _ := c.Bool(r)
		return strconv.FormatBool(v)
	}
	return "?"
}

func runImport(t testing.TB, ctx context.Context, r io.Reader, sch *schema.Schema, dt schema.DatasetType, opts Options) (result, error) {
	t.Helper()
	var res result
	rep, err := Import(ctx, r, sch, dt, opts, func(data []byte, n int) error {
		b, err := records.Decode(data)
		if err != nil {
			t.Fatalf("records.Decode(chunk %d): %v", len(res.chunks), err)
		}
		if b.Rows != n {
			t.Fatalf("sink got rows=%d for a chunk of %d rows", n, b.Rows)
		}
		res.chunks = append(res.chunks, n)
		for r := 0; r < b.Rows; r++ {
			row := make([]string, len(sch.Fields))
			for i, f := range sch.Fields {
				c := b.Column(f.Name)
				if c == nil {
					t.Fatalf("chunk lacks column %q", f.Name)
				}
				row[i] = render(c, r)
			}
			res.rows = append(res.rows, row)
		}
		return nil
	})
	res.rep = rep
	if rep.Rows != rep.Imported+rep.Rejected {
		t.Errorf("Report: Rows %d != Imported %d + Rejected %d", rep.Rows, rep.Imported, rep.Rejected)
	}
	if int64(len(res.rows)) != rep.Imported && err == nil {
		t.Errorf("sink got %d rows, Report.Imported = %d", len(res.rows), rep.Imported)
	}
	return res, err
}

const hdr = "USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP\n"

func TestImportRows(t *testing.T) {
	inter := mustSchema(t, interactionsSchema)
	items := mustSchema(t, itemsSchema)
	type rowErr struct {
		row, line int64
		column    string
	}
	tests := []struct {
		name    string
		sch     *schema.Schema
		in      string
		want    [][]string
		errs    []rowErr
		ignored []string
	}{
		{name: "plain", sch: inter,
			in:   hdr + "u1,i1,click,1700000000\nu2,i2,buy,1700000001\n",
			want: [][]string{{"u1", "i1", "click", "1700000000"}, {"u2", "i2", "buy", "1700000001"}}},
		{name: "no final newline", sch: inter,
			in:   hdr + "u1,i1,click,1",
			want: [][]string{{"u1", "i1", "click", "1"}}},
		{name: "header only", sch: inter, in: hdr},
		{name: "header only without newline", sch: inter, in: strings.TrimSuffix(hdr, "\n")},
		{name: "quoted comma", sch: inter,
			in:   hdr + `u1,"i,1","click",1` + "\n",
			want: [][]string{{"u1", "i,1", "click", "1"}}},
		{name: "doubled quotes", sch: inter,
			in:   hdr + `u1,"say ""hi""","",1` + "\n",
			errs: []rowErr{{2, 2, "EVENT_TYPE"}}},
		{name: "doubled quotes ok", sch: inter,
			in:   hdr + `u1,"say ""hi""","""",1` + "\n",
			want: [][]string{{"u1", `say "hi"`, `"`, "1"}}},
		{name: "backslash escapes", sch: inter,
			in:   hdr + `u1,"a\"b\\c","x\ny\\",1` + "\n",
			want: [][]string{{"u1", `a"b\c`, `x\ny\`, "1"}}},
		{name: "backslash outside quotes is literal", sch: inter,
			in:   hdr + `u\1,i\",e,1` + "\n",
			want: [][]string{{`u\1`, `i\"`, "e", "1"}}},
		{name: "embedded newlines keep line numbers", sch: inter,
			in:   hdr + "u1,\"two\nlines\",click,1\nu2,\"three\r\nline\nitem\",click,2\nu3,i3,click,bad\n",
			want: [][]string{{"u1", "two\nlines", "click", "1"}, {"u2", "three\nline\nitem", "click", "2"}},
			errs: []rowErr{{4, 7, "TIMESTAMP"}}},
		{name: "BOM and CRLF", sch: inter,
			in:   "\xEF\xBB\xBF" + strings.ReplaceAll(hdr+"u1,i1,click,1\n", "\n", "\r\n"),
			want: [][]string{{"u1", "i1", "click", "1"}}},
		{name: "blank lines skipped but counted as spreadsheet rows", sch: inter,
			in:   "\n" + hdr + "\nu1,i1,click,1\r\n\r\nu2,i2,click,x\n\n",
			want: [][]string{{"u1", "i1", "click", "1"}},
			errs: []rowErr{{6, 6, "TIMESTAMP"}}},
		{name: "header names trimmed, columns reordered", sch: inter,
			in:   " TIMESTAMP , EVENT_TYPE,ITEM_ID,USER_ID\n5,view,i,u\n",
			want: [][]string{{"u", "i", "view", "5"}}},
		{name: "extra columns ignored", sch: inter,
			in:      "USER_ID,ITEM_ID,RATING,EVENT_TYPE,TIMESTAMP,\nu1,i1,4.5,click,1,\n",
			want:    [][]string{{"u1", "i1", "click", "1"}},
			ignored: []string{"RATING"}},
		{name: "wrong column count", sch: inter,
			in:   hdr + "u1,i1,click\nu2,i2,click,2,extra\nu3,i3,click,3\n",
			want: [][]string{{"u3", "i3", "click", "3"}},
			errs: []rowErr{{2, 2, ""}, {3, 3, ""}}},
		{name: "trailing empty cells are slack", sch: inter,
			in:   "USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP,,\nu1,i1,click,1\nu2,i2,click,2,\nu3,i3,click,3,,,\nu4,i4,click,4,,,x\nu5,i5,click\n",
			want: [][]string{{"u1", "i1", "click", "1"}, {"u2", "i2", "click", "2"}, {"u3", "i3", "click", "3"}},
			errs: []rowErr{{5, 5, ""}, {6, 6, ""}}},
		{name: "bad timestamps", sch: inter,
			in:   hdr + "u,i,e,abc\nu,i,e,1.5\nu,i,e,2024-03-15\nu,i,e,1742033100000\nu,i,e,-1\n",
			want: [][]string{{"u", "i", "e", "-1"}},
			errs: []rowErr{{2, 2, "TIMESTAMP"}, {3, 3, "TIMESTAMP"}, {4, 4, "TIMESTAMP"}, {5, 5, "TIMESTAMP"}}},
		{name: "empty required value", sch: inter,
			in:   hdr + ",i,e,1\nu,i,e,\n",
			errs: []rowErr{{2, 2, "USER_ID"}, {3, 3, "TIMESTAMP"}}},
		{name: "overlong id", sch: inter,
			in:   hdr + strings.Repeat("u", 257) + ",i,e,1\n",
			errs: []rowErr{{2, 2, "USER_ID"}}},
		{name: "typed nullable values", sch: items,
			in: "ITEM_ID,PRICE,IN_STOCK,STOCK,SCORE,CREATION_TIMESTAMP,DESCRIPTION\n" +
				"a,9.5,true,3,0.25,1700000000,\"Nice, \"\"cheap\"\"\"\n" +
				"b,,,,,,\n" +
				"c,x,true,1,1,1,d\n" +
				"d,1,yes,1,1,1,d\n" +
				"e,1,true,3000000000,1,1,d\n" +
				"f,1,true,1,NaN,1,d\n" +
				"g,-0.5,false,-7,1e3,0,\"\"\n",
			want: [][]string{
				{"a", "9.5", "true", "3", "0.25", "1700000000", `Nice, "cheap"`},
				{"b", "<null>", "<null>", "<null>", "<null>", "<null>", "<null>"},
				{"g", "-0.5", "false", "-7", "1000", "0", "<null>"},
			},
			errs: []rowErr{{4, 4, "PRICE"}, {5, 5, "IN_STOCK"}, {6, 6, "STOCK"}, {7, 7, "SCORE"}}},
		{name: "missing nullable column is null", sch: items,
			in:      "ITEM_ID,PRICE,GENRE\na,1,x\n",
			want:    [][]string{{"a", "1", "<null>", "<null>", "<null>", "<null>", "<null>"}},
			ignored: []string{"GENRE"}},
		{name: "unterminated quote costs one row", sch: inter,
			in:   hdr + "u1,\"i1,click,1\nu2,i2,click,2\nu3,i3,click,3\n",
			want: [][]string{{"u2", "i2", "click", "2"}, {"u3", "i3", "click", "3"}},
			errs: []rowErr{{2, 2, "ITEM_ID"}}},
		{name: "unterminated quote on last line", sch: inter,
			in:   hdr + "u1,i1,click,1\nu2,i2,\"click,2",
			want: [][]string{{"u1", "i1", "click", "1"}},
			errs: []rowErr{{3, 3, "EVENT_TYPE"}}},
		{name: "text after closing quote", sch: inter,
			in:   hdr + "u1,\"i1\"x,click,1\nu2,i2,click,2\n",
			want: [][]string{{"u2", "i2", "click", "2"}},
			errs: []rowErr{{2, 2, "ITEM_ID"}}},
		{name: "spaces after closing quote", sch: inter,
			in:   hdr + "u1,\"i1\"  ,\"click\"\t,1\n",
			want: [][]string{{"u1", "i1", "click", "1"}}},
		{name: "quote inside unquoted field is literal", sch: inter,
			in:   hdr + "u1,5'10\",click,1\n",
			want: [][]string{{"u1", `5'10"`, "click", "1"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A one-byte reader exercises every buffer boundary of the scanner.
			for _, mode := range []string{"whole", "one byte"} {
				var r io.Reader = strings.NewReader(tc.in)
				if mode == "one byte" {
					r = iotest.OneByteReader(r)
				}
				res, err := runImport(t, t.Context(), r, tc.sch, schema.Interactions, Options{})
				if err != nil {
					t.Fatalf("%s: Import() error: %v", mode, err)
				}
				if !reflect.DeepEqual(res.rows, tc.want) && len(res.rows)+len(tc.want) > 0 {
					t.Errorf("%s: imported rows = %q, want %q", mode, res.rows, tc.want)
				}
				var gotErrs []rowErr
				for _, e := range res.rep.Errors {
					if e.Message == "" {
						t.Errorf("%s: row %d: empty error message", mode, e.Row)
					}
					gotErrs = append(gotErrs, rowErr{e.Row, e.Line, e.Column})
				}
				if !reflect.DeepEqual(gotErrs, tc.errs) {
					t.Errorf("%s: errors = %+v, want %+v (%+v)", mode, gotErrs, tc.errs, res.rep.Errors)
				}
				if res.rep.Rejected != int64(len(tc.errs)) || res.rep.Imported != int64(len(tc.want)) {
					t.Errorf("%s: Imported, Rejected = %d, %d, want %d, %d", mode, res.rep.Imported, res.rep.Rejected, len(tc.want), len(tc.errs))
				}
				if !reflect.DeepEqual(res.rep.IgnoredColumns, tc.ignored) {
					t.Errorf("%s: IgnoredColumns = %q, want %q", mode, res.rep.IgnoredColumns, tc.ignored)
				}
			}
		})
	}
}

func TestImportHeaderErrors(t *testing.T) {
	inter := mustSchema(t, interactionsSchema)
	tests := []struct {
		name string
		in   string
	}{
		{"empty file", ""},
		{"only blank lines", "\n\r\n\n"},
		{"only a BOM", "\xEF\xBB\xBF"},
		{"missing required column", "USER_ID,ITEM_ID,EVENT_TYPE\nu,i,e\n"},
		{"two columns differing by case", "USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP,item_id\n"},
		{"duplicate column", "USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP,ITEM_ID\n"},
		{"duplicate ignored column", "USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP,X,X\n"},
		{"unterminated quote in header", "USER_ID,\"ITEM_ID,EVENT_TYPE,TIMESTAMP\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runImport(t, t.Context(), strings.NewReader(tc.in), inter, schema.Interactions, Options{})
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("Import(%q) error = %v, want errs.Invalid", tc.in, err)
			}
		})
	}
}

// The missing-column message is what a user reads to fix the file, so its
// wording is part of the contract.
func TestImportMissingColumnMessage(t *testing.T) {
	inter := mustSchema(t, interactionsSchema)
	tests := []struct{ in, want string }{
		{"USER_ID,ITEM_ID\n", `missing required columns "EVENT_TYPE", "TIMESTAMP" in the header (found: USER_ID, ITEM_ID)`},
		{"USER_ID,ITEM_ID,EVENT_TYPE\n", `missing required column "TIMESTAMP" in the header (found: USER_ID, ITEM_ID, EVENT_TYPE)`},
		{"USER_ID,ITEM_ID,EVENT_TYPE,timestamp,Timestamp\n", `columns timestamp (column 4) and Timestamp (column 5) both name field TIMESTAMP; header names match fields regardless of case`},
	}
	for _, tc := range tests {
		_, err := Import(t.Context(), strings.NewReader(tc.in), inter, schema.Interactions, Options{}, nil)
		if got := errs.Message(err); got != tc.want {
			t.Errorf("Import(%q) message = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestImportHeaderIgnoresCase reads headers as Personalize does: the
// exploration sample's items file says creation_timestamp.
func TestImportHeaderIgnoresCase(t *testing.T) {
	inter := mustSchema(t, interactionsSchema)
	want := [][]string{{"u1", "i1", "click", "1700000000"}}
	for _, h := range []string{"user_id,item_id,event_type,timestamp\n", "User_Id,ITEM_ID,Event_Type,timestamp\n"} {
		res, err := runImport(t, t.Context(), strings.NewReader(h+"u1,i1,click,1700000000\n"), inter, schema.Interactions, Options{})
		if err != nil {
			t.Fatalf("Import(%q) error = %v, want nil", h, err)
		}
		if !reflect.DeepEqual(res.rows, want) || len(res.rep.IgnoredColumns) != 0 {
			t.Errorf("Import(%q) rows = %q, ignored %q; want %q, none ignored", h, res.rows, res.rep.IgnoredColumns, want)
		}
	}
}

func TestImportChunks(t *testing.T) {
	inter := mustSchema(t, interactionsSchema)
	var in strings.Builder
	in.WriteString(hdr)
	var want [][]string
	for i := range 10 {
		fmt.Fprintf(&in, "u%d,i%d,click,%d\n", i%3, i, 1700000000+i)
		want = append(want, []string{fmt.Sprint("u", i%3), fmt.Sprint("i", i), "click", fmt.Sprint(1700000000 + i)})
	}
	res, err := runImport(t, t.Context(), strings.NewReader(in.String()), inter, schema.Interactions, Options{ChunkRows: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.chunks, []int{3, 3, 3, 1}) {
		t.Errorf("chunk sizes = %v, want [3 3 3 1]", res.chunks)
	}
	if !reflect.DeepEqual(res.rows, want) {
		t.Errorf("rows = %q, want %q", res.rows, want)
	}
}

func TestImportMaxReportedErrors(t *testing.T) {
	inter := mustSchema(t, interactionsSchema)
	in := hdr + strings.Repeat("u,i,e,bad\n", 10) + "u,i,e,1\n"
	res, err := runImport(t, t.Context(), strings.NewReader(in), inter, schema.Interactions, Options{MaxReportedErrors: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.rep.Rejected != 10 || res.rep.Imported != 1 || len(res.rep.Errors) != 4 {
		t.Errorf("Rejected, Imported, len(Errors) = %d, %d, %d, want 10, 1, 4", res.rep.Rejected, res.rep.Imported, len(res.rep.Errors))
	}
	if last := res.rep.Errors[3]; last.Row != 5 {
		t.Errorf("Errors[3].Row = %d, want 5 (the first errors are kept)", last.Row)
	}
}

func TestImportLongLines(t *testing.T) {
	inter := mustSchema(t, interactionsSchema)
	extra := "USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP,NOTE\n"
	tests := []struct {
		name             string
		in               string
		imported, reject int64
	}{
		{"line longer than the read buffer", extra + "u,i,e,1," + strings.Repeat("x", 3*bufferSize) + "\nu,i,e,2,n\n", 2, 0},
		{"line over the record limit", extra + "u,i,e,1," + strings.Repeat("x", maxRecordBytes+1) + "\nu,i,e,2,n\n", 1, 1},
		{"quoted field over the record limit", extra + "u,i,e,1,\"" + strings.Repeat("x\n", maxRecordBytes/2+1) + "\"\nu,i,e,2,n\n", 1, 1 + maxRecordBytes/2 + 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := runImport(t, t.Context(), strings.NewReader(tc.in), inter, schema.Interactions, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.rep.Imported != tc.imported || res.rep.Rejected != tc.reject {
				t.Errorf("Imported, Rejected = %d, %d, want %d, %d (%+v)", res.rep.Imported, res.rep.Rejected, tc.imported, tc.reject, res.rep.Errors[:min(3, len(res.rep.Errors))])
			}
		})
	}
}

func TestImportSeedSample(t *testing.T) {
	tests := []struct {
		file    string
		dt      schema.DatasetType
		schema  string
		ignored []string
		dupIDs  int64
	}{
		{"interactions.csv", schema.Interactions, interactionsSchema,
			[]string{"SESSION_DURATION", "DEVICE_TYPE", "LOCATION", "USER_RATING"}, 0},
		{"users.csv", schema.Users, `{"type":"record","name":"Users","fields":[{"name":"USER_ID","type":"string"},
			{"name":"ROLE","type":["null","string"],"categorical":true},{"name":"INDUSTRY","type":["null","string"],"categorical":true},
			{"name":"COMPANY_SIZE","type":["null","string"],"categorical":true}]}`,
			[]string{"REGION", "EXPERIENCE_LEVEL", "AGE", "ANNUAL_BUDGET", "INTERESTS"}, 18},
		{"items.csv", schema.Items, `{"type":"record","name":"Items","fields":[{"name":"ITEM_ID","type":"string"},
			{"name":"SERVICE_NAME","type":["null","string"],"categorical":true},{"name":"CATEGORY","type":["null","string"],"categorical":true},
			{"name":"SERVICE_TIER","type":["null","string"],"categorical":true},{"name":"TARGET_INDUSTRY","type":["null","string"],"categorical":true}]}`,
			[]string{"PRICE_RANGE", "POPULARITY_SCORE", "RELEASE_DATE", "REQUIRED_SKILLS"}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open("testdata/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			res, err := runImport(t, t.Context(), f, mustSchema(t, tc.schema), tc.dt, Options{})
			if err != nil {
				t.Fatalf("Import() error: %v", err)
			}
			if res.rep.Rows != 28 || res.rep.Imported != 28 {
				t.Errorf("Rows, Imported = %d, %d, want 28, 28 (%+v)", res.rep.Rows, res.rep.Imported, res.rep.Errors)
			}
			if !reflect.DeepEqual(res.rep.IgnoredColumns, tc.ignored) {
				t.Errorf("IgnoredColumns = %q, want %q", res.rep.IgnoredColumns, tc.ignored)
			}
			if res.rep.DuplicateIDs != tc.dupIDs {
				t.Errorf("DuplicateIDs = %d, want %d", res.rep.DuplicateIDs, tc.dupIDs)
			}
			for _, row := range res.rows {
				for _, v := range row {
					if strings.ContainsAny(v, "\r\"") {
						t.Errorf("value %q kept a CR or quote", v)
					}
				}
			}
		})
	}
}

type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, e.err
	}
	return n, err
}

func TestImportFatalErrors(t *testing.T) {
	inter := mustSchema(t, interactionsSchema)
	boom := errors.New("boom")
	many := hdr + strings.Repeat("u,i,e,1\n", 3*cancelCheckRows)

	t.Run("read error", func(t *testing.T) {
		r := &errReader{strings.NewReader(hdr + "u,i,e,1\nu,i,e"), boom}
		if _, err := Import(t.Context(), r, inter, schema.Interactions, Options{}, func([]byte, int) error { return nil }); !errors.Is(err, boom) {
			t.Errorf("Import() error = %v, want %v", err, boom)
		}
	})
	t.Run("read error in header", func(t *testing.T) {
		r := &errReader{strings.NewReader("USER_"), boom}
		if _, err := Import(t.Context(), r, inter, schema.Interactions, Options{}, nil); !errors.Is(err, boom) {
			t.Errorf("Import() error = %v, want %v", err, boom)
		}
	})
	t.Run("sink error", func(t *testing.T) {
		rep, err := Import(t.Context(), strings.NewReader(many), inter, schema.Interactions, Options{ChunkRows: 100},
			func([]byte, int) error { return boom })
		if !errors.Is(err, boom) {
			t.Errorf("Import() error = %v, want %v", err, boom)
		}
		if rep.Imported != 100 {
			t.Errorf("Report.Imported = %d at the failed first chunk, want 100", rep.Imported)
		}
	})
	t.Run("canceled before start", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := Import(ctx, strings.NewReader(many), inter, schema.Interactions, Options{}, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("Import() error = %v, want context.Canceled", err)
		}
	})
	t.Run("canceled while importing", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		sinks := 0
		rep, err := Import(ctx, strings.NewReader(many), inter, schema.Interactions, Options{ChunkRows: 10},
			func([]byte, int) error { sinks++; cancel(); return nil })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Import() error = %v, want context.Canceled", err)
		}
		if rep.Rows >= int64(3*cancelCheckRows) || sinks > cancelCheckRows/10+1 {
			t.Errorf("Import read %d rows and wrote %d chunks after cancel; want it to stop within %d rows", rep.Rows, sinks, cancelCheckRows)
		}
	})
}

// TestExportRoundTrip checks that records.WriteCSV writes what Import reads
// back unchanged, including the cells that need quoting or escaping.
func TestExportRoundTrip(t *testing.T) {
	sch := mustSchema(t, itemsSchema)
	texts := []string{`plain`, `a,b`, `say "hi"`, "two\nlines", `back\slash`, `C:\dir\`, `\"`, `"\\"`, `ends with \`, `a,b\`, "q\"\\\n", ` spaced `}
	b := records.NewBuilder(sch.Fields)
	var want [][]string
	for i, text := range texts {
		b.Append([]schema.Value{{Str: fmt.Sprint("id", i)}, {Float: 1.5}, {Bool: i%2 == 0}, {Null: true}, {Float: -0.25}, {Int: int64(i)}, {Str: text}})
		want = append(want, []string{fmt.Sprint("id", i), "1.5", strconv.FormatBool(i%2 == 0), "<null>", "-0.25", strconv.Itoa(i), text})
	}
	batch, err := records.Decode(b.Encode())
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(sch.Fields))
	for i, f := range sch.Fields {
		names[i] = f.Name
	}
	var csv strings.Builder
	err = records.WriteCSV(&csv, names, func(yield func(*records.Batch, error) bool) { yield(batch, nil) })
	if err != nil {
		t.Fatal(err)
	}
	res, err := runImport(t, t.Context(), strings.NewReader(csv.String()), sch, schema.Items, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.rep.Rejected != 0 || !reflect.DeepEqual(res.rows, want) {
		t.Errorf("Import(WriteCSV()) = %q, errors %+v; want %q\nCSV:\n%s", res.rows, res.rep.Errors, want, csv.String())
	}
}

// rowReader streams a header and n generated interaction rows without
// holding the file in memory.
type rowReader struct {
	n, i int
	buf  []byte
}

func (r *rowReader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && r.i <= r.n {
		if r.i == 0 {
			r.buf = append(r.buf, hdr...)
		} else {
			r.buf = fmt.Appendf(r.buf, "usr_%06d,itm_%05d,VIEWED,%d\n", r.i%50000, r.i%7919, 1700000000+r.i)
		}
		r.i++
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = r.buf[:copy(r.buf, r.buf[n:])]
	return n, nil
}

func TestImportMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 90 MB of CSV")
	}
	const rows = 2_000_000 // about 90 MB of CSV
	var peak uint64
	var ms runtime.MemStats
	rep, err := Import(t.Context(), &rowReader{n: rows}, mustSchema(t, interactionsSchema), schema.Interactions, Options{},
		func([]byte, int) error {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			return nil
		})
	if err != nil || rep.Imported != rows {
		t.Fatalf("Import() = %+v, %v; want %d rows imported", rep, err, rows)
	}
	t.Logf("peak heap %.1f MB", float64(peak)/(1<<20))
	// Live data is one chunk (a few MB) plus buffers; the bound leaves room
	// for garbage not yet collected but is far below the file's size.
	if peak > 48<<20 {
		t.Errorf("peak heap %d MB while streaming a 90 MB file, want < 48 MB", peak>>20)
	}
}
