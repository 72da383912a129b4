package api_test

import (
	"net/http"
	"strings"
	"testing"

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
