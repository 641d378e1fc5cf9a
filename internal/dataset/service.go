package dataset

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/jobs"
	"github.com/attune-dev/attune/internal/quota"
	"github.com/attune-dev/attune/internal/resource"
	"github.com/attune-dev/attune/internal/schema"
	"github.com/attune-dev/attune/internal/store"
)

// locations resolves data locations (file:// and s3:// URIs) for imports
// and exports.
type locations interface {
	// Check validates a location at create time (see blob.Locations.Check).
	Check(ctx context.Context, uri string, write bool) error
	Expand(ctx context.Context, uri, suffix string) ([]string, error)
	Open(ctx context.Context, uri string) (io.ReadCloser, error)
	// Create writes an object (export output); it never replaces a local
	// file (see blob.Locations.Create).
	Create(ctx context.Context, uri string, r io.Reader) error
	// Put writes an object, replacing one: the output of an export that a
	// crash interrupted, when it runs again.
	Put(ctx context.Context, uri string, r io.Reader) error
}

// confineLocation checks a client's location against what the server lets
// jobs read (or write), naming member in the error.
func confineLocation(ctx context.Context, locs locations, member, uri string, write bool) error {
	if err := locs.Check(ctx, uri, write); err != nil {
		if k := errs.KindOf(err); k != errs.Internal {
			return errs.E(k, "%s: %s", member, errs.Message(err))
		}
		return err
	}
	return nil
}

// Options configure the service.
type Options struct {
	Scope arn.Scope
	// MaxBadRowShare is the share of rejected rows above which an import job
	// fails and stores nothing; 0 means 0.1 (10%). Use a negative value to
	// fail on any bad row.
	MaxBadRowShare float64
	// MaxActiveImports is the number of import jobs that may be PENDING or
	// IN_PROGRESS at once (Personalize's quota is 5); 0 means 5.
	MaxActiveImports int
	// Workers is the number of import jobs that run at the same time; 0 means 1.
	Workers int
	// ChunkRows is the number of rows per stored chunk; 0 means 65536.
	ChunkRows int
	// Poll is how often the runner rescans for pending work besides being
	// kicked; 0 means 2s.
	Poll time.Duration
	// Quotas caps dataset groups, schemas and pending data deletion jobs;
	// the zero value holds Personalize's defaults.
	Quotas quota.Limits
	// Changed, when not nil, is told the dataset ARN after an import job
	// committed its rows or a dataset's records were deleted, so that
	// serving knows its in-memory copy is stale. It must return quickly.
	Changed func(datasetARN string)
	// Metrics receives the rows import jobs read (metrics.go); nil records
	// nothing.
	Metrics Metrics
}

// changed calls Options.Changed, if set.
func (s *Service) changed(datasetARN string) {
	if s.opts.Changed != nil {
		s.opts.Changed(datasetARN)
	}
}

// DefaultOptions returns the defaults described on Options.
func DefaultOptions() Options {
	return Options{Scope: arn.Scope{Region: "us-east-1", Account: "000000000000"}, MaxBadRowShare: 0.1,
		MaxActiveImports: 5, Workers: 1, ChunkRows: 65536, Poll: 2 * time.Second}
}

// Service implements the dataset operations. Create calls return at once with
// the resource pending; Run moves resources forward in the background.
type Service struct {
	st     store.Store
	locs   locations
	opts   Options
	now    func() time.Time
	log    *slog.Logger
	runner *jobs.Runner
	forget Forgetter // nil: data deletion jobs clean only the store
	// wakeups reap deleted dataset groups when due; Run stops them.
	wakeups resource.Wakeups
}

// New returns a service; call Run to start its background work.
func New(st store.Store, locs locations, opts Options, now func() time.Time, log *slog.Logger) *Service {
	d := DefaultOptions()
	if opts.MaxBadRowShare == 0 {
		opts.MaxBadRowShare = d.MaxBadRowShare
	}
	if opts.MaxActiveImports <= 0 {
		opts.MaxActiveImports = d.MaxActiveImports
	}
	if opts.Workers <= 0 {
		opts.Workers = d.Workers
	}
	if opts.ChunkRows <= 0 {
		opts.ChunkRows = d.ChunkRows
	}
	if opts.Poll <= 0 {
		opts.Poll = d.Poll
	}
	if opts.Metrics == nil {
		opts.Metrics = noMetrics{}
	}
	if opts.Scope.Region == "" {
		opts.Scope = d.Scope
	}
	s := &Service{st: st, locs: locs, opts: opts, now: now, log: log}
	s.runner = jobs.New(jobs.Options{Name: "dataset", Workers: opts.Workers, Poll: opts.Poll}, log, s.pending, s.runJob, s.activatePending)
	return s
}

