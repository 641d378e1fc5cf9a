package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/attune-dev/attune/internal/errs"
)

// protocol selects the error envelope: the control plane is awsJson1_1, the
// runtime and events APIs are restJson1 with their own modeled statuses.
type protocol int

const (
	controlPlane protocol = iota
	runtimeAPI
	eventsAPI
	attuneAPI // console and Attune-only endpoints
)

// wireError is how an error kind appears on the wire.
type wireError struct {
	typ    string
	status int
}

// errorFor maps a kind to Personalize's exception name and the status the
// given service uses for it (personalize-api.md §1.4).
func errorFor(p protocol, k errs.Kind) wireError {
	switch k {
	case errs.Invalid:
		return wireError{"InvalidInputException", http.StatusBadRequest}
	case errs.NotFound:
		if p == runtimeAPI || p == eventsAPI {
			return wireError{"ResourceNotFoundException", http.StatusNotFound}
		}
		return wireError{"ResourceNotFoundException", http.StatusBadRequest}
	case errs.AlreadyExists:
		return wireError{"ResourceAlreadyExistsException", http.StatusBadRequest}
	case errs.InUse:
		if p == eventsAPI {
			return wireError{"ResourceInUseException", http.StatusConflict}
		}
		return wireError{"ResourceInUseException", http.StatusBadRequest}
	case errs.LimitExceeded:
		return wireError{"LimitExceededException", http.StatusBadRequest}
	case errs.InvalidNextToken:
		return wireError{"InvalidNextTokenException", http.StatusBadRequest}
	case errs.Unauthenticated:
		return wireError{"UnrecognizedClientException", http.StatusForbidden}
	case errs.MissingAuth:
		return wireError{"MissingAuthenticationTokenException", http.StatusForbidden}
	case errs.BadSignature:
		return wireError{"InvalidSignatureException", http.StatusForbidden}
	case errs.IncompleteSig:
		return wireError{"IncompleteSignatureException", http.StatusBadRequest}
	case errs.UnknownOperation:
		return wireError{"UnknownOperationException", http.StatusBadRequest}
	case errs.TooLarge:
		return wireError{"InvalidInputException", http.StatusRequestEntityTooLarge}
	case errs.TooManyTags:
		return wireError{"TooManyTagsException", http.StatusBadRequest}
	case errs.Busy:
		return wireError{"ThrottlingException", http.StatusTooManyRequests}
	case errs.Unavailable:
		return wireError{"ServiceUnavailable", http.StatusServiceUnavailable}
	case errs.AccessDenied:
		// awsJson1_1 services answer AccessDeniedException with 400, the
		// REST APIs (runtime, events) with 403.
		if p == controlPlane {
			return wireError{"AccessDeniedException", http.StatusBadRequest}
		}
		return wireError{"AccessDeniedException", http.StatusForbidden}
	default:
		return wireError{"InternalFailure", http.StatusInternalServerError}
	}
}

// writeError writes err in the envelope of protocol p. Internal causes are
// logged with the request id and never sent.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, p protocol, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away; nobody to answer
	}
	k := errs.KindOf(err)
	we := errorFor(p, k)
	msg := errs.Message(err)
	if k == errs.Internal {
		log.ErrorContext(r.Context(), "request failed", "path", r.URL.Path,
			"target", r.Header.Get("X-Amz-Target"), "err", err)
		msg = "internal error (request id " + w.Header().Get("X-Amzn-RequestId") + ")"
	}
	ct := "application/json"
	if p == controlPlane {
		ct = "application/x-amz-json-1.1"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Amzn-ErrorType", we.typ)
	if k == errs.Busy {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(we.status)
	body := map[string]string{"__type": we.typ, "message": msg}
	_ = json.NewEncoder(w).Encode(body)
}
