package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
)

// problem is an RFC 9457 problem document.
type problem struct {
	Type     string         `json:"type"`
	Title    string         `json:"title"`
	Status   int            `json:"status"`
	Detail   string         `json:"detail,omitempty"`
	Instance string         `json:"instance,omitempty"`
	Code     string         `json:"code,omitempty"`
	Field    string         `json:"field,omitempty"`
	Extra    map[string]any `json:"extra,omitempty"`
}

// statusOf is the one map from domain error codes to HTTP statuses.
var statusOf = map[string]int{
	core.EINVALID:      http.StatusBadRequest,
	core.EUNAUTHORIZED: http.StatusUnauthorized,
	core.EFORBIDDEN:    http.StatusForbidden,
	core.ENOTFOUND:     http.StatusNotFound,
	core.ECONFLICT:     http.StatusConflict,
	core.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	core.ETOOMANY:      http.StatusTooManyRequests,
	core.EUNAVAILABLE:  http.StatusServiceUnavailable,
	core.EINTERNAL:     http.StatusInternalServerError,
}

const statusClientClosedRequest = 499

func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := problem{Type: "about:blank", Instance: c.Request().URL.Path}
	var he *echo.HTTPError
	var ce *core.Error
	switch {
	case errors.As(err, &ce):
		p.Status = statusOf[ce.Code]
		if p.Status == 0 {
			p.Status = http.StatusInternalServerError
		}
		p.Code, p.Detail, p.Field, p.Extra = ce.Code, ce.Message, ce.Field, ce.Detail
	case errors.As(err, &he):
		p.Status = he.Code
		if msg, ok := he.Message.(string); ok {
			p.Detail = msg
		}
	case errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil:
		// The client went away (a page navigated off, a fetch aborted): nothing failed on
		// our side, so no 500 and no error log. 499 is nginx's "client closed request";
		// nobody reads the answer anyway.
		p.Status = statusClientClosedRequest
		s.deps.Log.Debug("client closed request", "path", c.Request().URL.Path, "error", err)
	default:
		p.Status = http.StatusInternalServerError
		p.Code = core.EINTERNAL
		s.deps.Log.Error("request failed", "path", c.Request().URL.Path, "error", err)
	}
	p.Title = http.StatusText(p.Status)
	if p.Status == statusClientClosedRequest {
		p.Title = "Client Closed Request"
	}
	if p.Detail == "" {
		p.Detail = p.Title
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	if c.Request().Method == http.MethodHead {
		c.NoContent(p.Status)
		return
	}
	_ = c.JSON(p.Status, p)
}
