package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/detection"
	"github.com/aegis-sec/aegis/core/testflow"
)

// everyone may read tests. Every other role set of the test routes comes from testflow
// (the state machine and its edit rules), which checks the same rules again and the
// finer ones (field groups per state, owners, the lead role of a vote): the table only
// keeps the roles that may never succeed away from the handlers.
var everyone = core.Roles

func (s *Server) testRoutes() []route {
	return []route{
		{Method: http.MethodGet, Path: "/api/v1/tests", Query: []string{"assignee", "campaign", "since", "state", "technique", "until"}, Tag: "tests",
			Summary: "List tests, newest first (filters: state, technique (id or ATT&CK id), campaign, assignee (id or \"me\"), since, until (RFC 3339 or YYYY-MM-DD, on creation time))",
			Roles:   everyone, Handler: s.listTests, Response: Paged[*core.Test]{}},
		{Method: http.MethodPost, Path: "/api/v1/tests", Tag: "tests",
			Summary: "Create a draft test, free-form or from a template (template_id: its name, procedure, command, platform and technique fill what the request leaves empty)",
			Roles:   testflow.CreateRoles, Handler: s.createTest, Request: testflow.NewTest{}, RequireAnyOf: [][]string{{"template_id"}, {"title", "technique_id"}}, Response: testflow.TestDetail{}},
		{Method: http.MethodGet, Path: "/api/v1/tests/:id", Tag: "tests",
			Summary: "One test, the actions the caller may take on it now, and the votes of its current review round",
			Roles:   everyone, Handler: s.getTest, Response: testflow.TestDetail{}},
		{Method: http.MethodPatch, Path: "/api/v1/tests/:id", Tag: "tests",
			Summary: "Change a test's fields; version is required and a stale one is answered 409 with the current version. Red fields: red roles while red_executing; blue fields: blue roles while blue_evaluating; plan fields: red roles in draft and red_executing; assignment: leads; admins: any",
			Roles:   testflow.EditRoles(), Handler: s.patchTest, Request: testPatchDoc{}, MinFields: 2, Response: testflow.TestDetail{}},
		{Method: http.MethodPost, Path: "/api/v1/tests/:id/start", Tag: "tests",
			Summary: "draft → red_executing", Roles: testflow.RolesFor(testflow.ActionStart), Handler: s.testAction(testflow.ActionStart), Request: actionBody{}, BodyOptional: true, Response: testflow.TestDetail{}},
		{Method: http.MethodPost, Path: "/api/v1/tests/:id/hand-to-blue", Tag: "tests",
			Summary: "red_executing → blue_evaluating, once procedure or command, executed_at and attack_outcome are set; tells the blue team",
			Roles:   testflow.RolesFor(testflow.ActionHandToBlue), Handler: s.testAction(testflow.ActionHandToBlue), Request: actionBody{}, BodyOptional: true, Response: testflow.TestDetail{}},
		{Method: http.MethodPost, Path: "/api/v1/tests/:id/submit", Tag: "tests",
			Summary: "blue_evaluating → in_review, once prevented, alerted and logged are decided (or not_applicable); opens a review round and tells both leads",
			Roles:   testflow.RolesFor(testflow.ActionSubmit), Handler: s.testAction(testflow.ActionSubmit), Request: actionBody{}, BodyOptional: true, Response: testflow.TestDetail{}},
		{Method: http.MethodPost, Path: "/api/v1/tests/:id/vote", Tag: "tests",
			Summary: "A lead's vote in the current review round: both leads approve → validated; one rejects (reason required) → rejected. Admins vote with as = red_lead or blue_lead; the two approvals must come from two people",
			Roles:   testflow.RolesFor(testflow.ActionApprove, testflow.ActionReject), Handler: s.voteTest, Request: testflow.VoteInput{}, Response: testflow.VoteResult{}},
		{Method: http.MethodPost, Path: "/api/v1/tests/:id/reopen", Tag: "tests",
			Summary: "rejected → draft (the test's owner, leads, admins)", Roles: testflow.RolesFor(testflow.ActionReopen), Handler: s.testAction(testflow.ActionReopen), Request: actionBody{}, BodyOptional: true, Response: testflow.TestDetail{}},
		{Method: http.MethodPatch, Path: "/api/v1/tests/:id/remediation", Tag: "tests",
			Summary: "Open or change the remediation of a validated test (owner, due, status open|in_progress|wont_fix, notes); version required. Leads and admins; the remediation's owner may change status and notes",
			Roles:   testflow.RemediationEditors(), Handler: s.patchRemediation, Request: remediationBody{}, Response: testflow.TestDetail{}},
		{Method: http.MethodPost, Path: "/api/v1/tests/:id/remediation/complete", Tag: "tests",
			Summary: "Complete the remediation of a validated test and create its retest (at most 3 in a chain)",
			Roles:   testflow.RolesFor(testflow.ActionCompleteRemediation), Handler: s.completeRemediation, Request: completeBody{}, BodyOptional: true, Response: testflow.RemediationResult{}},
		{Method: http.MethodGet, Path: "/api/v1/tests/:id/votes", Tag: "tests",
			Summary: "Every vote on a test, all review rounds, oldest first", Roles: everyone, Handler: s.listVotes, Response: Paged[*core.Vote]{}},
		{Method: http.MethodGet, Path: "/api/v1/tests/:id/retests", Tag: "tests",
			Summary: "The retests created from a test", Roles: everyone, Handler: s.listRetests, Response: Paged[*core.Test]{}},
		{Method: http.MethodGet, Path: "/api/v1/tests/:id/detections", Tag: "tests",
			Summary: "Per-rule detection results of a test", Roles: everyone, Handler: s.listDetections, Response: Paged[*core.DetectionResult]{}},
		{Method: http.MethodPut, Path: "/api/v1/tests/:id/detections/:rule_id", Tag: "tests",
			Summary: "Record whether a detection rule fired during the test (method manual); blue roles while blue_evaluating, admins any time",
			Roles:   testflow.DetectionRoles(), Handler: s.putDetection, Request: testflow.DetectionInput{}, Response: core.DetectionResult{}},
		{Method: http.MethodPost, Path: "/api/v1/tests/:id/detections/evaluate", Tag: "tests",
			Summary: "Evaluate the imported Sigma rules over the test's blue evidence (EVTX, JSON, NDJSON events) and record evaluated results: triggered with the matching event ids and selections, not triggered for the technique's rules that matched nothing; a person's result on a rule is kept. Blue roles while blue_evaluating, admins any time",
			Roles:   testflow.DetectionRoles(), Handler: s.evaluateDetections, Request: detection.EvaluateInput{}, BodyOptional: true, Response: detection.Report{}, Long: true},
		{Method: http.MethodDelete, Path: "/api/v1/tests/:id/detections/:rule_id", Tag: "tests",
			Summary: "Remove a detection result", Roles: testflow.DetectionRoles(), Handler: s.deleteDetection},
	}
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
	Version int `json:"version" api:"required"`
	testflow.RemediationPatch
}