// Scope returns the region and account the service builds ARNs in.
func (s *Service) Scope() arn.Scope { return s.opts.Scope }

func (s *Service) wake() { s.runner.Kick() }

func (s *Service) stamp(m *resource.Meta, arnStr, name, parent, status string) {
	t := s.now()
	*m = resource.Meta{ARN: arnStr, Name: name, Parent: parent, Status: status, Created: t, Updated: t}
}

// CreateGroupInput is the input of CreateGroup.
type CreateGroupInput struct {
	Name, RoleARN, KMSKeyARN, Domain string
	Tags                             map[string]string
}

// CreateGroup creates a dataset group.
func (s *Service) CreateGroup(ctx context.Context, in CreateGroupInput) (*Group, error) {
	if err := arn.CheckName("name", in.Name); err != nil {
		return nil, err
	}
	if err := checkDomain(in.Domain); err != nil {
		return nil, err
	}
	if in.RoleARN != "" && in.KMSKeyARN == "" {
		return nil, errs.E(errs.Invalid, "roleArn is only valid together with kmsKeyArn")
	}
	n, err := resource.Count(ctx, s.st, arn.DatasetGroup, "")
	if err != nil {
		return nil, err
	}
	if err := s.opts.Quotas.Check(quota.DatasetGroups, n, ""); err != nil {
		return nil, err
	}
	g := &Group{RoleARN: in.RoleARN, KMSKeyARN: in.KMSKeyARN, Domain: in.Domain, Tags: in.Tags}
	s.stamp(&g.Meta, s.opts.Scope.Build(arn.DatasetGroup, in.Name), in.Name, "", StatusCreatePending)
	if err := groups.Create(ctx, s.st, g); err != nil {
		return nil, err
	}
	s.wake()
	return g, nil
}

func checkDomain(d string) error {
	switch d {
	case "", "ECOMMERCE", "VIDEO_ON_DEMAND":
		return nil
	}
	return errs.E(errs.Invalid, "domain: %s is not one of ECOMMERCE, VIDEO_ON_DEMAND", errs.Quote(d))
}

// Group returns a dataset group.
func (s *Service) Group(ctx context.Context, groupARN string) (*Group, error) {
	if _, err := arn.Expect("datasetGroupArn", groupARN, arn.DatasetGroup, 1); err != nil {
		return nil, err
	}
	return groups.Get(ctx, s.st, groupARN)
}

// Groups lists dataset groups, newest first.
func (s *Service) Groups(ctx context.Context, token string, limit int) ([]*Group, string, error) {
	return groups.List(ctx, s.st, "", token, limit)
}

// childKinds are the resource kinds that live in a dataset group and block
// its deletion.
var childKinds = []string{arn.Dataset, arn.Solution, arn.EventTracker, arn.Filter, arn.Recommender}

// DeleteGroup starts deleting a dataset group whose children are gone or
// being deleted: it shows DELETE PENDING for resource.DeletePendingFor and
// until they are gone, then disappears.
func (s *Service) DeleteGroup(ctx context.Context, groupARN string) error {
	if _, err := s.Group(ctx, groupARN); err != nil {
		return err
	}
	for _, k := range childKinds {
		blocking, _, err := resource.Children(ctx, s.st, k, groupARN)
		if err != nil {
			return err
		}
		if blocking != "" {
			return errs.E(errs.InUse, "Dataset group %s still has a %s (%s): delete it first", groupARN, k, blocking)
		}
	}
	// The group shows DELETE PENDING, then DELETE IN_PROGRESS, as
	// Personalize's do; the runner removes it (finishGroupDelete).
	if _, err := groups.MarkDeleting(ctx, s.st, groupARN, s.now, nil); err != nil {
		return err
	}
	s.wakeups.After(resource.DeletePendingFor, s.wake) // reap it as soon as it is due
	return nil
}

