package api

import (
	"context"

	"github.com/attune-dev/attune/internal/dataset"
)

// Data deletion jobs (CreateDataDeletionJob, DescribeDataDeletionJob,
// ListDataDeletionJobs): registered with the dataset operations, whose
// service implements them.

// deletionService is what the data deletion operations need.
type deletionService interface {
	CreateDeletionJob(ctx context.Context, in dataset.CreateDeletionInput) (*dataset.DeletionJob, error)
	DeletionJob(ctx context.Context, jobARN string) (*dataset.DeletionJob, error)
	DeletionJobs(ctx context.Context, groupARN, token string, limit int) ([]*dataset.DeletionJob, string, error)
}

type deletionJobOut struct {
	JobName             string      `json:"jobName"`
	DataDeletionJobArn  string      `json:"dataDeletionJobArn"`
	DatasetGroupArn     string      `json:"datasetGroupArn"`
	DataSource          *dataSource `json:"dataSource,omitempty"`
	RoleArn             *string     `json:"roleArn,omitempty"`
	Status              string      `json:"status"`
	NumDeleted          *int64      `json:"numDeleted,omitempty"`
	CreationDateTime    *epoch      `json:"creationDateTime,omitempty"`
	LastUpdatedDateTime *epoch      `json:"lastUpdatedDateTime,omitempty"`
	FailureReason       *string     `json:"failureReason,omitempty"`
}

// deletionJobWire renders a job; full adds the members only
// DescribeDataDeletionJob has (the summary of the list lacks them).
func deletionJobWire(j *dataset.DeletionJob, full bool) deletionJobOut {
	o := deletionJobOut{JobName: j.Name, DataDeletionJobArn: j.ARN, DatasetGroupArn: j.GroupARN, Status: j.Status,
		CreationDateTime: ts(j.Created), LastUpdatedDateTime: ts(j.Updated), FailureReason: optString(j.FailureReason)}
	if full {
		o.DataSource = &dataSource{DataLocation: j.DataLocation}
		o.RoleArn = optString(j.RoleARN)
		if j.Status == dataset.DeletionCompleted {
			n := j.NumDeleted
			o.NumDeleted = &n
		}
	}
	return o
}

func registerDeletions(ops map[string]operation, svc deletionService) {
	type createIn struct {
		JobName         string     `json:"jobName"`
		DatasetGroupArn string     `json:"datasetGroupArn"`
		DataSource      dataSource `json:"dataSource"`
		RoleArn         string     `json:"roleArn"`
		Tags            []tag      `json:"tags"`
	}
	ops["CreateDataDeletionJob"] = handle(func(ctx context.Context, in *createIn) (any, error) {
		tags, err := tagsIn(in.Tags)
		if err != nil {
			return nil, err
		}
		j, err := svc.CreateDeletionJob(ctx, dataset.CreateDeletionInput{JobName: in.JobName, GroupARN: in.DatasetGroupArn,
			DataLocation: in.DataSource.DataLocation, RoleARN: in.RoleArn, Tags: tags})
		if err != nil {
			return nil, err
		}
		return map[string]any{"dataDeletionJobArn": j.ARN}, nil
	})
	type jobIn struct {
		DataDeletionJobArn string `json:"dataDeletionJobArn"`
	}
	ops["DescribeDataDeletionJob"] = handle(func(ctx context.Context, in *jobIn) (any, error) {
		j, err := svc.DeletionJob(ctx, in.DataDeletionJobArn)
		if err != nil {
			return nil, err
		}
		return map[string]any{"dataDeletionJob": deletionJobWire(j, true)}, nil
	})
	type listIn struct {
		page
		DatasetGroupArn string `json:"datasetGroupArn"`
	}
	ops["ListDataDeletionJobs"] = handle(func(ctx context.Context, in *listIn) (any, error) {
		limit, err := in.limit()
		if err != nil {
			return nil, err
		}
		js, next, err := svc.DeletionJobs(ctx, in.DatasetGroupArn, in.NextToken, limit)
		if err != nil {
			return nil, err
		}
		out := make([]deletionJobOut, len(js))
		for i, j := range js {
			out[i] = deletionJobWire(j, false)
		}
		return listOut("dataDeletionJobs", out, next), nil
	})
}
