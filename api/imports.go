package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
)

var leadsAndAdmin = []core.Role{core.RoleAdmin, core.RoleRedLead, core.RoleBlueLead}

// importRun is a run as the API shows it: the stored row, and while it runs, its live
// progress.
type importRun struct {
	*core.ImportRun
	Progress *core.ImportProgress `json:"progress,omitempty"`
}

type resolveReviewRequest struct {
	// Target is the ATT&CK id everything moves to; Dismiss keeps it where it is.
	Target  string `json:"target,omitempty"`
	Dismiss bool   `json:"dismiss,omitempty"`
	Note    string `json:"note,omitempty"`
}

type resolveReviewResponse struct {
	Review *core.TechniqueReview `json:"review"`
	Remap  *core.RemapReport     `json:"remap"`
}

func (s *Server) importRoutes() []route {
	return []route{
		{Method: http.MethodGet, Path: "/api/v1/plugins", Summary: "Plugins with version, kinds and protocol (refresh=true starts each to ask again)",
			Roles: adminOnly, Handler: s.listPlugins, Response: []core.PluginStatus{}, Long: true},
		{Method: http.MethodGet, Path: "/api/v1/imports", Query: []string{"outcome", "plugin"}, Summary: "Import runs, newest first (filters: plugin, outcome)",
			Roles: leadsAndAdmin, Handler: s.listImports, Response: Paged[*core.ImportRun]{}},
		{Method: http.MethodPost, Path: "/api/v1/imports", Summary: "Start an import; answers 202 with the run, whose progress GET /api/v1/imports/{id} shows",
			Roles: adminOnly, Handler: s.startImport, Request: core.ImportRequest{}, Response: importRun{}, Long: true},
		{Method: http.MethodGet, Path: "/api/v1/imports/:id", Summary: "One import run with its warnings and, while it runs, its progress",
			Roles: leadsAndAdmin, Handler: s.getImport, Response: importRun{}},
		{Method: http.MethodGet, Path: "/api/v1/attack/reviews", Query: []string{"status"}, Summary: "The ATT&CK upgrade review queue (filter: status open|resolved|dismissed)",
			Roles: leadsAndAdmin, Handler: s.listReviews, Response: Paged[*core.TechniqueReview]{}, Tag: "attack"},
		{Method: http.MethodPost, Path: "/api/v1/attack/reviews/:id/resolve", Summary: "Move a retired technique's tests and links to a target technique, or dismiss",
			Roles: leadsAndAdmin, Handler: s.resolveReview, Request: resolveReviewRequest{}, RequireAnyOf: [][]string{{"dismiss"}, {"target"}}, Response: resolveReviewResponse{}, Tag: "attack"},
	}
}

func (s *Server) imports() (core.ImportService, error) {
	if s.deps.Imports == nil {
		return nil, core.Errorf(core.EUNAVAILABLE, "imports are not available on this server")
	}
	return s.deps.Imports, nil
}

func (s *Server) listPlugins(c echo.Context) error {
	svc, err := s.imports()
	if err != nil {
		return err
	}
	refresh, err := queryBool(c, "refresh")
	if err != nil {
		return err
	}
	list, err := svc.Plugins(c.Request().Context(), refresh != nil && *refresh)
	if err != nil {
		return err
	}
	if list == nil {
		list = []core.PluginStatus{}
	}
	return c.JSON(http.StatusOK, list)
}

func (s *Server) listImports(c echo.Context) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	list, total, err := s.catalog.ImportRuns(c.Request().Context(),
		core.ImportRunFilter{Plugin: c.QueryParam("plugin"), Outcome: c.QueryParam("outcome"), Page: p})
	if err != nil {
		return err
	}
	return writePage(c, list, total, p)
}

func (s *Server) startImport(c echo.Context) error {
	svc, err := s.imports()
	if err != nil {
		return err
	}
	var req core.ImportRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Plugin == "" {
		return core.FieldError("plugin", "is required")
	}
	run, err := svc.StartImport(c.Request().Context(), req, currentUser(c))
	if err != nil {
		return err
	}
	p, _ := svc.ImportProgress(run.ID)
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/imports/"+run.ID)
	return c.JSON(http.StatusAccepted, importRun{ImportRun: run, Progress: p})
}

func (s *Server) getImport(c echo.Context) error {
	id, err := pathID(c, "id", "import run")
	if err != nil {
		return err
	}
	run, err := s.catalog.ImportRun(c.Request().Context(), id)
	if err != nil {
		return err
	}
	out := importRun{ImportRun: run}
	if svc, err := s.imports(); err == nil && run.Outcome == core.RunRunning {
		out.Progress, _ = svc.ImportProgress(run.ID)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) listReviews(c echo.Context) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	status := c.QueryParam("status")
	switch status {
	case "", core.ReviewOpen, core.ReviewResolved, core.ReviewDismissed:
	default:
		return core.FieldError("status", "must be open, resolved or dismissed, not %q", status)
	}
	list, total, err := s.catalog.Reviews(c.Request().Context(), core.ReviewFilter{Status: status, Page: p})
	if err != nil {
		return err
	}
	return writePage(c, list, total, p)
}

func (s *Server) resolveReview(c echo.Context) error {
	id, err := pathID(c, "id", "review")
	if err != nil {
		return err
	}
	var req resolveReviewRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var out resolveReviewResponse
	out.Review, out.Remap, err = s.catalog.ResolveReview(c.Request().Context(), currentUser(c), id, req.Target, req.Dismiss, req.Note)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
