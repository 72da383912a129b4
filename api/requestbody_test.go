package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/api"
	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/exporter"
	"github.com/aegis-sec/aegis/core/importer"
	"github.com/aegis-sec/aegis/core/pluginhost"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
	"github.com/aegis-sec/aegis/internal/testplugins"
)

// A write route's fixture: the path with its parameters filled, who calls it, and
// the values a minimal body must carry that depend on the data (a version, a
// password) rather than on the document. Only fields the document requires are
// overridden; a fixture never adds a field the document does not require.
type bodyFixture struct {
	path   string
	as     *apitest.Client
	values map[string]any
	// status is the success the route answers (200 unless set).
	status int
}

// TestDocumentedMinimalBodies holds the OpenAPI document to what the server
// accepts. For every write route it builds the smallest body the document
// allows (its required fields, filled from their examples and enums) and sends it
// to an object in the state the route needs: the answer must be the route's
// success. Then it sends the body without each required field in turn: the answer
// must be 400 naming that field, or the document claims a requirement the server
// does not have. A route without a fixture here fails the test, so a new route is
// documented correctly from its first day.
func TestDocumentedMinimalBodies(t *testing.T) {
	bin := testplugins.Build(t, "misbehave")
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cfg := config.Default()
		cfg.Plugins = []config.Plugin{{Name: "mis", Path: bin, Enabled: true, Timeout: time.Minute,
			Config: json.RawMessage(`{"mode":"ok"}`), Source: t.TempDir(), Range: "t:1"}}
		host := pluginhost.New(cfg, nil)
		imports := importer.NewService(ctx, &importer.Runner{Store: st, Host: host})
		exports := exporter.NewService(ctx, &exporter.Runner{Store: st, Host: host})
		e := newFlowEnv(t, st, 1<<20, func(d *api.Deps) { d.Imports, d.Exports = imports, exports })
		t.Cleanup(func() { imports.Wait(); exports.Wait() })

		var doc openAPIDoc
		apitest.Anonymous(t, e.h).Want(http.StatusOK, http.MethodGet, "/api/v1/openapi.json", nil, &doc)
		fixtures := minimalBodyFixtures(t, e)
		var keys []string
		for path, item := range doc.Paths {
			for method := range item {
				if method != "get" && method != "head" {
					keys = append(keys, strings.ToUpper(method)+" "+path)
				}
			}
		}
		sort.Strings(keys)
		seen := map[string]bool{}
		for _, key := range keys {
			seen[key] = true
			method, path, _ := strings.Cut(key, " ")
			op := doc.Paths[path][strings.ToLower(method)]
			fixture, ok := fixtures[key]
			if !ok {
				t.Errorf("%s: no fixture in minimalBodyFixtures; add one so its documented body is tried", key)
				continue
			}
			t.Run(key, func(t *testing.T) {
				// The shared clients fail this subtest, not the whole run.
				for _, c := range e.as {
					c.T = t
				}
				fx := fixture(t)
				want := fx.status
				if want == 0 {
					want = http.StatusOK
				}
				if form, ok := op.RequestBody.Content["multipart/form-data"]; ok {
					checkForm(t, fx, method, want, doc.schema(form.Schema))
					return
				}
				media, hasBody := op.RequestBody.Content["application/json"]
				if !hasBody {
					rec := fx.as.Do(method, fx.path, nil)
					if rec.Code != want {
						t.Fatalf("%s %s without a body: %d, want %d: %s", method, fx.path, rec.Code, want, rec.Body)
					}
					return
				}
				body, required, alternatives, minProps := doc.minimalBody(t, media.Schema, fx.values)
				for _, name := range required {
					without := map[string]any{}
					for k, v := range body {
						if k != name {
							without[k] = v
						}
					}
					rec := fx.as.Do(method, fx.path, without)
					if rec.Code != http.StatusBadRequest {
						t.Errorf("%s %s without required %q: %d, want 400 (the document says it is required): %s",
							method, fx.path, name, rec.Code, rec.Body)
						continue
					}
					// Without one field of an anyOf alternative, the server may name
					// a field of the other alternative it now expects.
					p, named := apitest.ProblemOf(t, rec), false
					for _, f := range append([]string{name}, alternatives...) {
						named = named || strings.Contains(p.Field+" "+p.Detail, f)
					}
					if !named {
						t.Errorf("%s %s without required %q: the problem does not name it: %+v", method, fx.path, name, p)
					}
				}
				// A value outside a documented enum is refused, naming the field.
				for _, name := range doc.enumFields(media.Schema) {
					bad := map[string]any{name: "not-a-documented-value"}
					for k, v := range body {
						if k != name {
							bad[k] = v
						}
					}
					rec := fx.as.Do(method, fx.path, bad)
					if rec.Code != http.StatusBadRequest {
						t.Errorf("%s %s with %s outside its enum: %d, want 400: %s", method, fx.path, name, rec.Code, rec.Body)
					} else if p := apitest.ProblemOf(t, rec); !strings.Contains(p.Field+" "+p.Detail, name) {
						t.Errorf("%s %s with %s outside its enum: the problem does not name it: %+v", method, fx.path, name, p)
					}
					fx = fixture(t)
				}
				if minProps > len(required) {
					// minProperties: a partial update that changes nothing is refused.
					only := map[string]any{}
					for _, name := range required {
						only[name] = body[name]
					}
					if rec := fx.as.Do(method, fx.path, only); rec.Code != http.StatusBadRequest {
						t.Errorf("%s %s with %v: %d, want 400 (the document asks for %d fields at least): %s", method, fx.path, only, rec.Code, minProps, rec.Body)
					}
				}
				if !op.RequestBody.Required {
					if rec := fx.as.Do(method, fx.path, nil); rec.Code >= 400 {
						t.Errorf("%s %s: the document says the body is optional, but without one: %d %s", method, fx.path, rec.Code, rec.Body)
					}
					fx = fixture(t)
				}
				rec := fx.as.Do(method, fx.path, body)
				if rec.Code != want {
					t.Fatalf("%s %s with the documented minimal body %v: %d, want %d: %s", method, fx.path, body, rec.Code, want, rec.Body)
				}
			})
		}
		for key := range fixtures {
			if !seen[key] {
				t.Errorf("fixture %s matches no documented write route", key)
			}
		}
	})
}

