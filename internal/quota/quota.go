// Package quota holds Attune's resource quotas: how many resources of a
// kind may exist, per account or per dataset group, with Personalize's
// default values, adjustable as Personalize's adjustable quotas are (here
// with `attune serve --quota NAME=N`). Exceeding one is errs.LimitExceeded,
// which the API answers as LimitExceededException.
//
// Checks count what exists and compare before creating, so two creates
// racing for the last unit can both pass; like Personalize's, these
// quotas guard against runaway scripts, not against a determined caller.
//
// It imports only errs and the standard library.
package quota

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/attune-dev/attune/internal/errs"
)

// Name identifies a quota on the command line and in error messages.
type Name string

// The quotas, with Personalize's default values in Defaults.
const (
	DatasetGroups        Name = "dataset-groups"                 // per account
	Schemas              Name = "schemas"                        // per account
	SolutionsPerGroup    Name = "solutions-per-dataset-group"    // active solutions
	CampaignsPerGroup    Name = "campaigns-per-dataset-group"    // active campaigns
	FiltersPerGroup      Name = "filters-per-dataset-group"      // filters
	RecommendersPerGroup Name = "recommenders-per-dataset-group" // recommenders
	PendingDeletionJobs  Name = "pending-data-deletion-jobs-per-dataset-group"
	ActiveImportJobs     Name = "active-dataset-import-jobs" // PENDING or IN_PROGRESS, per account
	ActiveVersions       Name = "active-solution-versions"   // PENDING or IN_PROGRESS, per account
	ActiveBatchJobs      Name = "active-batch-jobs"          // PENDING or IN_PROGRESS, per account and kind
)

// defaults are Personalize's default quotas (its documented service
// quotas; all of these are adjustable there too).
var defaults = map[Name]int{
	DatasetGroups:        5,
	Schemas:              500,
	SolutionsPerGroup:    10,
	CampaignsPerGroup:    5,
	FiltersPerGroup:      10,
	RecommendersPerGroup: 5,
	PendingDeletionJobs:  5,
	ActiveImportJobs:     5,
	ActiveVersions:       20,
	ActiveBatchJobs:      5,
}

// scope says what a quota counts per, for messages.
var scope = map[Name]string{
	DatasetGroups: "per account", Schemas: "per account", SolutionsPerGroup: "per dataset group",
	CampaignsPerGroup: "per dataset group", FiltersPerGroup: "per dataset group", RecommendersPerGroup: "per dataset group",
	PendingDeletionJobs: "per dataset group", ActiveImportJobs: "per account", ActiveVersions: "per account",
	ActiveBatchJobs: "per account and job kind",
}

// Limits is a set of quota values. The zero value holds Personalize's
// defaults; it is immutable once built, so it may be shared freely.
type Limits struct {
	set map[Name]int // overrides of defaults
}

// Names returns every quota name, sorted.
func Names() []Name {
	out := make([]Name, 0, len(defaults))
	for n := range defaults {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Default returns Personalize's default value of a quota.
func Default(n Name) int { return defaults[n] }

// Get returns the value of a quota.
func (l Limits) Get(n Name) int {
	if v, ok := l.set[n]; ok {
		return v
	}
	return defaults[n]
}

// With returns a copy of l with quota n set to v.
func (l Limits) With(n Name, v int) Limits {
	set := make(map[Name]int, len(l.set)+1)
	for k, x := range l.set {
		set[k] = x
	}
	set[n] = v
	return Limits{set: set}
}

// Parse applies NAME=N settings, each possibly a comma-separated list, to
// the defaults. Unknown names, values that are not whole numbers of at
// least 1, and repeated names are errs.Invalid.
func Parse(specs []string) (Limits, error) {
	var l Limits
	seen := map[Name]bool{}
	for _, spec := range specs {
		for _, part := range strings.Split(spec, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			name, val, ok := strings.Cut(part, "=")
			n := Name(strings.TrimSpace(name))
			if !ok {
				return l, errs.E(errs.Invalid, "quota %q: want NAME=N", truncate(part))
			}
			if _, known := defaults[n]; !known {
				return l, errs.E(errs.Invalid, "quota %q is unknown; known quotas: %s", truncate(string(n)), joinNames())
			}
			v, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil || v < 1 {
				return l, errs.E(errs.Invalid, "quota %s: value %q is not a whole number of at least 1", n, truncate(val))
			}
			if seen[n] {
				return l, errs.E(errs.Invalid, "quota %s is set twice", n)
			}
			seen[n] = true
			l = l.With(n, v)
		}
	}
	return l, nil
}

// Check fails with errs.LimitExceeded when have resources already use up
// quota n; where names what is counted (a dataset group ARN, or "" for the
// account).
func (l Limits) Check(n Name, have int, where string) error {
	limit := l.Get(n)
	if have < limit {
		return nil
	}
	in := ""
	if where != "" {
		in = " in " + where
	}
	return errs.E(errs.LimitExceeded, "Quota %s (%d %s) reached: %d already exist%s. The limit can be raised with --quota %s=N",
		n, limit, scope[n], have, in, n)
}

// String renders the non-default values as NAME=N,... (for logs).
func (l Limits) String() string {
	var parts []string
	for _, n := range Names() {
		if v, ok := l.set[n]; ok {
			parts = append(parts, fmt.Sprintf("%s=%d", n, v))
		}
	}
	return strings.Join(parts, ",")
}

func joinNames() string {
	ns := Names()
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = string(n)
	}
	return strings.Join(s, ", ")
}

// truncate cuts a value echoed in an error to a sane length.
func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
