package api

import (
	"context"

	"github.com/attune-dev/attune/internal/dataset"
	"github.com/attune-dev/attune/internal/errs"
)

// datasetService is what the dataset operations need from the domain.
type datasetService interface {
	CreateGroup(ctx context.Context, in dataset.CreateGroupInput) (*dataset.Group, error)
	Group(ctx context.Context, groupARN string) (*dataset.Group, error)
	Groups(ctx context.Context, token string, limit int) ([]*dataset.Group, string, error)
	DeleteGroup(ctx context.Context, groupARN string) error
	CreateSchema(ctx context.Context, name, text, domain string) (*dataset.Schema, error)
	Schema(ctx context.Context, schemaARN string) (*dataset.Schema, error)
	Schemas(ctx context.Context, token string, limit int) ([]*dataset.Schema, string, error)
	DeleteSchema(ctx context.Context, schemaARN string) error
	CreateDataset(ctx context.Context, in dataset.CreateDatasetInput) (*dataset.Dataset, error)
	Dataset(ctx context.Context, datasetARN string) (*dataset.Dataset, error)
	Datasets(ctx context.Context, groupARN, token string, limit int) ([]*dataset.Dataset, string, error)
	UpdateDataset(ctx context.Context, datasetARN, schemaARN string) (*dataset.Dataset, error)
	DeleteDataset(ctx context.Context, datasetARN string) error
	CreateImportJob(ctx context.Context, in dataset.CreateImportInput) (*dataset.ImportJob, error)
	ImportJob(ctx context.Context, jobARN string) (*dataset.ImportJob, error)
	ImportJobs(ctx context.Context, datasetARN, token string, limit int) ([]*dataset.ImportJob, string, error)
	CreateExportJob(ctx context.Context, in dataset.CreateExportInput) (*dataset.ExportJob, error)
	ExportJob(ctx context.Context, jobARN string) (*dataset.ExportJob, error)
	ExportJobs(ctx context.Context, datasetARN, token string, limit int) ([]*dataset.ExportJob, string, error)
}

// Wire shapes (personalize-api.md Appendix A).

type datasetGroupOut struct {
	Name                string  `json:"name"`
	DatasetGroupArn     string  `json:"datasetGroupArn"`
	Status              string  `json:"status"`
	RoleArn             *string `json:"roleArn,omitempty"`
	KmsKeyArn           *string `json:"kmsKeyArn,omitempty"`
	CreationDateTime    *epoch  `json:"creationDateTime,omitempty"`
	LastUpdatedDateTime *epoch  `json:"lastUpdatedDateTime,omitempty"`
	FailureReason       *string `json:"failureReason,omitempty"`
	Domain              *string `json:"domain,omitempty"`
}

func groupOut(g *dataset.Group) datasetGroupOut {
	return datasetGroupOut{Name: g.Name, DatasetGroupArn: g.ARN, Status: g.Status, RoleArn: optString(g.RoleARN),
		KmsKeyArn: optString(g.KMSKeyARN), CreationDateTime: ts(g.Created), LastUpdatedDateTime: ts(g.Updated),
		FailureReason: optString(g.FailureReason), Domain: optString(g.Domain)}
}

type schemaOut struct {
	Name                string  `json:"name"`
	SchemaArn           string  `json:"schemaArn"`
	Schema              string  `json:"schema,omitempty"`
	CreationDateTime    *epoch  `json:"creationDateTime,omitempty"`
	LastUpdatedDateTime *epoch  `json:"lastUpdatedDateTime,omitempty"`
	Domain              *string `json:"domain,omitempty"`
}

func schemaWire(sc *dataset.Schema, withText bool) schemaOut {
	o := schemaOut{Name: sc.Name, SchemaArn: sc.ARN, CreationDateTime: ts(sc.Created),
		LastUpdatedDateTime: ts(sc.Updated), Domain: optString(sc.Domain)}
	if withText {
		o.Schema = sc.Text
	}
	return o
}

type datasetUpdateOut struct {
	SchemaArn           string  `json:"schemaArn,omitempty"`
	Status              string  `json:"status,omitempty"`
	FailureReason       *string `json:"failureReason,omitempty"`
	CreationDateTime    *epoch  `json:"creationDateTime,omitempty"`
	LastUpdatedDateTime *epoch  `json:"lastUpdatedDateTime,omitempty"`
}

