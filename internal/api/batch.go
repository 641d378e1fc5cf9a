package api

import (
	"context"
	"encoding/json"

	"github.com/attune-dev/attune/internal/batch"
	"github.com/attune-dev/attune/internal/errs"
)

// batchService is what the batch inference operations need.
type batchService interface {
	Create(ctx context.Context, in batch.CreateInput) (*batch.Job, error)
	Get(ctx context.Context, jobARN string) (*batch.Job, error)
	List(ctx context.Context, versionARN, token string, limit int) ([]*batch.Job, string, error)
	CreateSegment(ctx context.Context, in batch.CreateInput) (*batch.Job, error)
	GetSegment(ctx context.Context, jobARN string) (*batch.Job, error)
	ListSegments(ctx context.Context, versionARN, token string, limit int) ([]*batch.Job, string, error)
}

type batchJobInput struct {
	S3DataSource s3DataConfig `json:"s3DataSource"`
}

// batchJobOutput has the same shape as a dataset export's output.
type batchJobOutput = exportOutput

func batchJobWire(j *batch.Job) map[string]any {
	segment := j.Mode == "BATCH_SEGMENT"
	out := map[string]any{
		"jobName": j.Name, "solutionVersionArn": j.SolutionVersionARN,
		"jobInput":  batchJobInput{S3DataSource: s3DataConfig{Path: j.InputPath}},
		"jobOutput": batchJobOutput{S3DataDestination: s3DataConfig{Path: j.OutputPath}},
		"status":    j.Status, "batchInferenceJobMode": j.Mode,
		"creationDateTime": ts(j.Created), "lastUpdatedDateTime": ts(j.Updated),
		// Attune's account of the run; AWS clients ignore unknown members.
		"linesProcessed": j.Lines, "linesWithErrors": j.Errors,
	}
	if segment {
		out["batchSegmentJobArn"] = j.ARN
		delete(out, "batchInferenceJobMode")
	} else {
		out["batchInferenceJobArn"] = j.ARN
	}
	if j.NumResults > 0 {
		out["numResults"] = j.NumResults
	}
	if j.FilterARN != "" {
		out["filterArn"] = j.FilterARN
	}
	if j.RoleARN != "" {
		out["roleArn"] = j.RoleARN
	}
	if j.FailureReason != "" {
		out["failureReason"] = j.FailureReason
	}
	if len(j.Exploration) > 0 {
		out["batchInferenceJobConfig"] = map[string]any{"itemExplorationConfig": j.Exploration}
	}
	return out
}

func registerBatch(ops map[string]operation, svc batchService) {
	registerBatchSegments(ops, svc)
	type createIn struct {
		JobName                 string         `json:"jobName"`
		SolutionVersionArn      string         `json:"solutionVersionArn"`
		FilterArn               string         `json:"filterArn"`
		NumResults              int            `json:"numResults"`
		JobInput                batchJobInput  `json:"jobInput"`
		JobOutput               batchJobOutput `json:"jobOutput"`
		RoleArn                 string         `json:"roleArn"`
		BatchInferenceJobMode   string         `json:"batchInferenceJobMode"`
		BatchInferenceJobConfig *struct {
			ItemExplorationConfig map[string]string `json:"itemExplorationConfig"`
		} `json:"batchInferenceJobConfig"`
		Tags []tag `json:"tags"`
		// ThemeGenerationConfig is refused: themes come from a generative
		// model (Bedrock), which Attune does not ship.
		ThemeGenerationConfig json.RawMessage `json:"themeGenerationConfig"`
	}
	ops["CreateBatchInferenceJob"] = handle(func(ctx context.Context, in *createIn) (any, error) {
		if len(in.ThemeGenerationConfig) > 0 && string(in.ThemeGenerationConfig) != "null" {
			return nil, errs.E(errs.Invalid, "themeGenerationConfig: theme generation needs a generative model (Amazon Bedrock), "+
				"which Attune does not ship; leave themeGenerationConfig out to get recommendations without themes")
		}
		tags, err := tagsIn(in.Tags)
		if err != nil {
			return nil, err
		}
		var explore map[string]string
		if in.BatchInferenceJobConfig != nil {
			explore = in.BatchInferenceJobConfig.ItemExplorationConfig
		}
		j, err := svc.Create(ctx, batch.CreateInput{JobName: in.JobName, SolutionVersionARN: in.SolutionVersionArn, FilterARN: in.FilterArn,
			InputPath: in.JobInput.S3DataSource.Path, OutputPath: in.JobOutput.S3DataDestination.Path, RoleARN: in.RoleArn,
			Mode: in.BatchInferenceJobMode, NumResults: in.NumResults, Exploration: explore, Tags: tags})
		if err != nil {
			return nil, err
		}
		return map[string]any{"batchInferenceJobArn": j.ARN}, nil
	})
	type getIn struct {
		BatchInferenceJobArn string `json:"batchInferenceJobArn"`
	}
	ops["DescribeBatchInferenceJob"] = handle(func(ctx context.Context, in *getIn) (any, error) {
		j, err := svc.Get(ctx, in.BatchInferenceJobArn)
		if err != nil {
			return nil, err
		}
		return map[string]any{"batchInferenceJob": batchJobWire(j)}, nil
	})
	ops["ListBatchInferenceJobs"] = listBatchJobs("batchInferenceJobs", "batchInferenceJobArn", svc.List)
}

