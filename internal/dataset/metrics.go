package dataset

import "strings"

// Metrics receives the rows import jobs read (metrics.Metrics implements
// it). Its methods must be safe for concurrent use and must not block.
type Metrics interface {
	// ImportRows counts n rows of a dataset of datasetType (INTERACTIONS,
	// ITEMS, ...) with outcome ImportImported, ImportRejected or
	// ImportDiscarded.
	ImportRows(datasetType, outcome string, n int)
}

// Outcomes of an imported row.
const (
	ImportImported  = "imported"  // stored by a job that succeeded
	ImportRejected  = "rejected"  // a bad row, reported in the job's importReport
	ImportDiscarded = "discarded" // a good row of a job that failed, so not stored
)

// noMetrics records nothing.
type noMetrics struct{}

func (noMetrics) ImportRows(string, string, int) {}

// countImport records the rows of one finished import job into datasetARN.
func (s *Service) countImport(datasetARN string, rep *Report, failed bool) {
	if rep == nil {
		return
	}
	typ := datasetTypeOf(datasetARN)
	kept := ImportImported
	if failed {
		kept = ImportDiscarded
	}
	s.opts.Metrics.ImportRows(typ, kept, int(rep.Imported))
	s.opts.Metrics.ImportRows(typ, ImportRejected, int(rep.Rejected))
}

// datasetTypeOf reads the dataset type from the last part of a dataset ARN
// (…:dataset/<group>/INTERACTIONS), from a fixed set so the metric's labels
// stay bounded.
func datasetTypeOf(datasetARN string) string {
	typ := datasetARN[strings.LastIndexByte(datasetARN, '/')+1:]
	switch typ {
	case "INTERACTIONS", "ITEMS", "USERS", "ACTIONS", "ACTION_INTERACTIONS":
		return typ
	}
	return "unknown"
}
