// Package awsmodel reads the AWS service definitions that the real clients
// ship (botocore's service-2.json, the format the AWS CLI, boto3 and the SDK
// code generators share) and checks JSON responses against their output
// shapes: required members, JSON types, enums, string lengths and patterns,
// number ranges, list and map sizes, timestamps as epoch seconds.
//
// Attune's conformance tests use it to prove that every operation of the
// personalize, personalize-runtime and personalize-events models is routed
// and that every answer fits the shape a client decodes; the compatibility
// document is generated from the same models. It imports the standard
// library only.
package awsmodel

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Model is one service definition.
type Model struct {
	// Metadata are the service's protocol facts (protocol, targetPrefix,
	// apiVersion, serviceId).
	Metadata   Metadata             `json:"metadata"`
	Operations map[string]Operation `json:"operations"`
	Shapes     map[string]*Shape    `json:"shapes"`

	// PatternExempt, when set, says which string values need not match
	// their shape's pattern (a known flaw of the model, or a documented
	// extension); nil checks every pattern.
	PatternExempt func(shape, path, value string) bool

	patterns map[string]*regexp.Regexp // compiled Shape.Pattern; nil when RE2 cannot compile it
}

// Metadata is the model's "metadata" object.
type Metadata struct {
	APIVersion   string `json:"apiVersion"`
	Protocol     string `json:"protocol"`
	ServiceID    string `json:"serviceId"`
	TargetPrefix string `json:"targetPrefix"`
	UID          string `json:"uid"`
}

// Operation is one operation of a model.
type Operation struct {
	Name string `json:"name"`
	HTTP struct {
		Method     string `json:"method"`
		RequestURI string `json:"requestUri"`
	} `json:"http"`
	Input  *Ref  `json:"input"`
	Output *Ref  `json:"output"`
	Errors []Ref `json:"errors"`
	// Deprecated marks operations AWS keeps for old clients.
	Deprecated bool `json:"deprecated"`
}

// Ref names a shape.
type Ref struct {
	Shape string `json:"shape"`
}

// Member is one member of a structure.
type Member struct {
	Shape string `json:"shape"`
	// Location is "header", "uri", "querystring" or "" (the JSON body).
	Location     string `json:"location"`
	LocationName string `json:"locationName"`
}

// Shape is one shape of a model.
type Shape struct {
	Type     string            `json:"type"`
	Required []string          `json:"required"`
	Members  map[string]Member `json:"members"`
	Member   *Ref              `json:"member"`
	Key      *Ref              `json:"key"`
	Value    *Ref              `json:"value"`
	Enum     []string          `json:"enum"`
	Min      *float64          `json:"min"`
	Max      *float64          `json:"max"`
	Pattern  string            `json:"pattern"`
	// Exception marks error shapes.
	Exception bool `json:"exception"`
}

// Parse reads a service-2.json document.
func Parse(data []byte) (*Model, error) {
	var m Model
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("service model: %w", err)
	}
	if len(m.Operations) == 0 {
		return nil, fmt.Errorf("service model: no operations")
	}
	m.patterns = map[string]*regexp.Regexp{}
	for name, sh := range m.Shapes {
		if sh == nil {
			return nil, fmt.Errorf("service model: shape %s is null", name)
		}
		if err := m.checkRefs(name, sh); err != nil {
			return nil, err
		}
		if sh.Pattern != "" {
			re, err := regexp.Compile(toRE2(sh.Pattern))
			if err == nil {
				m.patterns[name] = re
			}
		}
	}
	for name, op := range m.Operations {
		for _, r := range append([]*Ref{op.Input, op.Output}, refs(op.Errors)...) {
			if r != nil && m.Shapes[r.Shape] == nil {
				return nil, fmt.Errorf("service model: operation %s refers to unknown shape %s", name, r.Shape)
			}
		}
	}
	return &m, nil
}

// bigRepeat is a repetition bound above RE2's limit of 1000.
var bigRepeat = regexp.MustCompile(`\{(\d+),\d{4,}\}`)

// toRE2 spells a model pattern (ECMA 262 style, not anchored) for RE2: Java's
// \p{ASCII} becomes [\x00-\x7F] and bounds above 1000 become open (the
// shape's max checks the length anyway). A pattern RE2 still cannot compile
// goes unchecked; TestParseShippedModels lists any.
func toRE2(p string) string {
	p = strings.ReplaceAll(p, `\p{ASCII}`, `[\x00-\x7F]`)
	return bigRepeat.ReplaceAllString(p, "{$1,}")
}

// checkRefs makes sure every shape a shape refers to exists, so validation
// never meets a dangling reference.
func (m *Model) checkRefs(name string, sh *Shape) error {
	var rs []*Ref
	switch sh.Type {
	case "list":
		rs = []*Ref{sh.Member}
	case "map":
		rs = []*Ref{sh.Key, sh.Value}
	case "structure":
		for _, mem := range sh.Members {
			rs = append(rs, &Ref{Shape: mem.Shape})
		}
	}
	for _, r := range rs {
		if r == nil || m.Shapes[r.Shape] == nil {
			return fmt.Errorf("service model: shape %s (%s) refers to a missing shape", name, sh.Type)
		}
	}
	return nil
}

func refs(rs []Ref) []*Ref {
	out := make([]*Ref, len(rs))
	for i := range rs {
		out[i] = &rs[i]
	}
	return out
}