// finishGroupDelete removes a dataset group whose DELETE PENDING phase is
// over.
func (s *Service) finishGroupDelete(ctx context.Context, g *Group) error {
	for _, k := range childKinds {
		if _, leaving, err := resource.Children(ctx, s.st, k, g.ARN); err != nil {
			return err
		} else if leaving {
			return errs.E(errs.InUse, "dataset group %s: a %s is still being deleted", g.ARN, k)
		}
	}
	if err := groups.Delete(ctx, s.st, g.ARN); err != nil {
		return err
	}
	// The group's datasets were purged when they were deleted; this also
	// clears what is left of the group's own resources from the files.
	return s.st.Purge(ctx)
}

// CreateSchema validates and stores a schema.
func (s *Service) CreateSchema(ctx context.Context, name, text, domain string) (*Schema, error) {
	if err := arn.CheckName("name", name); err != nil {
		return nil, err
	}
	if err := checkDomain(domain); err != nil {
		return nil, err
	}
	if _, err := schema.Parse(text); err != nil {
		return nil, err
	}
	n, err := resource.Count(ctx, s.st, arn.Schema, "")
	if err != nil {
		return nil, err
	}
	if err := s.opts.Quotas.Check(quota.Schemas, n, ""); err != nil {
		return nil, err
	}
	sc := &Schema{Text: text, Domain: domain}
	s.stamp(&sc.Meta, s.opts.Scope.Build(arn.Schema, name), name, "", StatusActive)
	if err := schemas.Create(ctx, s.st, sc); err != nil {
		return nil, err
	}
	return sc, nil
}

// Schema returns a schema.
func (s *Service) Schema(ctx context.Context, schemaARN string) (*Schema, error) {
	if _, err := arn.Expect("schemaArn", schemaARN, arn.Schema, 1); err != nil {
		return nil, err
	}
	return schemas.Get(ctx, s.st, schemaARN)
}

// Schemas lists schemas, newest first.
func (s *Service) Schemas(ctx context.Context, token string, limit int) ([]*Schema, string, error) {
	return schemas.List(ctx, s.st, "", token, limit)
}

// DeleteSchema deletes a schema no dataset uses.
func (s *Service) DeleteSchema(ctx context.Context, schemaARN string) error {
	if _, err := s.Schema(ctx, schemaARN); err != nil {
		return err
	}
	all, err := datasets.All(ctx, s.st, "")
	if err != nil {
		return err
	}
	for _, d := range all {
		if d.SchemaARN == schemaARN || (d.LatestUpdate != nil && d.LatestUpdate.SchemaARN == schemaARN) {
			return errs.E(errs.InUse, "Schema %s is used by dataset %s", schemaARN, d.ARN)
		}
	}
	return schemas.Delete(ctx, s.st, schemaARN)
}

// CreateDatasetInput is the input of CreateDataset.
type CreateDatasetInput struct {
	Name, SchemaARN, GroupARN, Type string
	Tags                            map[string]string
}

// CreateDataset creates an empty dataset of a type in a group.
func (s *Service) CreateDataset(ctx context.Context, in CreateDatasetInput) (*Dataset, error) {
	if err := arn.CheckName("name", in.Name); err != nil {
		return nil, err
	}
	if in.Type == "" {
		return nil, errs.E(errs.Invalid, "datasetType is required")
	}
	dt, err := schema.ParseDatasetType(in.Type)
	if err != nil {
		return nil, err
	}
	g, err := s.Group(ctx, in.GroupARN)
	if err != nil {
		return nil, err
	}
	if !resource.Usable(g.Status) {
		return nil, errs.E(errs.InUse, "Dataset group %s is %s, not ACTIVE", g.ARN, g.Status)
	}
	if _, err := s.checkSchemaFor(ctx, in.SchemaARN, dt, g.Domain); err != nil {
		return nil, err
	}
	// One dataset per type and group: the ARN is built from the group and the type.
	d := &Dataset{GroupARN: g.ARN, Type: string(dt), SchemaARN: in.SchemaARN, Tags: in.Tags}
	s.stamp(&d.Meta, s.opts.Scope.Build(arn.Dataset, g.Name, string(dt)), in.Name, g.ARN, StatusCreatePending)
	if err := datasets.Create(ctx, s.st, d); err != nil {
		if errs.KindOf(err) == errs.AlreadyExists {
			return nil, errs.Wrap(errs.AlreadyExists, err, "Dataset group %s already has a %s dataset", g.ARN, dt)
		}
		return nil, err
	}
	s.wake()
	return d, nil
}

