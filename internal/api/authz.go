package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/attune-dev/attune/internal/accesskeys"
	"github.com/attune-dev/attune/internal/arn"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/events"
	"github.com/attune-dev/attune/internal/iam"
)

// accessKeys finds the scoped access keys (internal/accesskeys); Lookup is a
// map read, safe for concurrent use.
type accessKeys interface {
	Lookup(accessKeyID string) (*accesskeys.Principal, bool)
}

// trackerFinder maps a PutEvents trackingId to its event tracker, whose ARN
// is the resource PutEvents is authorized on.
type trackerFinder interface {
	TrackerByTrackingID(ctx context.Context, trackingID string) (*events.Tracker, error)
}

// secret returns the secret of a root key (Options.Credentials) or of a
// scoped access key.
func (s *Server) secret(accessKeyID string) (string, bool) {
	if secret, ok := s.opts.Credentials[accessKeyID]; ok {
		return secret, true
	}
	if s.opts.AccessKeys != nil {
		if p, ok := s.opts.AccessKeys.Lookup(accessKeyID); ok {
			return p.Secret, true
		}
	}
	return "", false
}

// authorize decides whether the verified caller may make this request. Root
// keys may do anything and cost one map lookup; a scoped key's policy must
// allow the operation's action on every resource the request names
// (errs.AccessDenied otherwise, worded as AWS words it).
func (s *Server) authorize(r *http.Request, p protocol, accessKeyID string, body []byte) error {
	if _, root := s.opts.Credentials[accessKeyID]; root {
		return nil
	}
	var pr *accesskeys.Principal
	if s.opts.AccessKeys != nil {
		pr, _ = s.opts.AccessKeys.Lookup(accessKeyID)
	}
	if pr == nil {
		// Deleted between the signature check and now.
		return errs.E(errs.Unauthenticated, "The security token included in the request is invalid.")
	}
	pr.MarkUsed(s.opts.Now())
	op, resources, err := s.requestResources(r, p, body)
	if err != nil || op == "" {
		return err
	}
	action := iam.Service + ":" + op
	for _, res := range resources {
		switch pr.Policy.Evaluate(action, res) {
		case iam.Allowed:
			continue
		case iam.ExplicitDeny:
			s.log.InfoContext(r.Context(), "access denied", "action", action, "resource", errs.Echo(res), "reason", "explicit deny")
			return errs.E(errs.AccessDenied, "User: %s is not authorized to perform: %s on resource: %s with an explicit deny in an identity-based policy",
				pr.ARN, action, errs.Echo(res))
		default:
			s.log.InfoContext(r.Context(), "access denied", "action", action, "resource", errs.Echo(res), "reason", "no allow")
			return errs.E(errs.AccessDenied, "User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
				pr.ARN, action, errs.Echo(res), action)
		}
	}
	return nil
}

// restOperations are the operations of the runtime and events APIs by path.
var restOperations = map[string]string{
	"/recommendations":     "GetRecommendations",
	"/personalize-ranking": "GetPersonalizedRanking",
	"/events":              "PutEvents",
	"/items":               "PutItems",
	"/users":               "PutUsers",
}

// requestResources returns the operation a request calls and the ARNs it is
// authorized on. An empty operation means there is nothing to authorize: an
// X-Amz-Target that names no operation, which dispatch rejects.
func (s *Server) requestResources(r *http.Request, p protocol, body []byte) (string, []string, error) {
	var op string
	if p == controlPlane {
		name, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
		if _, known := s.control[name]; !ok || !known || s.refused[name] {
			return "", nil, nil // dispatch answers it, with nothing done
		}
		op = name
	} else if s.refused[unsupportedPaths[r.URL.Path]] {
		return "", nil, nil
	} else if op = restOperations[r.URL.Path]; op == "" {
		return "", nil, errs.E(errs.UnknownOperation, "no operation at %s", errs.Echo(r.URL.Path))
	}
	m := map[string]json.RawMessage{}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &m); err != nil {
			return "", nil, errs.Wrap(errs.Invalid, err, "request body is not a valid JSON object")
		}
	}
	str := func(member string) string {
		var v string
		_ = json.Unmarshal(m[member], &v) // a missing or non-string member is "": the operation rejects it
		return v
	}
	res, err := s.resourcesOf(r.Context(), op, str)
	return op, res, err
}

