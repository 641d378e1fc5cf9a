package batch

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/attune-dev/attune/internal/errs"
)

// segmentInput is one batch segment input line: an item, or an item
// attribute query.
type segmentInput struct {
	ItemID         *string `json:"itemId"`
	ItemAttributes *string `json:"itemAttributes"`
}

// ParseAttributes reads an itemAttributes query: conditions of the form
// ITEMS.FIELD = "value" joined with AND (Personalize allows no other
// operator here). Errors name the position of the problem.
func ParseAttributes(q string) ([]Attribute, error) {
	var out []Attribute
	rest := strings.TrimSpace(q)
	if rest == "" {
		return nil, errs.E(errs.Invalid, "itemAttributes is empty")
	}
	for i := 0; ; i++ {
		field, after, ok := strings.Cut(rest, "=")
		if !ok {
			return nil, errs.E(errs.Invalid, "itemAttributes condition %d: expected ITEMS.FIELD = \"value\"", i+1)
		}
		field = strings.TrimSpace(field)
		name, ok := cutPrefixFold(field, "ITEMS.")
		if !ok || name == "" || strings.ContainsAny(name, " \t\"") {
			return nil, errs.E(errs.Invalid, "itemAttributes condition %d: %s is not ITEMS.FIELD", i+1, errs.Quote(field))
		}
		after = strings.TrimSpace(after)
		if !strings.HasPrefix(after, `"`) {
			return nil, errs.E(errs.Invalid, "itemAttributes condition %d: the value of %s must be a double-quoted string", i+1, field)
		}
		end := strings.Index(after[1:], `"`)
		if end < 0 {
			return nil, errs.E(errs.Invalid, "itemAttributes condition %d: unterminated string", i+1)
		}
		out = append(out, Attribute{Field: name, Value: after[1 : 1+end]})
		rest = strings.TrimSpace(after[2+end:])
		if rest == "" {
			return out, nil
		}
		next, ok := cutPrefixFold(rest, "AND ")
		if !ok {
			return nil, errs.E(errs.Invalid, "itemAttributes: expected AND after condition %d, found %s (only AND and = are allowed)", i+1, errs.Quote(rest))
		}
		rest = strings.TrimSpace(next)
	}
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// segmentLine answers one batch segment input line.
func (s *Service) segmentLine(ctx context.Context, j *Job, key, raw string) outputLine {
	out := outputLine{Input: json.RawMessage(raw)}
	fail := func(format string, args ...any) outputLine { return errorLine(raw, format, args...) }
	var in segmentInput
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		return fail("User error: input line is not a JSON object: %v", err)
	}
	q := SegmentQuery{NumResults: j.NumResults}
	switch {
	case in.ItemID != nil && in.ItemAttributes != nil:
		return fail("User error: give either itemId or itemAttributes, not both")
	case in.ItemID != nil:
		q.ItemID = *in.ItemID
	case in.ItemAttributes != nil:
		attrs, err := ParseAttributes(*in.ItemAttributes)
		if err != nil {
			return fail("User error: %s", errs.Message(err))
		}
		q.Attributes = attrs
	default:
		return fail("User error: Required fields for the provided recipe are itemId or itemAttributes")
	}
	if q.NumResults == 0 {
		q.NumResults = 25
	}
	users, err := s.scorer.Segment(ctx, key, q)
	if err != nil {
		return fail("User error: %s", errs.Message(err))
	}
	if users == nil {
		users = []string{}
	}
	out.Output = &outputItems{RecommendedUsers: users}
	return out
}