// checkSchemaFor loads a schema and checks it suits a dataset type and domain.
func (s *Service) checkSchemaFor(ctx context.Context, schemaARN string, dt schema.DatasetType, domain string) (*schema.Schema, error) {
	sc, err := s.Schema(ctx, schemaARN)
	if err != nil {
		return nil, err
	}
	if sc.Domain != domain {
		return nil, errs.E(errs.Invalid, "Schema %s has domain %s but the dataset group has domain %s", errs.Quote(schemaARN), errs.Quote(sc.Domain), errs.Quote(domain))
	}
	parsed, err := schema.Parse(sc.Text)
	if err != nil {
		return nil, err
	}
	if err := parsed.ValidateFor(dt, domain); err != nil {
		return nil, err
	}
	return parsed, nil
}

// Dataset returns a dataset.
func (s *Service) Dataset(ctx context.Context, datasetARN string) (*Dataset, error) {
	if _, err := arn.Expect("datasetArn", datasetARN, arn.Dataset, 2); err != nil {
		return nil, err
	}
	return datasets.Get(ctx, s.st, datasetARN)
}

// Datasets lists datasets of a group ("" = all), newest first.
func (s *Service) Datasets(ctx context.Context, groupARN, token string, limit int) ([]*Dataset, string, error) {
	if groupARN != "" {
		if _, err := s.Group(ctx, groupARN); err != nil {
			return nil, "", err
		}
	}
	return datasets.List(ctx, s.st, groupARN, token, limit)
}

// DatasetSchema returns the parsed current schema of a dataset.
func (s *Service) DatasetSchema(ctx context.Context, d *Dataset) (*schema.Schema, error) {
	sc, err := s.Schema(ctx, d.SchemaARN)
	if err != nil {
		return nil, err
	}
	return schema.Parse(sc.Text)
}

