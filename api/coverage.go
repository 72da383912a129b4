package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/coverage"
	"github.com/aegis-sec/aegis/core/scoring"
)

func (s *Server) coverageRoutes() []route {
	return []route{
		{Method: http.MethodGet, Path: "/api/v1/matrix", Query: []string{"actor", "campaign", "domain", "platform", "release", "snapshot"}, Tag: "coverage",
			Summary: "The ATT&CK matrix with coverage: tactics in order × techniques and sub-techniques with status, score, test and outcome counts (query: domain (default enterprise-attack), release (one of the answer's releases: every ATT&CK release an import recorded, newest last; default the newest; the matrix of a release shows the techniques it held as current, in its tactics, with today's coverage, and marks those retired since as revoked or deprecated), platform, actor (id or group id), campaign, snapshot); sends an ETag of the answer and answers 304 Not Modified, without a body, to an If-None-Match that names it",
			Roles:   everyone, Handler: s.matrix, Response: coverage.Matrix{}},
		{Method: http.MethodGet, Path: "/api/v1/scores", Query: []string{"domain"}, Tag: "coverage",
			Summary: "The organisation's score and each tactic's (query: domain; default every imported domain)",
			Roles:   everyone, Handler: s.scores, Response: coverage.Scores{}},
		{Method: http.MethodGet, Path: "/api/v1/scores/techniques/:id", Tag: "coverage",
			Summary: "One technique's score explained (by id or ATT&CK id): outcome, breadth, the sub-techniques of its roll-up",
			Roles:   everyone, Handler: s.techniqueScore, Response: coverage.TechniqueScore{}},
		{Method: http.MethodGet, Path: "/api/v1/scoring/weights", Tag: "coverage",
			Summary: "The scoring weights in force and the formula version", Roles: everyone, Handler: s.getWeights, Response: coverage.WeightsView{}},
		{Method: http.MethodPut, Path: "/api/v1/scoring/weights", Tag: "coverage",
			Summary: "Replace the scoring weights (non-negative; outcome weights and composition weights each sum to 100); audited",
			Roles:   coverage.WeightEditors, Handler: s.putWeights, Request: scoring.Weights{}, Response: coverage.WeightsView{}},
		{Method: http.MethodGet, Path: "/api/v1/scoring/weights/history", Tag: "coverage",
			Summary: "Every saved set of weights, newest first", Roles: everyone, Handler: s.weightsHistory, Response: Paged[*core.ScoringConfig]{}},
		{Method: http.MethodGet, Path: "/api/v1/threat-actors/compare", Query: []string{"ids"}, Tag: "threat-actors",
			Summary: "Actors side by side (query: ids, 2 to 10 ids or group ids separated by commas): each one's score and every technique any of them uses, shared ones first",
			Roles:   everyone, Handler: s.compareActors, Response: coverage.Comparison{}},
		{Method: http.MethodGet, Path: "/api/v1/threat-actors/:id/coverage", Tag: "threat-actors",
			Summary: "Coverage against an actor: its weighted score and its techniques grouped as untested, not covered and covered, heaviest first",
			Roles:   everyone, Handler: s.actorCoverage, Response: coverage.ActorCoverage{}},
		{Method: http.MethodGet, Path: "/api/v1/threat-actors/:id/next", Query: []string{"limit", "offset"}, Tag: "threat-actors",
			Summary: "What to test next against an actor: its techniques ranked by gap × actors using them × templates available, with suggested templates (query: limit, default 20)",
			Roles:   everyone, Handler: s.actorNext, Response: []coverage.NextTest{}},
		{Method: http.MethodGet, Path: "/api/v1/compliance/frameworks", Tag: "compliance",
			Summary: "Every imported compliance framework with its coverage roll-up (controls by status, score)",
			Roles:   everyone, Handler: s.listFrameworks, Response: []coverage.FrameworkCoverage{}},
		{Method: http.MethodGet, Path: "/api/v1/compliance/frameworks/:id", Tag: "compliance",
			Summary: "One framework's coverage, per control family too", Roles: everyone, Handler: s.getFramework, Response: coverage.FrameworkCoverage{}},
		{Method: http.MethodGet, Path: "/api/v1/compliance/controls", Query: []string{"family", "framework", "search", "status", "technique"}, Tag: "compliance",
			Summary: "Controls with their coverage and gaps (filters: framework (id), family, search, technique, status covered|partial|untested|not_mapped)",
			Roles:   everyone, Handler: s.listControls, Response: Paged[*coverage.ControlCoverage]{}},
		{Method: http.MethodGet, Path: "/api/v1/compliance/controls/:id", Tag: "compliance",
			Summary: "One control: the techniques it maps to with their coverage, and the ones that make its gaps",
			Roles:   everyone, Handler: s.getControl, Response: coverage.ControlCoverage{}},
	}
}

