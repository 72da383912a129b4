package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/api"
	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/blobstore"
	"github.com/aegis-sec/aegis/core/detection"
	"github.com/aegis-sec/aegis/core/evidence"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

var bg = context.Background()

// flowEnv is a server with evidence on disk and one signed-in client per role.
type flowEnv struct {
	t        *testing.T
	st       *store.Store
	h        http.Handler
	blobDir  string
	as       map[core.Role]*apitest.Client
	users    map[core.Role]*core.User
	tech     *core.Technique
	template *core.TestTemplate
	rule     *core.DetectionRule
}

func newFlowEnv(t *testing.T, st *store.Store, maxUpload int64, more ...func(*api.Deps)) *flowEnv {
	t.Helper()
	e := &flowEnv{t: t, st: st, blobDir: t.TempDir(), as: map[core.Role]*apitest.Client{}, users: map[core.Role]*core.User{}}
	blobs, err := blobstore.NewDisk(e.blobDir)
	if err != nil {
		t.Fatal(err)
	}
	deps := api.Deps{Evidence: evidence.NewService(st, blobs, evidence.Limits{MaxBytes: maxUpload}, nil),
		Detections: detection.NewService(st, blobs, nil, detection.ServiceOptions{})}
	for _, f := range more {
		f(&deps)
	}
	srv := api.New(api.ServicesFor(st, deps))
	e.h = srv.Handler()
	for _, r := range core.Roles {
		e.users[r] = apitest.CreateUser(t, st, "u-"+strings.ReplaceAll(string(r), "_", "-"), r, "")
		e.as[r] = apitest.Login(t, e.h, e.users[r].Username, "")
	}
	err = st.Update(bg, func(tx core.Tx) error {
		ta := &core.Tactic{ExternalID: "TA0002", Name: "Execution", Shortname: "execution", MatrixOrder: 3}
		if err := tx.UpsertTactic(bg, ta); err != nil {
			return err
		}
		e.tech = &core.Technique{ExternalID: "T1059", Name: "Command and Scripting Interpreter", Known: true, Platforms: core.Strings{"Windows", "Linux"}}
		if err := tx.UpsertTechnique(bg, e.tech); err != nil {
			return err
		}
		sub := &core.Technique{ExternalID: "T1059.001", Name: "PowerShell", Known: true, ParentID: &e.tech.ID, Platforms: core.Strings{"Windows"}}
		if err := tx.UpsertTechnique(bg, sub); err != nil {
			return err
		}
		if err := tx.SetTechniqueTactics(bg, e.tech.ID, []string{ta.ID}); err != nil {
			return err
		}
		e.template = &core.TestTemplate{Source: "atomic", ExternalID: "a1", TemplateType: "atomic", Name: "PowerShell whoami",
			Description: "Runs whoami.", Platforms: core.Strings{"windows"}, Command: "whoami", TechniqueIDs: []string{"T1059.001"}, Active: true}
		if err := tx.UpsertTestTemplate(bg, e.template); err != nil {
			return err
		}
		e.rule = &core.DetectionRule{Source: "sigma", ExternalID: "s1", Title: "Whoami execution", Level: "medium", Status: "stable",
			LogSource: core.JSON(`{"product":"windows","category":"process_creation"}`), TechniqueIDs: []string{"T1059.001"}, Active: true}
		return tx.UpsertDetectionRule(bg, e.rule)
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// testBody is what the test endpoints answer.
type testBody struct {
	core.Test
	AllowedActions []string     `json:"allowed_actions"`
	Votes          []*core.Vote `json:"votes"`
}

type page[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

func wantProblem(t *testing.T, c *apitest.Client, status int, method, path string, body any, contains ...string) apitest.Problem {
	t.Helper()
	rec := c.Do(method, path, body)
	if rec.Code != status {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, rec.Code, status, rec.Body)
	}
	p := apitest.ProblemOf(t, rec)
	for _, s := range contains {
		if !strings.Contains(p.Field+": "+p.Detail, s) {
			t.Fatalf("%s %s: problem %q does not mention %q", method, path, p.Detail, s)
		}
	}
	return p
}

func TestTestLifecycleHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newFlowEnv(t, st, 1<<20)
		red, blue := e.as[core.RoleRedTech], e.as[core.RoleBlueTech]
		redLead, blueLead := e.as[core.RoleRedLead], e.as[core.RoleBlueLead]

		var te testBody
		red.Want(http.StatusCreated, http.MethodPost, "/api/v1/tests", map[string]any{"template_id": e.template.ID,
			"assigned_red": e.users[core.RoleRedTech].ID}, &te)
		if te.State != core.StateDraft || te.Command != "whoami" || te.Title != "PowerShell whoami" || te.Version != 1 ||
			strings.Join(te.AllowedActions, ",") != "start" {
			t.Fatalf("created: %+v", te)
		}
		base := "/api/v1/tests/" + te.ID
		// Anyone signed in reads; a viewer may not write, a blue tech may not start.
		e.as[core.RoleViewer].Want(http.StatusOK, http.MethodGet, base, nil, nil)
		wantProblem(t, e.as[core.RoleViewer], http.StatusForbidden, http.MethodPatch, base, map[string]any{"version": 1, "title": "x"})
		wantProblem(t, blue, http.StatusForbidden, http.MethodPost, base+"/start", nil)
		// Illegal transitions name the state.
		p := wantProblem(t, red, http.StatusConflict, http.MethodPost, base+"/hand-to-blue", nil, "is draft", "hand to blue")
		if p.Extra["state"] != "draft" {
			t.Fatalf("conflict extra: %v", p.Extra)
		}
		red.Want(http.StatusOK, http.MethodPost, base+"/start", map[string]any{"version": 1}, &te)
		// A stale version is refused with the current one.
		p = wantProblem(t, red, http.StatusConflict, http.MethodPatch, base, map[string]any{"version": 1, "target": "host1"}, "version 2")
		if p.Extra["current_version"] != float64(2) {
			t.Fatalf("stale patch extra: %v", p.Extra)
		}
		wantProblem(t, red, http.StatusBadRequest, http.MethodPatch, base, map[string]any{"target": "host1"}, "version")
		wantProblem(t, red, http.StatusBadRequest, http.MethodPatch, base, map[string]any{"version": 2, "state": "validated"})
		executed := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		red.Want(http.StatusOK, http.MethodPatch, base, map[string]any{"version": 2, "target": "host1",
			"executed_at": executed, "attack_outcome": "succeeded", "red_notes": "ran as admin"}, &te)
		if te.Target != "host1" || te.ExecutedAt == nil || !te.ExecutedAt.Equal(executed) || te.Version != 3 {
			t.Fatalf("red fields: %+v", te)
		}
		wantProblem(t, blue, http.StatusForbidden, http.MethodPatch, base, map[string]any{"version": 3, "command": "id"})
		red.Want(http.StatusOK, http.MethodPost, base+"/hand-to-blue", nil, &te)
		wantProblem(t, red, http.StatusConflict, http.MethodPatch, base, map[string]any{"version": te.Version, "command": "id"}, "blue_evaluating")
		wantProblem(t, blue, http.StatusConflict, http.MethodPost, base+"/submit", nil, "prevented")
		blue.Want(http.StatusOK, http.MethodPatch, base, map[string]any{"version": te.Version, "prevented": false, "alerted": true,
			"logged": true, "control_outcomes": []map[string]any{{"control": "EDR", "prevented": false, "alerted": true, "logged": true}}}, &te)
		if te.AlertedAt == nil || te.Prevented == nil || *te.Prevented {
			t.Fatalf("blue verdicts: %+v", te)
		}
		// Detection result for a rule, recorded while evaluating.
		var dr core.DetectionResult
		blue.Want(http.StatusOK, http.MethodPut, base+"/detections/"+e.rule.ID, map[string]any{"triggered": true, "notes": "alert 42"}, &dr)
		if dr.Method != core.DetectionManual || !dr.Triggered {
			t.Fatalf("detection: %+v", dr)
		}
		wantProblem(t, blue, http.StatusBadRequest, http.MethodPut, base+"/detections/"+e.rule.ID, map[string]any{"notes": "?"}, "triggered")
		wantProblem(t, blue, http.StatusBadRequest, http.MethodPut, base+"/detections/"+core.NewID(), map[string]any{"triggered": false})
		var drs page[core.DetectionResult]
		e.as[core.RoleViewer].Want(http.StatusOK, http.MethodGet, base+"/detections", nil, &drs)
		if drs.Total != 1 || drs.Items[0].DetectionRuleID != e.rule.ID {
			t.Fatalf("detections: %+v", drs)
		}

		blue.Want(http.StatusOK, http.MethodPost, base+"/submit", nil, &te)
		if te.State != core.StateInReview || te.ReviewRound != 1 || strings.Join(te.AllowedActions, ",") != "" {
			t.Fatalf("submitted: %s round %d, blue tech may %v", te.State, te.ReviewRound, te.AllowedActions)
		}
		wantProblem(t, blue, http.StatusConflict, http.MethodPut, base+"/detections/"+e.rule.ID, map[string]any{"triggered": false}, "in_review")
		redLead.Want(http.StatusOK, http.MethodGet, base, nil, &te)
		if strings.Join(te.AllowedActions, ",") != "approve,reject" {
			t.Fatalf("red lead may %v", te.AllowedActions)
		}
		wantProblem(t, blue, http.StatusForbidden, http.MethodPost, base+"/vote", map[string]any{"decision": "approve"})
		wantProblem(t, e.as[core.RoleAdmin], http.StatusBadRequest, http.MethodPost, base+"/vote", map[string]any{"decision": "approve"}, "red_lead or blue_lead")
		var vr struct {
			Test  core.Test   `json:"test"`
			Votes []core.Vote `json:"votes"`
		}
		redLead.Want(http.StatusOK, http.MethodPost, base+"/vote", map[string]any{"decision": "approve", "round": 1}, &vr)
		if vr.Test.State != core.StateInReview || len(vr.Votes) != 1 {
			t.Fatalf("first vote: %+v", vr)
		}
		wantProblem(t, redLead, http.StatusConflict, http.MethodPost, base+"/vote", map[string]any{"decision": "approve"}, "already voted")
		blueLead.Want(http.StatusOK, http.MethodPost, base+"/vote", map[string]any{"decision": "approve"}, &vr)
		if vr.Test.State != core.StateValidated {
			t.Fatalf("second vote: %s", vr.Test.State)
		}
		var votes page[core.Vote]
		red.Want(http.StatusOK, http.MethodGet, base+"/votes", nil, &votes)
		if votes.Total != 2 {
			t.Fatalf("votes: %+v", votes)
		}

		// Remediation and the retest it leads to.
		red.Want(http.StatusOK, http.MethodGet, base, nil, &te)
		wantProblem(t, red, http.StatusForbidden, http.MethodPatch, base+"/remediation", map[string]any{"version": te.Version, "notes": "x"})
		blueLead.Want(http.StatusOK, http.MethodPatch, base+"/remediation", map[string]any{"version": te.Version,
			"owner": e.users[core.RoleBlueTech].ID, "due": "2026-12-01T00:00:00Z", "notes": "tune EDR"}, &te)
		if te.RemediationStatus != core.RemediationOpen || te.RemediationOwner == nil {
			t.Fatalf("remediation: %+v", te)
		}
		blue.Want(http.StatusOK, http.MethodPatch, base+"/remediation", map[string]any{"version": te.Version, "status": "in_progress"}, &te)
		wantProblem(t, blue, http.StatusForbidden, http.MethodPost, base+"/remediation/complete", nil)
		var rr struct {
			Test   core.Test  `json:"test"`
			Retest *core.Test `json:"retest"`
		}
		blueLead.Want(http.StatusCreated, http.MethodPost, base+"/remediation/complete", map[string]any{"notes": "policy deployed"}, &rr)
		if rr.Retest == nil || rr.Retest.RetestOf == nil || *rr.Retest.RetestOf != te.ID || rr.Retest.RetestDepth != 1 ||
			rr.Test.RemediationStatus != core.RemediationCompleted {
			t.Fatalf("complete: %+v", rr)
		}
		var retests page[core.Test]
		red.Want(http.StatusOK, http.MethodGet, base+"/retests", nil, &retests)
		if retests.Total != 1 || retests.Items[0].ID != rr.Retest.ID {
			t.Fatalf("retests: %+v", retests)
		}
		// Notifications reached the people whose turn it was.
		var notes page[core.Notification]
		blue.Want(http.StatusOK, http.MethodGet, "/api/v1/notifications", nil, &notes)
		kinds := map[string]bool{}
		for _, n := range notes.Items {
			kinds[n.Kind] = true
		}
		if !kinds["test.blue_evaluating"] || !kinds["test.remediation_assigned"] {
			t.Fatalf("blue tech notifications: %v", kinds)
		}

		// Listing and filters.
		list := func(q string) []string {
			var pg page[core.Test]
			red.Want(http.StatusOK, http.MethodGet, "/api/v1/tests?"+q, nil, &pg)
			var ids []string
			for _, x := range pg.Items {
				ids = append(ids, x.ID)
			}
			if (pg.Total != len(ids) && pg.Limit > len(ids)) || pg.Limit == 0 {
				t.Fatalf("%s: envelope %d/%d limit %d", q, len(ids), pg.Total, pg.Limit)
			}
			return ids
		}
		today := time.Now().UTC().Format(time.DateOnly)
		tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
		for q, want := range map[string]int{
			"":                         2,
			"state=validated":          1,
			"state=draft":              1,
			"technique=T1059.001":      2,
			"technique=T1059":          0,
			"technique=" + e.tech.ID:   0,
			"technique=T9999":          0,
			"assignee=me":              2,
			"assignee=" + core.NewID(): 0,
			"since=" + today:           2,
			"since=" + tomorrow:        0,
			"until=" + today:           2,
			"until=" + url.QueryEscape(time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)): 0,
			"limit=1": 1,
		} {
			if got := list(q); len(got) != want {
				t.Errorf("tests?%s: %d, want %d", q, len(got), want)
			}
		}
		wantProblem(t, red, http.StatusBadRequest, http.MethodGet, "/api/v1/tests?state=done", nil, "state")
		wantProblem(t, red, http.StatusBadRequest, http.MethodGet, "/api/v1/tests?campaign=abc", nil)
		wantProblem(t, red, http.StatusNotFound, http.MethodGet, "/api/v1/tests/"+core.NewID(), nil)
		wantProblem(t, red, http.StatusNotFound, http.MethodGet, "/api/v1/tests/not-an-id", nil)

		// The audit chain holds after the whole session.
		var v core.AuditVerification
		e.as[core.RoleAdmin].Want(http.StatusOK, http.MethodGet, "/api/v1/audit/verify", nil, &v)
		if !v.OK || v.Checked < 12 {
			t.Fatalf("audit after a session: %+v", v)
		}
	})
}

func TestWorklogsHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newFlowEnv(t, st, 1<<20)
		var te testBody
		e.as[core.RoleRedTech].Want(http.StatusCreated, http.MethodPost, "/api/v1/tests", map[string]any{"title": "t", "technique_id": "T1059"}, &te)
		base := "/api/v1/tests/" + te.ID + "/worklogs"
		for i, role := range []core.Role{core.RoleRedTech, core.RoleBlueTech, core.RoleRedLead} {
			var w core.Worklog
			e.as[role].Want(http.StatusCreated, http.MethodPost, base, map[string]any{"minutes": 30 + i, "activity": "execution",
				"note": fmt.Sprintf("entry %d", i), "performed_at": time.Now().UTC().Add(-time.Hour)}, &w)
			if w.UserID != e.users[role].ID || w.Seq != int64(i+1) || w.Hash == "" {
				t.Fatalf("worklog %d: %+v", i, w)
			}
		}
		wantProblem(t, e.as[core.RoleViewer], http.StatusForbidden, http.MethodPost, base, map[string]any{"minutes": 5})
		wantProblem(t, e.as[core.RoleRedTech], http.StatusBadRequest, http.MethodPost, base, map[string]any{"minutes": 0}, "minutes")
		wantProblem(t, e.as[core.RoleRedTech], http.StatusBadRequest, http.MethodPost, base, map[string]any{"minutes": 5,
			"performed_at": time.Now().Add(24 * time.Hour)}, "future")
		wantProblem(t, e.as[core.RoleRedTech], http.StatusNotFound, http.MethodPost, "/api/v1/tests/"+core.NewID()+"/worklogs", map[string]any{"minutes": 5})
		var pg page[core.Worklog]
		e.as[core.RoleViewer].Want(http.StatusOK, http.MethodGet, base+"?limit=2", nil, &pg)
		if pg.Total != 3 || len(pg.Items) != 2 || pg.Items[0].Seq != 3 {
			t.Fatalf("worklog page: %+v", pg)
		}
		var v core.WorklogVerification
		e.as[core.RoleRedLead].Want(http.StatusOK, http.MethodGet, "/api/v1/worklogs/verify", nil, &v)
		if !v.OK || v.Checked != 3 {
			t.Fatalf("verify: %+v", v)
		}
		wantProblem(t, e.as[core.RoleRedTech], http.StatusForbidden, http.MethodGet, "/api/v1/worklogs/verify", nil)

		// Someone with database access inflates an entry: verification names it.
		if _, err := st.DB().Exec(st.DB().Rebind(`UPDATE worklogs SET minutes = 600 WHERE seq = 2`)); err != nil {
			t.Fatal(err)
		}
		e.as[core.RoleAdmin].Want(http.StatusOK, http.MethodGet, "/api/v1/worklogs/verify", nil, &v)
		if v.OK || v.BrokenSeq != 2 || !strings.Contains(v.Reason, "altered") {
			t.Fatalf("tampered worklog: %+v", v)
		}
		// Removing an entry is caught too.
		st.DB().Exec(st.DB().Rebind(`UPDATE worklogs SET minutes = 31 WHERE seq = 2`))
		e.as[core.RoleAdmin].Want(http.StatusOK, http.MethodGet, "/api/v1/worklogs/verify", nil, &v)
		if !v.OK {
			t.Fatalf("restored worklog: %+v", v)
		}
		st.DB().Exec(st.DB().Rebind(`DELETE FROM worklogs WHERE seq = 1`))
		e.as[core.RoleAdmin].Want(http.StatusOK, http.MethodGet, "/api/v1/worklogs/verify", nil, &v)
		if v.OK || v.BrokenSeq != 2 {
			t.Fatalf("deleted worklog: %+v", v)
		}
	})
}

func TestCatalogHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newFlowEnv(t, st, 1<<20)
		viewer, redLead, redTech := e.as[core.RoleViewer], e.as[core.RoleRedLead], e.as[core.RoleRedTech]

		var tactics page[core.Tactic]
		viewer.Want(http.StatusOK, http.MethodGet, "/api/v1/tactics", nil, &tactics)
		if tactics.Total != 1 || tactics.Items[0].Shortname != "execution" {
			t.Fatalf("tactics: %+v", tactics)
		}
		var techs page[core.Technique]
		viewer.Want(http.StatusOK, http.MethodGet, "/api/v1/techniques?platform=Linux", nil, &techs)
		if techs.Total != 1 || techs.Items[0].ExternalID != "T1059" {
			t.Fatalf("techniques by platform: %+v", techs)
		}
		viewer.Want(http.StatusOK, http.MethodGet, "/api/v1/techniques?search=powershell&tactic=execution", nil, &techs)
		if techs.Total != 0 {
			t.Fatalf("sub-technique has no tactic of its own here: %+v", techs)
		}
		// A filter value nothing can have is a 400 naming the allowed values, never an
		// empty list that looks like "nothing matched".
		wantProblem(t, viewer, http.StatusBadRequest, http.MethodGet, "/api/v1/techniques?status=bogus", nil, "not_tested", "covered")
		wantProblem(t, viewer, http.StatusBadRequest, http.MethodGet, "/api/v1/techniques?tactic=bogus", nil, "execution")
		viewer.Want(http.StatusOK, http.MethodGet, "/api/v1/techniques?tactic=TA0002&status=not_tested", nil, &techs)

		// Technique detail by ATT&CK id, with what hangs off it.
		var test testBody
		redTech.Want(http.StatusCreated, http.MethodPost, "/api/v1/tests", map[string]any{"title": "x", "technique_id": "T1059"}, &test)
		d3 := core.NewID()
		now := time.Now().UTC()
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO defensive_techniques (id, external_id, name, tactic, created_at, updated_at) VALUES (?,?,?,?,?,?)`,
				[]any{d3, "D3-PSA", "Process Spawn Analysis", "Detect", now, now}},
			{`INSERT INTO defensive_technique_mappings (id, defensive_technique_id, technique_id, relation, created_at) VALUES (?,?,?,?,?)`,
				[]any{core.NewID(), d3, e.tech.ID, "may-detect", now}},
		} {
			if _, err := st.DB().Exec(st.DB().Rebind(q.sql), q.args...); err != nil {
				t.Fatal(err)
			}
		}
		var detail struct {
			core.Technique
			Tests     page[core.Test]             `json:"tests"`
			Templates page[core.TestTemplate]     `json:"templates"`
			Rules     page[core.DetectionRule]    `json:"detection_rules"`
			Defenses  page[core.TechniqueDefense] `json:"defenses"`
			Subs      page[core.Technique]        `json:"sub_techniques"`
		}
		viewer.Want(http.StatusOK, http.MethodGet, "/api/v1/techniques/t1059", nil, &detail)
		if detail.ExternalID != "T1059" || detail.Tests.Total != 1 || detail.Templates.Total != 1 || detail.Rules.Total != 1 ||
			detail.Defenses.Total != 1 || detail.Defenses.Items[0].Relation != "may-detect" || detail.Subs.Total != 1 ||
			detail.Subs.Items[0].ExternalID != "T1059.001" {
			t.Fatalf("technique detail: %+v", detail)
		}
		wantProblem(t, viewer, http.StatusNotFound, http.MethodGet, "/api/v1/techniques/T9999", nil)

		// Templates: search, filters, custom CRUD, imported ones read-only but switchable.
		listT := func(q string) int {
			var pg page[core.TestTemplate]
			viewer.Want(http.StatusOK, http.MethodGet, "/api/v1/templates?"+q, nil, &pg)
			return pg.Total
		}
		var custom core.TestTemplate
		redTech.Want(http.StatusCreated, http.MethodPost, "/api/v1/templates", map[string]any{"name": "Custom dump", "description": "lsass via comsvcs",
			"platforms": []string{"windows"}, "command": "rundll32 comsvcs.dll", "technique_ids": []string{"T1059"}}, &custom)
		if custom.Source != core.SourceCustom || !custom.Active || custom.ExternalID == "" {
			t.Fatalf("custom template: %+v", custom)
		}
		wantProblem(t, redTech, http.StatusBadRequest, http.MethodPost, "/api/v1/templates", map[string]any{"description": "no name"}, "name")
		wantProblem(t, e.as[core.RoleBlueTech], http.StatusForbidden, http.MethodPost, "/api/v1/templates", map[string]any{"name": "x"})
		for q, want := range map[string]int{"": 2, "search=COMSVCS": 1, "technique=T1059": 2, "technique=t1059.001": 1,
			"platform=windows": 2, "platform=linux": 0, "source=custom": 1, "status=active": 2, "type=atomic": 1} {
			if got := listT(q); got != want {
				t.Errorf("templates?%s: %d, want %d", q, got, want)
			}
		}
		wantProblem(t, viewer, http.StatusBadRequest, http.MethodGet, "/api/v1/templates?status=maybe", nil, "status")
		wantProblem(t, viewer, http.StatusBadRequest, http.MethodGet, "/api/v1/templates?technique=X1", nil)
		redTech.Want(http.StatusOK, http.MethodPatch, "/api/v1/templates/"+custom.ID, map[string]any{"command": "procdump -ma lsass"}, &custom)
		if custom.Command != "procdump -ma lsass" || custom.Name != "Custom dump" {
			t.Fatalf("custom edit: %+v", custom)
		}
		wantProblem(t, redLead, http.StatusConflict, http.MethodPatch, "/api/v1/templates/"+e.template.ID, map[string]any{"name": "mine now"}, "read-only")
		wantProblem(t, redTech, http.StatusForbidden, http.MethodPatch, "/api/v1/templates/"+e.template.ID, map[string]any{"active": false})
		var imported core.TestTemplate
		redLead.Want(http.StatusOK, http.MethodPatch, "/api/v1/templates/"+e.template.ID, map[string]any{"active": false}, &imported)
		if imported.Active || listT("status=inactive") != 1 {
			t.Fatalf("deactivate imported: %+v", imported)
		}
		var bulk struct{ Requested, Updated int }
		redLead.Want(http.StatusOK, http.MethodPost, "/api/v1/templates/bulk-activate", map[string]any{"ids": []string{e.template.ID, custom.ID, core.NewID()}, "active": true}, &bulk)
		if bulk.Requested != 3 || bulk.Updated != 2 || listT("status=active") != 2 {
			t.Fatalf("bulk activate: %+v", bulk)
		}
		wantProblem(t, redLead, http.StatusBadRequest, http.MethodPost, "/api/v1/templates/bulk-activate", map[string]any{"ids": []string{"x"}, "active": true})
		wantProblem(t, redLead, http.StatusBadRequest, http.MethodPost, "/api/v1/templates/bulk-activate", map[string]any{"ids": []string{custom.ID}})
		wantProblem(t, redLead, http.StatusConflict, http.MethodDelete, "/api/v1/templates/"+e.template.ID, nil, "read-only")
		redLead.Want(http.StatusOK, http.MethodDelete, "/api/v1/templates/"+custom.ID, nil, &custom)
		if !custom.Deprecated || custom.Active || listT("status=deprecated") != 1 || listT("status=active") != 1 {
			t.Fatalf("retired: %+v", custom)
		}
		// A retired template no longer seeds tests.
		wantProblem(t, redTech, http.StatusBadRequest, http.MethodPost, "/api/v1/tests", map[string]any{"template_id": custom.ID}, "retired")

		// Detection rules.
		listR := func(q string) int {
			var pg page[core.DetectionRule]
			viewer.Want(http.StatusOK, http.MethodGet, "/api/v1/detection-rules?"+q, nil, &pg)
			return pg.Total
		}
		var rule core.DetectionRule
		blueTech := e.as[core.RoleBlueTech]
		blueTech.Want(http.StatusCreated, http.MethodPost, "/api/v1/detection-rules", map[string]any{"title": "Custom LSASS access",
			"level": "High", "status": "experimental", "log_source": map[string]any{"product": "linux"}, "technique_ids": []string{"T1059"}}, &rule)
		if rule.Source != core.SourceCustom || rule.Level != "high" {
			t.Fatalf("custom rule: %+v", rule)
		}
		wantProblem(t, blueTech, http.StatusBadRequest, http.MethodPost, "/api/v1/detection-rules", map[string]any{"title": "x", "level": "extreme"}, "level")
		for q, want := range map[string]int{"": 2, "search=lsass": 1, "level=high": 1, "level=medium": 1, "platform=windows": 1,
			"platform=linux": 1, "status=stable": 1, "status=active": 2, "source=sigma": 1, "technique=T1059": 2, "technique=T1059.001": 1, "kind=detection": 2, "kind=hunting": 0} {
			if got := listR(q); got != want {
				t.Errorf("detection-rules?%s: %d, want %d", q, got, want)
			}
		}
		wantProblem(t, viewer, http.StatusBadRequest, http.MethodGet, "/api/v1/detection-rules?level=bogus", nil, "informational", "critical")
		wantProblem(t, viewer, http.StatusBadRequest, http.MethodGet, "/api/v1/detection-rules?kind=bogus", nil, "detection", "hunting")
		wantProblem(t, e.as[core.RoleBlueLead], http.StatusConflict, http.MethodPatch, "/api/v1/detection-rules/"+e.rule.ID, map[string]any{"query": "x"}, "read-only")
		e.as[core.RoleBlueLead].Want(http.StatusOK, http.MethodPost, "/api/v1/detection-rules/bulk-activate", map[string]any{"ids": []string{e.rule.ID}, "active": false}, &bulk)
		if bulk.Updated != 1 || listR("status=inactive") != 1 {
			t.Fatalf("rule bulk: %+v", bulk)
		}
		e.as[core.RoleBlueLead].Want(http.StatusOK, http.MethodDelete, "/api/v1/detection-rules/"+rule.ID, nil, &rule)
		if !rule.Deprecated || listR("status=deprecated") != 1 {
			t.Fatalf("retired rule: %+v", rule)
		}
		var got core.DetectionRule
		viewer.Want(http.StatusOK, http.MethodGet, "/api/v1/detection-rules/"+rule.ID, nil, &got)
		if got.Title != "Custom LSASS access" || len(got.TechniqueIDs) != 1 {
			t.Fatalf("rule read back: %+v", got)
		}
		var audit page[core.AuditEntry]
		e.as[core.RoleAdmin].Want(http.StatusOK, http.MethodGet, "/api/v1/audit?entity_type=test_template", nil, &audit)
		if audit.Total < 4 {
			t.Fatalf("template changes not audited: %d entries", audit.Total)
		}
	})
}

// A technique is named the same way everywhere: an ATT&CK id in any case (or an id) is
// what GET /techniques/:id, the ?technique= filters and a new test's technique_id all
// accept, through the one resolver in core.
func TestTechniqueReferencesAgreeAcrossRoutes(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	e := newFlowEnv(t, st, 1<<20)
	red := e.as[core.RoleRedTech]
	for _, ref := range []string{"t1059", "T1059", " t1059 ", e.tech.ID} {
		var te core.Technique
		red.Want(http.StatusOK, http.MethodGet, "/api/v1/techniques/"+url.PathEscape(ref), nil, &te)
		if te.ID != e.tech.ID {
			t.Fatalf("GET /techniques/%s: %s, want %s", ref, te.ID, e.tech.ID)
		}
		var created testBody
		red.Want(http.StatusCreated, http.MethodPost, "/api/v1/tests", map[string]string{"title": "By " + ref, "technique_id": ref}, &created)
		if created.TechniqueID != e.tech.ID {
			t.Fatalf("POST /tests technique_id %q: technique %s, want %s", ref, created.TechniqueID, e.tech.ID)
		}
	}
	var list page[core.Test]
	red.Want(http.StatusOK, http.MethodGet, "/api/v1/tests?technique=t1059", nil, &list)
	if list.Total != 4 {
		t.Fatalf("GET /tests?technique=t1059: %d tests, want 4", list.Total)
	}
	var tpls page[core.TestTemplate]
	red.Want(http.StatusOK, http.MethodGet, "/api/v1/templates?technique=t1059.001", nil, &tpls)
	if tpls.Total != 1 {
		t.Fatalf("GET /templates?technique=t1059.001: %d templates, want 1", tpls.Total)
	}
	wantProblem(t, red, http.StatusBadRequest, http.MethodPost, "/api/v1/tests", map[string]string{"title": "x", "technique_id": "t9999"}, "technique_id")
	wantProblem(t, red, http.StatusBadRequest, http.MethodPost, "/api/v1/tests", map[string]string{"title": "x", "technique_id": "powershell"}, "technique_id", "neither an id nor an ATT&CK technique id")
	wantProblem(t, red, http.StatusNotFound, http.MethodGet, "/api/v1/techniques/t9999", nil)
}

// A threat actor is named the same way everywhere, like a technique: its group id in
// any case (or its id) is what GET /threat-actors/:id and its coverage, the compare and
// ?actor= filters and POST /campaigns/from-actor/:id accept, through the one resolver
// in core (core.ThreatActorByRef, core.NormalizeActorID), not an upper-casing in the API.
func TestActorReferencesAgreeAcrossRoutes(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	e := newFlowEnv(t, st, 1<<20)
	actorID := e.actor(t)
	other := &core.ThreatActor{Source: "attack", ExternalID: "G9002", Name: "Other Group",
		Techniques: []core.TechniqueLink{{TechniqueID: "T1059.001"}}}
	if err := st.Update(bg, func(tx core.Tx) error {
		if err := tx.UpsertThreatActor(bg, other); err != nil {
			return err
		}
		if err := tx.UpsertCampaignProfile(bg, &core.CampaignProfile{Source: "attack", ExternalID: "C9001", Kind: "attack_campaign",
			Name: "Fixture campaign", ActorIDs: core.Strings{"G9001"}, TechniqueIDs: core.Strings{"T1059.001"}}); err != nil {
			return err
		}
		return tx.UpsertIntelItem(bg, &core.IntelItem{Source: "intel", ExternalID: "i1", Title: "G9001 again", GroupIDs: core.Strings{"G9001"}})
	}); err != nil {
		t.Fatal(err)
	}
	red, lead := e.as[core.RoleRedTech], e.as[core.RoleRedLead]
	for _, ref := range []string{"g9001", "G9001", " g9001 ", actorID} {
		var a core.ThreatActor
		red.Want(http.StatusOK, http.MethodGet, "/api/v1/threat-actors/"+url.PathEscape(ref), nil, &a)
		if a.ID != actorID {
			t.Fatalf("GET /threat-actors/%q: %s, want %s", ref, a.ID, actorID)
		}
		var cov struct {
			ID string `json:"id"`
		}
		red.Want(http.StatusOK, http.MethodGet, "/api/v1/threat-actors/"+url.PathEscape(ref)+"/coverage", nil, &cov)
		if cov.ID != actorID {
			t.Fatalf("GET /threat-actors/%q/coverage: %s, want %s", ref, cov.ID, actorID)
		}
		var built struct {
			ThreatActorID string `json:"threat_actor_id"`
		}
		lead.Want(http.StatusCreated, http.MethodPost, "/api/v1/campaigns/from-actor/"+url.PathEscape(ref), map[string]string{"name": "From " + ref}, &built)
		if built.ThreatActorID != actorID {
			t.Fatalf("POST /campaigns/from-actor/%q: actor %s, want %s", ref, built.ThreatActorID, actorID)
		}
		q := url.QueryEscape(ref)
		var profiles page[core.CampaignProfile]
		red.Want(http.StatusOK, http.MethodGet, "/api/v1/campaign-profiles?actor="+q, nil, &profiles)
		var intel page[core.IntelItem]
		red.Want(http.StatusOK, http.MethodGet, "/api/v1/intel?actor="+q, nil, &intel)
		if ref != actorID && (profiles.Total != 1 || intel.Total != 1) {
			t.Fatalf("?actor=%q: %d profiles, %d intel items, want 1 and 1", ref, profiles.Total, intel.Total)
		}
	}
	var cmp struct {
		Actors []struct {
			ID string `json:"id"`
		} `json:"actors"`
	}
	red.Want(http.StatusOK, http.MethodGet, "/api/v1/threat-actors/compare?ids=g9001,%20g9002", nil, &cmp)
	if len(cmp.Actors) != 2 || cmp.Actors[0].ID != actorID || cmp.Actors[1].ID != other.ID {
		t.Fatalf("GET /threat-actors/compare?ids=g9001, g9002: %+v", cmp.Actors)
	}
	wantProblem(t, red, http.StatusNotFound, http.MethodGet, "/api/v1/threat-actors/g9999", nil)
	wantProblem(t, lead, http.StatusNotFound, http.MethodPost, "/api/v1/campaigns/from-actor/g9999", map[string]string{"name": "x"})
}

// The test list is written by hand (writeTestsPage, core.Test.AppendJSON); it must be
// the answer encoding/json gives, which ?pretty still takes: the same bytes once that
// one is compacted, the same content type.
func TestTestListIsEncodingJSONs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newFlowEnv(t, st, 1<<20)
		red := e.as[core.RoleRedTech]
		for i, notes := range []string{"plain", "<b>&amp;</b> \"quoted\"\nline\ttab \u2028 ünï"} {
			var te testBody
			red.Want(http.StatusCreated, http.MethodPost, "/api/v1/tests", map[string]any{"template_id": e.template.ID,
				"assigned_red": e.users[core.RoleRedTech].ID}, &te)
			if i == 0 {
				continue
			}
			base := "/api/v1/tests/" + te.ID
			red.Want(http.StatusOK, http.MethodPost, base+"/start", map[string]any{"version": 1}, &te)
			red.Want(http.StatusOK, http.MethodPatch, base, map[string]any{"version": te.Version, "target": "host<1>",
				"executed_at": time.Now().Add(-time.Hour), "attack_outcome": "succeeded", "red_notes": notes}, nil)
		}
		for _, q := range []string{"", "?limit=1&offset=1", "?state=red_executing", "?state=validated"} {
			plain := e.as[core.RoleViewer].Want(http.StatusOK, http.MethodGet, "/api/v1/tests"+q, nil, nil)
			sep := "?"
			if q != "" {
				sep = "&"
			}
			pretty := e.as[core.RoleViewer].Want(http.StatusOK, http.MethodGet, "/api/v1/tests"+q+sep+"pretty", nil, nil)
			var compact bytes.Buffer
			if err := json.Compact(&compact, pretty.Body.Bytes()); err != nil {
				t.Fatal(err)
			}
			compact.WriteByte('\n')
			if plain.Body.String() != compact.String() {
				t.Errorf("GET /api/v1/tests%s:\n%s\nencoding/json:\n%s", q, plain.Body, compact.String())
			}
			if a, b := plain.Header().Get("Content-Type"), pretty.Header().Get("Content-Type"); a != b {
				t.Errorf("content type %q, encoding/json's %q", a, b)
			}
			if q == "" && !strings.Contains(plain.Body.String(), `\u003cb\u003e\u0026amp;`) {
				t.Errorf("the notes are not in the list, or not escaped as encoding/json escapes them: %s", plain.Body)
			}
		}
	})
}
