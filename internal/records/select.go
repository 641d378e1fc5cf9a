package records

import "github.com/attune-dev/attune/internal/schema"

// Value returns row i of the column as a schema.Value (Null for a null
// row). Strings alias the batch's dictionary.
func (c *Column) Value(i int) schema.Value {
	if c.IsNull(i) {
		return schema.Value{Null: true}
	}
	switch c.Type {
	case schema.String:
		s, _ := c.String(i)
		return schema.Value{Str: s}
	case schema.Int, schema.Long:
		v, _ := c.Int(i)
		return schema.Value{Int: v}
	case schema.Float, schema.Double:
		v, _ := c.Float(i)
		return schema.Value{Float: v}
	case schema.Boolean:
		v, _ := c.Bool(i)
		return schema.Value{Bool: v}
	}
	return schema.Value{Null: true}
}

// Fields returns the batch's columns as schema fields, in chunk order.
func (b *Batch) Fields() []schema.Field {
	fs := make([]schema.Field, len(b.Columns))
	for i, c := range b.Columns {
		fs[i] = schema.Field{Name: c.Name, Type: c.Type, Nullable: c.Nullable}
	}
	return fs
}

// Select encodes the rows of b for which keep is true as a new chunk with
// b's columns, and returns it with the number of rows kept. Row order is
// kept. When every row is kept it still re-encodes; callers that can tell
// should skip the call.
func Select(b *Batch, keep func(row int) bool) (data []byte, rows int) {
	bl := NewBuilder(b.Fields())
	row := make([]schema.Value, len(b.Columns))
	for r := 0; r < b.Rows; r++ {
		if !keep(r) {
			continue
		}
		for ci := range b.Columns {
			row[ci] = b.Columns[ci].Value(r)
		}
		bl.Append(row)
	}
	return bl.Encode(), bl.Len()
}
