package api_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
)

// minimalBodyFixtures prepares, for each write route, a fresh object in the state
// the route needs. Each fixture runs once per request sent, so a request that
// succeeds (or wrongly changes something) cannot spoil the next one.
func minimalBodyFixtures(t *testing.T, e *flowEnv) map[string]func(t *testing.T) bodyFixture {
	admin := e.as[core.RoleAdmin]
	red, blue := e.as[core.RoleRedTech], e.as[core.RoleBlueTech]
	redLead, blueLead := e.as[core.RoleRedLead], e.as[core.RoleBlueLead]
	n := 0
	fresh := func(t *testing.T, role core.Role) (*core.User, *apitest.Client) {
		n++
		u := apitest.CreateUser(t, e.st, "fixture-"+itoa(n), role, "a long fixture password")
		return u, apitest.Login(t, e.h, u.Username, "a long fixture password")
	}
	test := func(t *testing.T, state core.TestState) testBody {
		return e.testIn(t, state)
	}
	customTemplate := func(t *testing.T) string {
		var tpl core.TestTemplate
		admin.Want(http.StatusCreated, http.MethodPost, "/api/v1/templates", map[string]any{"name": "custom " + itoa(n),
			"technique_ids": []string{"T1059.001"}, "platforms": []string{"windows"}, "command": "whoami"}, &tpl)
		n++
		return tpl.ID
	}
	customRule := func(t *testing.T) string {
		var r core.DetectionRule
		admin.Want(http.StatusCreated, http.MethodPost, "/api/v1/detection-rules", map[string]any{"title": "custom " + itoa(n),
			"technique_ids": []string{"T1059.001"}}, &r)
		n++
		return r.ID
	}
	campaign := func(t *testing.T) string {
		var c struct {
			ID string `json:"id"`
		}
		redLead.Want(http.StatusCreated, http.MethodPost, "/api/v1/campaigns", map[string]any{"name": "campaign " + itoa(n)}, &c)
		n++
		return c.ID
	}
	evidence := func(t *testing.T) string {
		te := test(t, core.StateRedExecuting)
		rec := upload(t, red, te.ID, map[string]string{}, "out.txt", []byte("whoami output\n"))
		if rec.Code != http.StatusCreated {
			t.Fatalf("upload: %d %s", rec.Code, rec.Body)
		}
		var ev core.Evidence
		apitest.Decode(t, rec, &ev)
		return ev.ID
	}
	tests := "/api/v1/tests/"
	return map[string]func(t *testing.T) bodyFixture{
		"POST /api/v1/auth/login": func(t *testing.T) bodyFixture {
			u, _ := fresh(t, core.RoleViewer)
			return bodyFixture{path: "/api/v1/auth/login", as: apitest.Anonymous(t, e.h),
				values: map[string]any{"username": u.Username, "password": "a long fixture password"}}
		},
		"POST /api/v1/auth/logout": func(t *testing.T) bodyFixture {
			_, c := fresh(t, core.RoleViewer)
			return bodyFixture{path: "/api/v1/auth/logout", as: c, status: http.StatusNoContent}
		},
		"POST /api/v1/auth/password": func(t *testing.T) bodyFixture {
			_, c := fresh(t, core.RoleViewer)
			return bodyFixture{path: "/api/v1/auth/password", as: c,
				values: map[string]any{"current_password": "a long fixture password", "new_password": "another long fixture password"}}
		},
		"POST /api/v1/tokens": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/tokens", as: admin, status: http.StatusCreated}
		},
		"DELETE /api/v1/tokens/{id}": func(t *testing.T) bodyFixture {
			var tok struct {
				ID string `json:"id"`
			}
			admin.Want(http.StatusCreated, http.MethodPost, "/api/v1/tokens", map[string]any{"name": "to revoke", "scope": "read"}, &tok)
			return bodyFixture{path: "/api/v1/tokens/" + tok.ID, as: admin, status: http.StatusNoContent}
		},
		"POST /api/v1/users": func(t *testing.T) bodyFixture {
			n++
			return bodyFixture{path: "/api/v1/users", as: admin, status: http.StatusCreated,
				values: map[string]any{"username": "created-" + itoa(n)}}
		},
		"PATCH /api/v1/users/{id}": func(t *testing.T) bodyFixture {
			u, _ := fresh(t, core.RoleViewer)
			return bodyFixture{path: "/api/v1/users/" + u.ID, as: admin}
		},
		"POST /api/v1/users/{id}/disable": func(t *testing.T) bodyFixture {
			u, _ := fresh(t, core.RoleViewer)
			return bodyFixture{path: "/api/v1/users/" + u.ID + "/disable", as: admin}
		},
		"POST /api/v1/users/{id}/enable": func(t *testing.T) bodyFixture {
			u, _ := fresh(t, core.RoleViewer)
			admin.Want(http.StatusOK, http.MethodPost, "/api/v1/users/"+u.ID+"/disable", nil, nil)
			return bodyFixture{path: "/api/v1/users/" + u.ID + "/enable", as: admin}
		},
		"POST /api/v1/users/{id}/reset-password": func(t *testing.T) bodyFixture {
			u, _ := fresh(t, core.RoleViewer)
			return bodyFixture{path: "/api/v1/users/" + u.ID + "/reset-password", as: admin}
		},
		"POST /api/v1/notifications/{id}/read": func(t *testing.T) bodyFixture {
			u, c := fresh(t, core.RoleRedTech)
			admin.Want(http.StatusCreated, http.MethodPost, "/api/v1/tests", map[string]any{"template_id": e.template.ID, "assigned_red": u.ID}, nil)
			var notes page[core.Notification]
			c.Want(http.StatusOK, http.MethodGet, "/api/v1/notifications", nil, &notes)
			if len(notes.Items) == 0 {
				t.Fatal("assigning a test sent no notification")
			}
			return bodyFixture{path: "/api/v1/notifications/" + notes.Items[0].ID + "/read", as: c, status: http.StatusNoContent}
		},
		"POST /api/v1/notifications/read-all": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/notifications/read-all", as: red}
		},
		"POST /api/v1/imports": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/imports", as: admin, status: http.StatusAccepted, values: map[string]any{"plugin": "mis"}}
		},
		"POST /api/v1/attack/reviews/{id}/resolve": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/attack/reviews/" + e.review(t) + "/resolve", as: redLead}
		},
		"POST /api/v1/exports": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/exports", as: e.as[core.RoleViewer], status: http.StatusAccepted,
				values: map[string]any{"plugin": "mis"}}
		},
		"POST /api/v1/tests": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/tests", as: red, status: http.StatusCreated,
				values: map[string]any{"template_id": e.template.ID}}
		},
		"PATCH /api/v1/tests/{id}": func(t *testing.T) bodyFixture {
			te := test(t, core.StateDraft)
			return bodyFixture{path: tests + te.ID, as: red, values: map[string]any{"version": te.Version, "title": "renamed"}}
		},
		"POST /api/v1/tests/{id}/start": func(t *testing.T) bodyFixture {
			return bodyFixture{path: tests + test(t, core.StateDraft).ID + "/start", as: red}
		},
		"POST /api/v1/tests/{id}/hand-to-blue": func(t *testing.T) bodyFixture {
			return bodyFixture{path: tests + e.testIn(t, core.StateRedExecuting, "red fields").ID + "/hand-to-blue", as: red}
		},
		"POST /api/v1/tests/{id}/submit": func(t *testing.T) bodyFixture {
			return bodyFixture{path: tests + e.testIn(t, core.StateBlueEvaluating, "blue fields").ID + "/submit", as: blue}
		},
		"POST /api/v1/tests/{id}/vote": func(t *testing.T) bodyFixture {
			return bodyFixture{path: tests + test(t, core.StateInReview).ID + "/vote", as: redLead}
		},
		"POST /api/v1/tests/{id}/reopen": func(t *testing.T) bodyFixture {
			return bodyFixture{path: tests + test(t, core.StateRejected).ID + "/reopen", as: red}
		},
		"PATCH /api/v1/tests/{id}/remediation": func(t *testing.T) bodyFixture {
			te := test(t, core.StateValidated)
			return bodyFixture{path: tests + te.ID + "/remediation", as: blueLead, values: map[string]any{"version": te.Version}}
		},
		"POST /api/v1/tests/{id}/remediation/complete": func(t *testing.T) bodyFixture {
			te := test(t, core.StateValidated)
			blueLead.Want(http.StatusOK, http.MethodPatch, tests+te.ID+"/remediation", map[string]any{"version": te.Version, "notes": "fix it"}, nil)
			return bodyFixture{path: tests + te.ID + "/remediation/complete", as: blueLead, status: http.StatusCreated}
		},
		"PUT /api/v1/tests/{id}/detections/{rule_id}": func(t *testing.T) bodyFixture {
			return bodyFixture{path: tests + test(t, core.StateBlueEvaluating).ID + "/detections/" + e.rule.ID, as: blue}
		},
		"DELETE /api/v1/tests/{id}/detections/{rule_id}": func(t *testing.T) bodyFixture {
			te := test(t, core.StateBlueEvaluating)
			blue.Want(http.StatusOK, http.MethodPut, tests+te.ID+"/detections/"+e.rule.ID, map[string]any{"triggered": true}, nil)
			return bodyFixture{path: tests + te.ID + "/detections/" + e.rule.ID, as: blue, status: http.StatusNoContent}
		},
		"POST /api/v1/tests/{id}/detections/evaluate": func(t *testing.T) bodyFixture {
			e.sigmaRule(t)
			te := test(t, core.StateBlueEvaluating)
			rec := upload(t, blue, te.ID, map[string]string{"team": "blue"}, "events.ndjson",
				[]byte(`{"Image":"C:\\Windows\\System32\\whoami.exe","EventID":1}`+"\n"))
			if rec.Code != http.StatusCreated {
				t.Fatalf("upload: %d %s", rec.Code, rec.Body)
			}
			return bodyFixture{path: tests + te.ID + "/detections/evaluate", as: blue}
		},
		"POST /api/v1/tests/{id}/evidence": func(t *testing.T) bodyFixture {
			return bodyFixture{path: tests + test(t, core.StateRedExecuting).ID + "/evidence", as: red, status: http.StatusCreated}
		},
		"POST /api/v1/evidence/{id}/verify": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/evidence/" + evidence(t) + "/verify", as: red}
		},
		"DELETE /api/v1/evidence/{id}": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/evidence/" + evidence(t), as: red, status: http.StatusNoContent}
		},
		"POST /api/v1/tests/{id}/worklogs": func(t *testing.T) bodyFixture {
			return bodyFixture{path: tests + test(t, core.StateRedExecuting).ID + "/worklogs", as: red, status: http.StatusCreated}
		},
		"POST /api/v1/templates": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/templates", as: admin, status: http.StatusCreated}
		},
		"PATCH /api/v1/templates/{id}": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/templates/" + customTemplate(t), as: admin, values: map[string]any{"name": "renamed"}}
		},
		"DELETE /api/v1/templates/{id}": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/templates/" + customTemplate(t), as: admin}
		},
		"POST /api/v1/templates/bulk-activate": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/templates/bulk-activate", as: admin, values: map[string]any{"ids": []string{customTemplate(t)}}}
		},
		"POST /api/v1/detection-rules": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/detection-rules", as: admin, status: http.StatusCreated}
		},
		"PATCH /api/v1/detection-rules/{id}": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/detection-rules/" + customRule(t), as: admin, values: map[string]any{"title": "renamed"}}
		},
		"DELETE /api/v1/detection-rules/{id}": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/detection-rules/" + customRule(t), as: admin}
		},
		"POST /api/v1/detection-rules/bulk-activate": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/detection-rules/bulk-activate", as: admin, values: map[string]any{"ids": []string{customRule(t)}}}
		},
		"PUT /api/v1/scoring/weights": func(t *testing.T) bodyFixture {
			w := map[string]any{}
			admin.Want(http.StatusOK, http.MethodGet, "/api/v1/scoring/weights", nil, &struct {
				Weights *map[string]any `json:"weights"`
			}{&w})
			if len(w) == 0 {
				t.Fatal("GET /scoring/weights gave no weights")
			}
			return bodyFixture{path: "/api/v1/scoring/weights", as: admin, values: w}
		},
		"POST /api/v1/snapshots": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/snapshots", as: admin, status: http.StatusCreated}
		},
		"POST /api/v1/campaigns": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/campaigns", as: redLead, status: http.StatusCreated}
		},
		"POST /api/v1/campaigns/from-actor/{id}": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/campaigns/from-actor/" + e.actor(t), as: redLead, status: http.StatusCreated}
		},
		"POST /api/v1/campaigns/from-profile/{id}": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/campaigns/from-profile/" + e.profile(t), as: redLead, status: http.StatusCreated}
		},
		"PATCH /api/v1/campaigns/{id}": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/campaigns/" + campaign(t), as: redLead}
		},
		"DELETE /api/v1/campaigns/{id}": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/campaigns/" + campaign(t), as: redLead, status: http.StatusNoContent}
		},
		"POST /api/v1/campaigns/{id}/status": func(t *testing.T) bodyFixture {
			return bodyFixture{path: "/api/v1/campaigns/" + campaign(t) + "/status", as: redLead, values: map[string]any{"status": "active"}}
		},
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