func registerBatchSegments(ops map[string]operation, svc batchService) {
	type createIn struct {
		JobName            string         `json:"jobName"`
		SolutionVersionArn string         `json:"solutionVersionArn"`
		FilterArn          string         `json:"filterArn"`
		NumResults         int            `json:"numResults"`
		JobInput           batchJobInput  `json:"jobInput"`
		JobOutput          batchJobOutput `json:"jobOutput"`
		RoleArn            string         `json:"roleArn"`
		Tags               []tag          `json:"tags"`
	}
	ops["CreateBatchSegmentJob"] = handle(func(ctx context.Context, in *createIn) (any, error) {
		tags, err := tagsIn(in.Tags)
		if err != nil {
			return nil, err
		}
		if in.FilterArn != "" {
			return nil, errInvalid("filterArn: user filters on batch segment jobs are not supported by Attune yet")
		}
		j, err := svc.CreateSegment(ctx, batch.CreateInput{JobName: in.JobName, SolutionVersionARN: in.SolutionVersionArn,
			InputPath: in.JobInput.S3DataSource.Path, OutputPath: in.JobOutput.S3DataDestination.Path, RoleARN: in.RoleArn,
			NumResults: in.NumResults, Tags: tags})
		if err != nil {
			return nil, err
		}
		return map[string]any{"batchSegmentJobArn": j.ARN}, nil
	})
	type getIn struct {
		BatchSegmentJobArn string `json:"batchSegmentJobArn"`
	}
	ops["DescribeBatchSegmentJob"] = handle(func(ctx context.Context, in *getIn) (any, error) {
		j, err := svc.GetSegment(ctx, in.BatchSegmentJobArn)
		if err != nil {
			return nil, err
		}
		return map[string]any{"batchSegmentJob": batchJobWire(j)}, nil
	})
	ops["ListBatchSegmentJobs"] = listBatchJobs("batchSegmentJobs", "batchSegmentJobArn", svc.ListSegments)
}

// listBatchJobs is a List operation over one kind of batch job: the list
// under listKey, each summary's ARN under arnKey.
func listBatchJobs(listKey, arnKey string, list func(ctx context.Context, versionARN, token string, limit int) ([]*batch.Job, string, error)) operation {
	type listIn struct {
		page
		SolutionVersionArn string `json:"solutionVersionArn"`
	}
	return handle(func(ctx context.Context, in *listIn) (any, error) {
		limit, err := in.limit()
		if err != nil {
			return nil, err
		}
		js, next, err := list(ctx, in.SolutionVersionArn, in.NextToken, limit)
		if err != nil {
			return nil, err
		}
		out := make([]map[string]any, len(js))
		for i, j := range js {
			out[i] = map[string]any{arnKey: j.ARN, "jobName": j.Name, "status": j.Status,
				"creationDateTime": ts(j.Created), "lastUpdatedDateTime": ts(j.Updated), "solutionVersionArn": j.SolutionVersionARN}
			if j.Mode != "BATCH_SEGMENT" {
				out[i]["batchInferenceJobMode"] = j.Mode
			}
			if j.FailureReason != "" {
				out[i]["failureReason"] = j.FailureReason
			}
		}
		return listOut(listKey, out, next), nil
	})
}
