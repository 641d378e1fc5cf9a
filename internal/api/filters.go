package api

import (
	"context"

	"github.com/attune-dev/attune/internal/campaign"
)

// filterService is what the filter operations need (campaign.Filters).
type filterService interface {
	Create(ctx context.Context, in campaign.CreateFilterInput) (*campaign.Filter, error)
	Get(ctx context.Context, filterARN string) (*campaign.Filter, error)
	List(ctx context.Context, groupARN, token string, limit int) ([]*campaign.Filter, string, error)
	Delete(ctx context.Context, filterARN string) error
}

// filterSummary is FilterSummary; filterOut adds the expression (Filter).
type filterSummary struct {
	Name                string  `json:"name"`
	FilterArn           string  `json:"filterArn"`
	DatasetGroupArn     string  `json:"datasetGroupArn"`
	Status              string  `json:"status"`
	FailureReason       *string `json:"failureReason,omitempty"`
	CreationDateTime    *epoch  `json:"creationDateTime,omitempty"`
	LastUpdatedDateTime *epoch  `json:"lastUpdatedDateTime,omitempty"`
}

type filterOut struct {
	filterSummary
	FilterExpression string `json:"filterExpression"`
}

func filterSummaryWire(f *campaign.Filter) filterSummary {
	return filterSummary{Name: f.Name, FilterArn: f.ARN, DatasetGroupArn: f.GroupARN, Status: f.Status,
		FailureReason: optString(f.FailureReason), CreationDateTime: ts(f.Created), LastUpdatedDateTime: ts(f.Updated)}
}

func registerFilters(ops map[string]operation, svc filterService) {
	type createIn struct {
		Name             string `json:"name"`
		DatasetGroupArn  string `json:"datasetGroupArn"`
		FilterExpression string `json:"filterExpression"`
		Tags             []tag  `json:"tags"`
	}
	ops["CreateFilter"] = handle(func(ctx context.Context, in *createIn) (any, error) {
		tags, err := tagsIn(in.Tags)
		if err != nil {
			return nil, err
		}
		f, err := svc.Create(ctx, campaign.CreateFilterInput{Name: in.Name, GroupARN: in.DatasetGroupArn, Expression: in.FilterExpression, Tags: tags})
		if err != nil {
			return nil, err
		}
		return map[string]string{"filterArn": f.ARN}, nil
	})
	type filterIn struct {
		FilterArn string `json:"filterArn"`
	}
	ops["DescribeFilter"] = handle(func(ctx context.Context, in *filterIn) (any, error) {
		f, err := svc.Get(ctx, in.FilterArn)
		if err != nil {
			return nil, err
		}
		return map[string]any{"filter": filterOut{filterSummaryWire(f), f.Expression}}, nil
	})
	type listIn struct {
		page
		DatasetGroupArn string `json:"datasetGroupArn"`
	}
	ops["ListFilters"] = handle(func(ctx context.Context, in *listIn) (any, error) {
		limit, err := in.limit()
		if err != nil {
			return nil, err
		}
		fs, next, err := svc.List(ctx, in.DatasetGroupArn, in.NextToken, limit)
		if err != nil {
			return nil, err
		}
		out := make([]filterSummary, len(fs))
		for i, f := range fs {
			out[i] = filterSummaryWire(f)
		}
		// Personalize's model names this member "Filters", the only
		// capitalised list key; clients look for exactly that.
		return listOut("Filters", out, next), nil
	})
	ops["DeleteFilter"] = handle(func(ctx context.Context, in *filterIn) (any, error) {
		return nil, svc.Delete(ctx, in.FilterArn)
	})
}
