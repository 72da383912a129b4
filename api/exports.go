package api

import (
	"mime"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
)

// Every role may export: reports and layers are how coverage leaves Aegis, and the
// seed's navigation gives Reports to all roles.
func (s *Server) exportRoutes() []route {
	return []route{
		{Method: http.MethodGet, Path: "/api/v1/exporters", Summary: "The exporters of the enabled plugins (plugin, type, description, record kinds, media types): what POST /api/v1/exports can run; a plugin never described yet is asked first",
			Roles: everyone, Handler: s.listExporters, Response: []core.Exporter{}, Long: true, Tag: "exports"},
		{Method: http.MethodGet, Path: "/api/v1/exports", Summary: "Export runs, newest first (filters: plugin, outcome)",
			Roles: everyone, Handler: s.listExports, Response: Paged[*core.ExportRun]{}},
		{Method: http.MethodPost, Path: "/api/v1/exports", Summary: "Start an export; answers 202 with the run, whose progress GET /api/v1/exports/{id} shows",
			Roles: everyone, Handler: s.startExport, Request: core.ExportRequest{}, Response: core.ExportRunView{}},
		{Method: http.MethodGet, Path: "/api/v1/exports/:id", Summary: "One export run with its artifacts and, while it runs, its progress",
			Roles: everyone, Handler: s.getExport, Response: core.ExportRunView{}},
		{Method: http.MethodGet, Path: "/api/v1/exports/:id/artifact", Query: []string{"name"}, Summary: "Download an artifact of a succeeded export (name=FILE when it produced several)",
			Roles: everyone, Handler: s.exportArtifact, Long: true},
	}
}

func (s *Server) exports() (core.ExportService, error) {
	if s.deps.Exports == nil {
		return nil, core.Errorf(core.EUNAVAILABLE, "exports are not available on this server")
	}
	return s.deps.Exports, nil
}

// listExporters answers from the stored plugin descriptions; only when an enabled
// plugin was never described (a fresh server) does it start the plugins to ask, once.
func (s *Server) listExporters(c echo.Context) error {
	svc, err := s.imports()
	if err != nil {
		return err
	}
	list, err := svc.Plugins(c.Request().Context(), false)
	if err == nil && core.Undescribed(list) {
		list, err = svc.Plugins(c.Request().Context(), true)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, core.Exporters(list))
}

func (s *Server) listExports(c echo.Context) error {
	svc, err := s.exports()
	if err != nil {
		return err
	}
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	list, total, err := svc.ListExportRuns(c.Request().Context(), core.ExportRunFilter{Plugin: c.QueryParam("plugin"),
		Outcome: c.QueryParam("outcome"), Page: p})
	if err != nil {
		return err
	}
	return writePage(c, list, total, p)
}

func (s *Server) startExport(c echo.Context) error {
	svc, err := s.exports()
	if err != nil {
		return err
	}
	var req core.ExportRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	run, err := svc.StartExport(ctx, req, currentUser(c))
	if err != nil {
		return err
	}
	view, err := svc.ExportRun(ctx, run.ID)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/exports/"+run.ID)
	return c.JSON(http.StatusAccepted, view)
}

func (s *Server) getExport(c echo.Context) error {
	svc, err := s.exports()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "export run")
	if err != nil {
		return err
	}
	view, err := svc.ExportRun(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view)
}

func (s *Server) exportArtifact(c echo.Context) error {
	svc, err := s.exports()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "export run")
	if err != nil {
		return err
	}
	a, err := svc.ExportArtifact(c.Request().Context(), id, c.QueryParam("name"))
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": a.Name}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Aegis-SHA256", a.SHA256)
	h.Set(echo.HeaderContentLength, strconv.FormatInt(a.SizeBytes, 10))
	return c.Blob(http.StatusOK, a.MediaType, a.Data)
}
