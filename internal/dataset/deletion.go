package dataset

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/corpus"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/quota"
	"github.com/attune-dev/attune/internal/records"
	"github.com/attune-dev/attune/internal/resource"
	"github.com/attune-dev/attune/internal/store"
)

// Statuses of a data deletion job: Personalize uses another vocabulary for
// these jobs than for the other resources.
const (
	DeletionPending    = "PENDING"
	DeletionInProgress = "IN_PROGRESS"
	DeletionCompleted  = "COMPLETED"
	DeletionFailed     = "FAILED"
)

// DeletionJob is a data deletion job: it deletes the users listed in a CSV
// file, and everything recorded about them, from a dataset group.
// Meta.Parent is the dataset group ARN.
type DeletionJob struct {
	resource.Meta
	GroupARN      string
	DataLocation  string
	RoleARN       string
	NumDeleted    int64 // records (interaction and user rows) deleted
	FailureReason string
	Tags          map[string]string
}

var deletions = resource.Kind[DeletionJob, *DeletionJob]{Name: arn.DataDeletionJob}

// Forgetter drops deleted users from state kept outside the store (the
// serving histories, the events service's session links), so that they are
// unknown users at the next request.
type Forgetter interface {
	// ForgetUsers removes users, and the anonymous sessions they were
	// linked to, from the dataset group's state outside the records (the
	// job fails with its error and can be run again).
	ForgetUsers(ctx context.Context, groupARN string, users, sessions map[string]struct{}) error
}

// SetForgetter installs what a data deletion job tells about the users it
// deleted; call it before Run. Without one only the store is cleaned.
func (s *Service) SetForgetter(f Forgetter) { s.forget = f }

// CreateDeletionInput is the input of CreateDeletionJob.
type CreateDeletionInput struct {
	JobName, GroupARN, DataLocation, RoleARN string
	Tags                                     map[string]string
}

// CreateDeletionJob queues a data deletion job. Errors: errs.Invalid for bad
// input, errs.NotFound for a missing dataset group, errs.InUse when it is
// not ACTIVE, errs.LimitExceeded when the group has too many pending
// deletion jobs, errs.AlreadyExists for a used job name.
func (s *Service) CreateDeletionJob(ctx context.Context, in CreateDeletionInput) (*DeletionJob, error) {
	if err := arn.CheckName("jobName", in.JobName); err != nil {
		return nil, err
	}
	if err := checkLocation("dataSource.dataLocation", in.DataLocation); err != nil {
		return nil, err
	}
	if err := confineLocation(ctx, s.locs, "dataSource.dataLocation", in.DataLocation, false); err != nil {
		return nil, err
	}
	if in.RoleARN == "" {
		return nil, errs.E(errs.Invalid, "roleArn is required")
	}
	if len(in.RoleARN) > 256 {
		return nil, errs.E(errs.Invalid, "roleArn is longer than 256 characters")
	}
	g, err := s.Group(ctx, in.GroupARN)
	if err != nil {
		return nil, err
	}
	if g.Status != StatusActive {
		return nil, errs.E(errs.InUse, "Dataset group %s is %s, not ACTIVE", g.ARN, g.Status)
	}
	n, err := resource.Count(ctx, s.st, arn.DataDeletionJob, g.ARN, DeletionPending)
	if err != nil {
		return nil, err
	}
	if err := s.opts.Quotas.Check(quota.PendingDeletionJobs, n, g.ARN); err != nil {
		return nil, err
	}
	j := &DeletionJob{GroupARN: g.ARN, DataLocation: in.DataLocation, RoleARN: in.RoleARN, Tags: in.Tags}
	s.stamp(&j.Meta, s.opts.Scope.Build(arn.DataDeletionJob, in.JobName), in.JobName, g.ARN, DeletionPending)
	if err := deletions.Create(ctx, s.st, j); err != nil {
		return nil, err
	}
	s.wake()
	return j, nil
}

// checkLocation validates a file:// or s3:// data location member.
func checkLocation(member, loc string) error {
	switch {
	case loc == "":
		return errs.E(errs.Invalid, "%s is required", member)
	case len(loc) > 256:
		return errs.E(errs.Invalid, "%s is longer than 256 characters", member)
	case !strings.HasPrefix(loc, "s3://") && !strings.HasPrefix(loc, "file://"):
		return errs.E(errs.Invalid, "%s must be an s3://bucket/key or file:///absolute/path location", member)
	}
	return nil
}

