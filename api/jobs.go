package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
)

func (s *Server) jobRoutes() []route {
	return []route{
		{Method: http.MethodGet, Path: "/api/v1/jobs/runs", Query: []string{"job", "outcome"}, Tag: "system",
			Summary: "Runs of the scheduled jobs on every instance, newest first: tick, instance, start, end, outcome, error (filters: job, outcome running|succeeded|failed)",
			Roles:   []core.Role{core.RoleAdmin}, Handler: s.listJobRuns, Response: Paged[*core.JobRun]{}},
	}
}

func (s *Server) listJobRuns(c echo.Context) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	f := core.JobRunFilter{Job: c.QueryParam("job"), Outcome: c.QueryParam("outcome"), Page: p}
	switch f.Outcome {
	case "", "running", "succeeded", "failed":
	default:
		return core.FieldError("outcome", "must be running, succeeded or failed, not %q", f.Outcome)
	}
	list, total, err := s.jobs.List(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return writePage(c, list, total, p)
}
