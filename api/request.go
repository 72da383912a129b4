package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
)

// maxJSONBody bounds JSON request bodies; uploads have their own, configured limit.
const maxJSONBody = 1 << 20

// decodeJSON reads the request body into dst. It insists on Content-Type
// application/json, which a cross-site HTML form cannot send without a CORS preflight
// (that is what protects the unauthenticated login route from login CSRF), refuses
// unknown fields so a typo is an error instead of a silently ignored setting, and
// accepts exactly one JSON value.
func decodeJSON(c echo.Context, dst any) error {
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationJSON {
		return core.Errorf(core.EINVALID, "send a JSON body with Content-Type: application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var mbe *http.MaxBytesError
		var ute *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return core.Errorf(core.ETOOLARGE, "the JSON body is larger than %d bytes", maxJSONBody)
		case errors.As(err, &ute):
			return core.FieldError(ute.Field, "must be %s, not a JSON %s", ute.Type, ute.Value)
		case errors.Is(err, io.EOF):
			return core.Errorf(core.EINVALID, "the JSON body is empty")
		}
		return core.Errorf(core.EINVALID, "invalid JSON body: %v", err)
	}
	if dec.More() {
		return core.Errorf(core.EINVALID, "the body holds more than one JSON value")
	}
	return nil
}

// pathID returns the path parameter name, which must be an Aegis id (a UUID). Anything
// else is "not found" before it reaches the store: PostgreSQL would reject it as a
// malformed uuid with a server error, SQLite would just not find it.
func pathID(c echo.Context, name, what string) (string, error) {
	v := c.Param(name)
	if _, err := uuid.Parse(v); err != nil {
		return "", core.Errorf(core.ENOTFOUND, "%s %q not found", what, v)
	}
	return v, nil
}

// queryBool reads an optional boolean query parameter (true/false/1/0); nil when absent.
func queryBool(c echo.Context, name string) (*bool, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, core.FieldError(name, "must be true or false, not %q", v)
	}
	return &b, nil
}

// queryTime reads an optional RFC 3339 time query parameter; nil when absent.
func queryTime(c echo.Context, name string) (*time.Time, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, core.FieldError(name, "must be an RFC 3339 time such as 2026-01-31T12:00:00Z, not %q", v)
	}
	t = t.UTC()
	return &t, nil
}

// queryID reads an optional id query parameter; "" when absent, 400 when not a UUID.
func queryID(c echo.Context, name string) (string, error) {
	v := c.QueryParam(name)
	if v == "" {
		return "", nil
	}
	if _, err := uuid.Parse(v); err != nil {
		return "", core.FieldError(name, "must be an id (a UUID), not %q", v)
	}
	return v, nil
}
