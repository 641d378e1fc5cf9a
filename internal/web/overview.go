package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/attune-dev/attune/internal/campaign"
	"github.com/attune-dev/attune/internal/dataset"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/serving"
	"github.com/attune-dev/attune/internal/train"
)

// pageSize is the page size used to walk every list.
const pageSize = 100

// maxRowErrors is how many row errors of an import the overview shows.
const maxRowErrors = 5

type overviewOut struct {
	Groups []groupOut `json:"groups"`
}

type groupOut struct {
	Name      string        `json:"name"`
	ARN       string        `json:"arn"`
	Status    string        `json:"status"`
	Domain    string        `json:"domain,omitempty"`
	Datasets  []datasetOut  `json:"datasets"`
	Solutions []solutionOut `json:"solutions"`
}

type datasetOut struct {
	Name       string      `json:"name"`
	ARN        string      `json:"arn"`
	Type       string      `json:"type"`
	Status     string      `json:"status"`
	ImportJobs []importOut `json:"importJobs"`
}

type importOut struct {
	Name           string      `json:"name"`
	ARN            string      `json:"arn"`
	Status         string      `json:"status"`
	ImportMode     string      `json:"importMode,omitempty"`
	FailureReason  string      `json:"failureReason,omitempty"`
	Created        time.Time   `json:"created"`
	Rows           int64       `json:"rows"`
	Imported       int64       `json:"imported"`
	Rejected       int64       `json:"rejected"`
	IgnoredColumns []string    `json:"ignoredColumns"`
	RowErrors      []rowErrOut `json:"rowErrors"`
}

type rowErrOut struct {
	File    string `json:"file,omitempty"`
	Row     int64  `json:"row"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

type solutionOut struct {
	Name      string        `json:"name"`
	ARN       string        `json:"arn"`
	Status    string        `json:"status"`
	Recipe    string        `json:"recipe"`
	Versions  []versionOut  `json:"versions"`
	Campaigns []campaignOut `json:"campaigns"`
}

type versionOut struct {
	ARN           string             `json:"arn"`
	Status        string             `json:"status"`
	FailureReason string             `json:"failureReason,omitempty"`
	TrainingHours float64            `json:"trainingHours"`
	Created       time.Time          `json:"created"`
	Metrics       map[string]float64 `json:"metrics"`
}

type campaignOut struct {
	Name           string `json:"name"`
	ARN            string `json:"arn"`
	Status         string `json:"status"`
	VersionARN     string `json:"solutionVersionArn"`
	FailureReason  string `json:"failureReason,omitempty"`
	LatestStatus   string `json:"latestUpdateStatus,omitempty"`
	LatestVersion  string `json:"latestUpdateVersionArn,omitempty"`
	MinProvisioned int    `json:"minProvisionedTPS"`
}

// all walks every page of a list.
func all[T any](ctx context.Context, list func(ctx context.Context, token string, limit int) ([]T, string, error)) ([]T, error) {
	var out []T
	token := ""
	for {
		page, next, err := list(ctx, token, pageSize)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" || next == token {
			return out, nil
		}
		token = next
	}
}

func (c *console) overview(w http.ResponseWriter, r *http.Request) error {
	who, err := c.caller(r)
	if err != nil {
		return err
	}
	out, err := c.buildOverview(r.Context())
	if err != nil {
		return err
	}
	if !who.root {
		out = scopedOverview(out, who.policy)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (c *console) buildOverview(ctx context.Context) (*overviewOut, error) {
	groups, err := all(ctx, c.deps.Datasets.Groups)
	if err != nil {
		return nil, err
	}
	out := &overviewOut{Groups: make([]groupOut, 0, len(groups))}
	for _, g := range groups {
		gr := groupOut{Name: g.Name, ARN: g.ARN, Status: g.Status, Domain: g.Domain, Datasets: []datasetOut{}, Solutions: []solutionOut{}}
		dss, err := all(ctx, func(ctx context.Context, tok string, n int) ([]*dataset.Dataset, string, error) {
			return c.deps.Datasets.Datasets(ctx, g.ARN, tok, n)
		})
		if err != nil {
			return nil, err
		}
		for _, d := range dss {
			do, err := c.datasetOverview(ctx, d)
			if err != nil {
				return nil, err
			}
			gr.Datasets = append(gr.Datasets, do)
		}
		if c.deps.Training != nil {
			if gr.Solutions, err = c.solutionsOverview(ctx, g.ARN); err != nil {
				return nil, err
			}
		}
		out.Groups = append(out.Groups, gr)
	}
	return out, nil
}

func (c *console) datasetOverview(ctx context.Context, d *dataset.Dataset) (datasetOut, error) {
	do := datasetOut{Name: d.Name, ARN: d.ARN, Type: d.Type, Status: d.Status, ImportJobs: []importOut{}}
	jobs, err := all(ctx, func(ctx context.Context, tok string, n int) ([]*dataset.ImportJob, string, error) {
		return c.deps.Datasets.ImportJobs(ctx, d.ARN, tok, n)
	})
	if err != nil {
		return do, err
	}
	for _, j := range jobs {
		if j.Report == nil { // a listing may carry summaries only
			if full, err := c.deps.Datasets.ImportJob(ctx, j.ARN); err == nil {
				j = full
			} else if !errs.Is(err, errs.NotFound) {
				return do, err
			}
		}
		jo := importOut{Name: j.Name, ARN: j.ARN, Status: j.Status, ImportMode: j.ImportMode, FailureReason: j.FailureReason,
			Created: j.Created, IgnoredColumns: []string{}, RowErrors: []rowErrOut{}}
		if rep := j.Report; rep != nil {
			jo.Rows, jo.Imported, jo.Rejected = rep.Rows, rep.Imported, rep.Rejected
			if rep.IgnoredColumns != nil {
				jo.IgnoredColumns = rep.IgnoredColumns
			}
			for i, e := range rep.Errors {
				if i == maxRowErrors {
					break
				}
				jo.RowErrors = append(jo.RowErrors, rowErrOut{File: e.File, Row: e.Row, Column: e.Column, Message: e.Message})
			}
		}
		do.ImportJobs = append(do.ImportJobs, jo)
	}
	return do, nil
}

func (c *console) solutionsOverview(ctx context.Context, groupARN string) ([]solutionOut, error) {
	sols, err := all(ctx, func(ctx context.Context, tok string, n int) ([]*train.Solution, string, error) {
		return c.deps.Training.Solutions(ctx, groupARN, tok, n)
	})
	if err != nil {
		return nil, err
	}
	out := []solutionOut{}
	for _, s := range sols {
		so := solutionOut{Name: s.Name, ARN: s.ARN, Status: s.Status, Recipe: recipeName(s.RecipeARN), Versions: []versionOut{}, Campaigns: []campaignOut{}}
		vs, err := all(ctx, func(ctx context.Context, tok string, n int) ([]*train.Version, string, error) {
			return c.deps.Training.Versions(ctx, s.ARN, tok, n)
		})
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			m := v.Metrics
			if len(m) == 0 && v.Status == "ACTIVE" {
				if m, err = c.deps.Training.Metrics(ctx, v.ARN); err != nil && !errs.Is(err, errs.NotFound) {
					return nil, err
				}
			}
			if m == nil {
				m = map[string]float64{}
			}
			so.Versions = append(so.Versions, versionOut{ARN: v.ARN, Status: v.Status, FailureReason: v.FailureReason,
				TrainingHours: v.TrainingHours, Created: v.Created, Metrics: m})
		}
		if c.deps.Campaigns != nil {
			cs, err := all(ctx, func(ctx context.Context, tok string, n int) ([]*campaign.Campaign, string, error) {
				return c.deps.Campaigns.List(ctx, s.ARN, tok, n)
			})
			if err != nil {
				return nil, err
			}
			for _, cp := range cs {
				co := campaignOut{Name: cp.Name, ARN: cp.ARN, Status: cp.Status, VersionARN: cp.SolutionVersionARN,
					FailureReason: cp.FailureReason, MinProvisioned: cp.MinTPS}
				if cp.Latest != nil {
					co.LatestStatus, co.LatestVersion = cp.Latest.Status, cp.Latest.SolutionVersionARN
				}
				so.Campaigns = append(so.Campaigns, co)
			}
		}
		out = append(out, so)
	}
	return out, nil
}

// recipeName is the last segment of a recipe ARN.
func recipeName(a string) string {
	if i := strings.LastIndexByte(a, '/'); i >= 0 {
		return a[i+1:]
	}
	return a
}

type recommendIn struct {
	CampaignARN     string   `json:"campaignArn"`
	UserID          string   `json:"userId"`
	ItemID          string   `json:"itemId"`
	NumResults      int      `json:"numResults"`
	MetadataColumns []string `json:"metadataColumns"`
}

type recommendOut struct {
	RecommendationID string    `json:"recommendationId"`
	Items            []itemOut `json:"items"`
}

type itemOut struct {
	ItemID        string            `json:"itemId"`
	Score         *float64          `json:"score,omitempty"`
	PromotionName string            `json:"promotionName,omitempty"`
	Reason        []string          `json:"reason,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
	Explanation   *explanationOut   `json:"explanation,omitempty"`
}

