package core

import (
	"errors"
	"fmt"
)

// Error codes of the domain. The API maps them to HTTP statuses in one place; nothing
// else in the core knows about HTTP.
const (
	ECONFLICT     = "conflict"     // a state or version conflict (stale update, illegal transition)
	EINTERNAL     = "internal"     // a bug or an unavailable dependency
	EINVALID      = "invalid"      // the request is malformed or breaks a rule
	ENOTFOUND     = "not_found"    // no such entity
	EUNAUTHORIZED = "unauthorized" // not signed in
	EFORBIDDEN    = "forbidden"    // signed in, but the role does not allow it
	ETOOMANY      = "rate_limited" // too many attempts
	ETOOLARGE     = "too_large"    // a body or file over its limit
	EUNAVAILABLE  = "unavailable"  // a dependency (database, plugin) is down
)

// Error is a domain error that carries a machine-readable code and a message fit for the
// user. Field, when set, names the input that was wrong.
type Error struct {
	Code    string
	Message string
	Field   string
	// Detail carries structured context (for example the current version on a conflict).
	Detail map[string]any
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EINVALID error that names the offending field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other
// error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err: the domain message when there is
// one, a generic text otherwise (internal details stay in the logs).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Error()
	}
	return "internal error"
}
