package schema

import (
	"fmt"
	"strings"

	"github.com/attune-dev/attune/internal/errs"
)

// DatasetType is the kind of dataset a schema describes, in Personalize's
// upper-case spelling.
type DatasetType string

// The dataset types.
const (
	Interactions       DatasetType = "INTERACTIONS"
	Items              DatasetType = "ITEMS"
	Users              DatasetType = "USERS"
	Actions            DatasetType = "ACTIONS"
	ActionInteractions DatasetType = "ACTION_INTERACTIONS"
)

// The domains of a domain dataset group; "" is a Custom dataset group.
const (
	DomainECommerce     = "ECOMMERCE"
	DomainVideoOnDemand = "VIDEO_ON_DEMAND"
)

// Metadata-field limits per dataset type, counting fields that are neither the
// id nor reserved. Interactions, Items and Actions follow AWS. AWS allows only
// 5 for Users; Attune is self-hosted, so it is lenient there: user tables with
// eight or more profile columns (as in the seed sample) are common and cost
// nothing here. AWS documents no limit for Action_Interactions; it mirrors
// Interactions.
const (
	MaxInteractionsMetadata       = 5
	MaxActionInteractionsMetadata = 5
	MaxUsersMetadata              = 25
	MaxItemsMetadata              = 100
	MaxActionsMetadata            = 10
)

var datasetTypes = []DatasetType{Interactions, Items, Users, Actions, ActionInteractions}

// ParseDatasetType parses a dataset type case-insensitively ("Interactions",
// "action_interactions") into its canonical upper-case form.
func ParseDatasetType(s string) (DatasetType, error) {
	for _, t := range datasetTypes {
		if strings.EqualFold(s, string(t)) {
			return t, nil
		}
	}
	return "", errs.E(errs.Invalid, "datasetType %s is not one of Interactions, Items, Users, Actions, Action_Interactions", errs.Quote(s))
}

// IDField returns the field that identifies a row of a t dataset: USER_ID for
// USERS, ITEM_ID for ITEMS, ACTION_ID for ACTIONS, and "" for interaction
// datasets, whose rows are events without an id of their own.
func (t DatasetType) IDField() string {
	switch t {
	case Users:
		return "USER_ID"
	case Items:
		return "ITEM_ID"
	case Actions:
		return "ACTION_ID"
	}
	return ""
}

// tri is a three-way attribute rule: don't care, must be set, must not be set.
type tri int8

const (
	anyAttr tri = iota
	must
	mustNot
)

// typeSet is a set of Types as a bit mask.
type typeSet uint8

func types(ts ...Type) typeSet {
	var s typeSet
	for _, t := range ts {
		s |= 1 << t
	}
	return s
}

func (s typeSet) has(t Type) bool { return s&(1<<t) != 0 }

