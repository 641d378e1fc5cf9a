package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/schema"
)

// maxProblems is how many field problems one error message lists.
const maxProblems = 10

// problems collects the field problems of one request so that the client
// sees all of them (up to maxProblems) in one InvalidInputException.
type problems struct {
	msgs []string
	more int
}

func (p *problems) add(format string, args ...any) {
	if len(p.msgs) == maxProblems {
		p.more++
		return
	}
	p.msgs = append(p.msgs, fmt.Sprintf(format, args...))
}

func (p *problems) err() error {
	if len(p.msgs) == 0 {
		return nil
	}
	msg := strings.Join(p.msgs, "; ")
	if p.more > 0 {
		msg += fmt.Sprintf("; and %d more problems", p.more)
	}
	return errs.E(errs.Invalid, "%s", msg)
}

// checkLen adds a problem when s is not 1..max characters (or, when
// optional, is not empty either).
func checkLen(p *problems, member, s string, max int, optional bool) {
	if s == "" {
		if !optional {
			p.add("%s is required", member)
		}
		return
	}
	if len(s) > max { // bytes bound characters from above: count only when needed
		if n := utf8.RuneCountInString(s); n > max {
			p.add("%s is %d characters long; the limit is %d", member, n, max)
		}
	}
}

// typeWord names a dataset type as messages and the documentation do.
func typeWord(t schema.DatasetType) string {
	switch t {
	case schema.Interactions:
		return "Interactions"
	case schema.Items:
		return "Items"
	case schema.Users:
		return "Users"
	}
	return string(t)
}

// reservedKeys may not appear in PutEvents properties (case-insensitively):
// each has a member of its own.
var reservedKeys = map[string]string{"userid": "userId", "sessionid": "sessionId", "eventtype": "eventType",
	"timestamp": "sentAt", "recommendationid": "recommendationId", "impression": "impression"}

// newRow returns a row of l's width with every value null.
func (l *layout) newRow() []schema.Value {
	row := make([]schema.Value, len(l.fields))
	for i := range row {
		row[i].Null = true
	}
	return row
}

// set parses cell into position i of row, reporting a problem at path.
func (l *layout) set(row []schema.Value, i int, cell, path string, p *problems) {
	v, err := l.fields[i].ParseValue(cell)
	if err != nil {
		p.add("%s: %s", path, errs.Message(err))
		return
	}
	row[i] = v
}

// applyProperties parses a properties JSON object into row. Keys are the
// camelCase names of the columns properties may set; values are JSON
// strings, numbers or booleans parsed with the column's CSV rules, null for
// a nullable column, or an array of strings for a categorical column
// (joined with '|'). Every non-nullable such column must be given.
// It returns which columns properties gave.
func (l *layout) applyProperties(row []schema.Value, raw *string, limit int, path string, p *problems) []bool {
	given := make([]bool, len(l.fields))
	if raw != nil {
		l.parseProperties(row, given, *raw, limit, path, p)
	}
	for _, i := range l.required {
		if !given[i] {
			p.add("%s.properties.%s is required by the %s schema (column %s)", path, camel(l.fields[i].Name), typeWord(l.typ), l.fields[i].Name)
		}
	}
	return given
}

// setMember parses a PutEvents member into position i of row. When
// properties gave the same column (given[i]) the two must agree: a client
// that sends itemId both ways with different values has a bug worth
// reporting rather than a silent choice.
func (l *layout) setMember(row []schema.Value, given []bool, i int, cell, event, member string, p *problems) {
	path := event + "." + member
	v, err := l.fields[i].ParseValue(cell)
	if err != nil {
		p.add("%s: %s", path, errs.Message(err))
		return
	}
	if given[i] && row[i] != v {
		p.add("%s and %s.properties.%s give different values; send one of them", path, event, camel(l.fields[i].Name))
		return
	}
	row[i] = v
}

func (l *layout) parseProperties(row []schema.Value, given []bool, raw string, limit int, path string, p *problems) {
	if raw == "" {
		p.add("%s.properties must be a JSON object, got an empty string", path)
		return
	}
	if n := utf8.RuneCountInString(raw); n > limit {
		p.add("%s.properties is %d characters long; the limit is %d", path, n, limit)
		return
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			p.add("%s.properties must be a JSON object, got JSON %s", path, te.Value)
		} else {
			p.add("%s.properties is not valid JSON: %v", path, err)
		}
		return
	}
	if dec.More() {
		p.add("%s.properties has data after its JSON object", path)
		return
	}
	if m == nil {
		p.add("%s.properties must be a JSON object, got null", path)
		return
	}
	for k, v := range m {
		kp := path + ".properties." + k
		if l.typ == schema.Interactions {
			if member, ok := reservedKeys[strings.ToLower(k)]; ok {
				p.add("%s: %q may not be set in properties; use the %s member", path+".properties", k, member)
				continue
			}
		}
		i, ok := l.props[k]
		if !ok {
			i, ok = l.folded[strings.ToLower(k)]
		}
		if !ok {
			p.add("%s.properties: unknown property %q: the %s schema has no matching column (allowed keys: %s)", path, k, typeWord(l.typ), l.keys)
			continue
		}
		given[i] = true
		f := l.fields[i]
		switch v := v.(type) {
		case nil:
			if !f.Nullable {
				p.add("%s is null but column %s is required", kp, f.Name)
			}
		case string:
			l.set(row, i, v, kp, p)
		case json.Number:
			l.set(row, i, string(v), kp, p)
		case bool:
			l.set(row, i, strconv.FormatBool(v), kp, p)
		case []any:
			if f.Type != schema.String || !f.Categorical {
				p.add("%s: an array is only allowed for a categorical string column; %s is not", kp, f.Name)
				continue
			}
			parts := make([]string, len(v))
			ok := true
			for j, e := range v {
				s, isStr := e.(string)
				if !isStr {
					ok = false
					break
				}
				parts[j] = s
			}
			if !ok {
				p.add("%s: array values must be strings", kp)
				continue
			}
			l.set(row, i, strings.Join(parts, "|"), kp, p)
		default:
			p.add("%s must be a string, number, boolean or null, not an object", kp)
		}
	}
}

