package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/reference"
)

func (s *Server) referenceRoutes() []route {
	return []route{
		{Method: http.MethodGet, Path: "/api/v1/threat-actors", Query: []string{"country", "include_deprecated", "search", "source", "technique"}, Tag: "threat-actors",
			Summary: "Threat actors by name (filters: search (every word, in name, aliases, group id, description), technique (ATT&CK id, includes sub-techniques), source, country, include_deprecated)",
			Roles:   everyone, Handler: s.listActors, Response: Paged[*core.ThreatActor]{}},
		{Method: http.MethodGet, Path: "/api/v1/threat-actors/index", Query: []string{"include_deprecated"}, Tag: "threat-actors",
			Summary: "Every threat actor in one answer, lean: id, group id, name, aliases, country, flags and technique count, by name (include_deprecated=true adds deprecated and revoked ones); for pickers",
			Roles:   everyone, Handler: s.actorIndex, Response: []core.ActorSummary{}},
		{Method: http.MethodGet, Path: "/api/v1/threat-actors/:id", Tag: "threat-actors",
			Summary: "One threat actor (by id or group id such as G0016) with aliases, techniques and their procedure texts, and its imported campaigns",
			Roles:   everyone, Handler: s.getActor, Response: reference.ActorDetail{}},
		{Method: http.MethodGet, Path: "/api/v1/campaign-profiles", Query: []string{"actor", "kind", "search", "source", "technique"}, Tag: "threat-actors",
			Summary: "Imported ATT&CK campaigns and adversary profiles (filters: search, kind attack_campaign|adversary_profile, actor (group id), technique, source)",
			Roles:   everyone, Handler: s.listProfiles, Response: Paged[*core.CampaignProfile]{}},
		{Method: http.MethodGet, Path: "/api/v1/campaign-profiles/:id", Tag: "threat-actors",
			Summary: "One imported campaign or adversary profile", Roles: everyone, Handler: s.getProfile, Response: core.CampaignProfile{}},
		{Method: http.MethodGet, Path: "/api/v1/mitigations", Query: []string{"search", "technique"}, Tag: "catalog",
			Summary: "ATT&CK mitigations by id, with the techniques each mitigates (filters: search, technique)",
			Roles:   everyone, Handler: s.listMitigations, Response: Paged[*core.Mitigation]{}},
		{Method: http.MethodGet, Path: "/api/v1/mitigations/:id", Tag: "catalog",
			Summary: "One mitigation with the techniques it mitigates and how", Roles: everyone, Handler: s.getMitigation, Response: core.Mitigation{}},
		{Method: http.MethodGet, Path: "/api/v1/defenses", Query: []string{"search", "tactic", "technique"}, Tag: "catalog",
			Summary: "D3FEND defensive techniques with their ATT&CK mappings (filters: search, tactic, technique: the defences of one ATT&CK technique)",
			Roles:   everyone, Handler: s.listDefenses, Response: Paged[*core.DefensiveTechnique]{}},
		{Method: http.MethodGet, Path: "/api/v1/defenses/:id", Tag: "catalog",
			Summary: "One D3FEND technique with the ATT&CK techniques it counters", Roles: everyone, Handler: s.getDefense, Response: core.DefensiveTechnique{}},
		{Method: http.MethodGet, Path: "/api/v1/intel", Query: []string{"actor", "search", "since", "source", "technique", "until"}, Tag: "intel",
			Summary: "Intel items, newest first (filters: search, technique, actor (group id), source, since, until (RFC 3339 publication times))",
			Roles:   everyone, Handler: s.listIntel, Response: Paged[*core.IntelItem]{}},
		{Method: http.MethodGet, Path: "/api/v1/intel/summary", Query: []string{"actor", "search", "since", "source", "technique", "until"}, Tag: "intel",
			Summary: "Counts of intel items: total, per source, per month, most mentioned techniques and groups (same filters as the list)",
			Roles:   everyone, Handler: s.intelSummary, Response: core.IntelSummary{}},
		{Method: http.MethodGet, Path: "/api/v1/intel/:id", Tag: "intel",
			Summary: "One intel item", Roles: everyone, Handler: s.getIntel, Response: core.IntelItem{}},
	}
}

