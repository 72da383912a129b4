package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/coverage"
)

func (s *Server) snapshotRoutes() []route {
	return []route{
		{Method: http.MethodPost, Path: "/api/v1/snapshots", Tag: "snapshots",
			Summary: "Take a coverage snapshot now: every technique's status and score, every test's state and outcome, the metrics and the formula version",
			Roles:   coverage.SnapshotTakers, Handler: s.createSnapshot, Request: snapshotInput{}, BodyOptional: true, Response: core.Snapshot{}},
		{Method: http.MethodGet, Path: "/api/v1/snapshots", Tag: "snapshots",
			Summary: "Coverage snapshots, newest first", Roles: everyone, Handler: s.listSnapshots, Response: Paged[*core.Snapshot]{}},
		{Method: http.MethodGet, Path: "/api/v1/snapshots/compare", Query: []string{"from", "to"}, Tag: "snapshots",
			Summary: "Compare two snapshots (query: from, to): techniques improved, regressed, new and removed, each with the tests that changed state or outcome",
			Roles:   everyone, Handler: s.compareSnapshots, Response: coverage.SnapshotComparison{}},
		{Method: http.MethodGet, Path: "/api/v1/snapshots/:id", Tag: "snapshots",
			Summary: "One snapshot with every technique's status and score", Roles: everyone, Handler: s.getSnapshot, Response: coverage.SnapshotDetail{}},
	}
}

type snapshotInput struct {
	Name string `json:"name"`
}

func (s *Server) createSnapshot(c echo.Context) error {
	var in snapshotInput
	if c.Request().ContentLength != 0 {
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
	}
	snap, err := s.coverage.CreateSnapshot(c.Request().Context(), currentUser(c), in.Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, snap)
}

func (s *Server) listSnapshots(c echo.Context) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	list, total, err := s.coverage.Snapshots(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return writePage(c, list, total, p)
}

func (s *Server) getSnapshot(c echo.Context) error {
	id, err := pathID(c, "id", "snapshot")
	if err != nil {
		return err
	}
	v, err := s.coverage.Snapshot(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) compareSnapshots(c echo.Context) error {
	from, err := queryID(c, "from")
	if err != nil {
		return err
	}
	to, err := queryID(c, "to")
	if err != nil {
		return err
	}
	if from == "" || to == "" {
		return core.FieldError("from", "name two snapshots: from and to")
	}
	v, err := s.coverage.CompareSnapshots(c.Request().Context(), from, to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}
