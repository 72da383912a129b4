package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/api"
	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// Attack: about 1 MB titles (and any other text field) were accepted. Every field is
// bounded now, with the limits docs/SECURITY.md lists, and nothing is stored.
func TestSecurityTextFieldsBounded(t *testing.T) {
	e := newFlowEnv(t, storetest.Open(t, store.SQLite), 0)
	red := e.as[core.RoleRedTech]
	blue := e.as[core.RoleBlueTech]
	mb := strings.Repeat("x", 900_000)
	for _, c := range []struct {
		who    *apitest.Client
		method string
		path   string
		body   map[string]any
		field  string
	}{
		{red, http.MethodPost, "/api/v1/tests", map[string]any{"title": mb, "technique_id": "T1059"}, "title"},
		{red, http.MethodPost, "/api/v1/tests", map[string]any{"title": strings.Repeat("t", core.MaxNameBytes+1), "technique_id": "T1059"}, "title"},
		{red, http.MethodPost, "/api/v1/tests", map[string]any{"title": "ok", "command": strings.Repeat("c", core.MaxTextBytes+1), "technique_id": "T1059"}, "command"},
		{red, http.MethodPost, "/api/v1/templates", map[string]any{"name": strings.Repeat("n", core.MaxNameBytes+1), "technique_ids": []string{"T1059"}}, "name"},
		{red, http.MethodPost, "/api/v1/templates", map[string]any{"name": "n", "description": mb, "technique_ids": []string{"T1059"}}, "description"},
		{blue, http.MethodPost, "/api/v1/detection-rules", map[string]any{"title": strings.Repeat("r", core.MaxNameBytes+1)}, "title"},
		{blue, http.MethodPost, "/api/v1/detection-rules", map[string]any{"title": "r", "query": mb}, "query"},
	} {
		rec := c.who.Do(c.method, c.path, c.body)
		if p := apitest.ProblemOf(t, rec); rec.Code != http.StatusBadRequest || p.Field != c.field {
			t.Errorf("%s %s with an over-long %s: %d field %q %q, want 400 naming %s", c.method, c.path, c.field, rec.Code, p.Field, p.Detail, c.field)
		}
	}
	var tests api.Paged[map[string]any]
	red.Want(http.StatusOK, http.MethodGet, "/api/v1/tests", nil, &tests)
	if tests.Total != 0 {
		t.Fatalf("refused requests stored %d tests", tests.Total)
	}
}

