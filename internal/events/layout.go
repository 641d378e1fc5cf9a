package events

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/schema"
)

// Columns the events API stores in interactions chunks besides the schema's
// fields: the event's id (exports show it, and Personalize ignores later
// events with the same id for training) and its session (so that an
// anonymous session's events can be joined to the user it turns out to be).
const (
	EventIDColumn   = "EVENT_ID"
	SessionIDColumn = "SESSION_ID"
)

// layout is how the rows of one dataset are stored: the schema's fields
// (plus EVENT_ID and SESSION_ID for interactions), with the positions the
// API members map to. A layout is immutable once built.
type layout struct {
	datasetARN, groupARN, schemaARN string
	typ                             schema.DatasetType
	fields                          []schema.Field

	// Positions in fields of the columns set from request members; -1 when
	// the schema has no such column.
	id                                                 int // USER_ID (interactions, users) or ITEM_ID (items)
	item, ts, eventType, eventValue, impression, recID int
	attribution, eventID, session                      int
	props                                              map[string]int // camelCase property key -> position
	folded                                             map[string]int // lower-cased key -> position
	required                                           []int          // non-nullable columns only properties can set
	keys                                               string         // allowed property keys, for messages
}

// cachedLayout is a layout with the time (unix nanos) after which the
// dataset is read again.
type cachedLayout struct {
	*layout
	status  string // the dataset's status when read
	expires int64
}

// memberColumns are the interactions columns set only from PutEvents
// members, which properties may not set: Personalize refuses the keys
// userId, sessionId, eventType, timestamp, recommendationId and impression
// in properties. ITEM_ID, EVENT_VALUE and EVENT_ATTRIBUTION_SOURCE have a
// member too, but properties may carry them instead (AWS's own examples
// send {"itemId": ..., "eventValue": ...} in properties).
var memberColumns = map[string]bool{"USER_ID": true, "TIMESTAMP": true, "EVENT_TYPE": true,
	"IMPRESSION": true, "RECOMMENDATION_ID": true, EventIDColumn: true, SessionIDColumn: true}

// eitherColumns are the interactions columns a member or a property key may
// set; the schema's requirement is checked once both have been read.
var eitherColumns = map[string]bool{"ITEM_ID": true, "EVENT_VALUE": true, "EVENT_ATTRIBUTION_SOURCE": true}

func newLayout(d *datasetView, sc *schema.Schema) *layout {
	l := &layout{datasetARN: d.ARN, groupARN: d.GroupARN, schemaARN: d.SchemaARN, typ: schema.DatasetType(d.Type),
		props: map[string]int{}, folded: map[string]int{}}
	l.fields = append([]schema.Field(nil), sc.Fields...)
	pos := func(name string) int {
		for i, f := range l.fields {
			if f.Name == name {
				return i
			}
		}
		return -1
	}
	isMember := func(name string) bool { return name == l.typ.IDField() }
	if l.typ == schema.Interactions {
		for _, c := range []string{EventIDColumn, SessionIDColumn} {
			if pos(c) < 0 {
				l.fields = append(l.fields, schema.Field{Name: c, Type: schema.String, Nullable: c == SessionIDColumn})
			}
		}
		l.id = pos("USER_ID")
		// Anonymous events have no user: the stored chunk says so honestly.
		l.fields[l.id].Nullable = true
		l.item, l.ts, l.eventType, l.eventValue = pos("ITEM_ID"), pos("TIMESTAMP"), pos("EVENT_TYPE"), pos("EVENT_VALUE")
		l.impression, l.recID, l.attribution = pos("IMPRESSION"), pos("RECOMMENDATION_ID"), pos("EVENT_ATTRIBUTION_SOURCE")
		l.eventID, l.session = pos(EventIDColumn), pos(SessionIDColumn)
		isMember = func(name string) bool { return memberColumns[name] }
	} else {
		l.id = pos(l.typ.IDField())
	}
	var keys []string
	for i, f := range l.fields {
		if isMember(f.Name) {
			continue
		}
		k := camel(f.Name)
		l.props[k] = i
		l.folded[strings.ToLower(k)] = i
		keys = append(keys, k)
		if !f.Nullable && !(l.typ == schema.Interactions && eitherColumns[f.Name]) {
			l.required = append(l.required, i)
		}
	}
	sort.Strings(keys)
	l.keys = strings.Join(keys, ", ")
	if l.keys == "" {
		l.keys = "none"
	}
	return l
}

// camel turns a column name into its properties key: NUMBER_OF_RATINGS ->
// numberOfRatings, CATEGORY_L1 -> categoryL1.
func camel(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(strings.ToLower(name), "_") {
		if part == "" {
			continue
		}
		if b.Len() == 0 {
			b.WriteString(part)
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]))
		b.WriteString(part[1:])
	}
	return b.String()
}

// layoutOf returns the layout of a dataset and the dataset's status, from
// the cache while it is fresh.
func (s *Service) layoutOf(ctx context.Context, datasetARN string) (*layout, string, error) {
	now := s.now().UnixNano()
	s.mu.Lock()
	c := s.layouts[datasetARN]
	s.mu.Unlock()
	if c.layout != nil && now < c.expires {
		return c.layout, c.status, nil
	}
	d, err := s.dataset(ctx, datasetARN)
	if err != nil {
		return nil, "", err
	}
	l := c.layout
	if l == nil || l.schemaARN != d.SchemaARN {
		sc, err := schemaViews.Get(ctx, s.st, d.SchemaARN)
		if err != nil {
			return nil, "", errs.Wrap(errs.KindOf(err), err, "dataset %s: schema %s: %s", d.ARN, d.SchemaARN, errs.Message(err))
		}
		parsed, err := schema.Parse(sc.Text)
		if err != nil {
			return nil, "", fmt.Errorf("dataset %s: stored schema %s does not parse: %w", d.ARN, d.SchemaARN, err)
		}
		l = newLayout(d, parsed)
	}
	s.mu.Lock()
	s.layouts[datasetARN] = cachedLayout{layout: l, status: d.Status, expires: now + s.opts.SchemaTTL.Nanoseconds()}
	s.mu.Unlock()
	return l, d.Status, nil
}

// interactionsOf returns the layout and status of a group's Interactions dataset.
func (s *Service) interactionsOf(ctx context.Context, groupARN string) (*layout, string, error) {
	p, err := arn.Parse("datasetGroupArn", groupARN)
	if err != nil {
		return nil, "", err
	}
	dsARN := arn.Scope{Region: p.Region, Account: p.Account}.Build(arn.Dataset, p.Parts[0], string(schema.Interactions))
	l, status, err := s.layoutOf(ctx, dsARN)
	if err != nil {
		if errs.KindOf(err) == errs.NotFound {
			return nil, "", errs.Wrap(errs.Invalid, err, "Dataset group %s has no Interactions dataset: create one before sending events", groupARN)
		}
		return nil, "", err
	}
	return l, status, nil
}
