package api

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/events"
)

// Wire shapes of the events API (personalize-api.md Appendix B).

type eventIn struct {
	EventID           string         `json:"eventId"`
	EventType         string         `json:"eventType"`
	EventValue        *float64       `json:"eventValue"`
	ItemID            string         `json:"itemId"`
	Properties        jsonValue      `json:"properties"`
	SentAt            *float64       `json:"sentAt"`
	RecommendationID  string         `json:"recommendationId"`
	Impression        []string       `json:"impression"`
	MetricAttribution *attributionIn `json:"metricAttribution"`
}

type attributionIn struct {
	EventAttributionSource string `json:"eventAttributionSource"`
}

type entityIn struct {
	UserID     string    `json:"userId"`
	ItemID     string    `json:"itemId"`
	Properties jsonValue `json:"properties"`
}

// jsonValue is a member with Smithy's jsonvalue trait: on the wire a
// JSON-encoded string holding an object. Clients that send the object
// itself are accepted too, as its text.
type jsonValue struct {
	text *string
}

func (v *jsonValue) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v.text = &s
	default:
		s := string(b)
		v.text = &s
	}
	return nil
}

// decodeList decodes the elements of a list member one by one, so that a
// type error names the element: eventList[3].sentAt.
func decodeList[T any](list string, raw []json.RawMessage) ([]T, error) {
	out := make([]T, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return nil, errs.E(errs.Invalid, "%s[%d].%s: expected %s, got JSON %s", list, i, te.Field, wireType(te.Type.String()), te.Value)
			}
			return nil, errs.Wrap(errs.Invalid, err, "%s[%d] is not valid JSON", list, i)
		}
	}
	return out, nil
}

// wireType names a Go type as the member's wire type for messages.
func wireType(goType string) string {
	switch goType {
	case "float64", "*float64":
		return "a number (epoch seconds for sentAt)"
	case "string":
		return "a string"
	case "[]string":
		return "a list of strings"
	}
	return goType
}

func registerEvents(s *Server, svc eventsService) {
	type putEventsIn struct {
		TrackingID string            `json:"trackingId"`
		UserID     string            `json:"userId"`
		SessionID  string            `json:"sessionId"`
		EventList  []json.RawMessage `json:"eventList"`
	}
	s.Handle("POST /events", eventsAPI, handle(func(ctx context.Context, in *putEventsIn) (any, error) {
		evs, err := decodeList[eventIn]("eventList", in.EventList)
		if err != nil {
			return nil, err
		}
		out := events.PutEventsInput{TrackingID: in.TrackingID, SessionID: in.SessionID, UserID: in.UserID,
			Events: make([]events.Event, len(evs))}
		for i, e := range evs {
			ev := events.Event{EventID: e.EventID, EventType: e.EventType, ItemID: e.ItemID, RecommendationID: e.RecommendationID,
				SentAt: e.SentAt, EventValue: e.EventValue, Impression: e.Impression, Properties: e.Properties.text}
			if e.MetricAttribution != nil {
				src := e.MetricAttribution.EventAttributionSource
				ev.AttributionSource = &src
			}
			out.Events[i] = ev
		}
		return nil, svc.PutEvents(ctx, out)
	}))
	type putEntitiesIn struct {
		DatasetArn string            `json:"datasetArn"`
		Items      []json.RawMessage `json:"items"`
		Users      []json.RawMessage `json:"users"`
	}
	entities := func(list string, raw []json.RawMessage, id func(entityIn) string) ([]events.Entity, error) {
		es, err := decodeList[entityIn](list, raw)
		if err != nil {
			return nil, err
		}
		out := make([]events.Entity, len(es))
		for i, e := range es {
			out[i] = events.Entity{ID: id(e), Properties: e.Properties.text}
		}
		return out, nil
	}
	s.Handle("POST /items", eventsAPI, handle(func(ctx context.Context, in *putEntitiesIn) (any, error) {
		es, err := entities("items", in.Items, func(e entityIn) string { return e.ItemID })
		if err != nil {
			return nil, err
		}
		return nil, svc.PutItems(ctx, in.DatasetArn, es)
	}))
	s.Handle("POST /users", eventsAPI, handle(func(ctx context.Context, in *putEntitiesIn) (any, error) {
		es, err := entities("users", in.Users, func(e entityIn) string { return e.UserID })
		if err != nil {
			return nil, err
		}
		return nil, svc.PutUsers(ctx, in.DatasetArn, es)
	}))
}
