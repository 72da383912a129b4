package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/detection"
	"github.com/aegis-sec/aegis/core/testflow"
)

// Role sets of the test routes. The domain checks the same rules again (and the finer
// ones: field groups per state, owners, the lead role of a vote); the table keeps the
// roles that may never succeed away from the handlers.
var (
	everyone  = core.Roles
	workers   = []core.Role{core.RoleRedTech, core.RoleRedLead, core.RoleBlueTech, core.RoleBlueLead, core.RoleAdmin}
	redSide   = []core.Role{core.RoleRedTech, core.RoleRedLead, core.RoleAdmin}
	blueSide  = []core.Role{core.RoleBlueTech, core.RoleBlueLead, core.RoleAdmin}
	leads     = []core.Role{core.RoleRedLead, core.RoleBlueLead, core.RoleAdmin}
	reopeners = []core.Role{core.RoleRedTech, core.RoleRedLead, core.RoleBlueLead, core.RoleAdmin}
)

func (s *Server) testRoutes() []route {
	return []route{
		{Method: http.MethodGet, Path: "/api/v1/tests", Tag: "tests",
			Summary: "List tests, newest first (filters: state, technique (id or ATT&CK id), campaign, assignee (id or \"me\"), since, until (RFC 3339 or YYYY-MM-DD, on creation time))",
			Roles:   everyone, Handler: s.listTests, Response: Paged[*core.Test]{}},
		{Method: http.MethodPost, Path: "/api/v1/tests", Tag: "tests",
			Summary: "Create a draft test, free-form or from a template (template_id: its name, procedure, command, platform and technique fill what the request leaves empty)",
			Roles:   testflow.CreateRoles, Handler: s.createTest, Request: testflow.NewTest{}, Response: testDetail{}},
		{Method: http.MethodGet, Path: "/api/v1/tests/:id", Tag: "tests",
			Summary: "One test, the actions the caller may take on it now, and the votes of its current review round",
			Roles:   everyone, Handler: s.getTest, Response: testDetail{}},
		{Method: http.MethodPatch, Path: "/api/v1/tests/:id", Tag: "tests",
			Summary: "Change a test's fields; version is required and a stale one is answered 409 with the current version. Red fields: red roles while red_executing; blue fields: blue roles while blue_evaluating; plan fields: red roles in draft and red_executing; assignment: leads; admins: any",
			Roles:   workers, Handler: s.patchTest, Request: testPatchDoc{}, Response: testDetail{}},
		{Method: http.MethodPost, Path: "/api/v1/tests/:id/start", Tag: "tests",
			Summary: "draft → red_executing", Roles: redSide, Handler: s.testAction(testflow.ActionStart), Request: actionBody{}, Response: testDetail{}},
		{Method: http.MethodPost, Path: "/api/v1/tests/:id/hand-to-blue", Tag: "tests",
			Summary: "red_executing → blue_evaluating, once procedure or command, executed_at and attack_outcome are set; tells the blue team",
			Roles:   redSide, Handler: s.testAction(testflow.ActionHandToBlue), Request: actionBody{}, Response: testDetail{}},
		{Method: http.MethodPost, Path: "/api/v1/tests/:id/submit", Tag: "tests",
			Summary: "blue_evaluating → in_review, once prevented, alerted and logged are decided (or not_applicable); opens a review round and tells both leads",
			Roles:   blueSide, Handler: s.testAction(testflow.ActionSubmit), Request: actionBody{}, Response: testDetail{}},
		{Method: http.MethodPost, Path: "/api/v1/tests/:id/vote", Tag: "tests",
			Summary: "A lead's vote in the current review round: both leads approve → validated; one rejects (reason required) → rejected. Admins vote with as = red_lead or blue_lead; the two approvals must come from two people",
			Roles:   leads, Handler: s.voteTest, Request: testflow.VoteInput{}, Response: testflow.VoteResult{}},
		{Method: http.MethodPost, Path: "/api/v1/tests/:id/reopen", Tag: "tests",
			Summary: "rejected → draft (the test's owner, leads, admins)", Roles: reopeners, Handler: s.testAction(testflow.ActionReopen), Request: actionBody{}, Response: testDetail{}},
		{Method: http.MethodPatch, Path: "/api/v1/tests/:id/remediation", Tag: "tests",
			Summary: "Open or change the remediation of a validated test (owner, due, status open|in_progress|wont_fix, notes); version required. Leads and admins; the remediation's owner may change status and notes",
			Roles:   workers, Handler: s.patchRemediation, Request: remediationBody{}, Response: testDetail{}},
		{Method: http.MethodPost, Path: "/api/v1/tests/:id/remediation/complete", Tag: "tests",
			Summary: "Complete the remediation of a validated test and create its retest (at most 3 in a chain)",
			Roles:   []core.Role{core.RoleBlueLead, core.RoleAdmin}, Handler: s.completeRemediation, Request: completeBody{}, Response: testflow.RemediationResult{}},
		{Method: http.MethodGet, Path: "/api/v1/tests/:id/votes", Tag: "tests",
			Summary: "Every vote on a test, all review rounds, oldest first", Roles: everyone, Handler: s.listVotes, Response: Paged[*core.Vote]{}},
		{Method: http.MethodGet, Path: "/api/v1/tests/:id/retests", Tag: "tests",
			Summary: "The retests created from a test", Roles: everyone, Handler: s.listRetests, Response: Paged[*core.Test]{}},
		{Method: http.MethodGet, Path: "/api/v1/tests/:id/detections", Tag: "tests",
			Summary: "Per-rule detection results of a test", Roles: everyone, Handler: s.listDetections, Response: Paged[*core.DetectionResult]{}},
		{Method: http.MethodPut, Path: "/api/v1/tests/:id/detections/:rule_id", Tag: "tests",
			Summary: "Record whether a detection rule fired during the test (method manual); blue roles while blue_evaluating, admins any time",
			Roles:   blueSide, Handler: s.putDetection, Request: testflow.DetectionInput{}, Response: core.DetectionResult{}},
		{Method: http.MethodPost, Path: "/api/v1/tests/:id/detections/evaluate", Tag: "tests",
			Summary: "Evaluate the imported Sigma rules over the test's blue evidence (EVTX, JSON, NDJSON events) and record evaluated results: triggered with the matching event ids and selections, not triggered for the technique's rules that matched nothing; a person's result on a rule is kept. Blue roles while blue_evaluating, admins any time",
			Roles:   blueSide, Handler: s.evaluateDetections, Request: detection.EvaluateInput{}, Response: detection.Report{}},
		{Method: http.MethodDelete, Path: "/api/v1/tests/:id/detections/:rule_id", Tag: "tests",
			Summary: "Remove a detection result", Roles: blueSide, Handler: s.deleteDetection},
	}
}