// Attack: a NUL byte in any field (the unauthenticated sign-in's username included) or
// query parameter answered 500 on PostgreSQL, and was stored on SQLite. Invalid UTF-8
// was quietly replaced. Both databases now answer 400 naming the field.
func TestSecurityNULAndInvalidUTF8Refused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newFlowEnv(t, st, 0)
		red := e.as[core.RoleRedTech]
		anon := apitest.Anonymous(t, e.h)
		for _, c := range []struct {
			who   *apitest.Client
			path  string
			body  any
			field string
		}{
			{anon, "/api/v1/auth/login", map[string]string{"username": "u-admin\x00", "password": "x"}, "username"},
			{anon, "/api/v1/auth/login", []byte(`{"username":"u-admin","password":"pa\u0000ss"}`), "password"},
			{anon, "/api/v1/auth/login", []byte("{\"username\":\"u-\xffadmin\",\"password\":\"x\"}"), "username"},
			{red, "/api/v1/tests", map[string]any{"title": "a\x00b", "technique_id": "T1059"}, "title"},
			{red, "/api/v1/tests", []byte("{\"title\":\"ok\",\"technique_id\":\"T1059\",\"description\":\"bad \xc3\x28 byte\"}"), "description"},
			{red, "/api/v1/templates", map[string]any{"name": "n", "platforms": []string{"linux", "win\x00"}, "technique_ids": []string{"T1059"}}, "platforms[1]"},
			{e.as[core.RoleBlueTech], "/api/v1/detection-rules", map[string]any{"title": "r", "detection": map[string]any{"sel": map[string]any{"a": "\x00"}}}, "detection.sel.a"},
		} {
			rec := c.who.Do(http.MethodPost, c.path, c.body)
			if p := apitest.ProblemOf(t, rec); rec.Code != http.StatusBadRequest || p.Field != c.field {
				t.Errorf("POST %s %q: %d field %q %q, want 400 naming %s", c.path, c.body, rec.Code, p.Field, p.Detail, c.field)
			}
		}
		for _, c := range []struct{ path, field string }{
			{"/api/v1/templates?search=who%00ami", "search"},
			{"/api/v1/templates?platform=%00", "platform"},
			{"/api/v1/detection-rules?search=%ff%fe", "search"},
			{"/api/v1/techniques?search=T1059%00", "search"},
			{"/api/v1/tests?technique=T1059%00", "technique"},
		} {
			rec := red.Do(http.MethodGet, c.path, nil)
			if p := apitest.ProblemOf(t, rec); rec.Code != http.StatusBadRequest || p.Field != c.field {
				t.Errorf("GET %s: %d field %q %q, want 400 naming %s", c.path, rec.Code, p.Field, p.Detail, c.field)
			}
		}
		if rec := red.Do(http.MethodGet, "/api/v1/techniques/T1059%00", nil); rec.Code != http.StatusBadRequest {
			t.Errorf("NUL in the path: %d %s, want 400", rec.Code, rec.Body)
		}
		// Evidence descriptions come in a multipart form, not JSON.
		var test map[string]any
		red.Want(http.StatusCreated, http.MethodPost, "/api/v1/tests", map[string]any{"title": "t", "technique_id": "T1059"}, &test)
		rec := upload(t, red, test["id"].(string), map[string]string{"description": "a\x00b"}, "shot.txt", []byte("hello"))
		if p := apitest.ProblemOf(t, rec); rec.Code != http.StatusBadRequest || p.Field != "description" {
			t.Errorf("evidence description with NUL: %d field %q, want 400 naming description", rec.Code, p.Field)
		}
	})
}

// Issue 16 defect 5: prevented_at (and alerted_at, logged_at) were stamped when the
// verdict was false; a time now exists only for a true verdict.
func TestSecurityVerdictTimesOnlyWhenTrue(t *testing.T) {
	e := newFlowEnv(t, storetest.Open(t, store.SQLite), 0)
	red, blue := e.as[core.RoleRedTech], e.as[core.RoleBlueTech]
	var te testBody
	red.Want(http.StatusCreated, http.MethodPost, "/api/v1/tests", map[string]any{"template_id": e.template.ID}, &te)
	base := "/api/v1/tests/" + te.ID
	red.Want(http.StatusOK, http.MethodPost, base+"/start", map[string]any{"version": te.Version}, &te)
	red.Want(http.StatusOK, http.MethodPatch, base, map[string]any{"version": te.Version, "target": "h",
		"executed_at": time.Now().UTC().Add(-time.Hour), "attack_outcome": "succeeded"}, &te)
	red.Want(http.StatusOK, http.MethodPost, base+"/hand-to-blue", nil, &te)

	patch := func(body map[string]any) {
		t.Helper()
		body["version"] = te.Version
		te = testBody{} // omitted times must read as absent, not as the last answer's
		blue.Want(http.StatusOK, http.MethodPatch, base, body, &te)
	}
	patch(map[string]any{"prevented": false, "alerted": false, "logged": true})
	if te.PreventedAt != nil || te.AlertedAt != nil || te.LoggedAt == nil {
		t.Fatalf("false verdicts got times: prevented_at %v alerted_at %v logged_at %v", te.PreventedAt, te.AlertedAt, te.LoggedAt)
	}
	patch(map[string]any{"prevented": true})
	if te.PreventedAt == nil {
		t.Fatal("a true verdict got no time")
	}
	patch(map[string]any{"prevented": false})
	if te.PreventedAt != nil {
		t.Fatalf("prevented turned false kept prevented_at %v", te.PreventedAt)
	}
	rec := blue.Do(http.MethodPatch, base, map[string]any{"version": te.Version, "prevented_at": time.Now().UTC()})
	if p := apitest.ProblemOf(t, rec); rec.Code != http.StatusBadRequest || p.Field != "prevented_at" {
		t.Fatalf("prevented_at on a false verdict: %d %+v", rec.Code, p)
	}
}

