// Package api is the HTTP layer of Aegis on echo: routing, auth, request and response
// shapes, errors as RFC 9457 problem documents. Handlers bind, call the core and answer;
// they never build SQL.
package api

import (
	"context"
	"io/fs"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/auditlog"
	"github.com/aegis-sec/aegis/core/auth"
	"github.com/aegis-sec/aegis/core/campaign"
	"github.com/aegis-sec/aegis/core/catalog"
	"github.com/aegis-sec/aegis/core/coverage"
	"github.com/aegis-sec/aegis/core/curation"
	"github.com/aegis-sec/aegis/core/detection"
	"github.com/aegis-sec/aegis/core/evidence"
	"github.com/aegis-sec/aegis/core/inbox"
	"github.com/aegis-sec/aegis/core/reference"
	"github.com/aegis-sec/aegis/core/testflow"
)

// Deps is everything the HTTP layer needs from the rest of the program: the core's
// services, built by cmd/aegis (or a test). Handlers reach the core only through them,
// so each rule lives in one service and not again in a handler.
type Deps struct {
	Log     hclog.Logger
	Version string
	// Web is the built SPA; WebBuilt says whether it holds an index.html.
	Web      fs.FS
	WebBuilt bool
	// Registry receives the HTTP metrics; nil means a fresh one (tests).
	Registry *prometheus.Registry
	// Ready reports whether the database answers (GET /readyz).
	Ready func(context.Context) error
	// CookieSecure is auth.cookie_secure: nil means Secure exactly when the server or
	// the request is HTTPS.
	CookieSecure *bool
	// TrustedProxies are server.trusted_proxies: the peers whose X-Forwarded-For is
	// believed (none when empty).
	TrustedProxies []*net.IPNet
	// TLS says the server serves HTTPS itself (session cookies are then Secure even
	// when auth.cookie_secure is not set).
	TLS bool
	// RequestTimeout is server.request_timeout, the deadline of every request but the
	// long ones (uploads, downloads, verifications): 0 means DefaultRequestTimeout,
	// negative means none.
	RequestTimeout time.Duration
	// SearchConcurrency is how many requests with a search run at once (others wait
	// for a slot within their deadline); 0 means DefaultSearchConcurrency.
	SearchConcurrency int

	// Auth signs people in and manages accounts and tokens.
	Auth *auth.Service
	// Tests runs the test lifecycle and reads tests.
	Tests *testflow.Service
	// Catalog reads the reference catalog, import runs and technique reviews.
	Catalog *catalog.Service
	// Curation writes custom templates and rules.
	Curation *curation.Service
	// Audit reads the audit log.
	Audit *auditlog.Service
	// Inbox is each user's notifications.
	Inbox *inbox.Service
	// Imports runs import plugins; nil answers the import-starting routes with 503.
	Imports core.ImportService
	// Exports runs exporter plugins; nil answers the export routes with 503.
	Exports core.ExportService
	// Evidence keeps evidence files; nil answers the evidence routes with 503.
	Evidence *evidence.Service
	// Reference reads imported reference data (actors, mitigations, compliance, ...).
	Reference *reference.Service
	// Coverage computes scores, metrics, dashboards and snapshots.
	Coverage *coverage.Service
	// Campaigns plans and runs campaigns.
	Campaigns *campaign.Service
	// Jobs lists the scheduler's recorded runs.
	Jobs JobRuns
	// Detections evaluates Sigma rules over a test's telemetry; nil answers the
	// evaluation route with 503.
	Detections *detection.Service
}

// JobRuns lists the scheduler's recorded job runs, newest first (the scheduler's
// history, core/schedule, is an adapter: the API sees only this).
type JobRuns interface {
	List(ctx context.Context, f core.JobRunFilter) ([]*core.JobRun, int, error)
}

// Server is the HTTP API.
type Server struct {
	deps    Deps
	bounds  bounds
	echo    *echo.Echo
	metrics *httpMetrics
	openAPICache
	auth     *auth.Service
	flow     *testflow.Service
	catalog  *catalog.Service
	curation *curation.Service
	evidence *evidence.Service
	// reference reads imported reference data; coverage computes scores and metrics.
	reference *reference.Service
	coverage  *coverage.Service
	campaigns *campaign.Service
	jobs      JobRuns
	detect    *detection.Service
}