type openAPIDoc struct {
	Paths map[string]map[string]struct {
		RequestBody struct {
			Required bool `json:"required"`
			Content  map[string]struct {
				Schema map[string]any `json:"schema"`
			} `json:"content"`
		} `json:"requestBody"`
	} `json:"paths"`
	Components struct {
		Schemas map[string]map[string]any `json:"schemas"`
	} `json:"components"`
}

// schema follows a $ref.
func (d *openAPIDoc) schema(s map[string]any) map[string]any {
	if ref, ok := s["$ref"].(string); ok {
		return d.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
	}
	return s
}

// minimalBody is the smallest object the schema allows: its required properties
// (with allOf merged and the first anyOf alternative taken), each a minimal value.
func (d *openAPIDoc) minimalBody(t *testing.T, s map[string]any, values map[string]any) (body map[string]any, required, alternatives []string, minProps int) {
	t.Helper()
	s = d.schema(s)
	props := map[string]any{}
	var merge func(s map[string]any)
	merge = func(s map[string]any) {
		s = d.schema(s)
		for _, sub := range asList(s["allOf"]) {
			merge(sub)
		}
		if alts := asList(s["anyOf"]); len(alts) > 0 {
			merge(alts[0])
			for _, alt := range alts[1:] {
				alternatives = append(alternatives, asStrings(alt["required"])...)
			}
		}
		if p, ok := s["properties"].(map[string]any); ok {
			for k, v := range p {
				props[k] = v
			}
		}
		for _, r := range asStrings(s["required"]) {
			if !slices.Contains(required, r) {
				required = append(required, r)
			}
		}
	}
	merge(s)
	if m, ok := s["minProperties"].(float64); ok {
		minProps = int(m)
	}
	body = map[string]any{}
	for _, name := range required {
		if v, ok := values[name]; ok {
			body[name] = v
			continue
		}
		p, ok := props[name].(map[string]any)
		if !ok {
			t.Fatalf("required field %q has no schema", name)
		}
		body[name] = d.minimalValue(t, name, p, values)
	}
	// A partial update that must name some field (minProperties) takes the ones
	// its fixture chooses; otherwise a fixture only fills required fields.
	for name, v := range values {
		if slices.Contains(required, name) {
			continue
		}
		if len(body) >= minProps {
			t.Fatalf("the fixture sets %q, which the document does not require", name)
		}
		if _, ok := props[name]; !ok {
			t.Fatalf("the fixture sets %q, which the document does not have", name)
		}
		body[name] = v
	}
	if len(body) < minProps {
		t.Fatalf("the schema asks for %d fields at least; the fixture gives %d", minProps, len(body))
	}
	return body, required, alternatives, minProps
}

