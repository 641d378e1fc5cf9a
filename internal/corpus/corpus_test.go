package corpus

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/attune-dev/attune/internal/records"
	"github.com/attune-dev/attune/internal/schema"
	"github.com/attune-dev/attune/internal/store"
)

// memChunks is an in-memory ChunkScanner.
type memChunks []store.Chunk

func (m memChunks) ScanChunks(ctx context.Context, dataset string, source store.Source, after int64, fn func(store.Chunk) error) error {
	for _, c := range m {
		if c.Dataset == dataset && c.Seq > after && (source == "" || c.Source == source) {
			if err := fn(c); err != nil {
				return err
			}
		}
	}
	return nil
}

func chunk(t *testing.T, seq int64, dataset string, fields []schema.Field, rows ...[]schema.Value) store.Chunk {
	t.Helper()
	b := records.NewBuilder(fields)
	for _, r := range rows {
		b.Append(r)
	}
	return store.Chunk{Seq: seq, Dataset: dataset, Source: store.Bulk, Rows: len(rows), Data: b.Encode()}
}

func str(s string) schema.Value { return schema.Value{Str: s} }

var null = schema.Value{Null: true}

func TestLoadEntitiesLastRowWins(t *testing.T) {
	fields := []schema.Field{{Name: "ITEM_ID", Type: schema.String}, {Name: "CATEGORY", Type: schema.String, Nullable: true, Categorical: true},
		{Name: "PRICE", Type: schema.Float, Nullable: true}}
	fields2 := []schema.Field{{Name: "ITEM_ID", Type: schema.String}, {Name: "CATEGORY", Type: schema.String, Nullable: true, Categorical: true}}
	chunks := memChunks{
		chunk(t, 1, "items", fields, []schema.Value{str("a"), str("Cloud|Security"), {Float: 9.5}}, []schema.Value{str("b"), str("Retail"), null},
			[]schema.Value{str("a"), str("Cloud"), {Float: 7}}), // a repeated in the same chunk: this row wins
		chunk(t, 2, "other", fields, []schema.Value{str("z"), str("X"), null}),
		chunk(t, 3, "items", fields2, []schema.Value{str("b"), str("Data")}), // a later import without PRICE
	}
	e, err := LoadEntities(context.Background(), chunks, "items", "ITEM_ID")
	if err != nil {
		t.Fatal(err)
	}
	if e.Len() != 2 {
		t.Fatalf("Len = %d, want 2 (z belongs to another dataset)", e.Len())
	}
	cases := []struct {
		id   string
		want map[string]string
	}{
		{"a", map[string]string{"CATEGORY": "Cloud", "PRICE": "7"}},
		{"b", map[string]string{"CATEGORY": "Data"}}, // the winning row has no PRICE
	}
	for _, tc := range cases {
		got := e.Metadata(tc.id, []string{"CATEGORY", "PRICE", "NOPE"})
		if len(got) != len(tc.want) {
			t.Errorf("Metadata(%s) = %v, want %v", tc.id, got, tc.want)
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("Metadata(%s)[%s] = %q, want %q", tc.id, k, got[k], v)
			}
		}
	}
	meta := e.ItemMeta([]string{"b", "a", "cold"}, nil)
	if got := meta.Categorical["CATEGORY"]; len(got[0]) != 1 || got[0][0] != "Data" || got[1][0] != "Cloud" || got[2] != nil {
		t.Errorf("ItemMeta categorical = %v", got)
	}
	if p := meta.Numeric["PRICE"]; !math.IsNaN(p[0]) || p[1] != 7 || !math.IsNaN(p[2]) {
		t.Errorf("ItemMeta numeric = %v", p)
	}
}

func TestLoadInteractionsFilters(t *testing.T) {
	fields := []schema.Field{{Name: "USER_ID", Type: schema.String}, {Name: "ITEM_ID", Type: schema.String},
		{Name: "EVENT_TYPE", Type: schema.String}, {Name: "EVENT_VALUE", Type: schema.Float, Nullable: true}, {Name: "TIMESTAMP", Type: schema.Long}}
	row := func(u, i, e string, v schema.Value, ts int64) []schema.Value {
		return []schema.Value{str(u), str(i), str(e), v, {Int: ts}}
	}
	chunks := memChunks{
		chunk(t, 1, "int", fields, row("u1", "i1", "click", schema.Value{Float: 1}, 10), row("u2", "i1", "purchase", schema.Value{Float: 5}, 11)),
		chunk(t, 2, "int", fields, row("u1", "i2", "PURCHASE", null, 12), row("u3", "i3", "click", schema.Value{Float: 3}, 13)),
	}
	cases := []struct {
		name      string
		f         Filter
		wantLen   int
		wantUsers int
	}{
		{"all", NoFilter, 4, 3},
		{"event type is case-insensitive", Filter{EventType: "purchase", MinEventValue: math.NaN()}, 2, 2},
		{"value threshold drops nulls", Filter{MinEventValue: 3}, 2, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, last, err := LoadInteractions(context.Background(), chunks, "int", tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if d.Len() != tc.wantLen || len(d.UserIDs) != tc.wantUsers || last != 2 {
				t.Errorf("LoadInteractions = %d rows, %d users, last %d; want %d, %d, 2", d.Len(), len(d.UserIDs), last, tc.wantLen, tc.wantUsers)
			}
			for i := range d.Len() {
				if d.UserIDs[d.User[i]] == "" || d.ItemIDs[d.Item[i]] == "" {
					t.Errorf("row %d has an unmapped id", i)
				}
			}
		})
	}
}

