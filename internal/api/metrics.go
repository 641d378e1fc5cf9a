package api

import (
	"net/http"
	"strings"
	"time"
)

// RequestMetrics records answered requests (metrics.Metrics implements it).
// api and operation always come from fixed tables (the control-plane
// operations Attune serves, restOperations, pathOperations), never from raw
// client input, so the label sets stay bounded.
type RequestMetrics interface {
	Request(api, operation string, code int, d time.Duration)
}

// API label values of RequestMetrics.
const (
	apiControl = "personalize"
	apiRuntime = "personalize-runtime"
	apiEvents  = "personalize-events"
	apiConsole = "console"
	apiHealth  = "health"
	apiOther   = "other"
)

// apiOf names the API a request went to, given the operation recorded for
// it ("" when none was recognised).
func apiOf(r *http.Request, op string) string {
	switch {
	case r.Header.Get("X-Amz-Target") != "":
		return apiControl
	case restOperations[r.URL.Path] != "":
		if strings.HasPrefix(op, "Put") {
			return apiEvents
		}
		return apiRuntime
	case op == "Console":
		return apiConsole
	case op == "Healthz" || op == "Readyz":
		return apiHealth
	}
	return apiOther
}
