package api

import (
	"context"

	"github.com/attune-dev/attune/internal/dataset"
)

// Dataset export jobs: registered with the dataset operations, whose
// service implements them.

type s3DataConfig struct {
	Path      string `json:"path"`
	KmsKeyArn string `json:"kmsKeyArn,omitempty"`
}

type exportOutput struct {
	S3DataDestination s3DataConfig `json:"s3DataDestination"`
}

// exportReportOut is Attune's extra member on DescribeDatasetExportJob; AWS
// clients ignore members they do not know.
type exportReportOut struct {
	Files   []string `json:"files"`
	Rows    int64    `json:"rows"`
	Columns []string `json:"columns"`
}

type exportJobOut struct {
	JobName             string           `json:"jobName"`
	DatasetExportJobArn string           `json:"datasetExportJobArn"`
	DatasetArn          string           `json:"datasetArn,omitempty"`
	IngestionMode       string           `json:"ingestionMode,omitempty"`
	RoleArn             *string          `json:"roleArn,omitempty"`
	Status              string           `json:"status"`
	JobOutput           *exportOutput    `json:"jobOutput,omitempty"`
	CreationDateTime    *epoch           `json:"creationDateTime,omitempty"`
	LastUpdatedDateTime *epoch           `json:"lastUpdatedDateTime,omitempty"`
	FailureReason       *string          `json:"failureReason,omitempty"`
	ExportReport        *exportReportOut `json:"exportReport,omitempty"`
}

func exportJobWire(j *dataset.ExportJob, full bool) exportJobOut {
	o := exportJobOut{JobName: j.Name, DatasetExportJobArn: j.ARN, Status: j.Status, CreationDateTime: ts(j.Created),
		LastUpdatedDateTime: ts(j.Updated), FailureReason: optString(j.FailureReason)}
	if full {
		o.DatasetArn, o.IngestionMode, o.RoleArn = j.DatasetARN, j.IngestionMode, optString(j.RoleARN)
		o.JobOutput = &exportOutput{S3DataDestination: s3DataConfig{Path: j.OutputPath}}
		if r := j.Report; r != nil {
			o.ExportReport = &exportReportOut{Files: r.Files, Rows: r.Rows, Columns: r.Columns}
		}
	}
	return o
}

func registerExports(ops map[string]operation, svc datasetService) {
	type createIn struct {
		JobName       string       `json:"jobName"`
		DatasetArn    string       `json:"datasetArn"`
		IngestionMode string       `json:"ingestionMode"`
		RoleArn       string       `json:"roleArn"`
		JobOutput     exportOutput `json:"jobOutput"`
		Tags          []tag        `json:"tags"`
	}
	ops["CreateDatasetExportJob"] = handle(func(ctx context.Context, in *createIn) (any, error) {
		tags, err := tagsIn(in.Tags)
		if err != nil {
			return nil, err
		}
		j, err := svc.CreateExportJob(ctx, dataset.CreateExportInput{JobName: in.JobName, DatasetARN: in.DatasetArn,
			IngestionMode: in.IngestionMode, RoleARN: in.RoleArn, OutputPath: in.JobOutput.S3DataDestination.Path, Tags: tags})
		if err != nil {
			return nil, err
		}
		return map[string]any{"datasetExportJobArn": j.ARN}, nil
	})
	type jobIn struct {
		DatasetExportJobArn string `json:"datasetExportJobArn"`
	}
	ops["DescribeDatasetExportJob"] = handle(func(ctx context.Context, in *jobIn) (any, error) {
		j, err := svc.ExportJob(ctx, in.DatasetExportJobArn)
		if err != nil {
			return nil, err
		}
		return map[string]any{"datasetExportJob": exportJobWire(j, true)}, nil
	})
	type listIn struct {
		page
		DatasetArn string `json:"datasetArn"`
	}
	ops["ListDatasetExportJobs"] = handle(func(ctx context.Context, in *listIn) (any, error) {
		limit, err := in.limit()
		if err != nil {
			return nil, err
		}
		js, next, err := svc.ExportJobs(ctx, in.DatasetArn, in.NextToken, limit)
		if err != nil {
			return nil, err
		}
		out := make([]exportJobOut, len(js))
		for i, j := range js {
			out[i] = exportJobWire(j, false)
		}
		return listOut("datasetExportJobs", out, next), nil
	})
}
