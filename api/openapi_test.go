package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

type openAPIOp struct {
	OperationID string             `json:"operationId"`
	Summary     string             `json:"summary"`
	Tags        []string           `json:"tags"`
	Roles       []string           `json:"x-aegis-roles"`
	Public      bool               `json:"x-aegis-public"`
	Security    []map[string][]any `json:"security"`
	Parameters  []map[string]any   `json:"parameters"`
	Responses   map[string]any     `json:"responses"`
	RequestBody map[string]any     `json:"requestBody"`
}

type openAPIDoc struct {
	OpenAPI    string                          `json:"openapi"`
	Paths      map[string]map[string]openAPIOp `json:"paths"`
	Components struct {
		Schemas map[string]json.RawMessage `json:"schemas"`
	} `json:"components"`
}

func fetchOpenAPI(t *testing.T, h http.Handler) (openAPIDoc, []byte) {
	t.Helper()
	rec := apitest.Anonymous(t, h).Want(http.StatusOK, http.MethodGet, "/api/v1/openapi.json", nil, nil)
	var doc openAPIDoc
	apitest.Decode(t, rec, &doc)
	return doc, rec.Body.Bytes()
}

// TestOpenAPIMatchesRouter checks the document against what echo really serves: every
// route registered under /api/v1 is documented, every documented operation is
// registered, and each lists the roles of the route table.
func TestOpenAPIMatchesRouter(t *testing.T) {
	srv := New(ServicesFor(storetest.Open(t, store.SQLite), Deps{Version: "9.9.9"}))
	doc, raw := fetchOpenAPI(t, srv.Handler())
	if doc.OpenAPI != "3.0.3" || !strings.Contains(string(raw), `"version":"9.9.9"`) {
		t.Fatalf("header: openapi %q", doc.OpenAPI)
	}

	for _, problem := range openAPIDrift(doc, srv.Echo().Routes()) {
		t.Error(problem)
	}
	documented := map[string]openAPIOp{}
	var keys []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented[strings.ToUpper(method)+" "+path] = op
			keys = append(keys, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(keys)
	if len(keys) < 20 {
		t.Fatalf("only %d operations documented: %v", len(keys), keys)
	}

	ids := map[string]string{}
	for _, r := range srv.routes() {
		p, params := openAPIPath(r.Path)
		op, ok := documented[r.Method+" "+p]
		if !ok {
			t.Errorf("route %s %s missing from the document", r.Method, r.Path)
			continue
		}
		var want []string
		for _, role := range r.Roles {
			want = append(want, string(role))
		}
		if !slices.Equal(op.Roles, want) && !(len(op.Roles) == 0 && len(want) == 0) {
			t.Errorf("%s %s: x-aegis-roles %v, route table %v", r.Method, r.Path, op.Roles, want)
		}
		if op.Public != r.Public || (r.Public && len(op.Security) != 0) || (!r.Public && len(op.Security) == 0) {
			t.Errorf("%s %s: public %t security %v, route table public %t", r.Method, r.Path, op.Public, op.Security, r.Public)
		}
		if r.SessionOnly && (len(op.Security) != 1 || op.Security[0]["sessionCookie"] == nil) {
			t.Errorf("%s %s is session-only but documents %v", r.Method, r.Path, op.Security)
		}
		if op.Summary == "" || len(op.Tags) != 1 || op.Responses["default"] == nil {
			t.Errorf("%s %s: summary %q tags %v", r.Method, r.Path, op.Summary, op.Tags)
		}
		for _, name := range params {
			if !slices.ContainsFunc(op.Parameters, func(p map[string]any) bool { return p["name"] == name && p["in"] == "path" }) {
				t.Errorf("%s %s: path parameter %s not declared", r.Method, r.Path, name)
			}
		}
		if other, dup := ids[op.OperationID]; dup {
			t.Errorf("operationId %s used by %s and %s %s", op.OperationID, other, r.Method, r.Path)
		}
		ids[op.OperationID] = r.Method + " " + r.Path
	}

	// Every schema reference resolves.
	for _, m := range regexp.MustCompile(`"\$ref":"#/components/schemas/([^"]+)"`).FindAllStringSubmatch(string(raw), -1) {
		if _, ok := doc.Components.Schemas[m[1]]; !ok {
			t.Errorf("dangling schema reference %s", m[1])
		}
	}
	if !strings.Contains(string(doc.Components.Schemas["User"]), `"enum":["admin","red_lead","red_tech","blue_lead","blue_tech","viewer"]`) {
		t.Errorf("User schema does not enumerate the roles: %s", doc.Components.Schemas["User"])
	}
	if strings.Contains(string(doc.Components.Schemas["User"]), "password_hash") {
		t.Error("the User schema documents password_hash, which is never sent")
	}
}

// openAPIDrift compares the document with the routes echo serves: every route under
// /api/v1 must be documented, and every documented operation must be served.
func openAPIDrift(doc openAPIDoc, routes []*echo.Route) []string {
	var problems []string
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	registered := map[string]bool{}
	for _, r := range routes {
		p, _ := openAPIPath(r.Path)
		registered[r.Method+" "+p] = true
		if strings.HasPrefix(r.Path, "/api/v1/") && !documented[r.Method+" "+p] {
			problems = append(problems, "registered route "+r.Method+" "+r.Path+" is not in the OpenAPI document")
		}
	}
	for k := range documented {
		if !registered[k] {
			problems = append(problems, "the OpenAPI document lists "+k+", which the router does not serve")
		}
	}
	sort.Strings(problems)
	return problems
}

// TestOpenAPIDriftIsCaught registers a route outside the table, as a careless change
// would, and forges a documented operation that nothing serves: the comparison must
// report both.
func TestOpenAPIDriftIsCaught(t *testing.T) {
	srv := New(ServicesFor(storetest.Open(t, store.SQLite), Deps{}))
	srv.Echo().GET("/api/v1/sneaky/:id", func(c echo.Context) error { return nil })
	doc, _ := fetchOpenAPI(t, srv.Handler())
	doc.Paths["/api/v1/ghost"] = map[string]openAPIOp{"get": {}}
	got := openAPIDrift(doc, srv.Echo().Routes())
	want := []string{
		"registered route GET /api/v1/sneaky/:id is not in the OpenAPI document",
		"the OpenAPI document lists GET /api/v1/ghost, which the router does not serve",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("drift found:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestOpenAPIDocumentsTheEvidenceUploadForm(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	rec := httptest.NewRecorder()
	New(ServicesFor(st, Deps{})).Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Schema struct {
						Properties map[string]struct{ Format string }
					}
				}
			} `json:"requestBody"`
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	form, ok := doc.Paths["/api/v1/tests/{id}/evidence"]["post"].RequestBody.Content["multipart/form-data"]
	if !ok || form.Schema.Properties["file"].Format != "binary" || len(form.Schema.Properties) != 3 {
		t.Fatalf("upload form: %+v", form)
	}
}

// Every ?search= says its syntax, and the lists named full-text are routes that take a
// search: a renamed route cannot keep the substring description by mistake.
func TestOpenAPIDescribesSearch(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	rec := httptest.NewRecorder()
	New(ServicesFor(st, Deps{})).Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In, Description string }
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	ranked, searched := 0, 0
	for path, ops := range doc.Paths {
		for _, p := range ops["get"].Parameters {
			if p.Name != "search" || p.In != "query" {
				continue
			}
			searched++
			full := strings.Contains(p.Description, "by relevance")
			if full {
				ranked++
			}
			if full != fullTextSearch[path] || !strings.Contains(p.Description, "16 terms") {
				t.Errorf("GET %s: search described as %q", path, p.Description)
			}
		}
	}
	if ranked != len(fullTextSearch) || searched <= ranked {
		t.Errorf("%d of %d searches ranked, want the %d full-text lists", ranked, searched, len(fullTextSearch))
	}
}