func TestLoadInteractionsDropsRepeatedEventIDs(t *testing.T) {
	fields := []schema.Field{{Name: "USER_ID", Type: schema.String, Nullable: true}, {Name: "ITEM_ID", Type: schema.String},
		{Name: "EVENT_TYPE", Type: schema.String}, {Name: "TIMESTAMP", Type: schema.Long},
		{Name: "EVENT_ID", Type: schema.String}, {Name: "SESSION_ID", Type: schema.String, Nullable: true}}
	row := func(u, i, e string, ts int64, id, session string) []schema.Value {
		uv := str(u)
		if u == "" {
			uv = null
		}
		return []schema.Value{uv, str(i), str(e), {Int: ts}, str(id), str(session)}
	}
	imported := []schema.Field{{Name: "USER_ID", Type: schema.String}, {Name: "ITEM_ID", Type: schema.String},
		{Name: "EVENT_TYPE", Type: schema.String}, {Name: "TIMESTAMP", Type: schema.Long}}
	chunks := memChunks{
		// Imported rows have no event id: identical rows are all kept.
		chunk(t, 1, "int", imported, []schema.Value{str("u1"), str("i1"), str("click"), {Int: 1}}, []schema.Value{str("u1"), str("i1"), str("click"), {Int: 1}}),
		chunk(t, 2, "int", fields,
			row("u1", "i2", "click", 10, "e1", "s1"),
			row("u1", "i2", "click", 10, "e1", "s1"), // a retry in the same commit
			row("u1", "i3", "purchase", 11, "e2", "s1"),
			row("u2", "i2", "click", 12, "e1", "s2"), // same id in another session: a different event
			row("", "i4", "click", 13, "e3", "s3")),  // anonymous: not trained on, but claims its id
		chunk(t, 3, "int", fields,
			row("u1", "i2", "purchase", 20, "e1", "s1"), // a later retry that even differs: still the first copy wins
			row("u3", "i4", "click", 21, "e3", "s3")),   // the session later tied to u3 resends e3
	}
	cases := []struct {
		name string
		f    Filter
		want []string // user/item/event per kept row, in order
	}{
		{"all", NoFilter, []string{"u1/i1/click", "u1/i1/click", "u1/i2/click", "u1/i3/purchase", "u2/i2/click"}},
		{"a filter does not let a repeat through", Filter{EventType: "purchase", MinEventValue: math.NaN()}, []string{"u1/i3/purchase"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, _, err := LoadInteractions(context.Background(), chunks, "int", tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i := range d.Len() {
				got = append(got, d.UserIDs[d.User[i]]+"/"+d.ItemIDs[d.Item[i]]+"/"+d.EventTypes[d.Event[i]])
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("LoadInteractions = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMetadataFloatsAsImported(t *testing.T) {
	fields := []schema.Field{{Name: "ITEM_ID", Type: schema.String}, {Name: "PRICE", Type: schema.Float, Nullable: true},
		{Name: "WEIGHT", Type: schema.Double, Nullable: true}}
	parse := func(f schema.Field, cell string) schema.Value {
		v, err := f.ParseValue(cell)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	chunks := memChunks{chunk(t, 1, "items", fields,
		[]schema.Value{str("a"), parse(fields[1], "19.63"), parse(fields[2], "0.1")},
		[]schema.Value{str("b"), parse(fields[1], "9.99"), parse(fields[2], "1234567.25")})}
	e, err := LoadEntities(context.Background(), chunks, "items", "ITEM_ID")
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string][2]string{"a": {"19.63", "0.1"}, "b": {"9.99", "1234567.25"}} {
		got := e.Metadata(id, []string{"PRICE", "WEIGHT"})
		if got["PRICE"] != want[0] || got["WEIGHT"] != want[1] {
			t.Errorf("Metadata(%s) = %v, want PRICE %s and WEIGHT %s", id, got, want[0], want[1])
		}
	}
}
