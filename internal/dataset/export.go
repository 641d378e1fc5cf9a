package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/records"
	"github.com/attune-dev/attune/internal/resource"
	"github.com/attune-dev/attune/internal/store"
)

// Ingestion modes of an export: which records it writes, by how they arrived.
const (
	IngestionBulk = "BULK" // rows of import jobs
	IngestionPut  = "PUT"  // rows of PutEvents / PutItems / PutUsers (Personalize's default)
	IngestionAll  = "ALL"
)

// ExportJob is a dataset export job; Meta.Parent is the dataset ARN.
type ExportJob struct {
	resource.Meta
	DatasetARN    string
	IngestionMode string
	RoleARN       string
	// OutputPath is the folder (file:// or s3://, ending in '/') the CSV file
	// is written to, as <OutputPath><job name>.csv.
	OutputPath    string
	FailureReason string
	Tags          map[string]string
	// Report is Attune's account of what was written. Personalize has no
	// such member; it is sent as an extra member that AWS clients ignore.
	Report *ExportReport
	// Attempts counts the runs of this job that started writing: a job a
	// crash interrupted runs again, and from its second attempt on the
	// output file may be the interrupted run's, so it is replaced instead
	// of refused as an existing file.
	Attempts int
}

// ExportReport describes the output of a finished export.
type ExportReport struct {
	Files   []string
	Rows    int64
	Columns []string
}

var exports = resource.Kind[ExportJob, *ExportJob]{Name: arn.DatasetExportJob}

// CreateExportInput is the input of CreateExportJob.
type CreateExportInput struct {
	JobName, DatasetARN, IngestionMode, RoleARN, OutputPath string
	Tags                                                    map[string]string
}

// CreateExportJob queues an export of a dataset's records as CSV. Errors:
// errs.Invalid for bad input, errs.NotFound for a missing dataset,
// errs.InUse when it is not ACTIVE, errs.LimitExceeded when too many exports
// are pending, errs.AlreadyExists for a used job name.
func (s *Service) CreateExportJob(ctx context.Context, in CreateExportInput) (*ExportJob, error) {
	if err := arn.CheckName("jobName", in.JobName); err != nil {
		return nil, err
	}
	out := in.OutputPath
	switch {
	case out == "":
		return nil, errs.E(errs.Invalid, "jobOutput.s3DataDestination.path is required")
	case len(out) > 256:
		return nil, errs.E(errs.Invalid, "jobOutput.s3DataDestination.path is longer than 256 characters")
	case !strings.HasPrefix(out, "s3://") && !strings.HasPrefix(out, "file://"):
		return nil, errs.E(errs.Invalid, "jobOutput.s3DataDestination.path: %s must be an s3://bucket/folder/ or file:///absolute/folder/ location", errs.Quote(out))
	}
	if !strings.HasSuffix(out, "/") {
		out += "/" // Personalize takes a folder, with or without the slash
	}
	if err := confineLocation(ctx, s.locs, "jobOutput.s3DataDestination.path", out, true); err != nil {
		return nil, err
	}
	switch in.IngestionMode {
	case "":
		in.IngestionMode = IngestionPut
	case IngestionBulk, IngestionPut, IngestionAll:
	default:
		return nil, errs.E(errs.Invalid, "ingestionMode: %s is not one of BULK, PUT, ALL", errs.Quote(in.IngestionMode))
	}
	d, err := s.Dataset(ctx, in.DatasetARN)
	if err != nil {
		return nil, err
	}
	if !resource.Usable(d.Status) {
		return nil, errs.E(errs.InUse, "Dataset %s is %s, not ACTIVE", d.ARN, d.Status)
	}
	active, err := exports.All(ctx, s.st, "", StatusCreatePending, StatusCreateInProgress)
	if err != nil {
		return nil, err
	}
	if len(active) >= s.opts.MaxActiveImports {
		return nil, errs.E(errs.LimitExceeded, "More than %d dataset export jobs with PENDING or IN_PROGRESS status", s.opts.MaxActiveImports)
	}
	j := &ExportJob{DatasetARN: d.ARN, IngestionMode: in.IngestionMode, RoleARN: in.RoleARN, OutputPath: out, Tags: in.Tags}
	s.stamp(&j.Meta, s.opts.Scope.Build(arn.DatasetExportJob, in.JobName), in.JobName, d.ARN, StatusCreatePending)
	if err := exports.Create(ctx, s.st, j); err != nil {
		return nil, err
	}
	s.wake()
	return j, nil
}

// ExportJob returns an export job.
func (s *Service) ExportJob(ctx context.Context, jobARN string) (*ExportJob, error) {
	if _, err := arn.Expect("datasetExportJobArn", jobARN, arn.DatasetExportJob, 1); err != nil {
		return nil, err
	}
	return exports.Get(ctx, s.st, jobARN)
}

// ExportJobs lists export jobs of a dataset ("" = all), newest first.
func (s *Service) ExportJobs(ctx context.Context, datasetARN, token string, limit int) ([]*ExportJob, string, error) {
	if datasetARN != "" {
		if _, err := arn.Expect("datasetArn", datasetARN, arn.Dataset, 2); err != nil {
			return nil, "", err
		}
	}
	return exports.List(ctx, s.st, datasetARN, token, limit)
}

