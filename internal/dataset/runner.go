package dataset

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/csvimport"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/resource"
	"github.com/attune-dev/attune/internal/schema"
	"github.com/attune-dev/attune/internal/store"
)

// Run moves pending resources forward until ctx is done, then waits for the
// jobs it started. At start it also recovers from a crash: an import that
// was IN_PROGRESS loses its staged chunks and runs again from the start, so
// no job stays IN_PROGRESS forever and nothing half-imported is visible.
func (s *Service) Run(ctx context.Context) error {
	if err := s.recover(ctx); err != nil {
		return fmt.Errorf("dataset runner: recover: %w", err)
	}
	if err := s.recoverExports(ctx); err != nil {
		return fmt.Errorf("dataset runner: recover exports: %w", err)
	}
	if err := s.recoverDeletions(ctx); err != nil {
		return fmt.Errorf("dataset runner: recover data deletion jobs: %w", err)
	}
	defer s.wakeups.Stop()
	s.runner.Run(ctx)
	return nil
}

func (s *Service) recover(ctx context.Context) error {
	stuck, err := imports.All(ctx, s.st, "", StatusCreateInProgress)
	if err != nil {
		return err
	}
	for _, j := range stuck {
		if err := s.st.DiscardImport(ctx, j.DatasetARN, j.ARN); err != nil {
			return err
		}
		if _, err := imports.Update(ctx, s.st, j.ARN, s.now, func(j *ImportJob) error {
			j.Status = StatusCreatePending
			return nil
		}); err != nil {
			return err
		}
		s.log.InfoContext(ctx, "import job interrupted by a restart; running it again", "job", j.ARN)
	}
	return nil
}

// pending lists import, export and data deletion jobs waiting to run,
// oldest first.
func (s *Service) pending(ctx context.Context) ([]string, error) {
	type job struct {
		arn     string
		created time.Time
	}
	var all []job
	ims, err := imports.All(ctx, s.st, "", StatusCreatePending)
	if err != nil {
		return nil, err
	}
	for _, j := range ims {
		all = append(all, job{j.ARN, j.Created})
	}
	exs, err := exports.All(ctx, s.st, "", StatusCreatePending)
	if err != nil {
		return nil, err
	}
	for _, j := range exs {
		all = append(all, job{j.ARN, j.Created})
	}
	dls, err := deletions.All(ctx, s.st, "", DeletionPending)
	if err != nil {
		return nil, err
	}
	for _, j := range dls {
		all = append(all, job{j.ARN, j.Created})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].created.Before(all[j].created) })
	ids := make([]string, len(all))
	for i, j := range all {
		ids[i] = j.arn
	}
	return ids, nil
}

// runJob runs an import, export or data deletion job, told apart by its ARN.
func (s *Service) runJob(ctx context.Context, jobARN string) {
	if strings.Contains(jobARN, ":"+arn.DatasetExportJob+"/") {
		s.runExport(ctx, jobARN)
		return
	}
	if strings.Contains(jobARN, ":"+arn.DataDeletionJob+"/") {
		s.runDeletion(ctx, jobARN)
		return
	}
	s.runImport(ctx, jobARN)
}

// activatePending makes groups and datasets ACTIVE and applies schema
// updates (these need no work beyond what Create already validated), and
// removes groups whose DELETE PENDING phase is over.
func (s *Service) activatePending(ctx context.Context) error {
	gs, err := groups.All(ctx, s.st, "", StatusCreatePending, StatusCreateInProgress)
	if err != nil {
		return err
	}
	for _, g := range gs {
		if _, err := groups.Update(ctx, s.st, g.ARN, s.now, func(g *Group) error {
			if resource.Deleting(g.Status) {
				return errs.E(errs.InUse, "dataset group %s is being deleted", g.ARN)
			}
			g.Status = StatusActive
			return nil
		}); err != nil && errs.KindOf(err) != errs.NotFound && errs.KindOf(err) != errs.InUse {
			return err
		}
	}
	if err := groups.Reap(ctx, s.st, s.now, resource.DeletePendingFor, s.finishGroupDelete); err != nil {
		return err
	}
	ds, err := datasets.All(ctx, s.st, "")
	if err != nil {
		return err
	}
	for _, d := range ds {
		pendingCreate := d.Status == StatusCreatePending || d.Status == StatusCreateInProgress
		pendingUpdate := d.LatestUpdate != nil && (d.LatestUpdate.Status == StatusCreatePending || d.LatestUpdate.Status == StatusCreateInProgress)
		if !pendingCreate && !pendingUpdate {
			continue
		}
		if _, err := datasets.Update(ctx, s.st, d.ARN, s.now, func(d *Dataset) error {
			if d.Status == StatusCreatePending || d.Status == StatusCreateInProgress {
				d.Status = StatusActive
			}
			if u := d.LatestUpdate; u != nil && (u.Status == StatusCreatePending || u.Status == StatusCreateInProgress) {
				d.SchemaARN = u.SchemaARN
				u.Status, u.Updated = StatusActive, s.now()
			}
			return nil
		}); err != nil && errs.KindOf(err) != errs.NotFound {
			return err
		}
	}
	return nil
}

