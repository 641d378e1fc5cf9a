package dataset

import (
	"slices"
	"testing"

	"github.com/attune-dev/attune/internal/records"
	"github.com/attune-dev/attune/internal/schema"
)

func TestRowsOfAndSelect(t *testing.T) {
	fields := []schema.Field{{Name: "USER_ID", Type: schema.String, Nullable: true}, {Name: "ITEM_ID", Type: schema.String},
		{Name: "SESSION_ID", Type: schema.String, Nullable: true}, {Name: "TIMESTAMP", Type: schema.Long}}
	str := func(s string) schema.Value {
		if s == "" {
			return schema.Value{Null: true}
		}
		return schema.Value{Str: s}
	}
	rows := [][]string{
		{"gone", "i1", "s1"}, // a deleted user
		{"kept", "i2", "s2"}, // another user
		{"", "i3", "s1"},     // anonymous event of a deleted user's session
		{"", "i4", "s9"},     // anonymous event of another session
		{"kept", "i5", "s1"}, // a kept user who shared the session id: kept
		{"gone", "i6", ""},   // deleted user without a session
		{"GONE", "i7", "s3"}, // ids are case-sensitive
	}
	b := records.NewBuilder(fields)
	for i, r := range rows {
		b.Append([]schema.Value{str(r[0]), str(r[1]), str(r[2]), {Int: int64(i)}})
	}
	batch, err := records.Decode(b.Encode())
	if err != nil {
		t.Fatal(err)
	}
	users, sessions := map[string]struct{}{"gone": {}}, map[string]struct{}{"s1": {}}
	drop := rowsOf(batch, users, sessions)
	want := []bool{true, false, true, false, false, true, false}
	if !slices.Equal(drop, want) {
		t.Fatalf("rowsOf = %v, want %v", drop, want)
	}
	data, kept := records.Select(batch, func(r int) bool { return !drop[r] })
	out, err := records.Decode(data)
	if err != nil || kept != 4 || out.Rows != 4 {
		t.Fatalf("Select kept %d rows (%v), want 4", kept, err)
	}
	var items []string
	for r := range out.Rows {
		v, _ := out.Column("ITEM_ID").String(r)
		items = append(items, v)
	}
	if want := []string{"i2", "i4", "i5", "i7"}; !slices.Equal(items, want) {
		t.Errorf("kept items %v, want %v", items, want)
	}
	if ts, _ := out.Column("TIMESTAMP").Int(1); ts != 3 || !out.Column("USER_ID").IsNull(1) {
		t.Errorf("row 1 after Select: TIMESTAMP %d, USER_ID null %v; want 3 and null", ts, out.Column("USER_ID").IsNull(1))
	}
	if rowsOf(batch, map[string]struct{}{"nobody": {}}, nil) != nil {
		t.Error("rowsOf with no matching user = non-nil, want nil (chunk left untouched)")
	}
}