// OperationNames returns the model's operations in name order.
func (m *Model) OperationNames() []string {
	names := make([]string, 0, len(m.Operations))
	for n := range m.Operations {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Errors returns the error codes operation op declares, in model order.
func (m *Model) Errors(op string) []string {
	var out []string
	for _, e := range m.Operations[op].Errors {
		out = append(out, e.Shape)
	}
	return out
}

// DeclaresError reports whether operation op declares error code.
func (m *Model) DeclaresError(op, code string) bool {
	for _, e := range m.Operations[op].Errors {
		if e.Shape == code {
			return true
		}
	}
	return false
}

// Violation is one way a document breaks a shape.
type Violation struct {
	// Path locates the value, as "solution.solutionConfig.hpoConfig".
	Path string
	// Problem says what is wrong, e.g. "required member missing".
	Problem string
}

func (v Violation) String() string { return v.Path + ": " + v.Problem }

// ValidateOutput checks a JSON response body of operation op against its
// output shape (an operation without one must answer an empty object).
// Members the model does not declare are allowed: clients ignore them, and
// Attune adds a few (importReport, explanation) on purpose.
func (m *Model) ValidateOutput(op string, body []byte) ([]Violation, error) {
	o, ok := m.Operations[op]
	if !ok {
		return nil, fmt.Errorf("operation %s is not in model %s", op, m.Metadata.UID)
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return []Violation{{Path: "(body)", Problem: "not JSON: " + err.Error()}}, nil
	}
	if o.Output == nil {
		if obj, ok := doc.(map[string]any); !ok || len(obj) != 0 {
			return []Violation{{Path: "(body)", Problem: "the operation has no output; want {}"}}, nil
		}
		return nil, nil
	}
	var vs []Violation
	m.check(o.Output.Shape, doc, o.Output.Shape, &vs, true)
	return vs, nil
}

// check validates v against shape name at path, appending violations. At
// the top level only body members count: a REST output may bind some members
// to headers.
func (m *Model) check(name string, v any, path string, vs *[]Violation, top bool) {
	sh := m.Shapes[name]
	bad := func(format string, args ...any) {
		*vs = append(*vs, Violation{Path: path, Problem: fmt.Sprintf(format, args...)})
	}
	if sh == nil {
		bad("unknown shape %s", name)
		return
	}
	if v == nil {
		bad("null where %s (%s) is expected", name, sh.Type)
		return
	}
	switch sh.Type {
	case "structure":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("want an object (%s), got %s", name, jsonType(v))
			return
		}
		for _, req := range sh.Required {
			mem := sh.Members[req]
			if top && mem.Location != "" {
				continue
			}
			if _, ok := obj[wireName(req, mem)]; !ok {
				bad("required member %s missing", wireName(req, mem))
			}
		}
		for mn, mem := range sh.Members {
			if top && mem.Location != "" {
				continue
			}
			key := wireName(mn, mem)
			if mv, ok := obj[key]; ok {
				m.check(mem.Shape, mv, path+"."+key, vs, false)
			}
		}
	case "list":
		arr, ok := v.([]any)
		if !ok {
			bad("want an array (%s), got %s", name, jsonType(v))
			return
		}
		m.checkSize(sh, float64(len(arr)), "items", bad)
		for i, e := range arr {
			m.check(sh.Member.Shape, e, fmt.Sprintf("%s[%d]", path, i), vs, false)
		}
	case "map":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("want an object (%s), got %s", name, jsonType(v))
			return
		}
		m.checkSize(sh, float64(len(obj)), "entries", bad)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			m.check(sh.Key.Shape, k, path+"{key "+k+"}", vs, false)
			m.check(sh.Value.Shape, obj[k], path+"."+k, vs, false)
		}
	case "string":
		s, ok := v.(string)
		if !ok {
			bad("want a string (%s), got %s", name, jsonType(v))
			return
		}
		m.checkSize(sh, float64(len([]rune(s))), "characters", bad)
		if len(sh.Enum) > 0 && !contains(sh.Enum, s) {
			bad("%q is not one of %s's values %v", s, name, sh.Enum)
		}
		if re := m.patterns[name]; re != nil && !re.MatchString(s) && (m.PatternExempt == nil || !m.PatternExempt(name, path, s)) {
			bad("%q does not match %s's pattern %s", s, name, sh.Pattern)
		}
	case "integer", "long":
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			bad("want an integer (%s), got %s", name, jsonType(v))
			return
		}
		m.checkRange(sh, f, bad)
	case "float", "double":
		f, ok := v.(float64)
		if !ok {
			bad("want a number (%s), got %s", name, jsonType(v))
			return
		}
		m.checkRange(sh, f, bad)
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("want a boolean (%s), got %s", name, jsonType(v))
		}
	case "timestamp":
		// JSON protocols send timestamps as epoch seconds (a number).
		if _, ok := v.(float64); !ok {
			bad("want a timestamp in epoch seconds (%s), got %s", name, jsonType(v))
		}
	case "blob":
		if _, ok := v.(string); !ok {
			bad("want a base64 string (%s), got %s", name, jsonType(v))
		}
	default:
		bad("shape %s has type %s, which this checker does not know", name, sh.Type)
	}
}

func (m *Model) checkSize(sh *Shape, n float64, unit string, bad func(string, ...any)) {
	if sh.Min != nil && n < *sh.Min {
		bad("%g %s, fewer than the minimum %g", n, unit, *sh.Min)
	}
	if sh.Max != nil && n > *sh.Max {
		bad("%g %s, more than the maximum %g", n, unit, *sh.Max)
	}
}

func (m *Model) checkRange(sh *Shape, f float64, bad func(string, ...any)) {
	if sh.Min != nil && f < *sh.Min {
		bad("%g is below the minimum %g", f, *sh.Min)
	}
	if sh.Max != nil && f > *sh.Max {
		bad("%g is above the maximum %g", f, *sh.Max)
	}
}

func wireName(name string, mem Member) string {
	if mem.LocationName != "" && mem.Location == "" {
		return mem.LocationName
	}
	return name
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
