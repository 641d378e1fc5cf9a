// Package errs classifies errors by kind so that one adapter per protocol can
// map them to the wire. It is a leaf: it imports only the standard library.
package errs

import (
	"errors"
	"fmt"
)

// Kind says what went wrong in terms a client can act on.
type Kind int

// The kinds. Internal is the zero value: anything unclassified is a server fault.
const (
	Internal         Kind = iota
	Invalid               // bad input: InvalidInputException
	NotFound              // ResourceNotFoundException
	AlreadyExists         // ResourceAlreadyExistsException
	InUse                 // ResourceInUseException: a parent/child is in the wrong state
	LimitExceeded         // LimitExceededException: a quota was hit
	InvalidNextToken      // InvalidNextTokenException
	Unauthenticated       // UnrecognizedClientException: unknown access key
	MissingAuth           // MissingAuthenticationTokenException: no signature at all
	BadSignature          // InvalidSignatureException: signature does not match
	IncompleteSig         // IncompleteSignatureException: malformed Authorization header
	UnknownOperation      // UnknownOperationException
	TooLarge              // request or upload over a limit
	Busy                  // ThrottlingException: back off and retry
	Unavailable           // ServiceUnavailable: shutting down, model not loaded
	TooManyTags           // TooManyTagsException / TooManyTagKeysException
	AccessDenied          // AccessDeniedException: the key's policy does not allow the call
)

var kindNames = [...]string{
	Internal: "Internal", Invalid: "Invalid", NotFound: "NotFound", AlreadyExists: "AlreadyExists",
	InUse: "InUse", LimitExceeded: "LimitExceeded", InvalidNextToken: "InvalidNextToken",
	Unauthenticated: "Unauthenticated", MissingAuth: "MissingAuth", BadSignature: "BadSignature",
	IncompleteSig: "IncompleteSig", UnknownOperation: "UnknownOperation", TooLarge: "TooLarge",
	Busy: "Busy", Unavailable: "Unavailable", TooManyTags: "TooManyTags", AccessDenied: "AccessDenied",
}

func (k Kind) String() string {
	if int(k) >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is a classified error. Msg is safe to show to clients; Err is the
// internal cause, logged but never sent.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	switch {
	case e.Err == nil:
		return e.Msg
	case e.Msg == "":
		return e.Err.Error()
	default:
		return e.Msg + ": " + e.Err.Error()
	}
}

func (e *Error) Unwrap() error { return e.Err }

// E returns a classified error whose message is formatted from format and args.
func E(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Wrap classifies err with kind and a client-safe message. A nil err gives nil.
func Wrap(kind Kind, err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...), Err: err}
}

// KindOf returns the kind of the outermost classified error in err's chain,
// or Internal when there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Is reports whether err is classified as kind.
func Is(err error, kind Kind) bool { return err != nil && KindOf(err) == kind }

// Message returns the client-safe message of err: the Msg of the outermost
// classified error, or "internal error" when err is unclassified.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != Internal {
		if e.Msg != "" {
			return e.Msg
		}
		return e.Kind.String()
	}
	return "internal error"
}