var reviewSeq int

// testIn walks a new test (from the fixture template, assigned to the red tech) to
// state. With "red fields" a red_executing test has what hand-to-blue needs; with
// "blue fields" a blue_evaluating test has what submit needs.
func (e *flowEnv) testIn(t *testing.T, state core.TestState, extra ...string) testBody {
	t.Helper()
	red, blue := e.as[core.RoleRedTech], e.as[core.RoleBlueTech]
	var te testBody
	red.Want(http.StatusCreated, http.MethodPost, "/api/v1/tests", map[string]any{"template_id": e.template.ID,
		"assigned_red": e.users[core.RoleRedTech].ID}, &te)
	base := "/api/v1/tests/" + te.ID
	if state == core.StateDraft {
		return te
	}
	red.Want(http.StatusOK, http.MethodPost, base+"/start", map[string]any{"version": te.Version}, &te)
	if state == core.StateRedExecuting && len(extra) == 0 {
		return te
	}
	red.Want(http.StatusOK, http.MethodPatch, base, map[string]any{"version": te.Version,
		"executed_at": time.Now().UTC().Add(-time.Hour), "attack_outcome": "succeeded"}, &te)
	if state == core.StateRedExecuting {
		return te
	}
	red.Want(http.StatusOK, http.MethodPost, base+"/hand-to-blue", nil, &te)
	if state == core.StateBlueEvaluating && len(extra) == 0 {
		return te
	}
	blue.Want(http.StatusOK, http.MethodPatch, base, map[string]any{"version": te.Version, "prevented": false, "alerted": true, "logged": true}, &te)
	if state == core.StateBlueEvaluating {
		return te
	}
	blue.Want(http.StatusOK, http.MethodPost, base+"/submit", nil, &te)
	if state == core.StateInReview {
		return te
	}
	if state == core.StateRejected {
		e.as[core.RoleRedLead].Want(http.StatusOK, http.MethodPost, base+"/vote", map[string]any{"decision": "reject", "reason": "redo"}, nil)
	} else {
		e.as[core.RoleRedLead].Want(http.StatusOK, http.MethodPost, base+"/vote", map[string]any{"decision": "approve"}, nil)
		e.as[core.RoleBlueLead].Want(http.StatusOK, http.MethodPost, base+"/vote", map[string]any{"decision": "approve"}, nil)
	}
	red.Want(http.StatusOK, http.MethodGet, base, nil, &te)
	if te.State != state {
		t.Fatalf("walked test to %s, want %s", te.State, state)
	}
	return te
}

