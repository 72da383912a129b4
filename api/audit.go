package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
)

// auditRoutes only read: the log is append-only, and no route may change or remove an
// entry (the chain would show it, but it must not be possible in the first place).
func (s *Server) auditRoutes() []route {
	return []route{
		{Method: http.MethodGet, Path: "/api/v1/audit", Query: []string{"action", "actor", "entity_id", "entity_type", "since", "until"},
			Summary: "Audit log, newest first (filters: actor (id or username), action, entity_type, entity_id, since, until)",
			Roles:   []core.Role{core.RoleAdmin, core.RoleRedLead, core.RoleBlueLead}, Handler: s.listAudit,
			Response: Paged[*core.AuditEntry]{}},
		{Method: http.MethodGet, Path: "/api/v1/audit/verify", Summary: "Walk the audit hash chain and name the first entry that does not match",
			Roles: adminOnly, Handler: s.verifyAudit, Response: core.AuditVerification{}, Long: true},
	}
}

func (s *Server) listAudit(c echo.Context) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	f := core.AuditFilter{Action: c.QueryParam("action"), EntityType: c.QueryParam("entity_type"),
		EntityID: c.QueryParam("entity_id"), Page: p}
	if f.Since, err = queryTime(c, "since"); err != nil {
		return err
	}
	if f.Until, err = queryTime(c, "until"); err != nil {
		return err
	}
	list, total, err := s.deps.Audit.List(c.Request().Context(), f, c.QueryParam("actor"))
	if err != nil {
		return err
	}
	return writePage(c, list, total, p)
}

func (s *Server) verifyAudit(c echo.Context) error {
	v, err := s.deps.Audit.Verify(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}
