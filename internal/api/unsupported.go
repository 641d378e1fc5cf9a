package api

import (
	"context"

	"github.com/attune-dev/attune/internal/errs"
)

// unsupported are the operations of Personalize's service models (the
// personalize, personalize-runtime and personalize-events JSON models the AWS
// clients ship) that Attune does not implement yet, each with the reason its
// callers read. They answer InvalidInputException, an error every one of them
// declares, never UnknownOperationException: a client learns what is missing
// instead of suspecting its endpoint. docs/compatibility.md lists them;
// TestConformance fails when an operation of the models is neither served
// nor here. An operation leaves this table when a register* function serves
// it (New registers these only for names nothing else took).
var unsupported = map[string]string{
	"CreateMetricAttribution":      "metric attributions are not implemented yet",
	"DeleteMetricAttribution":      "metric attributions are not implemented yet",
	"DescribeMetricAttribution":    "metric attributions are not implemented yet",
	"ListMetricAttributions":       "metric attributions are not implemented yet",
	"ListMetricAttributionMetrics": "metric attributions are not implemented yet",
	"UpdateMetricAttribution":      "metric attributions are not implemented yet",
	"DescribeFeatureTransformation": "Attune's recipes have no separate feature transformations: " +
		"describe-recipe and describe-algorithm list what a recipe uses",
	"GetActionRecommendations": "Next-Best-Action (action datasets, aws-next-best-action) is not implemented yet",
	"PutActions":               "Next-Best-Action (action datasets, aws-next-best-action) is not implemented yet",
	"PutActionInteractions":    "Next-Best-Action (action datasets, aws-next-best-action) is not implemented yet",
}

// unsupportedPaths are the restJson1 paths of the unsupported runtime and
// events operations.
var unsupportedPaths = map[string]string{
	"/action-recommendations": "GetActionRecommendations",
	"/actions":                "PutActions",
	"/action-interactions":    "PutActionInteractions",
}

// unsupportedError is what calling an unsupported operation answers.
func unsupportedError(op string) error {
	return errs.E(errs.Invalid, "%s is not supported by Attune: %s (see docs/compatibility.md)", op, unsupported[op])
}

// registerUnsupported answers the unsupported operations that nothing else
// registered, and notes them in s.refused.
func registerUnsupported(s *Server) {
	s.refused = map[string]bool{}
	for op := range unsupported {
		if s.control[op] == nil && !isRESTOperation(op) {
			s.refused[op] = true
			s.control[op] = func(context.Context, []byte) (any, error) { return nil, unsupportedError(op) }
		}
	}
	for path, op := range unsupportedPaths {
		if restOperations[path] != "" {
			continue // served
		}
		s.refused[op] = true
		p := runtimeAPI
		if op != "GetActionRecommendations" {
			p = eventsAPI
		}
		s.Handle("POST "+path, p, func(context.Context, []byte) (any, error) { return nil, unsupportedError(op) })
	}
}

func isRESTOperation(op string) bool {
	for _, o := range unsupportedPaths {
		if o == op {
			return true
		}
	}
	return false
}
