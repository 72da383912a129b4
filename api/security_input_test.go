package api_test

// Hostile input (issue 16): SQL injection in every query parameter of every route the
// OpenAPI document lists, deep JSON, NUL bytes and invalid UTF-8 in every kind of string
// field, quotes and LIKE wildcards in searches. The parameters come from the generated
// document, so a new route or filter is attacked without anyone adding it here; and
// TestQueryParametersDocumented holds the document to what the handlers really read.

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// queryRecorder wraps echo's context to note the name of every query parameter a
// handler reads.
type queryRecorder struct {
	echo.Context
	mu   *sync.Mutex
	read map[string]bool
}

func (q *queryRecorder) QueryParam(name string) string {
	q.mu.Lock()
	q.read[name] = true
	q.mu.Unlock()
	return q.Context.QueryParam(name)
}

// getOp is one GET operation of the OpenAPI document.
type getOp struct {
	path  string   // OpenAPI form, /api/v1/tests/{id}
	query []string // documented query parameters
}

// getOps lists the GET operations of the served OpenAPI document.
func getOps(t *testing.T, h http.Handler) []getOp {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	apitest.Anonymous(t, h).Want(http.StatusOK, http.MethodGet, "/api/v1/openapi.json", nil, &doc)
	var out []getOp
	for path, ops := range doc.Paths {
		op, ok := ops["get"]
		if !ok {
			continue
		}
		g := getOp{path: path}
		for _, p := range op.Parameters {
			if p.In == "query" {
				g.query = append(g.query, p.Name)
			}
		}
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	if len(out) < 40 {
		t.Fatalf("the OpenAPI document lists %d GET operations; expected the whole route table", len(out))
	}
	return out
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// concretePath fills an operation's path parameters with ids of things e holds, so
// the handler gets past its lookups; a parameter of an unknown kind gets a fresh id.
func (e *flowEnv) concretePath(path, testID string) string {
	return pathParam.ReplaceAllStringFunc(path, func(m string) string {
		switch {
		case strings.HasPrefix(path, "/api/v1/tests/") && m == "{id}":
			return testID
		case strings.HasPrefix(path, "/api/v1/templates/"):
			return e.template.ID
		case strings.HasPrefix(path, "/api/v1/detection-rules/"):
			return e.rule.ID
		case strings.HasPrefix(path, "/api/v1/techniques/"), strings.HasPrefix(path, "/api/v1/scores/techniques/"):
			return "T1059"
		case m == "{name}":
			return "coverage"
		}
		return core.NewID()
	})
}

// TestQueryParametersDocumented: every query parameter a GET handler reads is in the
// OpenAPI document (so the hostile-input tests attack it), and every one documented is
// read by a handler that answered.
func TestQueryParametersDocumented(t *testing.T) {
	e := newFlowEnv(t, storetest.Open(t, store.SQLite), 0)
	var mu sync.Mutex
	read := map[string]bool{}
	e.h.(*echo.Echo).Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { return next(&queryRecorder{Context: c, mu: &mu, read: read}) }
	})
	admin := e.as[core.RoleAdmin]
	var te testBody
	e.as[core.RoleRedTech].Want(http.StatusCreated, http.MethodPost, "/api/v1/tests", map[string]any{"template_id": e.template.ID}, &te)
	for _, op := range getOps(t, e.h) {
		mu.Lock()
		clear(read)
		mu.Unlock()
		rec := admin.Do(http.MethodGet, e.concretePath(op.path, te.ID), nil)
		mu.Lock()
		var names []string
		for n := range read {
			names = append(names, n)
		}
		mu.Unlock()
		sort.Strings(names)
		for _, n := range names {
			if !slices.Contains(op.query, n) {
				t.Errorf("GET %s reads query parameter %q, which the route table does not list (route.Query)", op.path, n)
			}
		}
		if rec.Code/100 != 2 {
			continue
		}
		for _, n := range op.query {
			if !slices.Contains(names, n) {
				t.Errorf("GET %s documents query parameter %q, which its handler did not read (answered %d)", op.path, n, rec.Code)
			}
		}
	}
}

// sqlInjections are sent in every query parameter. Each would change what a query
// does were the value spliced into SQL rather than bound: widen a filter, read another
// table, drop or empty one, stack a statement, or break the quoting (the last one is
// issue 16's `'` followed by many characters, which answered 500 on ?search= and
// ?platform=).
var sqlInjections = []string{
	`' OR '1'='1`,
	`' OR 1=1 --`,
	`") OR ("1"="1`,
	`1 OR 1=1`,
	`'; DROP TABLE hostile_canary; --`,
	`1; DELETE FROM users`,
	`' UNION SELECT password_hash FROM users --`,
	`x' AND (SELECT COUNT(*) FROM hostile_canary) > 0 --`,
	`'||(SELECT secret FROM hostile_canary)||'`,
	`\' OR 1=1 #`,
	`%' OR '%'='`,
	`-1`,
	`99999999999999999999`,
	`T1059'`,
	`'` + strings.Repeat("a", 250),
}

