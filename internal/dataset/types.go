// Package dataset is the data side of the Personalize workflow: dataset
// groups, schemas, datasets and import jobs, with the background runner that
// moves them through their statuses and imports CSV files into the store.
// It receives the store and the data locations as interfaces and must not
// import net/http or any concrete backend.
package dataset

import (
	"time"

	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/csvimport"
	"github.com/attune-dev/attune/internal/resource"
)

// Statuses shared by Personalize resources (the spaces are part of the wire format).
const (
	StatusCreatePending    = "CREATE PENDING"
	StatusCreateInProgress = "CREATE IN_PROGRESS"
	StatusActive           = "ACTIVE"
	StatusCreateFailed     = "CREATE FAILED"
)

// Import modes.
const (
	ImportFull        = "FULL"
	ImportIncremental = "INCREMENTAL"
)

// Group is a dataset group.
type Group struct {
	resource.Meta
	RoleARN       string
	KMSKeyARN     string
	Domain        string // "", "ECOMMERCE" or "VIDEO_ON_DEMAND"
	FailureReason string
	Tags          map[string]string
}

// Schema is a dataset schema; schemas are account-level and immutable.
type Schema struct {
	resource.Meta
	Text   string
	Domain string
}

// Update is the latest schema replacement of a dataset (UpdateDataset).
type Update struct {
	SchemaARN     string
	Status        string
	FailureReason string
	Created       time.Time
	Updated       time.Time
}

// Dataset is one dataset of a group; Meta.Parent is the group ARN.
type Dataset struct {
	resource.Meta
	GroupARN     string
	Type         string // upper case: INTERACTIONS, ITEMS, USERS, ACTIONS, ACTION_INTERACTIONS
	SchemaARN    string
	LatestUpdate *Update
	TrackingID   string
	Tags         map[string]string
}

// ImportJob is a dataset import job; Meta.Parent is the dataset ARN.
type ImportJob struct {
	resource.Meta
	DatasetARN         string
	DataLocation       string
	RoleARN            string
	ImportMode         string
	PublishAttribution bool
	FailureReason      string
	Tags               map[string]string
	// Report is Attune's account of the import: rows read, rejected rows with
	// their row numbers, ignored columns. Personalize has no such member; it
	// is sent as an extra member that AWS clients ignore.
	Report *Report
}

// Report summarises an import over all its files.
type Report struct {
	Files          []string
	Rows           int64
	Imported       int64
	Rejected       int64
	Errors         []FileRowError
	IgnoredColumns []string
	DuplicateIDs   int64
}

// FileRowError is a rejected row, with the file it came from.
type FileRowError struct {
	File string
	csvimport.RowError
}

// Store kinds of the resources of this package.
var (
	groups   = resource.Kind[Group, *Group]{Name: arn.DatasetGroup}
	schemas  = resource.Kind[Schema, *Schema]{Name: arn.Schema}
	datasets = resource.Kind[Dataset, *Dataset]{Name: arn.Dataset}
	imports  = resource.Kind[ImportJob, *ImportJob]{Name: arn.DatasetImportJob}
)
