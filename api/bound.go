package api

import (
	"context"
	"errors"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
)

// DefaultRequestTimeout is the deadline of a request when Deps.RequestTimeout is 0
// (server.request_timeout in aegis.hcl).
const DefaultRequestTimeout = 30 * time.Second

// DefaultSearchConcurrency is how many requests with a search run at once when
// Deps.SearchConcurrency is 0.
const DefaultSearchConcurrency = 4

// bounds are the limits every request runs under (see bound).
type bounds struct {
	timeout  time.Duration // <= 0: none
	searches chan struct{} // one slot per search allowed to run
}

func newBounds(d Deps) bounds {
	b := bounds{timeout: d.RequestTimeout}
	if b.timeout == 0 {
		b.timeout = DefaultRequestTimeout
	}
	n := d.SearchConcurrency
	if n <= 0 {
		n = DefaultSearchConcurrency
	}
	b.searches = make(chan struct{}, n)
	return b
}

// bound is the per-route middleware that keeps one kind of request from taking the
// server down. The request context gets a deadline (server.request_timeout), so a
// query that runs too long, or waits too long for a lock or a connection, is
// cancelled in the database driver and its transaction rolled back; the client gets
// 503 naming the setting, not a connection held for a minute. A request with a
// search (each word a substring match over several columns, the costliest reads
// Aegis does) first takes one of a few slots, so searches can never hold every
// database connection: health checks, sign-in and other requests keep theirs.
// Routes marked Long (uploads, downloads, chain verification, evaluations) stream or
// walk everything by design and run without the deadline.
func (s *Server) bound(r route) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if r.Long {
			return next
		}
		return func(c echo.Context) error {
			req := c.Request()
			ctx, cancel := req.Context(), context.CancelFunc(func() {})
			if s.bounds.timeout > 0 {
				ctx, cancel = context.WithTimeout(ctx, s.bounds.timeout)
			}
			defer cancel()
			c.SetRequest(req.WithContext(ctx))
			// Read through QueryParams: TestQueryParametersDocumented counts QueryParam
			// calls as the handler's own parameters, and this is every route's.
			if c.QueryParams().Get("search") != "" {
				select {
				case s.bounds.searches <- struct{}{}:
					defer func() { <-s.bounds.searches }()
				case <-ctx.Done():
					return s.deadlineError(ctx, ctx.Err())
				}
			}
			return s.deadlineError(ctx, next(c))
		}
	}
}

// deadlineError turns err into 503 naming server.request_timeout when the request's
// deadline passed: whatever the driver or the pool answered then (context deadline
// exceeded, an interrupted statement) is the deadline's doing, not a server fault.
// A domain error other than an internal one (a 404, a 409) stays what it is.
func (s *Server) deadlineError(ctx context.Context, err error) error {
	if err == nil || !errors.Is(ctx.Err(), context.DeadlineExceeded) || core.ErrorCode(err) != core.EINTERNAL {
		return err
	}
	return &core.Error{Code: core.EUNAVAILABLE,
		Message: "the request did not finish within server.request_timeout (" + s.bounds.timeout.String() +
			") and was stopped; what it had not committed was rolled back. Try again, or narrow the search",
		Detail: map[string]any{"setting": "server.request_timeout", "timeout": s.bounds.timeout.String()}}
}
