package api

import (
	"strconv"
	"time"

	"github.com/attune-dev/attune/internal/errs"
)

// epoch is a timestamp on the wire: a JSON number of epoch seconds with a
// fraction, which every AWS client parses (Go v2 rejects strings).
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	return strconv.AppendFloat(nil, float64(t.UnixMicro())/1e6, 'f', 3, 64), nil
}

func ts(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

// tag is Personalize's Tag shape.
type tag struct {
	TagKey   string `json:"tagKey"`
	TagValue string `json:"tagValue"`
}

func tagsIn(in []tag) (map[string]string, error) {
	if len(in) > 200 {
		return nil, errs.E(errs.Invalid, "tags: at most 200 tags are allowed, got %d", len(in))
	}
	if len(in) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(in))
	for i, t := range in {
		if t.TagKey == "" || len(t.TagKey) > 128 {
			return nil, errs.E(errs.Invalid, "tags[%d].tagKey must be 1 to 128 characters", i)
		}
		if len(t.TagValue) > 256 {
			return nil, errs.E(errs.Invalid, "tags[%d].tagValue must be at most 256 characters", i)
		}
		m[t.TagKey] = t.TagValue
	}
	return m, nil
}

// page is the pagination input every List operation shares.
type page struct {
	NextToken  string `json:"nextToken"`
	MaxResults *int   `json:"maxResults"`
}

func (p page) limit() (int, error) {
	if p.MaxResults == nil {
		return 100, nil
	}
	if *p.MaxResults < 1 || *p.MaxResults > 100 {
		return 0, errs.E(errs.Invalid, "maxResults must be between 1 and 100, got %d", *p.MaxResults)
	}
	if len(p.NextToken) > 1500 {
		return 0, errs.E(errs.InvalidNextToken, "nextToken is longer than 1500 characters")
	}
	return *p.MaxResults, nil
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// listOut is a List response: the items under key, and nextToken only when
// there is a next page (the CLI stops paginating when it is absent).
func listOut(key string, items any, next string) map[string]any {
	out := map[string]any{key: items}
	if next != "" {
		out["nextToken"] = next
	}
	return out
}

func errInvalid(msg string) error { return errs.E(errs.Invalid, "%s", msg) }
