package corpus

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/records"
	"github.com/attune-dev/attune/internal/schema"
)

// Entities are the users or items of a dataset: the latest row of each id.
type Entities struct {
	IDField string
	IDs     []string
	Index   map[string]int32
	// Fields are the columns seen in the stored chunks, in first-seen order.
	Fields []Field
	// Values[entity][field] is the entity's latest value of each field;
	// Null when the row that won did not have the field.
	Values [][]schema.Value
}

// Field is a column of an entities dataset.
type Field struct {
	Name string
	Type schema.Type
}

// NewEntities returns an empty set keyed by idField (USER_ID or ITEM_ID).
func NewEntities(idField string) *Entities {
	return &Entities{IDField: idField, Index: map[string]int32{}}
}

// Len returns the number of distinct ids.
func (e *Entities) Len() int { return len(e.IDs) }

// Has reports whether an entity with this id exists.
func (e *Entities) Has(id string) bool {
	_, ok := e.Index[id]
	return ok
}

func (e *Entities) field(name string, t schema.Type) int {
	for i, f := range e.Fields {
		if f.Name == name {
			return i
		}
	}
	e.Fields = append(e.Fields, Field{Name: name, Type: t})
	for i := range e.Values {
		e.Values[i] = append(e.Values[i], schema.Value{Null: true})
	}
	return len(e.Fields) - 1
}

// FieldIndex returns the position of a field in Fields, or -1.
func (e *Entities) FieldIndex(name string) int {
	for i, f := range e.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// AddBatch applies a decoded chunk: each row replaces the earlier row of its id.
func (e *Entities) AddBatch(b *records.Batch) error {
	idc := b.Column(e.IDField)
	if idc == nil || idc.Type != schema.String {
		return fmt.Errorf("chunk lacks the %s column", e.IDField)
	}
	cols := make([]int, len(b.Columns))
	for i, c := range b.Columns {
		cols[i] = e.field(c.Name, c.Type)
	}
	for r := 0; r < b.Rows; r++ {
		id, ok := idc.String(r)
		if !ok {
			continue
		}
		row := make([]schema.Value, len(e.Fields))
		for i := range row {
			row[i].Null = true
		}
		for ci := range b.Columns {
			row[cols[ci]] = b.Columns[ci].Value(r)
		}
		if idx, ok := e.Index[id]; ok {
			e.Values[idx] = row
			continue
		}
		e.Index[id] = int32(len(e.IDs))
		e.IDs = append(e.IDs, id)
		e.Values = append(e.Values, row)
	}
	return nil
}

// LoadEntities reads every committed chunk of a users or items dataset.
func LoadEntities(ctx context.Context, sc ChunkScanner, datasetARN, idField string) (*Entities, error) {
	e := NewEntities(idField)
	err := ScanBatches(ctx, sc, datasetARN, "", func(_ int64, b *records.Batch) error { return e.AddBatch(b) })
	if err != nil {
		return nil, fmt.Errorf("load %s of %s: %w", idField, datasetARN, err)
	}
	return e, nil
}

// Format renders a value as it appeared in the CSV ("" for null), for
// runtime metadata and exports.
func Format(t schema.Type, v schema.Value) string {
	if v.Null {
		return ""
	}
	switch t {
	case schema.String:
		return v.Str
	case schema.Int, schema.Long:
		return strconv.FormatInt(v.Int, 10)
	case schema.Float, schema.Double:
		return schema.FormatFloat(t, v.Float)
	case schema.Boolean:
		return strconv.FormatBool(v.Bool)
	}
	return ""
}

// Metadata returns the named fields of one entity as strings, skipping
// fields the entity does not have.
func (e *Entities) Metadata(id string, fields []string) map[string]string {
	idx, ok := e.Index[id]
	if !ok {
		return nil
	}
	out := make(map[string]string, len(fields))
	for _, name := range fields {
		fi := e.FieldIndex(name)
		if fi < 0 {
			continue
		}
		if v := e.Values[idx][fi]; !v.Null {
			out[name] = Format(e.Fields[fi].Type, v)
		}
	}
	return out
}

// ItemMeta builds a recipe's item metadata aligned with itemIDs (the
// model's item table): categorical string fields split on '|', numeric
// fields, and CREATION_TIMESTAMP. String fields named in text (the schema's
// textual and itemName fields) are also kept whole in Text. Items without a
// row get nulls.
func (e *Entities) ItemMeta(itemIDs []string, text map[string]bool) *recipe.ItemMeta {
	m := &recipe.ItemMeta{Categorical: map[string][][]string{}, Numeric: map[string][]float64{}, Created: make([]int64, len(itemIDs))}
	for fi, f := range e.Fields {
		if f.Name == e.IDField {
			continue
		}
		switch {
		case f.Name == "CREATION_TIMESTAMP" && (f.Type == schema.Long || f.Type == schema.Int):
			for i, id := range itemIDs {
				if idx, ok := e.Index[id]; ok && !e.Values[idx][fi].Null {
					m.Created[i] = e.Values[idx][fi].Int
				}
			}
		case f.Type == schema.String:
			vals := make([][]string, len(itemIDs))
			for i, id := range itemIDs {
				if idx, ok := e.Index[id]; ok && !e.Values[idx][fi].Null {
					for _, part := range strings.Split(e.Values[idx][fi].Str, "|") {
						if part = strings.TrimSpace(part); part != "" {
							vals[i] = append(vals[i], part)
						}
					}
				}
			}
			m.Categorical[f.Name] = vals
			if text[f.Name] {
				text := make([]string, len(itemIDs))
				for i, id := range itemIDs {
					if idx, ok := e.Index[id]; ok && !e.Values[idx][fi].Null {
						text[i] = e.Values[idx][fi].Str
					}
				}
				if m.Text == nil {
					m.Text = map[string][]string{}
				}
				m.Text[f.Name] = text
			}
		case f.Type != schema.Boolean:
			vals := make([]float64, len(itemIDs))
			for i, id := range itemIDs {
				vals[i] = math.NaN()
				if idx, ok := e.Index[id]; ok && !e.Values[idx][fi].Null {
					v := e.Values[idx][fi]
					if f.Type == schema.Int || f.Type == schema.Long {
						vals[i] = float64(v.Int)
					} else {
						vals[i] = v.Float
					}
				}
			}
			m.Numeric[f.Name] = vals
		}
	}
	return m
}