func (s *Server) compareActors(c echo.Context) error {
	var ids []string
	for _, id := range strings.Split(c.QueryParam("ids"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	v, err := s.coverage.Compare(c.Request().Context(), ids)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) actorCoverage(c echo.Context) error {
	v, err := s.coverage.Actor(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) actorNext(c echo.Context) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	limit := 20
	if c.QueryParam("limit") != "" {
		limit = min(p.Limit, 100)
	}
	v, err := s.coverage.Next(c.Request().Context(), c.Param("id"), limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) listFrameworks(c echo.Context) error {
	v, err := s.coverage.Frameworks(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) getFramework(c echo.Context) error {
	id, err := pathID(c, "id", "compliance framework")
	if err != nil {
		return err
	}
	v, err := s.coverage.Framework(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) listControls(c echo.Context) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	f := core.ControlFilter{Family: c.QueryParam("family"), Search: c.QueryParam("search"), TechniqueID: c.QueryParam("technique"), Page: p}
	if f.FrameworkID, err = queryID(c, "framework"); err != nil {
		return err
	}
	list, total, err := s.coverage.ControlsWithStatus(c.Request().Context(), f, c.QueryParam("status"))
	if err != nil {
		return err
	}
	return writePage(c, list, total, p)
}

func (s *Server) getControl(c echo.Context) error {
	id, err := pathID(c, "id", "compliance control")
	if err != nil {
		return err
	}
	v, err := s.coverage.Control(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) matrix(c echo.Context) error {
	q := coverage.MatrixQuery{Domain: c.QueryParam("domain"), Release: c.QueryParam("release"), Platform: c.QueryParam("platform"),
		ActorID: c.QueryParam("actor")}
	var err error
	if q.CampaignID, err = queryID(c, "campaign"); err != nil {
		return err
	}
	if q.SnapshotID, err = queryID(c, "snapshot"); err != nil {
		return err
	}
	m, err := s.coverage.Matrix(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return jsonWithETag(c, m)
}

// jsonWithETag answers v as JSON with a strong ETag of its bytes, or 304 Not Modified
// without a body when the request's If-None-Match names that tag: the SPA's main page
// is a few hundred KB that seldom changes between two visits. The answer may be kept
// by the browser but is checked every time (private, no-cache).
func jsonWithETag(c echo.Context, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	tag := `"` + hex.EncodeToString(sum[:16]) + `"`
	h := c.Response().Header()
	h.Set("ETag", tag)
	h.Set("Cache-Control", "private, no-cache")
	for _, part := range strings.Split(c.Request().Header.Get("If-None-Match"), ",") {
		if p := strings.TrimPrefix(strings.TrimSpace(part), "W/"); p == tag || p == "*" {
			return c.NoContent(http.StatusNotModified)
		}
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, body)
}

func (s *Server) scores(c echo.Context) error {
	v, err := s.coverage.Scores(c.Request().Context(), c.QueryParam("domain"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) techniqueScore(c echo.Context) error {
	v, err := s.coverage.Technique(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) getWeights(c echo.Context) error {
	v, err := s.coverage.Weights(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) putWeights(c echo.Context) error {
	var w scoring.Weights
	if err := decodeJSONComplete(c, &w); err != nil {
		return err
	}
	v, err := s.coverage.SetWeights(c.Request().Context(), currentUser(c), w)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) weightsHistory(c echo.Context) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	list, total, err := s.coverage.WeightsHistory(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return writePage(c, list, total, p)
}