// DeletionJob returns a data deletion job.
func (s *Service) DeletionJob(ctx context.Context, jobARN string) (*DeletionJob, error) {
	if _, err := arn.Expect("dataDeletionJobArn", jobARN, arn.DataDeletionJob, 1); err != nil {
		return nil, err
	}
	return deletions.Get(ctx, s.st, jobARN)
}

// DeletionJobs lists data deletion jobs of a dataset group ("" = all),
// newest first.
func (s *Service) DeletionJobs(ctx context.Context, groupARN, token string, limit int) ([]*DeletionJob, string, error) {
	if groupARN != "" {
		if _, err := arn.Expect("datasetGroupArn", groupARN, arn.DatasetGroup, 1); err != nil {
			return nil, "", err
		}
	}
	return deletions.List(ctx, s.st, groupARN, token, limit)
}

// recoverDeletions puts jobs a crash interrupted back to pending. Rerunning
// is safe: deleting rows that are already gone deletes nothing.
func (s *Service) recoverDeletions(ctx context.Context) error {
	stuck, err := deletions.All(ctx, s.st, "", DeletionInProgress)
	if err != nil {
		return err
	}
	for _, j := range stuck {
		if _, err := deletions.Update(ctx, s.st, j.ARN, s.now, func(j *DeletionJob) error {
			j.Status = DeletionPending
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// runDeletion runs one data deletion job to COMPLETED or FAILED.
func (s *Service) runDeletion(ctx context.Context, jobARN string) {
	j, err := deletions.Update(ctx, s.st, jobARN, s.now, func(j *DeletionJob) error {
		if j.Status != DeletionPending {
			return errs.E(errs.InUse, "data deletion job %s is %s", j.ARN, j.Status)
		}
		j.Status = DeletionInProgress
		return nil
	})
	if err != nil {
		if ctx.Err() == nil && errs.KindOf(err) != errs.InUse {
			s.log.ErrorContext(ctx, "start data deletion job", "job", jobARN, "err", err)
		}
		return
	}
	start := s.now()
	users, deleted, err := s.deleteUsers(ctx, j)
	if ctx.Err() != nil {
		return // shutting down: recoverDeletions reruns it at the next start
	}
	status, reason := DeletionCompleted, ""
	if err != nil {
		status, reason = DeletionFailed, errs.Message(err)
		if errs.KindOf(err) == errs.Internal {
			s.log.ErrorContext(ctx, "data deletion job failed", "job", j.ARN, "err", err)
			reason = "internal error; the server log has the cause under job " + j.ARN
		}
	}
	if _, err := deletions.Update(context.WithoutCancel(ctx), s.st, j.ARN, s.now, func(j *DeletionJob) error {
		j.Status, j.FailureReason, j.NumDeleted = status, reason, deleted
		return nil
	}); err != nil {
		s.log.ErrorContext(ctx, "finish data deletion job", "job", j.ARN, "err", err)
		return
	}
	s.log.InfoContext(ctx, "data deletion job finished", "job", j.ARN, "status", status, "users", users, "records", deleted,
		"seconds", s.now().Sub(start).Seconds())
}

// deleteUsers reads the job's user list and removes those users' rows from
// every dataset of the group that has a USER_ID column, together with the
// anonymous events of sessions they were linked to, then tells the
// forgetter. It returns the number of users listed and of rows deleted.
func (s *Service) deleteUsers(ctx context.Context, j *DeletionJob) (int, int64, error) {
	users, err := s.readUserList(ctx, j.DataLocation)
	if err != nil {
		return 0, 0, err
	}
	if _, err := s.Group(ctx, j.GroupARN); err != nil {
		return len(users), 0, errs.Wrap(errs.Invalid, err, "dataset group %s no longer exists", j.GroupARN)
	}
	ds, err := datasets.All(ctx, s.st, j.GroupARN)
	if err != nil {
		return len(users), 0, err
	}
	sessions := map[string]struct{}{}
	for _, d := range ds {
		if d.Type != "INTERACTIONS" {
			continue
		}
		if err := s.sessionsOf(ctx, d.ARN, users, sessions); err != nil {
			return len(users), 0, err
		}
	}
	var deleted int64
	for _, d := range ds {
		if d.Type != "INTERACTIONS" && d.Type != "USERS" && d.Type != "ACTION_INTERACTIONS" {
			continue // no USER_ID column
		}
		err := s.st.RewriteChunks(ctx, d.ARN, func(c store.Chunk) (*store.Rewrite, error) {
			b, err := records.Decode(c.Data)
			if err != nil {
				return nil, fmt.Errorf("chunk %d: %w", c.Seq, err)
			}
			drop := rowsOf(b, users, sessions)
			if drop == nil {
				return nil, nil
			}
			data, kept := records.Select(b, func(r int) bool { return !drop[r] })
			deleted += int64(b.Rows - kept)
			if kept == 0 {
				return &store.Rewrite{}, nil
			}
			return &store.Rewrite{Rows: kept, Data: data}, nil
		})
		if err != nil {
			return len(users), deleted, fmt.Errorf("delete users from %s: %w", d.ARN, err)
		}
	}
	if s.forget != nil {
		if err := s.forget.ForgetUsers(ctx, j.GroupARN, users, sessions); err != nil {
			return len(users), deleted, err
		}
	}
	return len(users), deleted, nil
}

// readUserList reads every CSV file of a deletion job's location.
func (s *Service) readUserList(ctx context.Context, loc string) (map[string]struct{}, error) {
	files, err := s.locs.Expand(ctx, loc, ".csv")
	if err != nil {
		return nil, err
	}
	users := map[string]struct{}{}
	budget := int64(MaxDeletionInputBytes)
	for _, f := range files {
		r, err := s.locs.Open(ctx, f)
		if err != nil {
			return nil, err
		}
		n, err := readUserIDs(r, path.Base(f), budget, users)
		r.Close()
		if err != nil {
			return nil, err
		}
		budget -= n
	}
	if len(users) == 0 {
		return nil, errs.E(errs.Invalid, "dataSource.dataLocation: no user ids found")
	}
	return users, nil
}

// sessionsOf adds to sessions the SESSION_IDs that events of the users
// carried in an interactions dataset: events the same visitor sent before
// signing in, stored without a USER_ID, belong to them too.
func (s *Service) sessionsOf(ctx context.Context, datasetARN string, users, sessions map[string]struct{}) error {
	return corpus.ScanBatches(ctx, s.st, datasetARN, "", func(_ int64, b *records.Batch) error {
		uc, sc := b.Column("USER_ID"), b.Column("SESSION_ID")
		if uc == nil || sc == nil {
			return nil
		}
		for r := 0; r < b.Rows; r++ {
			u, ok := uc.String(r)
			if !ok {
				continue
			}
			if _, del := users[u]; !del {
				continue
			}
			if sess, ok := sc.String(r); ok && sess != "" {
				sessions[strings.Clone(sess)] = struct{}{}
			}
		}
		return nil
	})
}

// rowsOf marks the rows of b that belong to a deleted user: their USER_ID
// is listed, or it is null and their SESSION_ID is a session of a listed
// user. It returns nil when no row does. USER_ID lookups go through the
// chunk's dictionary, once per distinct id.
func rowsOf(b *records.Batch, users, sessions map[string]struct{}) []bool {
	uc, sc := b.Column("USER_ID"), b.Column("SESSION_ID")
	if uc == nil {
		return nil
	}
	dictHit := func(c *records.Column, set map[string]struct{}) []bool {
		if c == nil || len(set) == 0 {
			return nil
		}
		hit := make([]bool, len(c.Dict))
		for i, v := range c.Dict {
			_, hit[i] = set[v]
		}
		return hit
	}
	userHit, sessHit := dictHit(uc, users), dictHit(sc, sessions)
	var drop []bool
	for r := 0; r < b.Rows; r++ {
		var d bool
		switch {
		case !uc.IsNull(r) && userHit != nil:
			d = userHit[uc.Codes[r]]
		case uc.IsNull(r) && sessHit != nil && !sc.IsNull(r):
			d = sessHit[sc.Codes[r]]
		}
		if d {
			if drop == nil {
				drop = make([]bool, b.Rows)
			}
			drop[r] = true
		}
	}
	return drop
}