type explanationOut struct {
	Text    string       `json:"text"`
	Because []becauseOut `json:"because"`
}

type becauseOut struct {
	ItemID       string  `json:"itemId"`
	ItemName     string  `json:"itemName,omitempty"`
	EventType    string  `json:"eventType"`
	Contribution float64 `json:"contribution"`
}

func (c *console) recommend(w http.ResponseWriter, r *http.Request) error {
	if c.deps.Runtime == nil {
		return errs.E(errs.Unavailable, "this server does not serve recommendations")
	}
	var in recommendIn
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.CampaignARN == "" {
		return errs.E(errs.Invalid, "campaignArn is required")
	}
	if in.UserID == "" && in.ItemID == "" {
		return errs.E(errs.Invalid, "give a userId or an itemId")
	}
	if in.NumResults < 0 || in.NumResults > 500 {
		return errs.E(errs.Invalid, "numResults %d must be between 1 and 500", in.NumResults)
	}
	if err := c.allowed(r, "GetRecommendations", in.CampaignARN); err != nil {
		return err
	}
	res, err := c.deps.Runtime.Recommend(r.Context(), serving.Request{Campaign: in.CampaignARN, UserID: in.UserID, ItemID: in.ItemID,
		NumResults: in.NumResults, MetadataColumns: in.MetadataColumns})
	if err != nil {
		return err
	}
	out := recommendOut{RecommendationID: res.RecommendationID, Items: make([]itemOut, len(res.Items))}
	for i, it := range res.Items {
		out.Items[i] = itemOut{ItemID: it.ID, Score: it.Score, PromotionName: it.PromotionName, Reason: it.Reason, Metadata: it.Metadata}
		if len(it.Because) > 0 {
			e := &explanationOut{Text: it.Because[0].Text(), Because: make([]becauseOut, len(it.Because))}
			for j, b := range it.Because {
				e.Because[j] = becauseOut{ItemID: b.ItemID, ItemName: b.ItemName, EventType: b.EventType, Contribution: b.Contribution}
			}
			out.Items[i].Explanation = e
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