func (s *Server) actorIndex(c echo.Context) error {
	b, err := queryBool(c, "include_deprecated")
	if err != nil {
		return err
	}
	list, err := s.reference.ActorIndex(c.Request().Context(), b != nil && *b)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, list)
}

func (s *Server) listActors(c echo.Context) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	f := core.ActorFilter{Search: c.QueryParam("search"), TechniqueID: c.QueryParam("technique"),
		Source: c.QueryParam("source"), Country: c.QueryParam("country"), Page: p}
	if b, err := queryBool(c, "include_deprecated"); err != nil {
		return err
	} else if b != nil {
		f.IncludeDeprecated = *b
	}
	l, err := s.reference.ThreatActors(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return writePage(c, l.Items, l.Total, p)
}

func (s *Server) getActor(c echo.Context) error {
	a, err := s.reference.ThreatActor(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

func (s *Server) listProfiles(c echo.Context) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	f := core.ProfileFilter{Search: c.QueryParam("search"), Kind: c.QueryParam("kind"), ActorID: c.QueryParam("actor"),
		TechniqueID: c.QueryParam("technique"), Source: c.QueryParam("source"), Page: p}
	l, err := s.reference.CampaignProfiles(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return writePage(c, l.Items, l.Total, p)
}

func (s *Server) getProfile(c echo.Context) error {
	id, err := pathID(c, "id", "campaign profile")
	if err != nil {
		return err
	}
	v, err := s.reference.CampaignProfile(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) listMitigations(c echo.Context) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	l, err := s.reference.Mitigations(c.Request().Context(), core.MitigationFilter{Search: c.QueryParam("search"),
		TechniqueID: c.QueryParam("technique"), Page: p})
	if err != nil {
		return err
	}
	return writePage(c, l.Items, l.Total, p)
}

func (s *Server) getMitigation(c echo.Context) error {
	id, err := pathID(c, "id", "mitigation")
	if err != nil {
		return err
	}
	v, err := s.reference.Mitigation(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) listDefenses(c echo.Context) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	l, err := s.reference.Defenses(c.Request().Context(), core.DefenseFilter{Search: c.QueryParam("search"), Tactic: c.QueryParam("tactic"),
		TechniqueID: c.QueryParam("technique"), Page: p})
	if err != nil {
		return err
	}
	return writePage(c, l.Items, l.Total, p)
}

func (s *Server) getDefense(c echo.Context) error {
	id, err := pathID(c, "id", "defensive technique")
	if err != nil {
		return err
	}
	v, err := s.reference.Defense(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func intelFilter(c echo.Context) (core.IntelFilter, error) {
	f := core.IntelFilter{Search: c.QueryParam("search"), TechniqueID: c.QueryParam("technique"),
		ActorID: c.QueryParam("actor"), Source: c.QueryParam("source")}
	var err error
	if f.Since, err = queryTime(c, "since"); err != nil {
		return f, err
	}
	f.Until, err = queryTime(c, "until")
	return f, err
}

func (s *Server) listIntel(c echo.Context) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	f, err := intelFilter(c)
	if err != nil {
		return err
	}
	f.Page = p
	l, err := s.reference.IntelItems(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return writePage(c, l.Items, l.Total, p)
}

func (s *Server) intelSummary(c echo.Context) error {
	f, err := intelFilter(c)
	if err != nil {
		return err
	}
	v, err := s.reference.IntelSummary(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) getIntel(c echo.Context) error {
	id, err := pathID(c, "id", "intel item")
	if err != nil {
		return err
	}
	v, err := s.reference.IntelItem(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}
