// Package iam parses IAM identity-based policy documents and decides whether
// they allow a Personalize action on a resource, the way AWS IAM evaluates a
// user's policies: an explicit Deny wins, then any matching Allow, and
// without one the request is denied.
//
// It is pure: it imports only the standard library, no I/O, no clock, no
// logger. Supported: Version "2012-10-17" or "2008-10-17"; Id; Statement as
// one object or an array; per statement Sid, Effect (Allow/Deny),
// Action/NotAction and Resource/NotResource as a string or an array, with
// '*' and '?' wildcards. Actions compare case-insensitively and resources
// case-sensitively, as in IAM. Not supported, and rejected with an error
// rather than silently ignored: Condition, Principal/NotPrincipal (identity
// policies have none) and policy variables (${...}).
//
// Every action must name the personalize service (or be "*"), and must name
// an existing Personalize operation: a name without wildcards that is not
// one, or a wildcard pattern that matches none, is an error in Allow and
// Deny statements alike. IAM's own validator only warns here; Attune
// refuses, because a misspelt action silently grants or denies nothing.
package iam

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// MaxPolicyBytes caps a policy document: IAM's largest (a managed policy) is
// 6,144 characters without whitespace; this leaves room for indentation.
const MaxPolicyBytes = 16 << 10

// Effect is what a matching statement decides.
type Effect int

// The effects a statement may have.
const (
	Allow Effect = iota + 1
	Deny
)

func (e Effect) String() string {
	switch e {
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	}
	return fmt.Sprintf("Effect(%d)", int(e))
}

// Statement is one parsed policy statement.
type Statement struct {
	Sid    string
	Effect Effect
	// Actions are lower-cased patterns ("personalize:describe*", "*"). When
	// NotAction is set they list the actions the statement does NOT apply to.
	Actions   []string
	NotAction bool
	// Resources are ARN patterns, compared case-sensitively. When NotResource
	// is set they list the resources the statement does NOT apply to.
	Resources   []string
	NotResource bool
}

// Policy is a parsed, validated policy document. It is immutable and safe
// for concurrent use.
type Policy struct {
	Version    string
	ID         string
	Statements []Statement
}

// Error is a policy that failed to parse or validate. Its message names the
// statement index and member, and never quotes more than a short piece of
// the document.
type Error struct {
	Statement int    // index in Statement[], or -1 for the document itself
	Member    string // e.g. "Action", "Effect"; "" for the document as a whole
	Msg       string
}

func (e *Error) Error() string {
	switch {
	case e.Statement < 0 && e.Member == "":
		return "policy: " + e.Msg
	case e.Statement < 0:
		return fmt.Sprintf("policy: %s: %s", e.Member, e.Msg)
	case e.Member == "":
		return fmt.Sprintf("policy: Statement[%d]: %s", e.Statement, e.Msg)
	}
	return fmt.Sprintf("policy: Statement[%d].%s: %s", e.Statement, e.Member, e.Msg)
}

func docErr(member, format string, args ...any) *Error {
	return &Error{Statement: -1, Member: member, Msg: fmt.Sprintf(format, args...)}
}

func stmtErr(i int, member, format string, args ...any) *Error {
	return &Error{Statement: i, Member: member, Msg: fmt.Sprintf(format, args...)}
}