// review queues an open review of a retired technique and returns its id.
func (e *flowEnv) review(t *testing.T) string {
	t.Helper()
	var id string
	reviewSeq++
	err := e.st.Update(bg, func(tx core.Tx) error {
		te := &core.Technique{ExternalID: "T9" + itoa(900+reviewSeq), Name: "Retired", Known: true, Deprecated: true}
		if err := tx.UpsertTechnique(bg, te); err != nil {
			return err
		}
		r := &core.TechniqueReview{TechniqueID: te.ID, ExternalID: te.ExternalID, Reason: "deprecated", Dependents: core.JSON(`{}`)}
		if err := tx.QueueTechniqueReview(bg, r); err != nil {
			return err
		}
		id = r.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// actor stores a threat actor using the fixture technique and returns its id.
func (e *flowEnv) actor(t *testing.T) string {
	t.Helper()
	a := &core.ThreatActor{Source: "attack", ExternalID: "G9001", Name: "Fixture Group",
		Techniques: []core.TechniqueLink{{TechniqueID: "T1059.001"}}}
	if err := e.st.Update(bg, func(tx core.Tx) error { return tx.UpsertThreatActor(bg, a) }); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// profile stores an adversary profile that runs the fixture template and returns its id.
func (e *flowEnv) profile(t *testing.T) string {
	t.Helper()
	p := &core.CampaignProfile{Source: e.template.Source, ExternalID: "adv-1", Kind: "adversary_profile", Name: "Fixture adversary",
		TemplateIDs: core.Strings{e.template.ExternalID}}
	if err := e.st.Update(bg, func(tx core.Tx) error { return tx.UpsertCampaignProfile(bg, p) }); err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// sigmaRule stores an active Sigma rule that matches whoami.exe, so there is
// something to evaluate.
func (e *flowEnv) sigmaRule(t *testing.T) {
	t.Helper()
	raw := "title: Whoami\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  sel:\n    Image|endswith: '\\\\whoami.exe'\n  condition: sel\n"
	r := &core.DetectionRule{Source: "sigma", ExternalID: "whoami-eval", Format: "sigma", Title: "Whoami", Status: "stable", Level: "low",
		Raw: raw, LogSource: core.JSON(`{"product":"windows","category":"process_creation"}`), TechniqueIDs: []string{"T1059.001"}, Active: true}
	if err := e.st.Update(bg, func(tx core.Tx) error { return tx.UpsertDetectionRule(bg, r) }); err != nil {
		t.Fatal(err)
	}
}
