package csvimport

import (
	"bytes"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/records"
	"github.com/attune-dev/attune/internal/schema"
)

func FuzzImport(f *testing.F) {
	sch := mustSchema(f, itemsSchema)
	seeds := []string{
		"",
		"ITEM_ID,PRICE,IN_STOCK,STOCK,SCORE,CREATION_TIMESTAMP,DESCRIPTION\na,1.5,true,3,0.5,1700000000,\"x, \"\"y\"\" \\\" \\\\\"\n",
		"\xEF\xBB\xBFITEM_ID,DESCRIPTION,EXTRA\r\na,\"multi\r\nline\",z\r\n\r\nb,,\n",
		"ITEM_ID,PRICE\na,\"1\nb,2\nc,x\n,3\n",
		"ITEM_ID\n\"a\"b\n\"\n",
		"ITEM_ID,ITEM_ID\n",
		"item_id,price,creation_timestamp\na,1,1700000000\n",
		"ITEM_ID,item_id\na,b\n",
		"PRICE\n1\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var sunk int64
		rep, err := Import(t.Context(), bytes.NewReader(data), sch, schema.Items, Options{ChunkRows: 3},
			func(chunk []byte, n int) error {
				b, err := records.Decode(chunk)
				if err != nil {
					t.Fatalf("records.Decode(chunk) error: %v", err)
				}
				if b.Rows != n || n > 3 {
					t.Fatalf("chunk of %d rows passed as %d (ChunkRows 3)", b.Rows, n)
				}
				for i, fl := range sch.Fields {
					c := b.Column(fl.Name)
					if c == nil || c.Type != fl.Type {
						t.Fatalf("chunk column %d = %+v, want field %+v", i, c, fl)
					}
					for r := range b.Rows {
						if c.IsNull(r) && !fl.Nullable {
							t.Fatalf("row %d: null in required field %s", r, fl.Name)
						}
					}
				}
				sunk += int64(n)
				return nil
			})
		if err != nil && errs.KindOf(err) != errs.Invalid {
			t.Fatalf("Import() error = %v, want nil or errs.Invalid", err)
		}
		if rep.Imported+rep.Rejected != rep.Rows {
			t.Fatalf("Imported %d + Rejected %d != Rows %d", rep.Imported, rep.Rejected, rep.Rows)
		}
		if err == nil && sunk != rep.Imported {
			t.Fatalf("sink got %d rows, Report.Imported = %d", sunk, rep.Imported)
		}
		if want := min(rep.Rejected, DefaultMaxReportedErrors); int64(len(rep.Errors)) != want {
			t.Fatalf("len(Errors) = %d, want %d", len(rep.Errors), want)
		}
		prev := int64(0)
		for _, e := range rep.Errors {
			// Every record starts on a line of its own, so Row <= Line.
			if e.Row <= prev || e.Row > e.Line || e.Line > int64(bytes.Count(data, []byte("\n")))+1 || e.Message == "" {
				t.Fatalf("bad RowError %+v after row %d", e, prev)
			}
			prev = e.Row
		}
	})
}
