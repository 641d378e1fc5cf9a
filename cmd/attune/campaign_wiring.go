package main

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/attune-dev/attune/internal/campaign"
	"github.com/attune-dev/attune/internal/dataset"
	"github.com/attune-dev/attune/internal/filter"
	"github.com/attune-dev/attune/internal/schema"
	"github.com/attune-dev/attune/internal/serving"
	"github.com/attune-dev/attune/internal/train"
)

// campaignVersions lets campaigns read solution versions from training
// without campaign importing train (style B2: siblings meet in cmd).
type campaignVersions struct{ tr *train.Service }

func (cv campaignVersions) info(ctx context.Context, v *train.Version) (campaign.VersionInfo, error) {
	out := campaign.VersionInfo{ARN: v.ARN, SolutionARN: v.SolutionARN, GroupARN: v.GroupARN, Status: v.Status,
		ArtifactKey: v.ArtifactKey, MinEventValue: math.NaN()}
	sol, err := cv.tr.Solution(ctx, v.SolutionARN)
	if err != nil {
		return out, err
	}
	out.EventType = sol.EventType
	if t := sol.Config.EventValueThreshold; t != "" {
		// CreateSolution validated it as a number.
		out.MinEventValue, _ = strconv.ParseFloat(t, 64)
	}
	return out, nil
}

// Version implements campaign.Versions.
func (cv campaignVersions) Version(ctx context.Context, versionARN string) (campaign.VersionInfo, error) {
	v, err := cv.tr.Version(ctx, versionARN)
	if err != nil {
		return campaign.VersionInfo{}, err
	}
	return cv.info(ctx, v)
}

// LatestActive implements campaign.Versions.
func (cv campaignVersions) LatestActive(ctx context.Context, solutionARN string) (campaign.VersionInfo, bool, error) {
	if _, err := cv.tr.Solution(ctx, solutionARN); err != nil {
		return campaign.VersionInfo{}, false, err
	}
	v, err := cv.tr.LatestActiveVersion(ctx, solutionARN)
	if err != nil || v == nil {
		return campaign.VersionInfo{}, false, err
	}
	info, err := cv.info(ctx, v)
	return info, err == nil, err
}

// campaignDeployer hands campaign deployments to serving.
type campaignDeployer struct{ sv *serving.Service }

func (d campaignDeployer) Expect(campaigns ...string) { d.sv.Expect(campaigns...) }
func (d campaignDeployer) Undeploy(c string)          { d.sv.Undeploy(c) }

// Deploy implements campaign.Deployer.
func (d campaignDeployer) Deploy(ctx context.Context, dep campaign.Deployment) error {
	return d.sv.Deploy(ctx, serving.Deployment{Campaign: dep.Campaign, Group: dep.Group, SolutionVersion: dep.SolutionVersion,
		ArtifactKey: dep.ArtifactKey, Filter: dep.Filter, Exploration: dep.Exploration, Metadata: dep.Metadata})
}

// filterSchemas gives the filter service the Items and Users schemas of a
// dataset group, from the dataset service (campaign must not import dataset).
type filterSchemas struct{ ds *dataset.Service }

// FilterSchemas implements campaign.GroupSchemas.
func (fs filterSchemas) FilterSchemas(ctx context.Context, groupARN string) (filter.Schemas, error) {
	var out filter.Schemas
	// A group holds at most one dataset per type, so one page has them all.
	ds, _, err := fs.ds.Datasets(ctx, groupARN, "", 100)
	if err != nil {
		return out, err
	}
	for _, d := range ds {
		var dst *[]schema.Field
		switch d.Type {
		case "ITEMS":
			dst = &out.Items
		case "USERS":
			dst = &out.Users
		default:
			continue
		}
		sch, err := fs.ds.DatasetSchema(ctx, d)
		if err != nil {
			return out, fmt.Errorf("schema of %s: %w", d.ARN, err)
		}
		*dst = sch.Fields
	}
	return out, nil
}
