package iam

import "strings"

// Service is the only service prefix Attune's policies may name.
const Service = "personalize"

// actionNames are every operation of Amazon Personalize's three APIs (control
// plane, runtime, events) as botocore's models list them, including those
// Attune does not implement yet: a policy written for AWS stays valid here,
// and a typo is still caught.
var actionNames = []string{
	"CreateBatchInferenceJob", "CreateBatchSegmentJob", "CreateCampaign", "CreateDataDeletionJob",
	"CreateDataset", "CreateDatasetExportJob", "CreateDatasetGroup", "CreateDatasetImportJob",
	"CreateEventTracker", "CreateFilter", "CreateMetricAttribution", "CreateRecommender", "CreateSchema",
	"CreateSolution", "CreateSolutionVersion",
	"DeleteCampaign", "DeleteDataset", "DeleteDatasetGroup", "DeleteEventTracker", "DeleteFilter",
	"DeleteMetricAttribution", "DeleteRecommender", "DeleteSchema", "DeleteSolution",
	"DescribeAlgorithm", "DescribeBatchInferenceJob", "DescribeBatchSegmentJob", "DescribeCampaign",
	"DescribeDataDeletionJob", "DescribeDataset", "DescribeDatasetExportJob", "DescribeDatasetGroup",
	"DescribeDatasetImportJob", "DescribeEventTracker", "DescribeFeatureTransformation", "DescribeFilter",
	"DescribeMetricAttribution", "DescribeRecipe", "DescribeRecommender", "DescribeSchema",
	"DescribeSolution", "DescribeSolutionVersion", "GetSolutionMetrics",
	"ListBatchInferenceJobs", "ListBatchSegmentJobs", "ListCampaigns", "ListDataDeletionJobs",
	"ListDatasetExportJobs", "ListDatasetGroups", "ListDatasetImportJobs", "ListDatasets",
	"ListEventTrackers", "ListFilters", "ListMetricAttributionMetrics", "ListMetricAttributions",
	"ListRecipes", "ListRecommenders", "ListSchemas", "ListSolutionVersions", "ListSolutions",
	"ListTagsForResource", "StartRecommender", "StopRecommender", "StopSolutionVersionCreation",
	"TagResource", "UntagResource", "UpdateCampaign", "UpdateDataset", "UpdateMetricAttribution",
	"UpdateRecommender", "UpdateSolution",
	// runtime
	"GetActionRecommendations", "GetPersonalizedRanking", "GetRecommendations",
	// events
	"PutActionInteractions", "PutActions", "PutEvents", "PutItems", "PutUsers",
}

// Actions returns the names of every Personalize operation a policy may
// name, without the service prefix, in a fresh slice.
func Actions() []string { return append([]string(nil), actionNames...) }

// IsAction reports whether name (without prefix, any case) is a Personalize
// operation.
func IsAction(name string) bool {
	for _, a := range actionNames {
		if strings.EqualFold(a, name) {
			return true
		}
	}
	return false
}

// matchesSomeAction reports whether the lower-cased pattern (without prefix)
// matches at least one operation.
func matchesSomeAction(pattern string) bool {
	for _, a := range actionNames {
		if match(pattern, strings.ToLower(a)) {
			return true
		}
	}
	return false
}

// match reports whether s matches pattern, where '*' matches any run of
// characters (also empty, also ':' and '/') and '?' exactly one, as IAM's
// string matching does. It runs in O(len(pattern)·len(s)) at worst, with no
// allocation and no backtracking blow-up.
func match(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
