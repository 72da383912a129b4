package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/catalog"
	"github.com/aegis-sec/aegis/core/curation"
)

func (s *Server) catalogRoutes() []route {
	return []route{
		{Method: http.MethodGet, Path: "/api/v1/tactics", Query: []string{"domain"}, Tag: "catalog",
			Summary: "ATT&CK tactics in matrix order (filter: domain)", Roles: everyone, Handler: s.listTactics, Response: Paged[*core.Tactic]{}},
		{Method: http.MethodGet, Path: "/api/v1/techniques", Query: []string{"include_revoked", "platform", "search", "status", "tactic"}, Tag: "catalog",
			Summary: "ATT&CK techniques by id (filters: tactic (shortname or TA id), platform, status (coverage), search (id or name), include_revoked); description and detection are empty here, the technique's own page has them",
			Roles:   everyone, Handler: s.listTechniques, Response: Paged[*core.Technique]{}},
		{Method: http.MethodGet, Path: "/api/v1/techniques/:id", Tag: "catalog",
			Summary: "One technique (by id or ATT&CK id) with its tests, test templates, detection rules and D3FEND defenses (first page of each)",
			Roles:   everyone, Handler: s.getTechnique, Response: techniqueDetail{}},
		{Method: http.MethodGet, Path: "/api/v1/templates", Query: []string{"platform", "search", "source", "status", "technique", "type"}, Tag: "catalog",
			Summary: "Test templates by name (filters: search (every word, in name, description, external id or command), technique (ATT&CK id, includes sub-techniques), platform, source, type, status active|inactive|deprecated)",
			Roles:   everyone, Handler: s.listTemplates, Response: Paged[*core.TestTemplate]{}},
		{Method: http.MethodGet, Path: "/api/v1/templates/:id", Tag: "catalog",
			Summary: "One test template", Roles: everyone, Handler: s.getTemplate, Response: core.TestTemplate{}},
		{Method: http.MethodGet, Path: "/api/v1/templates/:id/detection-rules", Tag: "catalog",
			Summary: "The detection rules expected to fire on a template (shared technique, compatible platform), most severe first, each with its reason",
			Roles:   everyone, Handler: s.rulesForTemplate, Response: Paged[*core.LinkedRule]{}},
		{Method: http.MethodPost, Path: "/api/v1/templates", Tag: "catalog",
			Summary: "Create a custom test template (source \"custom\")", Roles: curation.TemplateEditors, Handler: s.createTemplate,
			Request: curation.TemplateInput{}, Require: []string{"name"}, Response: core.TestTemplate{}},
		{Method: http.MethodPatch, Path: "/api/v1/templates/:id", Tag: "catalog",
			Summary: "Edit a custom template; imported ones only take active (red lead, admin)", Roles: curation.TemplateEditors,
			Handler: s.updateTemplate, Request: curation.TemplateInput{}, MinFields: 1, Response: core.TestTemplate{}},
		{Method: http.MethodDelete, Path: "/api/v1/templates/:id", Tag: "catalog",
			Summary: "Retire a custom template (deprecated and inactive; tests made from it keep the link)", Roles: curation.TemplateCurators,
			Handler: s.retireTemplate, Response: core.TestTemplate{}},
		{Method: http.MethodPost, Path: "/api/v1/templates/bulk-activate", Tag: "catalog",
			Summary: "Switch many templates on or off", Roles: curation.TemplateCurators, Handler: s.bulkActivateTemplates,
			Request: bulkActivate{}, Response: curation.BulkResult{}},
		{Method: http.MethodGet, Path: "/api/v1/detection-rules", Query: []string{"kind", "level", "platform", "search", "source", "status", "technique"}, Tag: "catalog",
			Summary: "Detection rules by title (filters: search (every word, in title, description, external id, query or rule text), technique (ATT&CK id, includes sub-techniques), platform (log source product), source, level, kind (detection|hunting), status (the rule's own, or active|inactive|deprecated))",
			Roles:   everyone, Handler: s.listRules, Response: Paged[*core.DetectionRule]{}},
		{Method: http.MethodGet, Path: "/api/v1/detection-rules/:id", Tag: "catalog",
			Summary: "One detection rule", Roles: everyone, Handler: s.getRule, Response: core.DetectionRule{}},
		{Method: http.MethodGet, Path: "/api/v1/detection-rules/:id/templates", Tag: "catalog",
			Summary: "The test templates a detection rule is expected to fire on, each with its reason",
			Roles:   everyone, Handler: s.templatesForRule, Response: Paged[*core.LinkedTemplate]{}},
		{Method: http.MethodPost, Path: "/api/v1/detection-rules", Tag: "catalog",
			Summary: "Create a custom detection rule (source \"custom\")", Roles: curation.RuleEditors, Handler: s.createRule,
			Request: curation.RuleInput{}, Require: []string{"title"}, Response: core.DetectionRule{}},
		{Method: http.MethodPatch, Path: "/api/v1/detection-rules/:id", Tag: "catalog",
			Summary: "Edit a custom rule; imported ones only take active (blue lead, admin)", Roles: curation.RuleEditors,
			Handler: s.updateRule, Request: curation.RuleInput{}, MinFields: 1, Response: core.DetectionRule{}},
		{Method: http.MethodDelete, Path: "/api/v1/detection-rules/:id", Tag: "catalog",
			Summary: "Retire a custom rule (deprecated and inactive; its detection results stay)", Roles: curation.RuleCurators,
			Handler: s.retireRule, Response: core.DetectionRule{}},
		{Method: http.MethodPost, Path: "/api/v1/detection-rules/bulk-activate", Tag: "catalog",
			Summary: "Switch many detection rules on or off", Roles: curation.RuleCurators, Handler: s.bulkActivateRules,
			Request: bulkActivate{}, Response: curation.BulkResult{}},
	}
}

