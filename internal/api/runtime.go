package api

import (
	"context"
	"regexp"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/serving"
)

// runtimeService answers Personalize runtime calls.
type runtimeService interface {
	Recommend(ctx context.Context, r serving.Request) (*serving.Result, error)
	Rank(ctx context.Context, r serving.Request) (*serving.Result, error)
}

// predictedItem is PredictedItem on the wire, plus Attune's explanation,
// an extra member that AWS clients ignore.
type predictedItem struct {
	ItemID        string            `json:"itemId"`
	Score         *float64          `json:"score,omitempty"`
	PromotionName string            `json:"promotionName,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
	Reason        []string          `json:"reason,omitempty"`
	Explanation   *explanation      `json:"explanation,omitempty"`
}

// explanation says which of the user's own interactions made an item
// score high, with a readable sentence when the Items dataset names items.
type explanation struct {
	Because []because `json:"because"`
	Text    string    `json:"text,omitempty"`
}

type because struct {
	ItemID       string  `json:"itemId"`
	ItemName     string  `json:"itemName,omitempty"`
	EventType    string  `json:"eventType"`
	Contribution float64 `json:"contribution"`
}

func itemsOut(items []serving.Item) []predictedItem {
	out := make([]predictedItem, len(items))
	for i, it := range items {
		out[i] = predictedItem{ItemID: it.ID, Score: it.Score, PromotionName: it.PromotionName, Metadata: it.Metadata, Reason: it.Reason}
		if len(it.Because) > 0 {
			e := &explanation{Because: make([]because, len(it.Because))}
			for j, b := range it.Because {
				e.Because[j] = because{ItemID: b.ItemID, ItemName: b.ItemName, EventType: b.EventType, Contribution: b.Contribution}
			}
			e.Text = it.Because[0].Text()
			out[i].Explanation = e
		}
	}
	return out
}

// runtimeCommon are the members GetRecommendations and
// GetPersonalizedRanking share.
type runtimeCommon struct {
	CampaignArn     string              `json:"campaignArn"`
	UserID          string              `json:"userId"`
	Context         map[string]string   `json:"context"`
	FilterArn       string              `json:"filterArn"`
	FilterValues    map[string]string   `json:"filterValues"`
	MetadataColumns map[string][]string `json:"metadataColumns"`
}

var (
	contextKey = regexp.MustCompile(`^[A-Za-z\d_]{1,150}$`)
	filterKey  = regexp.MustCompile(`^[A-Za-z0-9_]{1,50}$`)
)

// check validates the shared members as the runtime model constrains them
// and returns the requested item metadata columns.
func (c *runtimeCommon) check() ([]string, error) {
	if len(c.UserID) > 256 {
		return nil, errs.E(errs.Invalid, "userId is longer than 256 characters")
	}
	if len(c.Context) > 150 {
		return nil, errs.E(errs.Invalid, "context: at most 150 entries, got %d", len(c.Context))
	}
	for k, v := range c.Context {
		if !contextKey.MatchString(k) || len(v) > 1000 {
			return nil, errs.E(errs.Invalid, "context: key %s must match [A-Za-z0-9_]{1,150} and its value be at most 1000 characters", errs.Quote(k))
		}
	}
	if len(c.FilterValues) > 25 {
		return nil, errs.E(errs.Invalid, "filterValues: at most 25 entries, got %d", len(c.FilterValues))
	}
	for k, v := range c.FilterValues {
		if !filterKey.MatchString(k) || len(v) > 1000 {
			return nil, errs.E(errs.Invalid, "filterValues: key %s must match [A-Za-z0-9_]{1,50} and its value be at most 1000 characters", errs.Quote(k))
		}
	}
	if c.FilterArn != "" {
		if _, err := arn.Expect("filterArn", c.FilterArn, arn.Filter, 1); err != nil {
			return nil, err
		}
	}
	var cols []string
	for k, v := range c.MetadataColumns {
		if k != "ITEMS" {
			return nil, errs.E(errs.Invalid, "metadataColumns: the only dataset key is ITEMS, got %s", errs.Quote(k))
		}
		cols = v
	}
	return cols, nil
}

func registerRuntime(s *Server, svc runtimeService) {
	type recommendIn struct {
		runtimeCommon
		RecommenderArn string `json:"recommenderArn"`
		ItemID         string `json:"itemId"`
		NumResults     int    `json:"numResults"`
		Promotions     []struct {
			Name                 string            `json:"name"`
			PercentPromotedItems int               `json:"percentPromotedItems"`
			FilterArn            string            `json:"filterArn"`
			FilterValues         map[string]string `json:"filterValues"`
		} `json:"promotions"`
	}
	s.Handle("POST /recommendations", runtimeAPI, handle(func(ctx context.Context, in *recommendIn) (any, error) {
		target := in.CampaignArn
		switch {
		case in.CampaignArn != "" && in.RecommenderArn != "":
			return nil, errs.E(errs.Invalid, "give exactly one of campaignArn and recommenderArn, not both")
		case in.CampaignArn != "":
			if _, err := arn.Expect("campaignArn", in.CampaignArn, arn.Campaign, 1); err != nil {
				return nil, err
			}
		case in.RecommenderArn != "":
			if _, err := arn.Expect("recommenderArn", in.RecommenderArn, arn.Recommender, 1); err != nil {
				return nil, err
			}
			target = in.RecommenderArn
		default:
			return nil, errs.E(errs.Invalid, "campaignArn or recommenderArn is required")
		}
		if len(in.ItemID) > 256 {
			return nil, errs.E(errs.Invalid, "itemId is longer than 256 characters")
		}
		if len(in.Promotions) > 1 {
			return nil, errs.E(errs.Invalid, "promotions: at most 1 promotion, got %d", len(in.Promotions))
		}
		promos := make([]serving.Promotion, len(in.Promotions))
		for i, p := range in.Promotions {
			promos[i] = serving.Promotion{Name: p.Name, Percent: p.PercentPromotedItems, FilterARN: p.FilterArn, FilterValues: p.FilterValues}
		}
		cols, err := in.check()
		if err != nil {
			return nil, err
		}
		res, err := svc.Recommend(ctx, serving.Request{Campaign: target, UserID: in.UserID, ItemID: in.ItemID,
			NumResults: in.NumResults, MetadataColumns: cols, FilterARN: in.FilterArn, FilterValues: in.FilterValues,
			Promotions: promos, Context: in.Context})
		if err != nil {
			return nil, err
		}
		return struct {
			ItemList         []predictedItem `json:"itemList"`
			RecommendationID string          `json:"recommendationId"`
		}{itemsOut(res.Items), res.RecommendationID}, nil
	}))
	type rankIn struct {
		runtimeCommon
		InputList []string `json:"inputList"`
	}
	s.Handle("POST /personalize-ranking", runtimeAPI, handle(func(ctx context.Context, in *rankIn) (any, error) {
		if _, err := arn.Expect("campaignArn", in.CampaignArn, arn.Campaign, 1); err != nil {
			return nil, err
		}
		cols, err := in.check()
		if err != nil {
			return nil, err
		}
		res, err := svc.Rank(ctx, serving.Request{Campaign: in.CampaignArn, UserID: in.UserID, InputList: in.InputList,
			MetadataColumns: cols, FilterARN: in.FilterArn, FilterValues: in.FilterValues, Context: in.Context})
		if err != nil {
			return nil, err
		}
		return struct {
			PersonalizedRanking []predictedItem `json:"personalizedRanking"`
			RecommendationID    string          `json:"recommendationId"`
		}{itemsOut(res.Items), res.RecommendationID}, nil
	}))
}
