// Package arn builds and parses Personalize resource ARNs and checks resource
// names. It is pure and imports only the standard library and errs.
package arn

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/attune-dev/attune/internal/errs"
)

// Resource types as they appear in ARNs (arn:aws:personalize:REGION:ACCOUNT:TYPE/ID).
const (
	DatasetGroup     = "dataset-group"
	Schema           = "schema"
	Dataset          = "dataset"
	DatasetImportJob = "dataset-import-job"
	DatasetExportJob = "dataset-export-job"
	DataDeletionJob  = "data-deletion-job"
	Solution         = "solution"
	SolutionVersion  = "solution-version" // ARN type is "solution" with two path parts
	Campaign         = "campaign"
	EventTracker     = "event-tracker"
	Filter           = "filter"
	Recommender      = "recommender"
	BatchInference   = "batch-inference-job"
	BatchSegment     = "batch-segment-job"
	Recipe           = "recipe"
	Algorithm        = "algorithm"
	FeatureTransform = "feature-transformation"
)

// Scope is the partition, region and account that resource ARNs are built in.
type Scope struct {
	Region  string
	Account string
}

// Build returns arn:aws:personalize:REGION:ACCOUNT:TYPE/ID.
func (s Scope) Build(typ string, id ...string) string {
	return fmt.Sprintf("arn:aws:personalize:%s:%s:%s/%s", s.Region, s.Account, typ, strings.Join(id, "/"))
}

// Global returns the ARN of a service-owned resource (recipe, algorithm), which has no region or account.
func Global(typ, name string) string { return "arn:aws:personalize:::" + typ + "/" + name }

// Parsed is a decomposed ARN.
type Parsed struct {
	Region, Account string
	Type            string   // resource type, e.g. "dataset"
	Parts           []string // the '/'-separated resource id parts
}

var arnPattern = regexp.MustCompile(`^arn:([a-z\d-]+):personalize:([^:]*):([^:]*):([a-z-]+)/(.+)$`)

// Parse splits an ARN and checks its overall shape. member names the request
// member for the error message.
func Parse(member, s string) (Parsed, error) {
	if s == "" {
		return Parsed{}, errs.E(errs.Invalid, "%s is required", member)
	}
	if len(s) > 256 {
		return Parsed{}, errs.E(errs.Invalid, "%s: ARN longer than 256 characters", member)
	}
	m := arnPattern.FindStringSubmatch(s)
	if m == nil {
		return Parsed{}, errs.E(errs.Invalid, "%s: %s is not a valid Personalize ARN (expected arn:aws:personalize:REGION:ACCOUNT:TYPE/NAME)", member, errs.Quote(s))
	}
	return Parsed{Region: m[2], Account: m[3], Type: m[4], Parts: strings.Split(m[5], "/")}, nil
}

// Expect parses s and checks that it is an ARN of type typ with nparts id parts.
func Expect(member, s, typ string, nparts int) (Parsed, error) {
	p, err := Parse(member, s)
	if err != nil {
		return p, err
	}
	if p.Type != typ || len(p.Parts) != nparts {
		return p, errs.E(errs.Invalid, "%s: %s is not a %s ARN", member, errs.Quote(s), typ)
	}
	return p, nil
}

var namePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9\-_]*$`)

// CheckName validates a resource name as Personalize does: 1 to 63
// characters, starting with a letter or digit, then letters, digits, '-' or '_'.
func CheckName(member, name string) error {
	switch {
	case name == "":
		return errs.E(errs.Invalid, "%s is required", member)
	case len(name) > 63:
		return errs.E(errs.Invalid, "%s: %s is longer than 63 characters", member, errs.Quote(name))
	case !namePattern.MatchString(name):
		return errs.E(errs.Invalid, "%s: %s must start with a letter or digit and contain only letters, digits, '-' and '_'", member, errs.Quote(name))
	}
	return nil
}
