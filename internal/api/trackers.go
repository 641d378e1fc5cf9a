package api

import (
	"context"

	"github.com/attune-dev/attune/internal/events"
)

// eventsService is what the event tracker and events operations need.
type eventsService interface {
	CreateTracker(ctx context.Context, name, groupARN string, tags map[string]string) (*events.Tracker, error)
	Tracker(ctx context.Context, trackerARN string) (*events.Tracker, error)
	Trackers(ctx context.Context, groupARN, token string, limit int) ([]*events.Tracker, string, error)
	DeleteTracker(ctx context.Context, trackerARN string) error
	PutEvents(ctx context.Context, in events.PutEventsInput) error
	PutItems(ctx context.Context, datasetARN string, items []events.Entity) error
	PutUsers(ctx context.Context, datasetARN string, users []events.Entity) error
}

// eventTrackerOut is Personalize's EventTracker shape; summaries leave out
// accountId, trackingId and datasetGroupArn.
type eventTrackerOut struct {
	Name                string `json:"name"`
	EventTrackerArn     string `json:"eventTrackerArn"`
	AccountID           string `json:"accountId,omitempty"`
	TrackingID          string `json:"trackingId,omitempty"`
	DatasetGroupArn     string `json:"datasetGroupArn,omitempty"`
	Status              string `json:"status"`
	CreationDateTime    *epoch `json:"creationDateTime,omitempty"`
	LastUpdatedDateTime *epoch `json:"lastUpdatedDateTime,omitempty"`
}

func trackerWire(t *events.Tracker, full bool) eventTrackerOut {
	o := eventTrackerOut{Name: t.Name, EventTrackerArn: t.ARN, Status: t.Status, CreationDateTime: ts(t.Created),
		LastUpdatedDateTime: ts(t.Updated)}
	if full {
		o.AccountID, o.TrackingID, o.DatasetGroupArn = t.AccountID, t.TrackingID, t.GroupARN
	}
	return o
}

func registerTrackers(ops map[string]operation, svc eventsService) {
	type createIn struct {
		Name            string `json:"name"`
		DatasetGroupArn string `json:"datasetGroupArn"`
		Tags            []tag  `json:"tags"`
	}
	ops["CreateEventTracker"] = handle(func(ctx context.Context, in *createIn) (any, error) {
		tags, err := tagsIn(in.Tags)
		if err != nil {
			return nil, err
		}
		t, err := svc.CreateTracker(ctx, in.Name, in.DatasetGroupArn, tags)
		if err != nil {
			return nil, err
		}
		return map[string]any{"eventTrackerArn": t.ARN, "trackingId": t.TrackingID}, nil
	})
	type trackerIn struct {
		EventTrackerArn string `json:"eventTrackerArn"`
	}
	ops["DescribeEventTracker"] = handle(func(ctx context.Context, in *trackerIn) (any, error) {
		t, err := svc.Tracker(ctx, in.EventTrackerArn)
		if err != nil {
			return nil, err
		}
		return map[string]any{"eventTracker": trackerWire(t, true)}, nil
	})
	type listIn struct {
		page
		DatasetGroupArn string `json:"datasetGroupArn"`
	}
	ops["ListEventTrackers"] = handle(func(ctx context.Context, in *listIn) (any, error) {
		limit, err := in.limit()
		if err != nil {
			return nil, err
		}
		trs, next, err := svc.Trackers(ctx, in.DatasetGroupArn, in.NextToken, limit)
		if err != nil {
			return nil, err
		}
		out := make([]eventTrackerOut, len(trs))
		for i, t := range trs {
			out[i] = trackerWire(t, false)
		}
		return listOut("eventTrackers", out, next), nil
	})
	ops["DeleteEventTracker"] = handle(func(ctx context.Context, in *trackerIn) (any, error) {
		return nil, svc.DeleteTracker(ctx, in.EventTrackerArn)
	})
}
