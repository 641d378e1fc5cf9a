package api

import (
	"context"

	"github.com/attune-dev/attune/internal/campaign"
	"github.com/attune-dev/attune/internal/errs"
)

// campaignService is what the campaign operations need.
type campaignService interface {
	Create(ctx context.Context, in campaign.CreateInput) (*campaign.Campaign, error)
	Get(ctx context.Context, campaignARN string) (*campaign.Campaign, error)
	List(ctx context.Context, solutionARN, token string, limit int) ([]*campaign.Campaign, string, error)
	Update(ctx context.Context, in campaign.UpdateInput) (*campaign.Campaign, error)
	Delete(ctx context.Context, campaignARN string) error
}

// campaignConfigWire is CampaignConfig on the wire.
type campaignConfigWire struct {
	ItemExplorationConfig             map[string]string  `json:"itemExplorationConfig,omitempty"`
	EnableMetadataWithRecommendations *bool              `json:"enableMetadataWithRecommendations,omitempty"`
	SyncWithLatestSolutionVersion     *bool              `json:"syncWithLatestSolutionVersion,omitempty"`
	RankingInfluence                  map[string]float64 `json:"rankingInfluence,omitempty"`
}

func (w *campaignConfigWire) domain() (campaign.Config, error) {
	var c campaign.Config
	if w == nil {
		return c, nil
	}
	for k, v := range w.ItemExplorationConfig {
		switch k {
		case "explorationWeight":
			c.ExplorationWeight = v
		case "explorationItemAgeCutOff":
			c.ExplorationAgeCutOff = v
		default:
			return c, errs.E(errs.Invalid, "campaignConfig.itemExplorationConfig: unknown key %s (expected explorationWeight or explorationItemAgeCutOff)", errs.Quote(k))
		}
	}
	c.EnableMetadata = w.EnableMetadataWithRecommendations != nil && *w.EnableMetadataWithRecommendations
	c.SyncWithLatest = w.SyncWithLatestSolutionVersion != nil && *w.SyncWithLatestSolutionVersion
	c.RankingInfluence = w.RankingInfluence
	return c, nil
}

func campaignConfigOut(c campaign.Config) campaignConfigWire {
	var w campaignConfigWire
	if c.ExplorationWeight != "" || c.ExplorationAgeCutOff != "" {
		w.ItemExplorationConfig = map[string]string{}
		if c.ExplorationWeight != "" {
			w.ItemExplorationConfig["explorationWeight"] = c.ExplorationWeight
		}
		if c.ExplorationAgeCutOff != "" {
			w.ItemExplorationConfig["explorationItemAgeCutOff"] = c.ExplorationAgeCutOff
		}
	}
	w.EnableMetadataWithRecommendations = &c.EnableMetadata
	w.SyncWithLatestSolutionVersion = &c.SyncWithLatest
	w.RankingInfluence = c.RankingInfluence
	return w
}

type campaignUpdateOut struct {
	SolutionVersionArn  string             `json:"solutionVersionArn"`
	MinProvisionedTPS   int                `json:"minProvisionedTPS"`
	CampaignConfig      campaignConfigWire `json:"campaignConfig"`
	Status              string             `json:"status"`
	FailureReason       *string            `json:"failureReason,omitempty"`
	CreationDateTime    *epoch             `json:"creationDateTime,omitempty"`
	LastUpdatedDateTime *epoch             `json:"lastUpdatedDateTime,omitempty"`
}

type campaignOut struct {
	Name                 string             `json:"name"`
	CampaignArn          string             `json:"campaignArn"`
	SolutionVersionArn   string             `json:"solutionVersionArn"`
	MinProvisionedTPS    int                `json:"minProvisionedTPS"`
	CampaignConfig       campaignConfigWire `json:"campaignConfig"`
	Status               string             `json:"status"`
	FailureReason        *string            `json:"failureReason,omitempty"`
	CreationDateTime     *epoch             `json:"creationDateTime,omitempty"`
	LastUpdatedDateTime  *epoch             `json:"lastUpdatedDateTime,omitempty"`
	LatestCampaignUpdate *campaignUpdateOut `json:"latestCampaignUpdate,omitempty"`
}