// enumFields are the top-level string properties of a request schema that list
// their values.
func (d *openAPIDoc) enumFields(s map[string]any) []string {
	var out []string
	var walk func(s map[string]any)
	walk = func(s map[string]any) {
		s = d.schema(s)
		for _, sub := range asList(s["allOf"]) {
			walk(sub)
		}
		props, _ := s["properties"].(map[string]any)
		for name, p := range props {
			if m, ok := p.(map[string]any); ok && m["type"] == "string" && m["enum"] != nil {
				out = append(out, name)
			}
		}
	}
	walk(s)
	sort.Strings(out)
	return out
}

func (d *openAPIDoc) minimalValue(t *testing.T, name string, p map[string]any, values map[string]any) any {
	p = d.schema(p)
	if ex, ok := p["example"]; ok {
		return ex
	}
	if enum := asList(p["enum"]); len(enum) > 0 {
		return p["enum"].([]any)[0]
	}
	switch p["type"] {
	case "string":
		if p["format"] == "date-time" {
			return time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
		}
		return "minimal " + name
	case "integer", "number":
		return 1
	case "boolean":
		return true
	case "array":
		return []any{d.minimalValue(t, name, p["items"].(map[string]any), nil)}
	case "object":
		body, _, _, _ := d.minimalBody(t, p, nil)
		return body
	}
	t.Fatalf("required field %q: no minimal value for schema %v", name, p)
	return nil
}

func checkForm(t *testing.T, fx bodyFixture, method string, want int, s map[string]any) {
	t.Helper()
	send := func(fields []string) *httptest.ResponseRecorder {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for _, f := range fields {
			if f == "file" {
				w, _ := mw.CreateFormFile("file", "minimal.txt")
				w.Write([]byte("minimal evidence\n"))
			} else {
				mw.WriteField(f, fmt.Sprint(fx.values[f]))
			}
		}
		mw.Close()
		return fx.as.DoContent(method, fx.path, mw.FormDataContentType(), buf.Bytes())
	}
	required := asStrings(s["required"])
	for _, name := range required {
		var rest []string
		for _, r := range required {
			if r != name {
				rest = append(rest, r)
			}
		}
		if rec := send(rest); rec.Code != http.StatusBadRequest {
			t.Errorf("%s %s without required form field %q: %d, want 400: %s", method, fx.path, name, rec.Code, rec.Body)
		}
	}
	if rec := send(required); rec.Code != want {
		t.Fatalf("%s %s with the documented minimal form %v: %d, want %d: %s", method, fx.path, required, rec.Code, want, rec.Body)
	}
}

func asList(v any) []map[string]any {
	l, _ := v.([]any)
	out := make([]map[string]any, 0, len(l))
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		} else {
			out = append(out, map[string]any{"value": x})
		}
	}
	return out
}

func asStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		out = append(out, fmt.Sprint(x))
	}
	return out
}