// testDetail is a test with what the caller may do next.
type testDetail struct {
	*core.Test
	AllowedActions []testflow.Action `json:"allowed_actions"`
	// Votes are those of the current review round.
	Votes []*core.Vote `json:"votes"`
}

// actionBody is the optional body of a transition: the version the caller acted on.
// Without it the action applies to the current version (still atomically).
type actionBody struct {
	Version int `json:"version,omitempty"`
}

type completeBody struct {
	Version int    `json:"version,omitempty"`
	Notes   string `json:"notes,omitempty"`
}

type patchBody struct {
	Version int `json:"version"`
	testflow.Patch
}

type remediationBody struct {
	Version int `json:"version"`
	testflow.RemediationPatch
}

// testPatchDoc documents the PATCH body in the OpenAPI document: testflow.Patch keeps
// absent, null and a value apart, which the schema generator cannot see through.
// TestPatchDocMatchesPatch keeps the two in step.
type testPatchDoc struct {
	Version         int                    `json:"version"`
	Title           *string                `json:"title,omitempty"`
	Description     *string                `json:"description,omitempty"`
	TechniqueID     *string                `json:"technique_id,omitempty"`
	TemplateID      *string                `json:"template_id,omitempty"`
	Platform        *string                `json:"platform,omitempty"`
	AssignedRed     *string                `json:"assigned_red,omitempty"`
	AssignedBlue    *string                `json:"assigned_blue,omitempty"`
	Procedure       *string                `json:"procedure,omitempty"`
	Command         *string                `json:"command,omitempty"`
	Target          *string                `json:"target,omitempty"`
	ExecutedAt      *time.Time             `json:"executed_at,omitempty"`
	ExecutedBy      *string                `json:"executed_by,omitempty"`
	AttackOutcome   *string                `json:"attack_outcome,omitempty"`
	RedNotes        *string                `json:"red_notes,omitempty"`
	Prevented       *bool                  `json:"prevented,omitempty"`
	PreventedAt     *time.Time             `json:"prevented_at,omitempty"`
	Alerted         *bool                  `json:"alerted,omitempty"`
	AlertedAt       *time.Time             `json:"alerted_at,omitempty"`
	Logged          *bool                  `json:"logged,omitempty"`
	LoggedAt        *time.Time             `json:"logged_at,omitempty"`
	NotApplicable   *bool                  `json:"not_applicable,omitempty"`
	ControlOutcomes *[]core.ControlOutcome `json:"control_outcomes,omitempty"`
	BlueNotes       *string                `json:"blue_notes,omitempty"`
}