// New builds the router with every route of the route table. Every service but
// Imports and Evidence is required.
func New(d Deps) *Server {
	if d.Log == nil {
		d.Log = hclog.NewNullLogger()
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = ipExtractor(d.TrustedProxies)
	s := &Server{deps: d, echo: e, metrics: newHTTPMetrics(d.Registry), bounds: newBounds(d),
		auth: d.Auth, flow: d.Tests, catalog: d.Catalog, curation: d.Curation, evidence: d.Evidence,
		reference: d.Reference, coverage: d.Coverage, campaigns: d.Campaigns, jobs: d.Jobs,
		detect: d.Detections}
	e.HTTPErrorHandler = s.handleError
	// The order matters: logRequests runs the error handler, so the metrics around it
	// see the status the client got (a 401 or a 500, not the 200 an unwritten response
	// still holds), and Recover inside both turns a panic into a 500 they both record.
	e.Use(middleware.RequestID())
	e.Use(s.securityHeaders)
	e.Use(s.metrics.middleware)
	e.Use(s.logRequests)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			d.Log.Error("panic in handler", "path", c.Request().URL.Path, "error", err, "stack", string(stack))
			return err
		},
	}))
	e.Use(checkInput)
	e.Use(s.authenticate)
	for _, r := range s.routes() {
		e.Add(r.Method, r.Path, r.Handler, s.authorize(r), s.bound(r))
	}
	s.mountSPA()
	return s
}

// Handler returns the http.Handler (for tests and for http.Server).
func (s *Server) Handler() http.Handler { return s.echo }

// Echo exposes the router, for tests that list the registered routes.
func (s *Server) Echo() *echo.Echo { return s.echo }

func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		req, res := c.Request(), c.Response()
		level := hclog.Debug
		if res.Status >= 500 {
			level = hclog.Error
		} else if res.Status >= 400 {
			level = hclog.Info
		}
		s.deps.Log.Log(level, "request", "method", req.Method, "path", req.URL.Path, "status", res.Status,
			"bytes", res.Size, "duration", time.Since(start).Round(time.Microsecond), "id", res.Header().Get(echo.HeaderXRequestID))
		return nil
	}
}

// route is one entry of the route table: the one place that says who may call what.
type route struct {
	Method  string
	Path    string
	Summary string
	// Roles that may call the route; Public routes need no sign-in.
	Roles   []core.Role
	Public  bool
	Handler echo.HandlerFunc
	// SessionOnly routes refuse API tokens (they need a signed-in browser session).
	SessionOnly bool
	// Tag groups the route in the OpenAPI document; empty means the first path
	// segment after /api/v1/.
	Tag string
	// Request and Response are zero values of the JSON body types, from which the
	// OpenAPI document derives schemas; nil documents no body.
	Request  any
	Response any
	// Require names top-level Request fields this route needs beyond those the type
	// tags api:"required" (one type serves create and update); RequireAnyOf lists
	// alternatives, one of which must be present in full (a test from a template,
	// or with a title and a technique). Both go into the OpenAPI request schema,
	// which TestDocumentedMinimalBodies holds to what the server accepts.
	Require      []string
	RequireAnyOf [][]string
	// BodyOptional documents a request body that may be left out entirely.
	BodyOptional bool
	// MinFields is how many fields a partial update must name at least.
	MinFields int
	// Form documents a multipart/form-data body instead: field name → description; a
	// field named "file" is binary.
	Form map[string]string
	// Long routes (uploads, downloads, chain verifications, evaluations, imports) run
	// without the request deadline (see bound).
	Long bool
	// Query names the query parameters the handler reads (filters, options), each
	// documented as an optional string; limit and offset are added for paged answers.
	// TestQueryParametersDocumented holds this to what the handler really reads, and the
	// hostile-input tests send attacks in every one listed.
	Query []string
}

// routes is the route table: every feature contributes its group here.
func (s *Server) routes() []route {
	var all []route
	for _, group := range [][]route{
		s.systemRoutes(),
		s.authRoutes(),
		s.tokenRoutes(),
		s.userRoutes(),
		s.auditRoutes(),
		s.notificationRoutes(),
		s.openAPIRoutes(),
		s.importRoutes(),
		s.exportRoutes(),
		s.testRoutes(),
		s.evidenceRoutes(),
		s.worklogRoutes(),
		s.catalogRoutes(),
		s.referenceRoutes(),
		s.coverageRoutes(),
		s.metricRoutes(),
		s.snapshotRoutes(),
		s.campaignRoutes(),
		s.jobRoutes(),
	} {
		all = append(all, group...)
	}
	return all
}

func (s *Server) systemRoutes() []route {
	return []route{
		{Method: http.MethodGet, Path: "/healthz", Summary: "Liveness: the process answers", Public: true, Handler: s.healthz},
		{Method: http.MethodGet, Path: "/readyz", Summary: "Readiness: the database answers", Public: true, Handler: s.readyz},
		{Method: http.MethodGet, Path: "/metrics", Summary: "Prometheus metrics", Public: true, Handler: s.metricsHandler()},
		{Method: http.MethodGet, Path: "/api/v1/version", Summary: "Server version", Public: true, Handler: s.version},
	}
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.deps.Ready(ctx); err != nil {
		s.deps.Log.Warn("readiness check failed", "error", err)
		return &core.Error{Code: core.EUNAVAILABLE, Message: "database unavailable"}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) version(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"version": s.deps.Version, "api": "v1"})
}
