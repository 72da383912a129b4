package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/coverage"
)

func (s *Server) metricRoutes() []route {
	return []route{
		{Method: http.MethodGet, Path: "/api/v1/metrics/summary", Query: []string{"domain", "window_days"}, Tag: "metrics",
			Summary: "MTTD, MTTR, detection efficacy, alert fidelity, coverage velocity, never-tested techniques, average validation time, tests by state, coverage by tactic (query: domain, window_days for velocity, default 28); definitions in docs/SCORING.md",
			Roles:   everyone, Handler: s.coverageMetrics, Response: coverage.Metrics{}},
		{Method: http.MethodGet, Path: "/api/v1/metrics/trends", Query: []string{"weeks"}, Tag: "metrics",
			Summary: "Activity per week (tests created, validated, covered, remediations) with the snapshots' organisation scores (query: weeks, default 12)",
			Roles:   everyone, Handler: s.trends, Response: []coverage.TrendPoint{}},
		{Method: http.MethodGet, Path: "/api/v1/dashboard", Query: []string{"domain"}, Tag: "metrics",
			Summary: "The dashboard in one answer: metrics, what to test next across actors, recent snapshots, 12-week trend (query: domain)",
			Roles:   everyone, Handler: s.dashboard, Response: coverage.Dashboard{}},
		{Method: http.MethodGet, Path: "/api/v1/dashboard/executive", Query: []string{"domain"}, Tag: "metrics",
			Summary: "The executive summary: score and change since the last snapshot, key metrics, strongest and weakest tactics, top actors, trend (query: domain)",
			Roles:   everyone, Handler: s.executive, Response: coverage.Executive{}},
		{Method: http.MethodGet, Path: "/api/v1/datasets/:name", Query: []string{"format"}, Tag: "metrics",
			Summary: "A flat dataset for BI tools: coverage (the coverage CSV: one row per technique), tests, trends or operators; format=json (default) or csv",
			Roles:   everyone, Handler: s.dataset, Response: datasetBody{}, Long: true},
	}
}

type datasetBody struct {
	Name    string           `json:"name"`
	Columns []string         `json:"columns"`
	Rows    []map[string]any `json:"rows"`
}

func queryInt(c echo.Context, name string, def, max int) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, core.FieldError(name, "must be a whole number from 1 to %d, not %q", max, v)
	}
	return n, nil
}

func (s *Server) coverageMetrics(c echo.Context) error {
	days, err := queryInt(c, "window_days", 28, 3650)
	if err != nil {
		return err
	}
	v, err := s.coverage.Metrics(c.Request().Context(), c.QueryParam("domain"), time.Duration(days)*24*time.Hour)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) trends(c echo.Context) error {
	weeks, err := queryInt(c, "weeks", 12, 260)
	if err != nil {
		return err
	}
	v, err := s.coverage.Trends(c.Request().Context(), weeks)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) dashboard(c echo.Context) error {
	v, err := s.coverage.Dashboard(c.Request().Context(), c.QueryParam("domain"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) executive(c echo.Context) error {
	v, err := s.coverage.Executive(c.Request().Context(), c.QueryParam("domain"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) dataset(c echo.Context) error {
	format := c.QueryParam("format")
	if format != "" && format != "json" && format != "csv" {
		return core.FieldError("format", "must be json or csv, not %q", format)
	}
	d, err := s.coverage.Dataset(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	if format == "csv" {
		c.Response().Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
		c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="aegis-`+d.Name+`.csv"`)
		c.Response().WriteHeader(http.StatusOK)
		return d.WriteCSV(c.Response())
	}
	return c.JSON(http.StatusOK, datasetBody{Name: d.Name, Columns: d.Columns, Rows: d.Records()})
}