// runImport runs one import job to ACTIVE or CREATE FAILED.
func (s *Service) runImport(ctx context.Context, jobARN string) {
	j, err := imports.Update(ctx, s.st, jobARN, s.now, func(j *ImportJob) error {
		if j.Status != StatusCreatePending {
			return errs.E(errs.InUse, "import job %s is %s", j.ARN, j.Status)
		}
		j.Status = StatusCreateInProgress
		return nil
	})
	if err != nil {
		if ctx.Err() == nil && errs.KindOf(err) != errs.InUse {
			s.log.ErrorContext(ctx, "start import job", "job", jobARN, "err", err)
		}
		return
	}
	start := s.now()
	report, err := s.importFiles(ctx, j)
	if ctx.Err() != nil {
		// Shutting down: leave the job IN_PROGRESS; recover() reruns it at the next start.
		return
	}
	status, reason := StatusActive, ""
	if err != nil {
		status, reason = StatusCreateFailed, errs.Message(err)
		if errs.KindOf(err) == errs.Internal {
			s.log.ErrorContext(ctx, "import job failed", "job", j.ARN, "err", err)
			reason = "internal error while importing (job " + j.ARN + "); the cause is in the server log"
		}
		if derr := s.st.DiscardImport(context.WithoutCancel(ctx), j.DatasetARN, j.ARN); derr != nil {
			s.log.ErrorContext(ctx, "discard failed import", "job", j.ARN, "err", derr)
		}
	}
	if _, uerr := imports.Update(context.WithoutCancel(ctx), s.st, j.ARN, s.now, func(j *ImportJob) error {
		j.Status, j.FailureReason, j.Report = status, reason, report
		return nil
	}); uerr != nil {
		s.log.ErrorContext(ctx, "finish import job", "job", j.ARN, "err", uerr)
		return
	}
	s.countImport(j.DatasetARN, report, err != nil)
	s.log.InfoContext(ctx, "import job finished", "job", j.ARN, "status", status, "rows", report.Rows,
		"imported", report.Imported, "rejected", report.Rejected, "seconds", s.now().Sub(start).Seconds())
}

// importFiles stages every file of the job's location and commits them as
// one import if the share of bad rows is acceptable. It always returns the
// report of what it read, also on failure.
func (s *Service) importFiles(ctx context.Context, j *ImportJob) (*Report, error) {
	rep := &Report{}
	d, err := s.Dataset(ctx, j.DatasetARN)
	if err != nil {
		return rep, errs.Wrap(errs.Invalid, err, "dataset %s no longer exists", j.DatasetARN)
	}
	sch, err := s.DatasetSchema(ctx, d)
	if err != nil {
		return rep, err
	}
	files, err := s.locs.Expand(ctx, j.DataLocation, ".csv")
	if err != nil {
		return rep, err
	}
	rep.Files = files
	ignored := map[string]bool{}
	for _, f := range files {
		r, err := s.locs.Open(ctx, f)
		if err != nil {
			return rep, err
		}
		fr, err := csvimport.Import(ctx, r, sch, schema.DatasetType(d.Type), csvimport.Options{ChunkRows: s.opts.ChunkRows},
			func(data []byte, rows int) error {
				return s.st.StageChunk(ctx, store.Chunk{Dataset: d.ARN, Source: store.Bulk, Job: j.ARN, Rows: rows, Data: data})
			})
		r.Close()
		rep.Rows += fr.Rows
		rep.Imported += fr.Imported
		rep.Rejected += fr.Rejected
		rep.DuplicateIDs += fr.DuplicateIDs
		for _, e := range fr.Errors {
			if len(rep.Errors) < 100 {
				rep.Errors = append(rep.Errors, FileRowError{File: path.Base(f), RowError: e})
			}
		}
		for _, c := range fr.IgnoredColumns {
			if !ignored[c] {
				ignored[c] = true
				rep.IgnoredColumns = append(rep.IgnoredColumns, c)
			}
		}
		if err != nil {
			if len(files) > 1 {
				return rep, errs.Wrap(errs.KindOf(err), err, "%s: %s", path.Base(f), errs.Message(err))
			}
			return rep, err
		}
	}
	if rep.Rows == 0 {
		return rep, errs.E(errs.Invalid, "no data rows found in %s", j.DataLocation)
	}
	if share := float64(rep.Rejected) / float64(rep.Rows); rep.Rejected > 0 && share > s.opts.MaxBadRowShare {
		return rep, errs.E(errs.Invalid, "%d of %d rows (%.1f%%) were rejected, more than the allowed %.1f%%; nothing was imported. %s",
			rep.Rejected, rep.Rows, 100*share, 100*max(s.opts.MaxBadRowShare, 0), firstErrors(rep.Errors, 3))
	}
	if err := s.st.CommitImport(ctx, d.ARN, j.ARN, j.ImportMode == ImportFull); err != nil {
		return rep, fmt.Errorf("commit import: %w", err)
	}
	s.changed(d.ARN)
	return rep, nil
}

func firstErrors(es []FileRowError, n int) string {
	var b strings.Builder
	b.WriteString("First errors:")
	for i, e := range es {
		if i == n {
			break
		}
		fmt.Fprintf(&b, " %s row %d", e.File, e.Row)
		if e.Column != "" {
			fmt.Fprintf(&b, " column %s", e.Column)
		}
		fmt.Fprintf(&b, ": %s;", e.Message)
	}
	return strings.TrimSuffix(b.String(), ";")
}