// quote cuts s to a length safe to echo in an error and quotes it.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		return fmt.Sprintf("%q… (%d bytes)", s[:max], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// Parse parses and validates a policy document. Errors are *Error.
func Parse(doc []byte) (*Policy, error) {
	if len(doc) > MaxPolicyBytes {
		return nil, docErr("", "document is %d bytes, more than the %d allowed", len(doc), MaxPolicyBytes)
	}
	top, err := object(doc)
	if err != nil {
		return nil, docErr("", "not a JSON object: %s", jsonProblem(err))
	}
	if err := onlyMembers(top, "Version", "Id", "Statement"); err != nil {
		return nil, docErr(err.member, "%s", err.msg)
	}
	p := &Policy{}
	if raw, ok := top["Version"]; ok {
		if err := json.Unmarshal(raw, &p.Version); err != nil {
			return nil, docErr("Version", "must be a string")
		}
	}
	switch p.Version {
	case "2012-10-17", "2008-10-17":
	case "":
		return nil, docErr("Version", `is required: use "2012-10-17"`)
	default:
		return nil, docErr("Version", `%s is not a policy language version: use "2012-10-17"`, quote(p.Version))
	}
	if raw, ok := top["Id"]; ok {
		if err := json.Unmarshal(raw, &p.ID); err != nil {
			return nil, docErr("Id", "must be a string")
		}
	}
	raw, ok := top["Statement"]
	if !ok {
		return nil, docErr("Statement", "is required")
	}
	var list []json.RawMessage
	if t := firstByte(raw); t == '{' {
		list = []json.RawMessage{raw}
	} else if err := json.Unmarshal(raw, &list); err != nil {
		return nil, docErr("Statement", "must be an object or an array of objects")
	}
	if len(list) == 0 {
		return nil, docErr("Statement", "must hold at least one statement")
	}
	sids := map[string]int{}
	for i, rs := range list {
		st, err := parseStatement(i, rs)
		if err != nil {
			return nil, err
		}
		if st.Sid != "" {
			if j, dup := sids[st.Sid]; dup {
				return nil, stmtErr(i, "Sid", "%s is also the Sid of Statement[%d]; Sids must be unique", quote(st.Sid), j)
			}
			sids[st.Sid] = i
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

func parseStatement(i int, raw json.RawMessage) (Statement, error) {
	var st Statement
	m, err := object(raw)
	if err != nil {
		return st, stmtErr(i, "", "must be a JSON object (%s)", jsonProblem(err))
	}
	for _, unsupported := range []string{"Condition", "Principal", "NotPrincipal"} {
		if _, ok := m[unsupported]; ok {
			why := "is not supported by Attune: scope the statement with Action and Resource instead"
			if unsupported != "Condition" {
				why = "is not allowed in an identity-based policy (the key it is attached to is the principal)"
			}
			return st, stmtErr(i, unsupported, "%s", why)
		}
	}
	if err := onlyMembers(m, "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource"); err != nil {
		return st, stmtErr(i, err.member, "%s", err.msg)
	}
	if raw, ok := m["Sid"]; ok {
		if err := json.Unmarshal(raw, &st.Sid); err != nil {
			return st, stmtErr(i, "Sid", "must be a string")
		}
		for _, r := range st.Sid {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return st, stmtErr(i, "Sid", "%s may contain only letters and digits", quote(st.Sid))
			}
		}
	}
	var effect string
	if raw, ok := m["Effect"]; !ok {
		return st, stmtErr(i, "Effect", `is required: "Allow" or "Deny"`)
	} else if err := json.Unmarshal(raw, &effect); err != nil {
		return st, stmtErr(i, "Effect", `must be the string "Allow" or "Deny"`)
	}
	switch effect {
	case "Allow":
		st.Effect = Allow
	case "Deny":
		st.Effect = Deny
	default:
		return st, stmtErr(i, "Effect", `%s is neither "Allow" nor "Deny"`, quote(effect))
	}
	var member string
	st.Actions, st.NotAction, member, err = exactlyOne(i, m, "Action", "NotAction")
	if err != nil {
		return st, err
	}
	for k, a := range st.Actions {
		if err := checkAction(a); err != "" {
			return st, stmtErr(i, fmt.Sprintf("%s[%d]", member, k), "%s %s", quote(a), err)
		}
		st.Actions[k] = strings.ToLower(a)
	}
	st.Resources, st.NotResource, member, err = exactlyOne(i, m, "Resource", "NotResource")
	if err != nil {
		return st, err
	}
	for k, r := range st.Resources {
		if err := checkResource(r); err != "" {
			return st, stmtErr(i, fmt.Sprintf("%s[%d]", member, k), "%s %s", quote(r), err)
		}
	}
	return st, nil
}

// exactlyOne reads whichever of the member pair is present as a string list,
// reporting whether it was the Not form and its name.
func exactlyOne(i int, m map[string]json.RawMessage, name, notName string) ([]string, bool, string, error) {
	raw, has := m[name]
	notRaw, hasNot := m[notName]
	switch {
	case has && hasNot:
		return nil, false, "", stmtErr(i, name, "give %s or %s, not both", name, notName)
	case !has && !hasNot:
		return nil, false, "", stmtErr(i, name, "is required (or %s)", notName)
	case hasNot:
		list, err := stringList(i, notName, notRaw)
		return list, true, notName, err
	}
	list, err := stringList(i, name, raw)
	return list, false, name, err
}

// stringList reads a string or a non-empty array of strings.
func stringList(i int, member string, raw json.RawMessage) ([]string, error) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, stmtErr(i, member, "must be a string or an array of strings")
	}
	if len(list) == 0 {
		return nil, stmtErr(i, member, "must not be an empty array")
	}
	return list, nil
}

