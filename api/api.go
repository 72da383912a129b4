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
	"github.com/aegis-sec/aegis/core/auth"
	"github.com/aegis-sec/aegis/core/campaign"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/coverage"
	"github.com/aegis-sec/aegis/core/curation"
	"github.com/aegis-sec/aegis/core/detection"
	"github.com/aegis-sec/aegis/core/evidence"
	"github.com/aegis-sec/aegis/core/reference"
	"github.com/aegis-sec/aegis/core/schedule"
	"github.com/aegis-sec/aegis/core/testflow"
)

// Deps is everything the HTTP layer needs from the rest of the program.
type Deps struct {
	Store   core.Store
	Log     hclog.Logger
	Version string
	// Web is the built SPA; WebBuilt says whether it holds an index.html.
	Web      fs.FS
	WebBuilt bool
	// Registry receives the HTTP metrics; nil means a fresh one (tests).
	Registry *prometheus.Registry
	// Auth is the auth block of aegis.hcl; zero fields get the documented defaults.
	Auth config.Auth
	// TrustedProxies are server.trusted_proxies: the peers whose X-Forwarded-For is
	// believed (none when empty).
	TrustedProxies []*net.IPNet
	// TLS says the server serves HTTPS itself (session cookies are then Secure even
	// when auth.cookie_secure is not set).
	TLS bool
	// Now is the clock of sessions, tokens and sign-in throttling; nil is the real one.
	Now func() time.Time
	// Imports runs import plugins; nil answers the import routes with 503.
	Imports core.ImportService
	// Exports runs exporter plugins; nil answers the export routes with 503.
	Exports core.ExportService
	// Blobs keeps evidence files; nil answers the evidence routes with 503.
	Blobs core.BlobStore
	// Evidence is the evidence block of aegis.hcl (upload size and type limits).
	Evidence config.Evidence
	// Detections evaluates Sigma rules over a test's telemetry; nil builds one on
	// Store and Blobs (and answers 503 without Blobs).
	Detections *detection.Service
}

// Server is the HTTP API.
type Server struct {
	deps    Deps
	echo    *echo.Echo
	metrics *httpMetrics
	auth    *auth.Service
	openAPICache
	// flow runs the test lifecycle, evidence the evidence files (nil without Blobs),
	// curation the custom catalog entries.
	flow     *testflow.Service
	evidence *evidence.Service
	curation *curation.Service
	// reference reads imported reference data; coverage computes scores and metrics.
	reference *reference.Service
	coverage  *coverage.Service
	campaigns *campaign.Service
	jobs      *schedule.History
	detect    *detection.Service
}

// New builds the router with every route of the route table.
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
	s := &Server{deps: d, echo: e, metrics: newHTTPMetrics(d.Registry)}
	s.auth = auth.New(d.Store, authPolicy(d.Auth), d.Now)
	s.flow, s.curation = testflow.New(d.Store), curation.New(d.Store)
	s.reference, s.coverage = reference.New(d.Store), coverage.New(d.Store, d.Now)
	s.campaigns, s.jobs = campaign.New(d.Store, d.Now), &schedule.History{Store: d.Store}
	if d.Blobs != nil {
		s.evidence = evidence.NewService(d.Store, d.Blobs, evidence.Limits{MaxBytes: d.Evidence.MaxUploadBytes,
			AllowedTypes: d.Evidence.AllowedTypes}, d.Log.Named("evidence"))
	}
	s.detect = d.Detections
	if s.detect == nil && d.Blobs != nil {
		s.detect = detection.NewService(d.Store, d.Blobs, d.Log.Named("detection"), detection.ServiceOptions{Now: d.Now})
	}
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
		e.Add(r.Method, r.Path, r.Handler, s.authorize(r))
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
	// Form documents a multipart/form-data body instead: field name → description; a
	// field named "file" is binary.
	Form map[string]string
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
	if err := s.deps.Store.Ping(ctx); err != nil {
		s.deps.Log.Warn("readiness check failed", "error", err)
		return &core.Error{Code: core.EUNAVAILABLE, Message: "database unavailable"}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) version(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"version": s.deps.Version, "api": "v1"})
}