// recoverExports puts exports a crash interrupted back to pending: the
// output is written with one atomic Put, so a rerun starts from scratch.
func (s *Service) recoverExports(ctx context.Context) error {
	stuck, err := exports.All(ctx, s.st, "", StatusCreateInProgress)
	if err != nil {
		return err
	}
	for _, j := range stuck {
		if _, err := exports.Update(ctx, s.st, j.ARN, s.now, func(j *ExportJob) error {
			j.Status = StatusCreatePending
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// runExport runs one export job to ACTIVE or CREATE FAILED.
func (s *Service) runExport(ctx context.Context, jobARN string) {
	j, err := exports.Update(ctx, s.st, jobARN, s.now, func(j *ExportJob) error {
		if j.Status != StatusCreatePending {
			return errs.E(errs.InUse, "export job %s is %s", j.ARN, j.Status)
		}
		j.Status = StatusCreateInProgress
		j.Attempts++
		return nil
	})
	if err != nil {
		if ctx.Err() == nil && errs.KindOf(err) != errs.InUse {
			s.log.ErrorContext(ctx, "start export job", "job", jobARN, "err", err)
		}
		return
	}
	report, err := s.export(ctx, j)
	if ctx.Err() != nil {
		return // shutting down: recoverExports reruns it at the next start
	}
	status, reason := StatusActive, ""
	if err != nil {
		status, reason = StatusCreateFailed, errs.Message(err)
		if errs.KindOf(err) == errs.Internal {
			s.log.ErrorContext(ctx, "export job failed", "job", j.ARN, "err", err)
			reason = "internal error while exporting (job " + j.ARN + "); the cause is in the server log"
		}
	}
	if _, err := exports.Update(context.WithoutCancel(ctx), s.st, j.ARN, s.now, func(j *ExportJob) error {
		j.Status, j.FailureReason, j.Report = status, reason, report
		return nil
	}); err != nil {
		s.log.ErrorContext(ctx, "finish export job", "job", j.ARN, "err", err)
	}
}

// errStopScan ends a chunk scan early without being an error.
var errStopScan = errors.New("stop scan")

// export writes the job's records as one CSV file. The header is the
// dataset's schema fields, then any other column found in the stored chunks
// (the events API's EVENT_ID and SESSION_ID, or a field a later schema
// dropped), so the file shows everything that was stored.
func (s *Service) export(ctx context.Context, j *ExportJob) (*ExportReport, error) {
	d, err := s.Dataset(ctx, j.DatasetARN)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "dataset %s no longer exists", j.DatasetARN)
	}
	sch, err := s.DatasetSchema(ctx, d)
	if err != nil {
		return nil, err
	}
	var source store.Source
	switch j.IngestionMode {
	case IngestionBulk:
		source = store.Bulk
	case IngestionPut:
		source = store.Put
	}
	header := make([]string, 0, len(sch.Fields))
	seen := map[string]bool{}
	for _, f := range sch.Fields {
		header = append(header, f.Name)
		seen[f.Name] = true
	}
	for b, err := range s.batches(ctx, d.ARN, source, nil) {
		if err != nil {
			return nil, err
		}
		for _, c := range b.Columns {
			if !seen[c.Name] {
				seen[c.Name] = true
				header = append(header, c.Name)
			}
		}
	}
	uri := j.OutputPath + j.Name + ".csv"
	rep := &ExportReport{Files: []string{uri}, Columns: header}
	pr, pw := io.Pipe()
	written := make(chan error, 1)
	go func() {
		err := records.WriteCSV(pw, header, s.batches(ctx, d.ARN, source, &rep.Rows))
		pw.CloseWithError(err) // nil closes with io.EOF: the end of the file
		written <- err
	}()
	var perr error
	if j.Attempts > 1 {
		perr = s.locs.Put(ctx, uri, pr) // an interrupted attempt may have written it
	} else {
		perr = s.locs.Create(ctx, uri, pr)
	}
	pr.CloseWithError(errStopScan) // unblocks the writer if Put stopped reading early
	werr := <-written
	if werr != nil && !errors.Is(werr, errStopScan) {
		return nil, fmt.Errorf("export %s: %w", d.ARN, werr)
	}
	if perr != nil {
		return nil, perr
	}
	return rep, nil
}

// batches streams the decoded committed chunks of a dataset from one
// source ("" = both), adding their rows to *rows when rows is not nil.
func (s *Service) batches(ctx context.Context, datasetARN string, source store.Source, rows *int64) iter.Seq2[*records.Batch, error] {
	return func(yield func(*records.Batch, error) bool) {
		err := corpus.ScanBatches(ctx, s.st, datasetARN, source, func(_ int64, b *records.Batch) error {
			if rows != nil {
				*rows += int64(b.Rows)
			}
			if !yield(b, nil) {
				return errStopScan
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStopScan) {
			yield(nil, fmt.Errorf("read records of %s: %w", datasetARN, err))
		}
	}
}