// resourcesOf maps an operation and its input members to the ARNs IAM would
// authorize it on: the ARN member it acts on; for Create* the ARN of the
// resource it would create (for event trackers and solution versions, whose
// ARNs hold a generated id, the dataset group's or solution's); "*" for
// List* and other calls on no particular resource, as AWS does. Runtime
// calls also need the filter's ARN when they name one.
func (s *Server) resourcesOf(ctx context.Context, op string, str func(string) string) ([]string, error) {
	build := s.opts.Scope.Build
	switch op {
	case "GetRecommendations", "GetPersonalizedRanking":
		var out []string
		for _, m := range []string{"campaignArn", "recommenderArn", "filterArn"} {
			if v := str(m); v != "" {
				out = append(out, v)
			}
		}
		if len(out) == 0 {
			out = []string{""}
		}
		return out, nil
	case "PutEvents":
		if s.trackers == nil {
			return []string{"*"}, nil
		}
		id := str("trackingId")
		if len(id) > 256 {
			return nil, errs.E(errs.Invalid, "trackingId: longer than 256 characters")
		}
		t, err := s.trackers.TrackerByTrackingID(ctx, id)
		if err != nil {
			return nil, err
		}
		return []string{t.ARN}, nil
	case "PutItems", "PutUsers":
		return []string{str("datasetArn")}, nil
	case "CreateDataset":
		group := ""
		if p, err := arn.Parse("datasetGroupArn", str("datasetGroupArn")); err == nil && len(p.Parts) == 1 {
			group = p.Parts[0]
		}
		return []string{build(arn.Dataset, group, strings.ToUpper(str("datasetType")))}, nil
	case "CreateEventTracker":
		return []string{str("datasetGroupArn")}, nil
	case "CreateSolutionVersion":
		return []string{str("solutionArn")}, nil
	}
	if typ, ok := createdType[op]; ok {
		name := str("name")
		if strings.HasSuffix(typ, "-job") {
			name = str("jobName")
		}
		return []string{build(typ, name)}, nil
	}
	if member, ok := targetMember[op]; ok {
		return []string{str(member)}, nil
	}
	// List*, and anything without a resource member.
	return []string{"*"}, nil
}

// createdType is the ARN type each Create* operation creates, named by its
// name (or jobName for jobs) member.
var createdType = map[string]string{
	"CreateDatasetGroup": arn.DatasetGroup, "CreateSchema": arn.Schema, "CreateDatasetImportJob": arn.DatasetImportJob,
	"CreateDatasetExportJob": arn.DatasetExportJob, "CreateSolution": arn.Solution, "CreateCampaign": arn.Campaign,
	"CreateFilter": arn.Filter, "CreateRecommender": arn.Recommender, "CreateBatchInferenceJob": arn.BatchInference,
	"CreateBatchSegmentJob": arn.BatchSegment, "CreateDataDeletionJob": arn.DataDeletionJob,
	"CreateMetricAttribution": "metric-attribution",
}

// targetMember is the member holding the ARN an operation acts on.
var targetMember = map[string]string{
	"DeleteCampaign": "campaignArn", "DeleteDataset": "datasetArn", "DeleteDatasetGroup": "datasetGroupArn",
	"DeleteEventTracker": "eventTrackerArn", "DeleteFilter": "filterArn", "DeleteMetricAttribution": "metricAttributionArn",
	"DeleteRecommender": "recommenderArn", "DeleteSchema": "schemaArn", "DeleteSolution": "solutionArn",
	"DescribeAlgorithm": "algorithmArn", "DescribeBatchInferenceJob": "batchInferenceJobArn",
	"DescribeBatchSegmentJob": "batchSegmentJobArn", "DescribeCampaign": "campaignArn",
	"DescribeDataDeletionJob": "dataDeletionJobArn", "DescribeDataset": "datasetArn",
	"DescribeDatasetExportJob": "datasetExportJobArn", "DescribeDatasetGroup": "datasetGroupArn",
	"DescribeDatasetImportJob": "datasetImportJobArn", "DescribeEventTracker": "eventTrackerArn",
	"DescribeFeatureTransformation": "featureTransformationArn", "DescribeFilter": "filterArn",
	"DescribeMetricAttribution": "metricAttributionArn", "DescribeRecipe": "recipeArn",
	"DescribeRecommender": "recommenderArn", "DescribeSchema": "schemaArn", "DescribeSolution": "solutionArn",
	"DescribeSolutionVersion": "solutionVersionArn", "GetSolutionMetrics": "solutionVersionArn",
	"StartRecommender": "recommenderArn", "StopRecommender": "recommenderArn",
	"StopSolutionVersionCreation": "solutionVersionArn", "UpdateCampaign": "campaignArn", "UpdateDataset": "datasetArn",
	"UpdateMetricAttribution": "metricAttributionArn", "UpdateRecommender": "recommenderArn",
	"UpdateSolution": "solutionArn", "TagResource": "resourceArn", "UntagResource": "resourceArn",
	"ListTagsForResource": "resourceArn",
}
