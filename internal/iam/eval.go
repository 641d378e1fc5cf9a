package iam

import "strings"

// Decision is the outcome of evaluating a request against a policy.
type Decision int

// The decisions, as IAM names them.
const (
	// ImplicitDeny: no statement allows the request.
	ImplicitDeny Decision = iota
	// Allowed: a statement allows it and none denies it.
	Allowed
	// ExplicitDeny: a Deny statement matches; it wins over any Allow.
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case Allowed:
		return "Allowed"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "ImplicitDeny"
}

// Evaluate decides whether the policy allows action (e.g.
// "personalize:GetRecommendations", any case) on resource (an ARN, or "*"
// for actions that act on no particular resource, as AWS's List* do). A nil
// policy allows nothing.
func (p *Policy) Evaluate(action, resource string) Decision {
	if p == nil {
		return ImplicitDeny
	}
	action = strings.ToLower(action)
	d := ImplicitDeny
	for i := range p.Statements {
		st := &p.Statements[i]
		if !st.applies(action, resource) {
			continue
		}
		if st.Effect == Deny {
			return ExplicitDeny
		}
		d = Allowed
	}
	return d
}

// applies reports whether the statement covers action on resource; action is
// lower-cased.
func (st *Statement) applies(action, resource string) bool {
	if anyMatch(st.Actions, action) == st.NotAction {
		return false
	}
	return anyMatch(st.Resources, resource) != st.NotResource
}

func anyMatch(patterns []string, s string) bool {
	for _, p := range patterns {
		if match(p, s) {
			return true
		}
	}
	return false
}
