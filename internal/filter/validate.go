package filter

import (
	"github.com/attune-dev/attune/internal/schema"
)

// Schemas are the fields of a dataset group's entity datasets. A nil slice
// means the dataset group has no such dataset.
type Schemas struct {
	Items   []schema.Field
	Users   []schema.Field
	Actions []schema.Field
}

func (s Schemas) fields(d Dataset) []schema.Field {
	switch d.entity() {
	case Items:
		return s.Items
	case Users:
		return s.Users
	case Actions:
		return s.Actions
	}
	return nil
}

// Validate checks the filter against the dataset group's schemas: every
// field exists, is neither textual nor boolean (Personalize cannot filter on
// them), and fits its operator and values: ordering comparisons need numeric
// fields, numeric fields take numbers and string fields take strings, and a
// CurrentItem field has the kind of the field it is compared with. Failures
// are errs.Invalid and point at the offending text.
func (f *Filter) Validate(s Schemas) error {
	for i := range f.Exprs {
		for _, c := range f.Exprs[i].conds() {
			if c.Dataset.events() {
				continue // EVENT_TYPE is a required string field of every interactions schema
			}
			fld, err := f.field(s, c.Dataset, c.Field, c.Pos)
			if err != nil {
				return err
			}
			if c.Op.ordering() && !fld.Type.Numeric() {
				return posError(f.text, c.Pos, "%s.%s is a %s field; %s needs a numeric field (use IN for strings)", c.Dataset, c.Field, fld.Type, c.Op)
			}
			for _, v := range c.Values {
				switch v.Kind {
				case StringValue:
					if fld.Type.Numeric() {
						return posError(f.text, v.Pos, "%s.%s is numeric (%s): write the number without quotes", c.Dataset, c.Field, fld.Type)
					}
				case NumberValue:
					if !fld.Type.Numeric() {
						return posError(f.text, v.Pos, "%s.%s is a string field: quote the value", c.Dataset, c.Field)
					}
				case CurrentItemValue:
					cur, err := f.field(s, Items, v.Text, v.Pos)
					if err != nil {
						return err
					}
					if cur.Type.Numeric() != fld.Type.Numeric() {
						return posError(f.text, v.Pos, "CurrentItem.%s (%s) cannot be compared with %s.%s (%s)", v.Text, cur.Type, c.Dataset, c.Field, fld.Type)
					}
				}
			}
		}
	}
	return nil
}

// field finds a filterable field of dataset d.
func (f *Filter) field(s Schemas, d Dataset, name string, pos int) (schema.Field, error) {
	fields := s.fields(d)
	if fields == nil {
		return schema.Field{}, posError(f.text, pos, "the dataset group has no %s dataset", d.entity())
	}
	for _, fld := range fields {
		if fld.Name != name {
			continue
		}
		switch {
		case fld.Textual:
			return fld, posError(f.text, pos, "%s.%s is a textual field, which filters cannot use", d.entity(), name)
		case fld.Type == schema.Boolean:
			return fld, posError(f.text, pos, "%s.%s is a boolean field, which filters cannot use (store \"True\"/\"False\" strings or 0/1 instead)", d.entity(), name)
		}
		return fld, nil
	}
	return schema.Field{}, posError(f.text, pos, "the %s schema has no field %s", d.entity(), name)
}