// checkAction returns why action is not acceptable, or "".
func checkAction(action string) string {
	if action == "*" {
		return ""
	}
	svc, name, ok := strings.Cut(action, ":")
	switch {
	case !ok:
		return `is not an action: write "personalize:<Operation>" or "*"`
	case !strings.EqualFold(svc, Service):
		return "names another service than personalize; Attune only serves personalize actions"
	case name == "":
		return "names no operation"
	case strings.ContainsAny(name, "*?"):
		if !matchesSomeAction(strings.ToLower(name)) {
			return "matches no Personalize operation"
		}
	case !IsAction(name):
		return "is not a Personalize operation"
	}
	return ""
}

// checkResource returns why resource is not acceptable, or "".
func checkResource(r string) string {
	switch {
	case r == "*":
		return ""
	case len(r) > 2048:
		return "is longer than 2048 characters"
	case strings.Contains(r, "${"):
		return "uses a policy variable; Attune does not support policy variables"
	case !strings.HasPrefix(r, "arn:"):
		return `is not an ARN: write "arn:aws:personalize:<region>:<account>:<type>/<name>" or "*"`
	case strings.Count(r, ":") < 5:
		return "is not an ARN: it needs partition, service, region, account and resource parts"
	}
	return ""
}

type memberErr struct{ member, msg string }

// onlyMembers reports the first member of m (in sorted order) not in allowed.
func onlyMembers(m map[string]json.RawMessage, allowed ...string) *memberErr {
	var unknown []string
	for k := range m {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return &memberErr{member: "", msg: fmt.Sprintf("unknown member %s (allowed: %s)", quote(unknown[0]), strings.Join(allowed, ", "))}
}

// object decodes raw as a JSON object, rejecting duplicate member names,
// which IAM refuses and encoding/json would silently resolve to the last.
func object(raw []byte) (map[string]json.RawMessage, error) {
	if firstByte(raw) != '{' {
		return nil, fmt.Errorf("not an object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	m := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("member %s appears twice", quote(key))
		}
		m[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, fmt.Errorf("data after the end of the object")
	}
	return m, nil
}

func firstByte(raw []byte) byte {
	t := bytes.TrimLeft(raw, " \t\r\n")
	if len(t) == 0 {
		return 0
	}
	return t[0]
}

// jsonProblem describes a decoding error without quoting the document.
func jsonProblem(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Sprintf("invalid JSON at byte offset %d", e.Offset)
	case *json.UnmarshalTypeError:
		return fmt.Sprintf("unexpected JSON %s at byte offset %d", e.Value, e.Offset)
	}
	msg := err.Error()
	if strings.Contains(msg, "appears twice") || strings.Contains(msg, "after the end") {
		return msg
	}
	return "invalid JSON"
}