const canarySecret = "canary-7d1f0c9e-secret"

// TestSecuritySQLInjectionInEveryQueryParameter sends every injection in every query
// parameter of every GET operation of the OpenAPI document, signed in as an
// administrator (who may call them all): each answers 200 or 400 (or, for a path whose
// id names nothing, what the same path answers without the parameter), never 5xx;
// no answer holds a password hash or the canary's secret; and afterwards every table
// has the rows it had, the canary table included, and the audit chain verifies.
func TestSecuritySQLInjectionInEveryQueryParameter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newFlowEnv(t, st, 0)
		admin := e.as[core.RoleAdmin]
		if _, err := st.DB().Exec(`CREATE TABLE hostile_canary (secret TEXT)`); err != nil {
			t.Fatal(err)
		}
		if _, err := st.DB().Exec(st.DB().Rebind(`INSERT INTO hostile_canary (secret) VALUES (?)`), canarySecret); err != nil {
			t.Fatal(err)
		}
		var te testBody
		e.as[core.RoleRedTech].Want(http.StatusCreated, http.MethodPost, "/api/v1/tests", map[string]any{"template_id": e.template.ID}, &te)
		before, err := st.Stats(bg)
		if err != nil {
			t.Fatal(err)
		}
		sent, attacked := 0, 0
		for _, op := range getOps(t, e.h) {
			if len(op.query) == 0 {
				continue
			}
			attacked++
			path := e.concretePath(op.path, te.ID)
			baseline := admin.Do(http.MethodGet, path, nil)
			if baseline.Code >= 500 && baseline.Code != http.StatusServiceUnavailable {
				t.Errorf("GET %s without parameters: %d %s", path, baseline.Code, baseline.Body)
				continue
			}
			for _, name := range op.query {
				for _, v := range sqlInjections {
					u := path + "?" + url.Values{name: {v}}.Encode()
					rec := admin.Do(http.MethodGet, u, nil)
					sent++
					if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest && rec.Code != baseline.Code {
						t.Errorf("GET %s: %d %.300s (want 200 or 400; %d without the parameter)", u, rec.Code, rec.Body, baseline.Code)
					}
					if body := rec.Body.String(); strings.Contains(body, canarySecret) || strings.Contains(body, "$argon2") {
						t.Errorf("GET %s leaked another table: %.300s", u, body)
					}
				}
			}
		}
		if attacked < 25 {
			t.Fatalf("only %d operations have documented query parameters", attacked)
		}
		t.Logf("%d injections sent to %d operations", sent, attacked)
		after, err := st.Stats(bg)
		if err != nil {
			t.Fatal(err)
		}
		for name, b := range before.Entities {
			if a := after.Entities[name]; a.Total != b.Total {
				t.Errorf("table %s: %d rows before the injections, %d after", name, b.Total, a.Total)
			}
		}
		var secrets []string
		if err := st.DB().Select(&secrets, `SELECT secret FROM hostile_canary`); err != nil || len(secrets) != 1 || secrets[0] != canarySecret {
			t.Errorf("the canary table after the injections: %v %v", secrets, err)
		}
		var v core.AuditVerification
		admin.Want(http.StatusOK, http.MethodGet, "/api/v1/audit/verify", nil, &v)
		if !v.OK || v.Checked == 0 {
			t.Errorf("audit chain after the injections: %+v", v)
		}
	})
}