// Issue 16 defect 5: assigning a test to someone told them nothing.
func TestSecurityAssignmentNotifies(t *testing.T) {
	e := newFlowEnv(t, storetest.Open(t, store.SQLite), 0)
	redLead := e.as[core.RoleRedLead]
	notes := func(r core.Role) []core.Notification {
		var page api.Paged[core.Notification]
		e.as[r].Want(http.StatusOK, http.MethodGet, "/api/v1/notifications", nil, &page)
		var out []core.Notification
		for _, n := range page.Items {
			if n.Kind == "test.assigned" {
				out = append(out, n)
			}
		}
		return out
	}
	var te testBody
	redLead.Want(http.StatusCreated, http.MethodPost, "/api/v1/tests", map[string]any{"title": "t", "technique_id": "T1059",
		"assigned_red": e.users[core.RoleRedTech].ID}, &te)
	if n := notes(core.RoleRedTech); len(n) != 1 || n[0].EntityID != te.ID {
		t.Fatalf("the red operator assigned at creation got %+v", n)
	}
	redLead.Want(http.StatusOK, http.MethodPatch, "/api/v1/tests/"+te.ID, map[string]any{"version": te.Version,
		"assigned_blue": e.users[core.RoleBlueTech].ID, "title": "t2"}, &te)
	if n := notes(core.RoleBlueTech); len(n) != 1 || n[0].EntityID != te.ID {
		t.Fatalf("the blue analyst assigned by a patch got %+v", n)
	}
	// Unchanged assignees are not told again; nobody is told of their own assignment.
	redLead.Want(http.StatusOK, http.MethodPatch, "/api/v1/tests/"+te.ID, map[string]any{"version": te.Version, "title": "t3",
		"assigned_red": e.users[core.RoleRedTech].ID, "assigned_blue": e.users[core.RoleBlueTech].ID}, &te)
	redLead.Want(http.StatusOK, http.MethodPatch, "/api/v1/tests/"+te.ID, map[string]any{"version": te.Version,
		"assigned_red": e.users[core.RoleRedLead].ID}, &te)
	if a, b, c := len(notes(core.RoleRedTech)), len(notes(core.RoleBlueTech)), len(notes(core.RoleRedLead)); a != 1 || b != 1 || c != 0 {
		t.Fatalf("notifications red %d blue %d lead %d, want 1 1 0", a, b, c)
	}
}

// Issue 16: security headers. No MIME sniffing, no framing, a CSP, HSTS when TLS, and
// API answers (sign-in's CSRF token, a new API token's secret) never cached.
func TestSecurityHeaders(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	apitest.CreateUser(t, st, "alice", core.RoleViewer, "")
	for _, tls := range []bool{false, true} {
		h := api.New(api.ServicesFor(st, api.Deps{TLS: tls})).Handler()
		c := apitest.Anonymous(t, h)
		login := c.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "alice", "password": apitest.Password})
		alice := apitest.Login(t, h, "alice", "")
		token := alice.Do(http.MethodPost, "/api/v1/tokens", map[string]string{"name": "t", "scope": "read"})
		me := alice.Do(http.MethodGet, "/api/v1/auth/me", nil)
		failed := c.Do(http.MethodGet, "/api/v1/users", nil)
		page := c.Do(http.MethodGet, "/", nil)
		for name, rec := range map[string]*httptest.ResponseRecorder{"login": login, "token": token, "me": me, "401": failed, "page": page} {
			hd := rec.Header()
			if hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("X-Frame-Options") != "DENY" ||
				!strings.Contains(hd.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Errorf("%s (tls %v): headers %v", name, tls, hd)
			}
			if got := hd.Get("Strict-Transport-Security"); (got != "") != tls {
				t.Errorf("%s (tls %v): Strict-Transport-Security %q", name, tls, got)
			}
			if got := hd.Values("Referrer-Policy"); len(got) != 1 || got[0] != "no-referrer" {
				t.Errorf("%s (tls %v): Referrer-Policy %q, want exactly no-referrer", name, tls, got)
			}
			if name != "page" && hd.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: Cache-Control %q, want no-store", name, hd.Get("Cache-Control"))
			}
		}
		if csp := page.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("the web app's CSP %q", csp)
		}
	}
}