// Event is one event of a PutEvents call as the API decoded it.
type Event struct {
	EventID, EventType, ItemID, RecommendationID string
	// SentAt is when the event happened, in epoch seconds (a fraction is
	// dropped); nil when the member was absent.
	SentAt     *float64
	EventValue *float64
	Impression []string
	// Properties is the JSON object text of the other columns; nil when absent.
	Properties *string
	// AttributionSource is metricAttribution.eventAttributionSource; nil
	// when metricAttribution was absent.
	AttributionSource *string
}

// eventRow validates event i against the interactions layout and returns its
// row, with the event ID it was stored under. user is "" for an anonymous event.
func (l *layout) eventRow(i int, ev *Event, user, session string, newID func() string, p *problems) ([]schema.Value, string) {
	path := fmt.Sprintf("eventList[%d]", i)
	row := l.newRow()
	before := len(p.msgs) + p.more
	// Properties first: they may carry itemId, eventValue and
	// eventAttributionSource, which the members below must then agree with.
	given := l.applyProperties(row, ev.Properties, 1024, path, p)
	if user != "" && l.id >= 0 {
		row[l.id] = schema.Value{Str: user}
	}
	checkLen(p, path+".eventType", ev.EventType, 256, false)
	if ev.EventType != "" && l.eventType >= 0 {
		l.set(row, l.eventType, ev.EventType, path+".eventType", p)
	}
	switch {
	case ev.ItemID != "":
		checkLen(p, path+".itemId", ev.ItemID, 256, true)
		if l.item >= 0 {
			l.setMember(row, given, l.item, ev.ItemID, path, "itemId", p)
		}
	case l.item >= 0 && !given[l.item] && !l.fields[l.item].Nullable:
		p.add("%s.itemId is required by the Interactions schema (as the itemId member or the itemId property)", path)
	}
	switch v := ev.SentAt; {
	case v == nil:
		p.add("%s.sentAt is required", path)
	case math.IsNaN(*v) || math.IsInf(*v, 0) || *v < 0 || *v >= math.MaxInt64:
		p.add("%s.sentAt must be a time in epoch seconds, got %v", path, *v)
	case l.ts >= 0:
		l.set(row, l.ts, strconv.FormatInt(int64(math.Floor(*v)), 10), path+".sentAt", p)
	}
	if v := ev.EventValue; v != nil {
		switch {
		case math.IsNaN(*v) || math.IsInf(*v, 0):
			p.add("%s.eventValue must be a finite number", path)
		case l.eventValue >= 0:
			l.setMember(row, given, l.eventValue, strconv.FormatFloat(*v, 'g', -1, 64), path, "eventValue", p)
		}
	} else if l.eventValue >= 0 && !given[l.eventValue] && !l.fields[l.eventValue].Nullable {
		p.add("%s.eventValue is required by the Interactions schema (as the eventValue member or the eventValue property)", path)
	}
	if len(ev.Impression) > 0 {
		if len(ev.Impression) > 25 {
			p.add("%s.impression has %d item ids; at most 25 are allowed", path, len(ev.Impression))
		}
		for j, id := range ev.Impression {
			checkLen(p, fmt.Sprintf("%s.impression[%d]", path, j), id, 256, false)
		}
		if l.impression >= 0 {
			l.set(row, l.impression, strings.Join(ev.Impression, "|"), path+".impression", p)
		}
	} else if ev.Impression != nil {
		p.add("%s.impression must list 1 to 25 item ids, got none", path)
	}
	checkLen(p, path+".recommendationId", ev.RecommendationID, 40, true)
	if ev.RecommendationID != "" && l.recID >= 0 {
		l.set(row, l.recID, ev.RecommendationID, path+".recommendationId", p)
	}
	if a := ev.AttributionSource; a != nil {
		checkLen(p, path+".metricAttribution.eventAttributionSource", *a, 1024, false)
		if *a != "" && l.attribution >= 0 {
			l.setMember(row, given, l.attribution, *a, path, "metricAttribution.eventAttributionSource", p)
		}
	} else if l.attribution >= 0 && !given[l.attribution] && !l.fields[l.attribution].Nullable {
		p.add("%s.metricAttribution.eventAttributionSource is required by the Interactions schema", path)
	}
	id := ev.EventID
	if id == "" {
		id = newID()
	} else {
		checkLen(p, path+".eventId", id, 256, true)
	}
	row[l.eventID] = schema.Value{Str: id}
	row[l.session] = schema.Value{Str: session}
	if len(p.msgs)+p.more > before {
		return nil, ""
	}
	return row, id
}

// Entity is one user or item of a PutUsers or PutItems call.
type Entity struct {
	ID string
	// Properties is the JSON object text of the other columns; nil when absent.
	Properties *string
}

// entityRow validates entity i against a users or items layout.
func (l *layout) entityRow(list, idMember string, i int, e *Entity, limit int, p *problems) []schema.Value {
	path := fmt.Sprintf("%s[%d]", list, i)
	row := l.newRow()
	before := len(p.msgs) + p.more
	checkLen(p, path+"."+idMember, e.ID, 256, false)
	if e.ID != "" && l.id >= 0 {
		l.set(row, l.id, e.ID, path+"."+idMember, p)
	}
	l.applyProperties(row, e.Properties, limit, path, p)
	if len(p.msgs)+p.more > before {
		return nil
	}
	return row
}