func campaignWire(c *campaign.Campaign) campaignOut {
	out := campaignOut{Name: c.Name, CampaignArn: c.ARN, SolutionVersionArn: c.SolutionVersionARN, MinProvisionedTPS: c.MinTPS,
		CampaignConfig: campaignConfigOut(c.Config), Status: c.Status, FailureReason: optString(c.FailureReason),
		CreationDateTime: ts(c.Created), LastUpdatedDateTime: ts(c.Updated)}
	if u := c.Latest; u != nil {
		out.LatestCampaignUpdate = &campaignUpdateOut{SolutionVersionArn: u.SolutionVersionARN, MinProvisionedTPS: u.MinTPS,
			CampaignConfig: campaignConfigOut(u.Config), Status: u.Status, FailureReason: optString(u.FailureReason),
			CreationDateTime: ts(u.Created), LastUpdatedDateTime: ts(u.Updated)}
	}
	return out
}

func registerCampaigns(ops map[string]operation, svc campaignService) {
	type createIn struct {
		Name               string              `json:"name"`
		SolutionVersionArn string              `json:"solutionVersionArn"`
		MinProvisionedTPS  *int                `json:"minProvisionedTPS"`
		CampaignConfig     *campaignConfigWire `json:"campaignConfig"`
		Tags               []tag               `json:"tags"`
	}
	ops["CreateCampaign"] = handle(func(ctx context.Context, in *createIn) (any, error) {
		tags, err := tagsIn(in.Tags)
		if err != nil {
			return nil, err
		}
		cfg, err := in.CampaignConfig.domain()
		if err != nil {
			return nil, err
		}
		c, err := svc.Create(ctx, campaign.CreateInput{Name: in.Name, SolutionVersionARN: in.SolutionVersionArn,
			MinTPS: in.MinProvisionedTPS, Config: cfg, Tags: tags})
		if err != nil {
			return nil, err
		}
		return map[string]string{"campaignArn": c.ARN}, nil
	})
	type campaignIn struct {
		CampaignArn string `json:"campaignArn"`
	}
	ops["DescribeCampaign"] = handle(func(ctx context.Context, in *campaignIn) (any, error) {
		c, err := svc.Get(ctx, in.CampaignArn)
		if err != nil {
			return nil, err
		}
		return map[string]any{"campaign": campaignWire(c)}, nil
	})
	type listIn struct {
		page
		SolutionArn string `json:"solutionArn"`
	}
	ops["ListCampaigns"] = handle(func(ctx context.Context, in *listIn) (any, error) {
		limit, err := in.limit()
		if err != nil {
			return nil, err
		}
		cs, next, err := svc.List(ctx, in.SolutionArn, in.NextToken, limit)
		if err != nil {
			return nil, err
		}
		type summary struct {
			Name                string  `json:"name"`
			CampaignArn         string  `json:"campaignArn"`
			Status              string  `json:"status"`
			CreationDateTime    *epoch  `json:"creationDateTime,omitempty"`
			LastUpdatedDateTime *epoch  `json:"lastUpdatedDateTime,omitempty"`
			FailureReason       *string `json:"failureReason,omitempty"`
		}
		out := make([]summary, len(cs))
		for i, c := range cs {
			out[i] = summary{Name: c.Name, CampaignArn: c.ARN, Status: c.Status, CreationDateTime: ts(c.Created),
				LastUpdatedDateTime: ts(c.Updated), FailureReason: optString(c.FailureReason)}
		}
		return listOut("campaigns", out, next), nil
	})
	type updateIn struct {
		CampaignArn        string              `json:"campaignArn"`
		SolutionVersionArn string              `json:"solutionVersionArn"`
		MinProvisionedTPS  *int                `json:"minProvisionedTPS"`
		CampaignConfig     *campaignConfigWire `json:"campaignConfig"`
	}
	ops["UpdateCampaign"] = handle(func(ctx context.Context, in *updateIn) (any, error) {
		var cfg *campaign.Config
		if in.CampaignConfig != nil {
			c, err := in.CampaignConfig.domain()
			if err != nil {
				return nil, err
			}
			cfg = &c
		}
		c, err := svc.Update(ctx, campaign.UpdateInput{CampaignARN: in.CampaignArn, SolutionVersionARN: in.SolutionVersionArn,
			MinTPS: in.MinProvisionedTPS, Config: cfg})
		if err != nil {
			return nil, err
		}
		return map[string]string{"campaignArn": c.ARN}, nil
	})
	ops["DeleteCampaign"] = handle(func(ctx context.Context, in *campaignIn) (any, error) {
		return nil, svc.Delete(ctx, in.CampaignArn)
	})
}