// testPatchDoc documents the PATCH body in the OpenAPI document: testflow.Patch keeps
// absent, null and a value apart, which the schema generator cannot see through.
// TestPatchDocMatchesPatch keeps the two in step.
type testPatchDoc struct {
	Version         int                    `json:"version" api:"required"`
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
	AttackOutcome   *string                `json:"attack_outcome,omitempty" api:"enum=attack_outcome"`
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
	list, total, err := s.flow.List(c.Request().Context(), f, c.QueryParam("technique"))
	if err != nil {
		return err
	}
	return writeTestsPage(c, list, total, p)
}

// writeTestsPage answers what writePage answers for a page of tests, byte for byte,
// with the tests written by core.Test.AppendJSON instead of encoding/json's reflection
// (a tenth of the server's CPU under BenchmarkScale's mixed reads). ?pretty (echo
// indents its JSON then) goes through writePage.
func writeTestsPage(c echo.Context, list []*core.Test, total int, p core.Page) error {
	if _, pretty := c.QueryParams()["pretty"]; pretty || c.Echo().Debug {
		return writePage(c, list, total, p)
	}
	p = p.Normalize()
	buf := pageBuffers.Get().(*[]byte)
	defer putPageBuffer(buf)
	b := append((*buf)[:0], `{"items":[`...)
	for i, te := range list {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = te.AppendJSON(b); err != nil {
			return fmt.Errorf("write test %s: %w", te.ID, err)
		}
	}
	b = append(b, `],"total":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(p.Limit), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, int64(p.Offset), 10)
	b = append(b, "}\n"...) // json.Encoder ends with a newline
	*buf = b
	return c.JSONBlob(http.StatusOK, b)
}

// pageBuffers keeps the buffers test pages are written into: a page is ~45 KB, and
// allocating each anew (growing it as it filled) was a fifth of the bytes the server
// allocated under BenchmarkScale's mixed reads, with the garbage collection and
// returns of memory to the OS that follow. JSONBlob has written the bytes out when it
// returns, so the buffer goes back then; one grown past 1 MiB is left to the GC.
var pageBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

func putPageBuffer(b *[]byte) {
	if cap(*b) <= 1<<20 {
		pageBuffers.Put(b)
	}
}

func (s *Server) createTest(c echo.Context) error {
	var in testflow.NewTest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	d, err := s.flow.Create(c.Request().Context(), currentUser(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, d)
}

func (s *Server) getTest(c echo.Context) error {
	id, err := pathID(c, "id", "test")
	if err != nil {
		return err
	}
	d, err := s.flow.Get(c.Request().Context(), currentUser(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
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
	d, err := s.flow.Update(c.Request().Context(), currentUser(c), id, in.Version, in.Patch)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
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
		var d *testflow.TestDetail
		switch a {
		case testflow.ActionStart:
			d, err = s.flow.Start(ctx, u, id, in.Version)
		case testflow.ActionHandToBlue:
			d, err = s.flow.HandToBlue(ctx, u, id, in.Version)
		case testflow.ActionSubmit:
			d, err = s.flow.Submit(ctx, u, id, in.Version)
		case testflow.ActionReopen:
			d, err = s.flow.Reopen(ctx, u, id, in.Version)
		default:
			return core.Errorf(core.EINTERNAL, "no handler for action %s", a)
		}
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, d)
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
	d, err := s.flow.UpdateRemediation(c.Request().Context(), currentUser(c), id, in.Version, in.RemediationPatch)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
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

func (s *Server) listVotes(c echo.Context) error { return listOfTest(c, s.flow.Votes) }

func (s *Server) listRetests(c echo.Context) error { return listOfTest(c, s.flow.Retests) }

func (s *Server) listDetections(c echo.Context) error { return listOfTest(c, s.flow.Detections) }

// listOfTest answers one page of what belongs to the test named by :id (404 when the
// test does not exist).
func listOfTest[T any](c echo.Context, list func(context.Context, string) ([]T, error)) error {
	id, err := pathID(c, "id", "test")
	if err != nil {
		return err
	}
	all, err := list(c.Request().Context(), id)
	if err != nil {
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