// optionalJSON decodes a body when there is one: action endpoints may be called bare.
func optionalJSON(c echo.Context, dst any) error {
	if c.Request().ContentLength == 0 {
		return nil
	}
	return decodeJSON(c, dst)
}

func (s *Server) detail(c echo.Context, t *core.Test) error {
	return s.writeDetail(c, http.StatusOK, t)
}

func (s *Server) writeDetail(c echo.Context, status int, t *core.Test) error {
	ctx := c.Request().Context()
	d := testDetail{Test: t, AllowedActions: testflow.Allowed(t, currentUser(c)), Votes: []*core.Vote{}}
	if t.ReviewRound > 0 {
		err := s.deps.Store.View(ctx, func(tx core.Tx) error {
			var err error
			d.Votes, err = tx.VotesOf(ctx, t.ID, t.ReviewRound)
			return err
		})
		if err != nil {
			return err
		}
	}
	return c.JSON(status, d)
}

// queryDay reads a time given as RFC 3339 or as a day (YYYY-MM-DD, UTC). A day used as
// an upper bound means "through that day".
func queryDay(c echo.Context, name string, upper bool) (*time.Time, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		if upper {
			d = d.AddDate(0, 0, 1)
		}
		return &d, nil
	}
	return queryTime(c, name)
}

func (s *Server) listTests(c echo.Context) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	f := core.TestFilter{State: core.TestState(c.QueryParam("state")), Page: p}
	if f.State != "" && !f.State.Valid() {
		return core.FieldError("state", "unknown state %q", f.State)
	}
	if f.CampaignID, err = queryID(c, "campaign"); err != nil {
		return err
	}
	if a := c.QueryParam("assignee"); a == "me" {
		f.AssigneeID = currentUser(c).ID
	} else if f.AssigneeID, err = queryID(c, "assignee"); err != nil {
		return err
	}
	if f.Since, err = queryDay(c, "since", false); err != nil {
		return err
	}
	if f.Until, err = queryDay(c, "until", true); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var list []*core.Test
	var total int
	err = s.deps.Store.View(ctx, func(tx core.Tx) error {
		if ref := c.QueryParam("technique"); ref != "" {
			te, err := techniqueByRef(ctx, tx, ref)
			if core.ErrorCode(err) == core.ENOTFOUND {
				list = []*core.Test{} // no such technique: nothing was tested against it
				return nil
			}
			if err != nil {
				return err
			}
			f.TechniqueID = te.ID
		}
		var err error
		list, total, err = tx.ListTests(ctx, f)
		return err
	})
	if err != nil {
		return err
	}
	return writePage(c, list, total, p)
}

func (s *Server) createTest(c echo.Context) error {
	var in testflow.NewTest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	t, err := s.flow.Create(c.Request().Context(), currentUser(c), in)
	if err != nil {
		return err
	}
	return s.writeDetail(c, http.StatusCreated, t)
}

func (s *Server) loadTest(c echo.Context) (*core.Test, error) {
	id, err := pathID(c, "id", "test")
	if err != nil {
		return nil, err
	}
	ctx := c.Request().Context()
	var t *core.Test
	err = s.deps.Store.View(ctx, func(tx core.Tx) error {
		var err error
		t, err = tx.TestByID(ctx, id)
		return err
	})
	return t, err
}

func (s *Server) getTest(c echo.Context) error {
	t, err := s.loadTest(c)
	if err != nil {
		return err
	}
	return s.detail(c, t)
}

func (s *Server) patchTest(c echo.Context) error {
	id, err := pathID(c, "id", "test")
	if err != nil {
		return err
	}
	var in patchBody
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	t, err := s.flow.Update(c.Request().Context(), currentUser(c), id, in.Version, in.Patch)
	if err != nil {
		return err
	}
	return s.detail(c, t)
}