func (s *Server) listTactics(c echo.Context) error {
	list, err := s.catalog.Tactics(c.Request().Context(), c.QueryParam("domain"))
	if err != nil {
		return err
	}
	return pageOf(c, list)
}

func (s *Server) listTechniques(c echo.Context) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	f := core.TechniqueFilter{Tactic: c.QueryParam("tactic"), Platform: c.QueryParam("platform"),
		Status: core.CoverageStatus(c.QueryParam("status")), Search: c.QueryParam("search"), Lean: true, Page: p}
	if rev, err := queryBool(c, "include_revoked"); err != nil {
		return err
	} else if rev != nil {
		f.IncludeRevoked = *rev
	}
	list, total, err := s.catalog.Techniques(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return writePage(c, list, total, p)
}

// techniqueDetail is a technique and what hangs off it. Each list is its first page;
// the list endpoints (filtered by technique) page further.
type techniqueDetail struct {
	*core.Technique
	Tests     Paged[*core.Test]             `json:"tests"`
	Templates Paged[*core.TestTemplate]     `json:"templates"`
	Rules     Paged[*core.DetectionRule]    `json:"detection_rules"`
	Defenses  Paged[*core.TechniqueDefense] `json:"defenses"`
	Subs      Paged[*core.Technique]        `json:"sub_techniques"`
}

func paged[T any](l catalog.List[T], p core.Page) Paged[T] {
	return Paged[T]{Items: l.Items, Total: l.Total, Limit: p.Limit, Offset: p.Offset}
}

func (s *Server) getTechnique(c echo.Context) error {
	first := core.Page{}.Normalize()
	d, err := s.catalog.TechniqueDetail(c.Request().Context(), c.Param("id"), first)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, techniqueDetail{Technique: d.Technique,
		Tests: paged(d.Tests, first), Templates: paged(d.Templates, first), Rules: paged(d.Rules, first),
		Defenses: paged(d.Defenses, first), Subs: paged(d.Subs, core.Page{Limit: catalog.MaxSubs})})
}

func (s *Server) listTemplates(c echo.Context) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	f := core.TemplateFilter{Search: c.QueryParam("search"), TechniqueID: c.QueryParam("technique"),
		Platform: c.QueryParam("platform"), Source: c.QueryParam("source"), TemplateType: c.QueryParam("type"),
		Status: c.QueryParam("status"), Page: p}
	list, total, err := s.catalog.Templates(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return writePage(c, list, total, p)
}