type datasetOut struct {
	Name                string            `json:"name"`
	DatasetArn          string            `json:"datasetArn"`
	DatasetGroupArn     string            `json:"datasetGroupArn,omitempty"`
	DatasetType         string            `json:"datasetType"`
	SchemaArn           string            `json:"schemaArn,omitempty"`
	Status              string            `json:"status"`
	CreationDateTime    *epoch            `json:"creationDateTime,omitempty"`
	LastUpdatedDateTime *epoch            `json:"lastUpdatedDateTime,omitempty"`
	LatestDatasetUpdate *datasetUpdateOut `json:"latestDatasetUpdate,omitempty"`
	TrackingID          *string           `json:"trackingId,omitempty"`
}

// datasetTypeWire renders the stored upper-case type as Personalize's
// documentation spells it (Interactions, Items, Users, Actions, Action_Interactions).
func datasetTypeWire(t string) string {
	switch t {
	case "INTERACTIONS":
		return "Interactions"
	case "ITEMS":
		return "Items"
	case "USERS":
		return "Users"
	case "ACTIONS":
		return "Actions"
	case "ACTION_INTERACTIONS":
		return "Action_Interactions"
	}
	return t
}

func datasetWire(d *dataset.Dataset, full bool) datasetOut {
	o := datasetOut{Name: d.Name, DatasetArn: d.ARN, DatasetType: datasetTypeWire(d.Type), Status: d.Status,
		CreationDateTime: ts(d.Created), LastUpdatedDateTime: ts(d.Updated)}
	if full {
		o.DatasetGroupArn, o.SchemaArn, o.TrackingID = d.GroupARN, d.SchemaARN, optString(d.TrackingID)
		if u := d.LatestUpdate; u != nil {
			o.LatestDatasetUpdate = &datasetUpdateOut{SchemaArn: u.SchemaARN, Status: u.Status,
				FailureReason: optString(u.FailureReason), CreationDateTime: ts(u.Created), LastUpdatedDateTime: ts(u.Updated)}
		}
	}
	return o
}

type dataSource struct {
	DataLocation string `json:"dataLocation,omitempty"`
}

// importReportOut is Attune's extra member on DescribeDatasetImportJob; AWS
// clients ignore members they do not know.
type importReportOut struct {
	Files          []string      `json:"files"`
	Rows           int64         `json:"rows"`
	Imported       int64         `json:"imported"`
	Rejected       int64         `json:"rejected"`
	DuplicateIDs   int64         `json:"duplicateIds"`
	IgnoredColumns []string      `json:"ignoredColumns"`
	Errors         []rowErrorOut `json:"errors"`
}

