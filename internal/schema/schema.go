// Package schema parses and validates Amazon Personalize dataset schemas: flat
// Avro records whose fields are primitives or unions with null, checked against
// the required and reserved fields of each dataset type and domain, and parses
// CSV cells into typed values for them.
//
// It is pure: it imports only the standard library and internal/errs, never
// net/http, database/sql, os.Getenv, a global logger or time.Now.
package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/attune-dev/attune/internal/errs"
)

// MaxSchemaLen is the longest schema text CreateSchema accepts, in characters.
const MaxSchemaLen = 20000

// maxProblems bounds how many field problems one error lists, so a schema with
// hundreds of broken fields still gets a readable message.
const maxProblems = 10

// Type is the Avro primitive type of a field.
type Type int

// The field types. The zero Type is invalid so that a forgotten type is caught.
const (
	String Type = iota + 1
	Int
	Long
	Float
	Double
	Boolean
)

var typeNames = [...]string{String: "string", Int: "int", Long: "long", Float: "float", Double: "double", Boolean: "boolean"}

// String returns the Avro name of t ("string", "long", ...).
func (t Type) String() string {
	if t >= String && t <= Boolean {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// Numeric reports whether t is int, long, float or double.
func (t Type) Numeric() bool { return t >= Int && t <= Double }

// primitiveType maps an Avro primitive name to its Type.
func primitiveType(name string) (Type, bool) {
	for t := String; t <= Boolean; t++ {
		if typeNames[t] == name {
			return t, true
		}
	}
	return 0, false
}

// Field is one column of a dataset: its name, type and Personalize attributes.
type Field struct {
	Name        string
	Type        Type
	Nullable    bool // the Avro type was a union with "null": empty cells are allowed
	Categorical bool // string values are categories, multi-valued with '|'
	Textual     bool // free text for NLP (Items only); long values are truncated
	ItemName    bool // the item title used by Semantic-Similarity (Items only)
}

// Schema is a parsed Personalize schema: a flat Avro record. Fields are in
// declaration order, which is also the expected CSV column order.
type Schema struct {
	Name      string
	Namespace string
	Fields    []Field
}

// Field returns the field called name (case-sensitive, as Personalize field
// names are), its index in s.Fields, and whether it exists.
func (s *Schema) Field(name string) (Field, int, bool) {
	for i, f := range s.Fields {
		if f.Name == name {
			return f, i, true
		}
	}
	return Field{}, -1, false
}

// String renders s as canonical Avro JSON that Parse accepts and maps back to
// an equal Schema. It is not the text the schema was created from, which
// callers keep if they need to echo it (DescribeSchema does).
func (s *Schema) String() string {
	var b strings.Builder
	b.WriteString(`{"type":"record","name":`)
	writeJSONString(&b, s.Name)
	if s.Namespace != "" {
		b.WriteString(`,"namespace":`)
		writeJSONString(&b, s.Namespace)
	}
	b.WriteString(`,"fields":[`)
	for i, f := range s.Fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"name":`)
		writeJSONString(&b, f.Name)
		b.WriteString(`,"type":`)
		if f.Nullable {
			fmt.Fprintf(&b, `["null","%s"]`, f.Type)
		} else {
			fmt.Fprintf(&b, `"%s"`, f.Type)
		}
		if f.Categorical {
			b.WriteString(`,"categorical":true`)
		}
		if f.Textual {
			b.WriteString(`,"textual":true`)
		}
		if f.ItemName {
			b.WriteString(`,"itemName":true`)
		}
		b.WriteByte('}')
	}
	b.WriteString(`],"version":"1.0"}`)
	return b.String()
}

func writeJSONString(b *strings.Builder, s string) {
	q, _ := json.Marshal(s) // a string always marshals
	b.Write(q)
}

// Parse parses Avro schema text under Personalize's general rules: a record
// of uniquely named fields whose types are primitives or unions with null.
// Dataset-type rules are checked separately by ValidateFor. Every failure is
// errs.Invalid and names the offending field.
func Parse(text string) (*Schema, error) {
	if n := utf8.RuneCountInString(text); n > MaxSchemaLen {
		return nil, errs.E(errs.Invalid, "schema is %d characters long; the limit is %d", n, MaxSchemaLen)
	}
	var root any
	if err := json.Unmarshal([]byte(text), &root); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, errs.E(errs.Invalid, "schema is not valid JSON (at byte %d): %v", syn.Offset, err)
		}
		return nil, errs.E(errs.Invalid, "schema is not valid JSON: %v", err)
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return nil, errs.E(errs.Invalid, "schema must be a JSON object (an Avro record), got %s", jsonKind(root))
	}
	if t, ok := obj["type"].(string); !ok || t != "record" {
		return nil, errs.E(errs.Invalid, `schema "type" must be "record", got %s`, describe(obj["type"]))
	}
	s := &Schema{}
	name, ok := obj["name"].(string)
	if !ok || !validFullName(name) {
		return nil, errs.E(errs.Invalid, `schema "name" must be a name such as "Interactions" (letters, digits, '_', not starting with a digit), got %s`, describe(obj["name"]))
	}
	s.Name = name
	if ns, present := obj["namespace"]; present && ns != nil {
		str, ok := ns.(string)
		if !ok || (str != "" && !validFullName(str)) {
			return nil, errs.E(errs.Invalid, `schema "namespace" must be a dotted name such as "com.amazonaws.personalize.schema", got %s`, describe(ns))
		}
		s.Namespace = str
	}
	rawFields, present := obj["fields"]
	if !present {
		return nil, errs.E(errs.Invalid, `schema has no "fields" list`)
	}
	list, ok := rawFields.([]any)
	if !ok {
		return nil, errs.E(errs.Invalid, `schema "fields" must be a list of fields, got %s`, jsonKind(rawFields))
	}
	if len(list) == 0 {
		return nil, errs.E(errs.Invalid, `schema "fields" must not be empty`)
	}

	var p problems
	s.Fields = make([]Field, 0, len(list))
	seen := make(map[string]string, len(list)) // normalized name -> first name
	itemName := ""
	for i, raw := range list {
		f, ok := parseField(i, raw, &p)
		if !ok {
			continue
		}
		key := normalize(f.Name)
		if prev, dup := seen[key]; dup {
			if prev == f.Name {
				p.addf("field %s is declared more than once", f.Name)
			} else {
				p.addf("field %s conflicts with field %s: names must differ after ignoring case and '_'", f.Name, prev)
			}
			continue
		}
		seen[key] = f.Name
		if f.ItemName {
			if itemName != "" {
				p.addf("field %s: only one field can be the itemName; %s already is", f.Name, itemName)
			}
			itemName = f.Name
		}
		s.Fields = append(s.Fields, f)
	}
	if err := p.err("schema"); err != nil {
		return nil, err
	}
	return s, nil
}

// parseField decodes one entry of "fields", reporting problems to p. ok is
// false when the entry is too broken to take part in the duplicate checks.
func parseField(i int, raw any, p *problems) (f Field, ok bool) {
	obj, isObj := raw.(map[string]any)
	if !isObj {
		p.addf("fields[%d] must be an object with a name and a type, got %s", i, jsonKind(raw))
		return Field{}, false
	}
	name, isStr := obj["name"].(string)
	if !isStr || !validName(name) {
		p.addf("fields[%d]: name must match [A-Za-z_][A-Za-z0-9_]*, got %s", i, describe(obj["name"]))
		return Field{}, false
	}
	f.Name = name
	t, nullable, problem := parseType(obj["type"])
	if problem != "" {
		p.addf("field %s: %s", name, problem)
	}
	f.Type, f.Nullable = t, nullable
	f.Categorical = boolAttr(obj, "categorical", name, p)
	f.Textual = boolAttr(obj, "textual", name, p)
	f.ItemName = boolAttr(obj, "itemName", name, p)
	if t != 0 && t != String {
		for _, a := range []struct {
			set  bool
			name string
		}{{f.Categorical, "categorical"}, {f.Textual, "textual"}, {f.ItemName, "itemName"}} {
			if a.set {
				p.addf("field %s: %s applies only to string fields, not %s", name, a.name, t)
			}
		}
	}
	if f.Categorical && f.Textual {
		p.addf("field %s: a field cannot be both categorical and textual", name)
	}
	// A field with a type problem is still returned so duplicates are reported too.
	return f, true
}

// boolAttr reads an optional boolean attribute such as "categorical".
func boolAttr(obj map[string]any, key, field string, p *problems) bool {
	v, present := obj[key]
	if !present || v == nil {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		p.addf("field %s: %q must be true or false, got %s", field, key, describe(v))
	}
	return b
}

// parseType decodes an Avro field type: a primitive name, an object wrapping
// one, a one-member union (that type), or a two-member union with "null".
func parseType(v any) (t Type, nullable bool, problem string) {
	switch v := v.(type) {
	case nil:
		return 0, false, `"type" is missing`
	case []any:
		if len(v) == 1 {
			// A one-member union is that type, required, as Avro and
			// Personalize read it (the promotions sample uses ["string"]).
			if s, ok := v[0].(string); ok && s == "null" {
				return 0, false, `union ["null"] holds no data; use ["null", "<type>"]`
			}
			if _, nested := v[0].([]any); nested {
				return 0, false, "a union cannot contain another union"
			}
			t, problem := singleType(v[0])
			return t, false, problem
		}
		if len(v) != 2 {
			return 0, false, fmt.Sprintf(`a union type must have one member, or two members one of which is "null" (such as ["null", "string"]), got %d`, len(v))
		}
		nulls, other := 0, any(nil)
		for _, m := range v {
			if s, ok := m.(string); ok && s == "null" {
				nulls++
			} else {
				other = m
			}
		}
		switch nulls {
		case 2:
			return 0, false, `union ["null", "null"] holds no data; use ["null", "<type>"]`
		case 0:
			return 0, false, fmt.Sprintf(`a union of two non-null types (%s, %s) is not supported; a union must include "null"`, describe(v[0]), describe(v[1]))
		}
		if _, nested := other.([]any); nested {
			return 0, false, "a union cannot contain another union"
		}
		t, problem := singleType(other)
		return t, true, problem
	default:
		t, problem := singleType(v)
		return t, false, problem
	}
}

// singleType decodes a non-union type: "long" or {"type": "long"}.
func singleType(v any) (Type, string) {
	switch v := v.(type) {
	case string:
		return namedType(v)
	case map[string]any:
		inner, ok := v["type"].(string)
		if !ok {
			return 0, fmt.Sprintf("type object needs a \"type\" name, got %s", describe(v["type"]))
		}
		if _, has := v["logicalType"]; has {
			// timestamp-millis and friends would silently change what TIMESTAMP means.
			return 0, fmt.Sprintf("logicalType is not supported; use plain %q (timestamps are epoch seconds in a long)", inner)
		}
		return namedType(inner)
	default:
		return 0, fmt.Sprintf("type must be a type name or a union with \"null\", got %s", jsonKind(v))
	}
}

func namedType(name string) (Type, string) {
	if t, ok := primitiveType(name); ok {
		return t, ""
	}
	switch name {
	case "null":
		return 0, `type "null" alone holds no data; use a union such as ["null", "string"]`
	case "record", "array", "map", "enum", "fixed", "bytes":
		return 0, fmt.Sprintf("type %q is not supported: schemas are flat, with types string, int, long, float, double, boolean or a union of one of them with \"null\"", name)
	}
	return 0, fmt.Sprintf("unknown type %q; want string, int, long, float, double, boolean or a union with \"null\"", name)
}

// validName reports whether s is an Avro name: [A-Za-z_][A-Za-z0-9_]*.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// validFullName reports whether s is a dot-separated sequence of Avro names.
func validFullName(s string) bool {
	for part := range strings.SplitSeq(s, ".") {
		if !validName(part) {
			return false
		}
	}
	return true
}

// normalize maps a field name to the key Personalize uses to detect
// conflicts: alphanumerics only, lower-cased (GENRES_FIELD_1 ~ GENRESFIELD1).
func normalize(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + ('a' - 'A'))
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			b.WriteByte(c)
		}
	}
	return b.String()
}

// jsonKind names the JSON kind of a decoded value for error messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// describe shows a decoded value briefly: strings quoted, others by kind.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "nothing"
	case string:
		if len(v) > 64 {
			v = v[:64] + "..."
		}
		return fmt.Sprintf("%q", v)
	}
	return jsonKind(v)
}

// problems collects validation failures so one error can list them all.
type problems struct {
	list    []string
	dropped int
}

func (p *problems) addf(format string, args ...any) {
	if len(p.list) >= maxProblems {
		p.dropped++
		return
	}
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

// err returns nil when there were no problems, or one errs.Invalid listing them.
func (p *problems) err(subject string) error {
	if len(p.list) == 0 {
		return nil
	}
	msg := subject + ": " + strings.Join(p.list, "; ")
	if p.dropped > 0 {
		msg += fmt.Sprintf("; and %d more problems", p.dropped)
	}
	return errs.E(errs.Invalid, "%s", msg)
}