// TestSecurityHostileBodies: deep nesting, unpaired UTF-16 surrogates (which the JSON
// decoder would quietly replace by U+FFFD), NUL and invalid UTF-8 in each kind of
// string a body holds: a plain string, an optional one, a list element, a map key, a
// value deep in a free-form map, a list of maps. Each is 400 naming where it is,
// nothing is stored, and the server keeps answering. A surrogate pair (an emoji) is
// one character and is accepted.
func TestSecurityHostileBodies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newFlowEnv(t, st, 0)
		red, blue, anon := e.as[core.RoleRedTech], e.as[core.RoleBlueTech], apitest.Anonymous(t, e.h)
		nest := func(n int) string { return strings.Repeat(`{"a":`, n) + `1` + strings.Repeat(`}`, n) }
		for _, c := range []struct {
			who         *apitest.Client
			path, body  string
			field, want string // want: a part of the detail
		}{
			{anon, "/api/v1/auth/login", strings.Repeat("[", 100_000), "", "64 deep"},
			{red, "/api/v1/tests", strings.Repeat(`{"title":`, 100_000), "title", "64 deep"},
			{red, "/api/v1/templates", `{"name":"n","technique_ids":` + strings.Repeat("[", 100_000) + `}`, "technique_ids", "64 deep"},
			{blue, "/api/v1/detection-rules", `{"title":"r","detection":` + nest(65) + `}`, "detection", "64 deep"},
			{blue, "/api/v1/detection-rules", `{"title":"r","metadata":{"x":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}}`, "metadata", "64 deep"},
			{anon, "/api/v1/auth/login", `{"username":"u-admin\ud800","password":"x"}`, "username", `\ud800`},
			{red, "/api/v1/tests", `{"title":"t\udfff","technique_id":"T1059"}`, "title", "surrogate"},
			{red, "/api/v1/templates", `{"name":"n","description":"a\ud83dz","technique_ids":["T1059"]}`, "description", "surrogate"},
			{red, "/api/v1/templates", `{"name":"n","platforms":["linux","\ud800\ud800"],"technique_ids":["T1059"]}`, "platforms[1]", "surrogate"},
			{blue, "/api/v1/detection-rules", `{"title":"r","detection":{"se\udc00l":"x"}}`, "detection", "surrogate"},
			{blue, "/api/v1/detection-rules", `{"title":"r","related":[{"id":"\u0000"}]}`, "related[0].id", "NUL"},
			{blue, "/api/v1/detection-rules", `{"title":"r","log_source":{"prod\u0000uct":"windows"}}`, "log_source", "NUL"},
			{blue, "/api/v1/detection-rules", "{\"title\":\"r\",\"tags\":[\"ok\",\"\xed\xa0\x80\"]}", "tags[1]", "UTF-8"},
			{blue, "/api/v1/detection-rules", "{\"title\":\"r\",\"detection\":{\"sel\":{\"a\":[\"\xc0\xaf\"]}}}", "detection.sel.a[0]", "UTF-8"},
		} {
			rec := c.who.Do(http.MethodPost, c.path, []byte(c.body))
			p := apitest.ProblemOf(t, rec)
			if rec.Code != http.StatusBadRequest || !strings.HasPrefix(p.Field, c.field) || !strings.Contains(p.Detail, c.want) {
				t.Errorf("POST %s %.80q: %d field %q %q, want 400 naming %q and saying %q", c.path, c.body, rec.Code, p.Field, p.Detail, c.field, c.want)
			}
		}
		// Nothing was stored: the only template and rule are the fixture's.
		for path, want := range map[string]int{"/api/v1/tests": 0, "/api/v1/templates": 1, "/api/v1/detection-rules": 1} {
			var pg page[map[string]any]
			red.Want(http.StatusOK, http.MethodGet, path, nil, &pg)
			if pg.Total != want {
				t.Errorf("GET %s: %d after refused bodies, want %d", path, pg.Total, want)
			}
		}
		// What is allowed: 64 levels, and a surrogate pair.
		var rule map[string]any
		blue.Want(http.StatusCreated, http.MethodPost, "/api/v1/detection-rules",
			[]byte(`{"title":"ok \ud83d\ude00","detection":`+nest(63)+`}`), &rule)
		if rule["title"] != "ok 😀" {
			t.Errorf("a surrogate pair became %q", rule["title"])
		}
	})
}

// TestSecuritySearchQuotesAndWildcards: a search of `'` followed by many characters
// answered 500 on /templates?search= and ?platform=; `%` and `_` were LIKE wildcards
// (search=_ matched 1,219 templates). Through the API, on both databases, each is a
// literal character now.
func TestSecuritySearchQuotesAndWildcards(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newFlowEnv(t, st, 0)
		red := e.as[core.RoleRedTech]
		for _, name := range []string{"disk_wipe at 100%", "plain name"} {
			red.Want(http.StatusCreated, http.MethodPost, "/api/v1/templates", map[string]any{"name": name, "technique_ids": []string{"T1059"}}, nil)
		}
		quote := "'" + strings.Repeat("x", 240)
		for _, c := range []struct {
			query string
			want  int
		}{
			{"search=_", 1},
			{"search=%25", 1},
			{"search=" + url.QueryEscape("k_w"), 1}, // disk_wipe
			{"search=" + url.QueryEscape("k%w"), 0}, // not a wildcard for "_"
			{"search=" + url.QueryEscape("__"), 0},
			{"search=" + url.QueryEscape(quote), 0},
			{"platform=" + url.QueryEscape(quote), 0},
			{"search=" + url.QueryEscape(`\`), 0},
			{"search=" + url.QueryEscape(`\%`), 0},
		} {
			for _, path := range []string{"/api/v1/templates", "/api/v1/detection-rules", "/api/v1/techniques"} {
				var pg page[map[string]any]
				red.Want(http.StatusOK, http.MethodGet, path+"?"+c.query, nil, &pg)
				if path == "/api/v1/templates" && pg.Total != c.want {
					t.Errorf("GET %s?%s: %d templates, want %d", path, c.query, pg.Total, c.want)
				}
			}
		}
	})
}