// UpdateDataset replaces a dataset's schema; the new schema must suit the
// dataset type. The change is applied in the background (latestDatasetUpdate).
func (s *Service) UpdateDataset(ctx context.Context, datasetARN, schemaARN string) (*Dataset, error) {
	d, err := s.Dataset(ctx, datasetARN)
	if err != nil {
		return nil, err
	}
	g, err := s.Group(ctx, d.GroupARN)
	if err != nil {
		return nil, err
	}
	if _, err := s.checkSchemaFor(ctx, schemaARN, schema.DatasetType(d.Type), g.Domain); err != nil {
		return nil, err
	}
	d, err = datasets.Update(ctx, s.st, datasetARN, s.now, func(d *Dataset) error {
		if !resource.Usable(d.Status) {
			return errs.E(errs.InUse, "Dataset %s is %s, not ACTIVE", d.ARN, d.Status)
		}
		if d.LatestUpdate != nil && d.LatestUpdate.Status != StatusActive && d.LatestUpdate.Status != StatusCreateFailed {
			return errs.E(errs.InUse, "Dataset %s already has an update in progress", d.ARN)
		}
		t := s.now()
		d.LatestUpdate = &Update{SchemaARN: schemaARN, Status: StatusCreatePending, Created: t, Updated: t}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.wake()
	return d, nil
}

// DeleteDataset deletes a dataset and its records; no import may be running.
func (s *Service) DeleteDataset(ctx context.Context, datasetARN string) error {
	d, err := s.Dataset(ctx, datasetARN)
	if err != nil {
		return err
	}
	active, err := imports.All(ctx, s.st, d.ARN, StatusCreatePending, StatusCreateInProgress)
	if err != nil {
		return err
	}
	if len(active) > 0 {
		return errs.E(errs.InUse, "Dataset %s has import job %s in progress", d.ARN, active[0].ARN)
	}
	if err := s.st.DeleteRecords(ctx, d.ARN); err != nil {
		return err
	}
	s.changed(d.ARN)
	// Import jobs are kept, as Personalize keeps them: they are history.
	return datasets.Delete(ctx, s.st, d.ARN)
}

// CreateImportInput is the input of CreateImportJob.
type CreateImportInput struct {
	JobName, DatasetARN, DataLocation, RoleARN, ImportMode string
	PublishAttribution                                     bool
	Tags                                                   map[string]string
}

// CreateImportJob queues an import of CSV data into a dataset.
func (s *Service) CreateImportJob(ctx context.Context, in CreateImportInput) (*ImportJob, error) {
	if err := arn.CheckName("jobName", in.JobName); err != nil {
		return nil, err
	}
	if in.DataLocation == "" {
		return nil, errs.E(errs.Invalid, "dataSource.dataLocation is required")
	}
	if len(in.DataLocation) > 256 {
		return nil, errs.E(errs.Invalid, "dataSource.dataLocation is longer than 256 characters")
	}
	if !strings.HasPrefix(in.DataLocation, "s3://") && !strings.HasPrefix(in.DataLocation, "file://") {
		return nil, errs.E(errs.Invalid, "dataSource.dataLocation: %s must be an s3://bucket/key or file:///absolute/path location", errs.Quote(in.DataLocation))
	}
	if err := confineLocation(ctx, s.locs, "dataSource.dataLocation", in.DataLocation, false); err != nil {
		return nil, err
	}
	switch in.ImportMode {
	case "":
		in.ImportMode = ImportFull
	case ImportFull, ImportIncremental:
	default:
		return nil, errs.E(errs.Invalid, "importMode: %s is not one of FULL, INCREMENTAL", errs.Quote(in.ImportMode))
	}
	d, err := s.Dataset(ctx, in.DatasetARN)
	if err != nil {
		return nil, err
	}
	if !resource.Usable(d.Status) {
		return nil, errs.E(errs.InUse, "Dataset %s is %s, not ACTIVE", d.ARN, d.Status)
	}
	active, err := imports.All(ctx, s.st, "", StatusCreatePending, StatusCreateInProgress)
	if err != nil {
		return nil, err
	}
	if len(active) >= s.opts.MaxActiveImports {
		return nil, errs.E(errs.LimitExceeded, "More than %d dataset import jobs with PENDING or IN_PROGRESS status", s.opts.MaxActiveImports)
	}
	j := &ImportJob{DatasetARN: d.ARN, DataLocation: in.DataLocation, RoleARN: in.RoleARN, ImportMode: in.ImportMode,
		PublishAttribution: in.PublishAttribution, Tags: in.Tags}
	s.stamp(&j.Meta, s.opts.Scope.Build(arn.DatasetImportJob, in.JobName), in.JobName, d.ARN, StatusCreatePending)
	if err := imports.Create(ctx, s.st, j); err != nil {
		if errs.KindOf(err) == errs.AlreadyExists {
			return nil, s.importNameTaken(ctx, j.ARN, in.JobName, d, err)
		}
		return nil, err
	}
	s.wake()
	return j, nil
}

// importNameTaken explains a used import job name. Job names are unique in
// the account and, as in Personalize, a job stays after its dataset is
// deleted (it is history), so its name stays taken: say so, or a client
// that deleted and re-created its dataset cannot tell why.
func (s *Service) importNameTaken(ctx context.Context, jobARN, name string, d *Dataset, cause error) error {
	old, err := imports.Get(ctx, s.st, jobARN)
	if err != nil {
		return cause
	}
	// A dataset's ARN is its group and type, so a re-created dataset has the
	// deleted one's ARN: a job older than the dataset it names, or naming one
	// that is gone, imported into a deleted dataset.
	_, err = datasets.Get(ctx, s.st, old.DatasetARN)
	if errs.KindOf(err) == errs.NotFound || (old.DatasetARN == d.ARN && old.Created.Before(d.Created)) {
		return errs.Wrap(errs.AlreadyExists, cause, "dataset-import-job %s already exists: it imported into dataset %s, which was deleted; "+
			"import jobs are kept after their dataset is deleted and job names stay reserved, so choose another jobName", name, old.DatasetARN)
	}
	return errs.Wrap(errs.AlreadyExists, cause, "dataset-import-job %s already exists (dataset %s): import job names are unique in the account", name, old.DatasetARN)
}

// ImportJob returns an import job.
func (s *Service) ImportJob(ctx context.Context, jobARN string) (*ImportJob, error) {
	if _, err := arn.Expect("datasetImportJobArn", jobARN, arn.DatasetImportJob, 1); err != nil {
		return nil, err
	}
	return imports.Get(ctx, s.st, jobARN)
}

// ImportJobs lists import jobs of a dataset ("" = all), newest first.
func (s *Service) ImportJobs(ctx context.Context, datasetARN, token string, limit int) ([]*ImportJob, string, error) {
	if datasetARN != "" {
		if _, err := arn.Expect("datasetArn", datasetARN, arn.Dataset, 2); err != nil {
			return nil, "", err
		}
	}
	return imports.List(ctx, s.st, datasetARN, token, limit)
}