func (s *Server) getTemplate(c echo.Context) error {
	id, err := pathID(c, "id", "test template")
	if err != nil {
		return err
	}
	t, err := s.catalog.Template(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

func (s *Server) createTemplate(c echo.Context) error {
	var in curation.TemplateInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	t, err := s.curation.CreateTemplate(c.Request().Context(), currentUser(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, t)
}

func (s *Server) updateTemplate(c echo.Context) error {
	id, err := pathID(c, "id", "test template")
	if err != nil {
		return err
	}
	var in curation.TemplateInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	t, err := s.curation.UpdateTemplate(c.Request().Context(), currentUser(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

func (s *Server) retireTemplate(c echo.Context) error {
	id, err := pathID(c, "id", "test template")
	if err != nil {
		return err
	}
	t, err := s.curation.RetireTemplate(c.Request().Context(), currentUser(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

type bulkActivate struct {
	IDs    []string `json:"ids" api:"required"`
	Active *bool    `json:"active" api:"required"`
}

func (in *bulkActivate) read(c echo.Context) error {
	if err := decodeJSON(c, in); err != nil {
		return err
	}
	if in.Active == nil {
		return core.FieldError("active", "is required (true or false)")
	}
	return nil
}

func (s *Server) bulkActivateTemplates(c echo.Context) error {
	var in bulkActivate
	if err := in.read(c); err != nil {
		return err
	}
	res, err := s.curation.BulkActivateTemplates(c.Request().Context(), currentUser(c), in.IDs, *in.Active)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

func (s *Server) listRules(c echo.Context) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	f := core.RuleFilter{Search: c.QueryParam("search"), TechniqueID: c.QueryParam("technique"),
		Platform: c.QueryParam("platform"), Source: c.QueryParam("source"), Level: c.QueryParam("level"),
		Kind: c.QueryParam("kind"), Status: c.QueryParam("status"), Page: p}
	list, total, err := s.catalog.Rules(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return writePage(c, list, total, p)
}

func (s *Server) getRule(c echo.Context) error {
	id, err := pathID(c, "id", "detection rule")
	if err != nil {
		return err
	}
	r, err := s.catalog.Rule(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (s *Server) createRule(c echo.Context) error {
	var in curation.RuleInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	r, err := s.curation.CreateRule(c.Request().Context(), currentUser(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, r)
}

func (s *Server) updateRule(c echo.Context) error {
	id, err := pathID(c, "id", "detection rule")
	if err != nil {
		return err
	}
	var in curation.RuleInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	r, err := s.curation.UpdateRule(c.Request().Context(), currentUser(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (s *Server) retireRule(c echo.Context) error {
	id, err := pathID(c, "id", "detection rule")
	if err != nil {
		return err
	}
	r, err := s.curation.RetireRule(c.Request().Context(), currentUser(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (s *Server) bulkActivateRules(c echo.Context) error {
	var in bulkActivate
	if err := in.read(c); err != nil {
		return err
	}
	res, err := s.curation.BulkActivateRules(c.Request().Context(), currentUser(c), in.IDs, *in.Active)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

func (s *Server) rulesForTemplate(c echo.Context) error {
	return pagedLinks(c, "test template", s.catalog.RulesForTemplate)
}

func (s *Server) templatesForRule(c echo.Context) error {
	return pagedLinks(c, "detection rule", s.catalog.TemplatesForRule)
}

// pagedLinks answers one page of what is linked to the entity named by the :id path
// parameter (404 when the entity does not exist).
func pagedLinks[T any](c echo.Context, what string, list func(context.Context, string, core.Page) ([]T, int, error)) error {
	id, err := pathID(c, "id", what)
	if err != nil {
		return err
	}
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	items, total, err := list(c.Request().Context(), id, p)
	if err != nil {
		return err
	}
	return writePage(c, items, total, p)
}