func (s *Server) testAction(a testflow.Action) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c, "id", "test")
		if err != nil {
			return err
		}
		var in actionBody
		if err := optionalJSON(c, &in); err != nil {
			return err
		}
		ctx, u := c.Request().Context(), currentUser(c)
		var t *core.Test
		switch a {
		case testflow.ActionStart:
			t, err = s.flow.Start(ctx, u, id, in.Version)
		case testflow.ActionHandToBlue:
			t, err = s.flow.HandToBlue(ctx, u, id, in.Version)
		case testflow.ActionSubmit:
			t, err = s.flow.Submit(ctx, u, id, in.Version)
		case testflow.ActionReopen:
			t, err = s.flow.Reopen(ctx, u, id, in.Version)
		default:
			return core.Errorf(core.EINTERNAL, "no handler for action %s", a)
		}
		if err != nil {
			return err
		}
		return s.detail(c, t)
	}
}

func (s *Server) voteTest(c echo.Context) error {
	id, err := pathID(c, "id", "test")
	if err != nil {
		return err
	}
	var in testflow.VoteInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	res, err := s.flow.Vote(c.Request().Context(), currentUser(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

func (s *Server) patchRemediation(c echo.Context) error {
	id, err := pathID(c, "id", "test")
	if err != nil {
		return err
	}
	var in remediationBody
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	t, err := s.flow.UpdateRemediation(c.Request().Context(), currentUser(c), id, in.Version, in.RemediationPatch)
	if err != nil {
		return err
	}
	return s.detail(c, t)
}

func (s *Server) completeRemediation(c echo.Context) error {
	id, err := pathID(c, "id", "test")
	if err != nil {
		return err
	}
	var in completeBody
	if err := optionalJSON(c, &in); err != nil {
		return err
	}
	res, err := s.flow.CompleteRemediation(c.Request().Context(), currentUser(c), id, in.Version, in.Notes)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.Retest != nil {
		status = http.StatusCreated
	}
	return c.JSON(status, res)
}

// pageOf slices an in-memory list for the paging envelope (lists that are small by
// nature, read whole from the store).
func pageOf[T any](c echo.Context, all []T) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	total := len(all)
	lo := min(p.Offset, total)
	hi := min(lo+p.Limit, total)
	return writePage(c, all[lo:hi], total, p)
}

func (s *Server) listVotes(c echo.Context) error {
	return listOfTest(c, s, func(ctx context.Context, tx core.Tx, id string) ([]*core.Vote, error) { return tx.VotesOf(ctx, id, 0) })
}

func (s *Server) listRetests(c echo.Context) error {
	return listOfTest(c, s, func(ctx context.Context, tx core.Tx, id string) ([]*core.Test, error) { return tx.RetestsOf(ctx, id) })
}

func (s *Server) listDetections(c echo.Context) error {
	return listOfTest(c, s, func(ctx context.Context, tx core.Tx, id string) ([]*core.DetectionResult, error) {
		return tx.DetectionResultsOf(ctx, id)
	})
}

// listOfTest answers one page of what belongs to the test named by :id (404 when the
// test does not exist).
func listOfTest[T any](c echo.Context, s *Server, list func(context.Context, core.Tx, string) ([]T, error)) error {
	t, err := s.loadTest(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var all []T
	if err := s.deps.Store.View(ctx, func(tx core.Tx) error {
		all, err = list(ctx, tx, t.ID)
		return err
	}); err != nil {
		return err
	}
	return pageOf(c, all)
}

func (s *Server) evaluateDetections(c echo.Context) error {
	id, err := pathID(c, "id", "test")
	if err != nil {
		return err
	}
	if s.detect == nil {
		return core.Errorf(core.EUNAVAILABLE, "no evidence store is configured")
	}
	var in detection.EvaluateInput
	if err := optionalJSON(c, &in); err != nil {
		return err
	}
	rep, err := s.detect.EvaluateTest(c.Request().Context(), currentUser(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

func (s *Server) putDetection(c echo.Context) error {
	id, err := pathID(c, "id", "test")
	if err != nil {
		return err
	}
	ruleID, err := pathID(c, "rule_id", "detection rule")
	if err != nil {
		return err
	}
	var in testflow.DetectionInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	// Through the API a person records a verdict: "evaluated" is reserved for results
	// Aegis computed itself from the evidence.
	r, err := s.flow.RecordDetection(c.Request().Context(), currentUser(c), id, ruleID, in, core.DetectionManual)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (s *Server) deleteDetection(c echo.Context) error {
	id, err := pathID(c, "id", "test")
	if err != nil {
		return err
	}
	ruleID, err := pathID(c, "rule_id", "detection rule")
	if err != nil {
		return err
	}
	if err := s.flow.DeleteDetection(c.Request().Context(), currentUser(c), id, ruleID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