type rowErrorOut struct {
	File    string `json:"file"`
	Row     int64  `json:"row"`
	Line    int64  `json:"line"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

type importJobOut struct {
	JobName                       string           `json:"jobName"`
	DatasetImportJobArn           string           `json:"datasetImportJobArn"`
	DatasetArn                    string           `json:"datasetArn,omitempty"`
	DataSource                    *dataSource      `json:"dataSource,omitempty"`
	RoleArn                       *string          `json:"roleArn,omitempty"`
	Status                        string           `json:"status"`
	CreationDateTime              *epoch           `json:"creationDateTime,omitempty"`
	LastUpdatedDateTime           *epoch           `json:"lastUpdatedDateTime,omitempty"`
	FailureReason                 *string          `json:"failureReason,omitempty"`
	ImportMode                    string           `json:"importMode,omitempty"`
	PublishAttributionMetricsToS3 *bool            `json:"publishAttributionMetricsToS3,omitempty"`
	ImportReport                  *importReportOut `json:"importReport,omitempty"`
}

func importJobWire(j *dataset.ImportJob, full bool) importJobOut {
	o := importJobOut{JobName: j.Name, DatasetImportJobArn: j.ARN, Status: j.Status, CreationDateTime: ts(j.Created),
		LastUpdatedDateTime: ts(j.Updated), FailureReason: optString(j.FailureReason), ImportMode: j.ImportMode}
	if full {
		pub := j.PublishAttribution
		o.DatasetArn, o.DataSource, o.RoleArn, o.PublishAttributionMetricsToS3 = j.DatasetARN,
			&dataSource{DataLocation: j.DataLocation}, optString(j.RoleARN), &pub
		if r := j.Report; r != nil {
			rep := &importReportOut{Files: r.Files, Rows: r.Rows, Imported: r.Imported, Rejected: r.Rejected,
				DuplicateIDs: r.DuplicateIDs, IgnoredColumns: r.IgnoredColumns, Errors: []rowErrorOut{}}
			if rep.IgnoredColumns == nil {
				rep.IgnoredColumns = []string{}
			}
			for _, e := range r.Errors {
				rep.Errors = append(rep.Errors, rowErrorOut{File: e.File, Row: e.Row, Line: e.Line, Column: e.Column, Message: e.Message})
			}
			o.ImportReport = rep
		}
	}
	return o
}

func registerDatasets(ops map[string]operation, svc datasetService) {
	registerExports(ops, svc)
	if dl, ok := svc.(deletionService); ok {
		registerDeletions(ops, dl)
	}
	type createGroupIn struct {
		Name      string `json:"name"`
		RoleArn   string `json:"roleArn"`
		KmsKeyArn string `json:"kmsKeyArn"`
		Domain    string `json:"domain"`
		Tags      []tag  `json:"tags"`
	}
	ops["CreateDatasetGroup"] = handle(func(ctx context.Context, in *createGroupIn) (any, error) {
		tags, err := tagsIn(in.Tags)
		if err != nil {
			return nil, err
		}
		g, err := svc.CreateGroup(ctx, dataset.CreateGroupInput{Name: in.Name, RoleARN: in.RoleArn, KMSKeyARN: in.KmsKeyArn, Domain: in.Domain, Tags: tags})
		if err != nil {
			return nil, err
		}
		out := map[string]any{"datasetGroupArn": g.ARN}
		if g.Domain != "" {
			out["domain"] = g.Domain
		}
		return out, nil
	})
	type groupIn struct {
		DatasetGroupArn string `json:"datasetGroupArn"`
	}
	ops["DescribeDatasetGroup"] = handle(func(ctx context.Context, in *groupIn) (any, error) {
		g, err := svc.Group(ctx, in.DatasetGroupArn)
		if err != nil {
			return nil, err
		}
		return map[string]any{"datasetGroup": groupOut(g)}, nil
	})
	ops["ListDatasetGroups"] = handle(func(ctx context.Context, in *page) (any, error) {
		limit, err := in.limit()
		if err != nil {
			return nil, err
		}
		gs, next, err := svc.Groups(ctx, in.NextToken, limit)
		if err != nil {
			return nil, err
		}
		out := make([]datasetGroupOut, len(gs))
		for i, g := range gs {
			out[i] = groupOut(g)
			out[i].RoleArn, out[i].KmsKeyArn = nil, nil // summaries carry no role or key
		}
		return listOut("datasetGroups", out, next), nil
	})
	ops["DeleteDatasetGroup"] = handle(func(ctx context.Context, in *groupIn) (any, error) {
		return nil, svc.DeleteGroup(ctx, in.DatasetGroupArn)
	})

	type createSchemaIn struct {
		Name   string `json:"name"`
		Schema string `json:"schema"`
		Domain string `json:"domain"`
	}
	ops["CreateSchema"] = handle(func(ctx context.Context, in *createSchemaIn) (any, error) {
		if in.Schema == "" {
			return nil, errs.E(errs.Invalid, "schema is required")
		}
		sc, err := svc.CreateSchema(ctx, in.Name, in.Schema, in.Domain)
		if err != nil {
			return nil, err
		}
		return map[string]any{"schemaArn": sc.ARN}, nil
	})
	type schemaIn struct {
		SchemaArn string `json:"schemaArn"`
	}
	ops["DescribeSchema"] = handle(func(ctx context.Context, in *schemaIn) (any, error) {
		sc, err := svc.Schema(ctx, in.SchemaArn)
		if err != nil {
			return nil, err
		}
		return map[string]any{"schema": schemaWire(sc, true)}, nil
	})
	ops["ListSchemas"] = handle(func(ctx context.Context, in *page) (any, error) {
		limit, err := in.limit()
		if err != nil {
			return nil, err
		}
		scs, next, err := svc.Schemas(ctx, in.NextToken, limit)
		if err != nil {
			return nil, err
		}
		out := make([]schemaOut, len(scs))
		for i, sc := range scs {
			out[i] = schemaWire(sc, false)
		}
		return listOut("schemas", out, next), nil
	})
	ops["DeleteSchema"] = handle(func(ctx context.Context, in *schemaIn) (any, error) {
		return nil, svc.DeleteSchema(ctx, in.SchemaArn)
	})

	type createDatasetIn struct {
		Name            string `json:"name"`
		SchemaArn       string `json:"schemaArn"`
		DatasetGroupArn string `json:"datasetGroupArn"`
		DatasetType     string `json:"datasetType"`
		Tags            []tag  `json:"tags"`
	}
	ops["CreateDataset"] = handle(func(ctx context.Context, in *createDatasetIn) (any, error) {
		tags, err := tagsIn(in.Tags)
		if err != nil {
			return nil, err
		}
		d, err := svc.CreateDataset(ctx, dataset.CreateDatasetInput{Name: in.Name, SchemaARN: in.SchemaArn,
			GroupARN: in.DatasetGroupArn, Type: in.DatasetType, Tags: tags})
		if err != nil {
			return nil, err
		}
		return map[string]any{"datasetArn": d.ARN}, nil
	})
	type datasetIn struct {
		DatasetArn string `json:"datasetArn"`
	}
	ops["DescribeDataset"] = handle(func(ctx context.Context, in *datasetIn) (any, error) {
		d, err := svc.Dataset(ctx, in.DatasetArn)
		if err != nil {
			return nil, err
		}
		return map[string]any{"dataset": datasetWire(d, true)}, nil
	})
	type listDatasetsIn struct {
		page
		DatasetGroupArn string `json:"datasetGroupArn"`
	}
	ops["ListDatasets"] = handle(func(ctx context.Context, in *listDatasetsIn) (any, error) {
		limit, err := in.limit()
		if err != nil {
			return nil, err
		}
		ds, next, err := svc.Datasets(ctx, in.DatasetGroupArn, in.NextToken, limit)
		if err != nil {
			return nil, err
		}
		out := make([]datasetOut, len(ds))
		for i, d := range ds {
			out[i] = datasetWire(d, false)
		}
		return listOut("datasets", out, next), nil
	})
	type updateDatasetIn struct {
		DatasetArn string `json:"datasetArn"`
		SchemaArn  string `json:"schemaArn"`
	}
	ops["UpdateDataset"] = handle(func(ctx context.Context, in *updateDatasetIn) (any, error) {
		d, err := svc.UpdateDataset(ctx, in.DatasetArn, in.SchemaArn)
		if err != nil {
			return nil, err
		}
		return map[string]any{"datasetArn": d.ARN}, nil
	})
	ops["DeleteDataset"] = handle(func(ctx context.Context, in *datasetIn) (any, error) {
		return nil, svc.DeleteDataset(ctx, in.DatasetArn)
	})

	type createImportIn struct {
		JobName                       string     `json:"jobName"`
		DatasetArn                    string     `json:"datasetArn"`
		DataSource                    dataSource `json:"dataSource"`
		RoleArn                       string     `json:"roleArn"`
		ImportMode                    string     `json:"importMode"`
		PublishAttributionMetricsToS3 bool       `json:"publishAttributionMetricsToS3"`
		Tags                          []tag      `json:"tags"`
	}
	ops["CreateDatasetImportJob"] = handle(func(ctx context.Context, in *createImportIn) (any, error) {
		tags, err := tagsIn(in.Tags)
		if err != nil {
			return nil, err
		}
		j, err := svc.CreateImportJob(ctx, dataset.CreateImportInput{JobName: in.JobName, DatasetARN: in.DatasetArn,
			DataLocation: in.DataSource.DataLocation, RoleARN: in.RoleArn, ImportMode: in.ImportMode,
			PublishAttribution: in.PublishAttributionMetricsToS3, Tags: tags})
		if err != nil {
			return nil, err
		}
		return map[string]any{"datasetImportJobArn": j.ARN}, nil
	})
	type importIn struct {
		DatasetImportJobArn string `json:"datasetImportJobArn"`
	}
	ops["DescribeDatasetImportJob"] = handle(func(ctx context.Context, in *importIn) (any, error) {
		j, err := svc.ImportJob(ctx, in.DatasetImportJobArn)
		if err != nil {
			return nil, err
		}
		return map[string]any{"datasetImportJob": importJobWire(j, true)}, nil
	})
	type listImportsIn struct {
		page
		DatasetArn string `json:"datasetArn"`
	}
	ops["ListDatasetImportJobs"] = handle(func(ctx context.Context, in *listImportsIn) (any, error) {
		limit, err := in.limit()
		if err != nil {
			return nil, err
		}
		js, next, err := svc.ImportJobs(ctx, in.DatasetArn, in.NextToken, limit)
		if err != nil {
			return nil, err
		}
		out := make([]importJobOut, len(js))
		for i, j := range js {
			out[i] = importJobWire(j, false)
		}
		return listOut("datasetImportJobs", out, next), nil
	})
}