func (s typeSet) String() string {
	var names []string
	for t := String; t <= Boolean; t++ {
		if s.has(t) {
			names = append(names, t.String())
		}
	}
	switch len(names) {
	case 0:
		return "nothing"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

var (
	stringType  = types(String)
	longType    = types(Long)
	decimalType = types(Float, Double)
	integerType = types(Int, Long)
	numericType = types(Int, Long, Float, Double)
)

// spec is the rule for one required or reserved field name.
type spec struct {
	name        string
	want        typeSet
	required    bool // must be present and, being required, not nullable
	categorical tri
	textual     tri
}

// plain is a reserved string that is not a category and not free text.
func plain(name string, required bool) spec {
	return spec{name: name, want: stringType, required: required, categorical: mustNot, textual: mustNot}
}

func category(name string, required bool) spec {
	return spec{name: name, want: stringType, required: required, categorical: must}
}

func typed(name string, want typeSet, required bool) spec {
	return spec{name: name, want: want, required: required}
}

// The tables below are read-only after initialization.

// customSpecs are the required and reserved fields of each dataset type in a
// Custom dataset group. They are also the fields Metadata leaves out.
var customSpecs = map[DatasetType][]spec{
	Interactions: {
		plain("USER_ID", true), plain("ITEM_ID", true), typed("TIMESTAMP", longType, true),
		plain("EVENT_TYPE", false), typed("EVENT_VALUE", decimalType, false),
		plain("IMPRESSION", false), plain("RECOMMENDATION_ID", false), plain("EVENT_ATTRIBUTION_SOURCE", false),
	},
	Users: {plain("USER_ID", true)},
	Items: {plain("ITEM_ID", true), typed("CREATION_TIMESTAMP", longType, false)},
	Actions: {
		plain("ACTION_ID", true), typed("VALUE", numericType, false), typed("CREATION_TIMESTAMP", longType, false),
		typed("ACTION_EXPIRATION_TIMESTAMP", longType, false), typed("REPEAT_FREQUENCY", integerType, false),
	},
	ActionInteractions: {
		plain("USER_ID", true), plain("ACTION_ID", true), typed("TIMESTAMP", longType, true), plain("EVENT_TYPE", true),
		plain("IMPRESSION", false), plain("RECOMMENDATION_ID", false),
	},
}

// domainSpecs add to or tighten customSpecs in a domain dataset group. A later
// spec for the same name replaces the custom one.
var domainSpecs = map[string]map[DatasetType][]spec{
	DomainECommerce: {
		Interactions: {plain("EVENT_TYPE", true)},
		Items: {
			typed("PRICE", decimalType, true), category("CATEGORY_L1", true),
			category("CATEGORY_L2", false), category("CATEGORY_L3", false),
			{name: "PRODUCT_DESCRIPTION", want: stringType, textual: must},
			category("AGE_GROUP", false), category("ADULT", false), category("GENDER", false),
		},
	},
	DomainVideoOnDemand: {
		Interactions: {plain("EVENT_TYPE", true)},
		Items: {
			category("GENRES", true), typed("CREATION_TIMESTAMP", longType, true),
			typed("PRICE", decimalType, false), typed("DURATION", decimalType, false),
			category("GENRE_L2", false), category("GENRE_L3", false),
			typed("AVERAGE_RATING", decimalType, false),
			{name: "PRODUCT_DESCRIPTION", want: stringType, textual: must},
			category("CONTENT_OWNER", false), category("CONTENT_CLASSIFICATION", false),
		},
		Users: {category("SUBSCRIPTION_MODEL", false)},
	},
}

var maxMetadata = map[DatasetType]int{
	Interactions:       MaxInteractionsMetadata,
	ActionInteractions: MaxActionInteractionsMetadata,
	Users:              MaxUsersMetadata,
	Items:              MaxItemsMetadata,
	Actions:            MaxActionsMetadata,
}

// reserved reports whether name is the id or a reserved field of t in a
// Custom dataset group.
func reserved(t DatasetType, name string) bool {
	for _, sp := range customSpecs[t] {
		if sp.name == name {
			return true
		}
	}
	return false
}

// Metadata returns the fields of s other than the id and reserved fields of
// dataset type t (for Interactions: all but USER_ID, ITEM_ID, TIMESTAMP,
// EVENT_TYPE, EVENT_VALUE, IMPRESSION, RECOMMENDATION_ID and
// EVENT_ATTRIBUTION_SOURCE), in declaration order. Domain-specific fields
// such as GENRES are metadata.
func (s *Schema) Metadata(t DatasetType) []Field {
	var out []Field
	for _, f := range s.Fields {
		if !reserved(t, f.Name) {
			out = append(out, f)
		}
	}
	return out
}

// ValidateFor checks that s can describe a dataset of type t in a dataset
// group of the given domain ("" for Custom, DomainECommerce or
// DomainVideoOnDemand): required fields present with the right type and not
// nullable, reserved fields with their fixed type and attributes, textual and
// itemName fields only in Items, and the metadata-field limits. The error is
// errs.Invalid and lists every problem found.
func (s *Schema) ValidateFor(t DatasetType, domain string) error {
	custom, ok := customSpecs[t]
	if !ok {
		return errs.E(errs.Invalid, "datasetType %s is not one of Interactions, Items, Users, Actions, Action_Interactions", errs.Quote(string(t)))
	}
	specs := custom
	if domain != "" {
		byType, ok := domainSpecs[domain]
		if !ok {
			return errs.E(errs.Invalid, "domain %s is not one of %s, %s", errs.Quote(domain), DomainECommerce, DomainVideoOnDemand)
		}
		if t == Actions || t == ActionInteractions {
			return errs.E(errs.Invalid, "%s datasets are not available in a %s domain dataset group", t, domain)
		}
		specs = mergeSpecs(custom, byType[t])
	}

	var p problems
	for _, sp := range specs {
		checkSpec(s, sp, &p)
	}
	itemFieldsOnly := t != Items
	for _, f := range s.Fields {
		if itemFieldsOnly && f.Textual {
			p.addf("field %s: textual fields are allowed only in ITEMS schemas", f.Name)
		}
		if itemFieldsOnly && f.ItemName {
			p.addf("field %s: itemName is allowed only in ITEMS schemas", f.Name)
		}
	}

	meta := s.Metadata(t)
	if id := t.IDField(); id != "" && countOthers(s, id) == 0 {
		// Any field besides the id counts here, reserved ones included
		// (ITEM_ID + CREATION_TIMESTAMP is a usable Items schema).
		p.addf("%s schemas need at least one metadata field besides %s", t, id)
	}
	if limit := maxMetadata[t]; len(meta) > limit {
		names := make([]string, len(meta))
		for i, f := range meta {
			names[i] = f.Name
		}
		p.addf("%s schemas allow at most %d metadata fields besides the reserved ones; found %d: %s",
			t, limit, len(meta), strings.Join(names, ", "))
	}
	subject := fmt.Sprintf("schema is not valid for %s datasets", t)
	if domain != "" {
		subject = fmt.Sprintf("schema is not valid for %s datasets in the %s domain", t, domain)
	}
	return p.err(subject)
}

func countOthers(s *Schema, id string) int {
	n := 0
	for _, f := range s.Fields {
		if f.Name != id {
			n++
		}
	}
	return n
}

// mergeSpecs overlays domain rules on the custom ones by field name.
func mergeSpecs(custom, domain []spec) []spec {
	out := make([]spec, 0, len(custom)+len(domain))
	for _, c := range custom {
		replaced := false
		for _, d := range domain {
			if d.name == c.name {
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, c)
		}
	}
	return append(out, domain...)
}

// checkSpec reports how s breaks the rule sp, if it does.
func checkSpec(s *Schema, sp spec, p *problems) {
	f, _, ok := s.Field(sp.name)
	if !ok {
		if !sp.required {
			return
		}
		hint := ""
		for _, other := range s.Fields {
			if strings.EqualFold(other.Name, sp.name) {
				hint = fmt.Sprintf(" (found %s; field names are case-sensitive)", other.Name)
				break
			}
		}
		what := sp.want.String()
		if sp.categorical == must {
			what = "categorical " + what
		}
		p.addf("missing required field %s (%s)%s", sp.name, what, hint)
		return
	}
	if !sp.want.has(f.Type) {
		p.addf("field %s must be %s, not %s", f.Name, sp.want, f.Type)
	}
	if sp.required && f.Nullable {
		p.addf("field %s is required and must not be nullable (use %q, not a union with \"null\")", f.Name, f.Type)
	}
	switch {
	case sp.categorical == must && !f.Categorical:
		p.addf(`field %s must be categorical ("categorical": true)`, f.Name)
	case sp.categorical == mustNot && f.Categorical:
		p.addf("field %s is reserved and must not be categorical", f.Name)
	}
	switch {
	case sp.textual == must && !f.Textual:
		p.addf(`field %s must be textual ("textual": true)`, f.Name)
	case sp.textual == mustNot && f.Textual:
		p.addf("field %s is reserved and must not be textual", f.Name)
	}
}
