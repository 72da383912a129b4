package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
)

// The OpenAPI document is generated from the route table at run time, so it cannot
// drift from what the router serves: a route that exists is documented with the roles
// that may call it, and nothing else is.

func (s *Server) openAPIRoutes() []route {
	return []route{
		{Method: http.MethodGet, Path: "/api/v1/openapi.json", Summary: "This OpenAPI 3 document", Tag: "meta",
			Public: true, Handler: s.openAPI},
	}
}

func (s *Server) openAPI(c echo.Context) error {
	s.openAPIOnce.Do(func() { s.openAPIDoc, s.openAPIErr = json.Marshal(buildOpenAPI(s.routes(), s.deps.Version)) })
	if s.openAPIErr != nil {
		return s.openAPIErr
	}
	return c.JSONBlob(http.StatusOK, s.openAPIDoc)
}

// openAPICache is embedded in Server through its field; the document is built once.
type openAPICache struct {
	openAPIOnce sync.Once
	openAPIDoc  []byte
	openAPIErr  error
}

type obj = map[string]any

var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// openAPIPath turns echo's /users/:id into OpenAPI's /users/{id} (and a trailing *
// into {path}), returning the parameter names in order.
func openAPIPath(p string) (string, []string) {
	var names []string
	for _, m := range echoParam.FindAllStringSubmatch(p, -1) {
		names = append(names, m[1])
	}
	p = echoParam.ReplaceAllString(p, "{$1}")
	if strings.HasSuffix(p, "*") {
		p = strings.TrimSuffix(p, "*") + "{path}"
		names = append(names, "path")
	}
	return p, names
}

// routeTag is the route's Tag, or the first path segment after /api/v1/.
func routeTag(r route) string {
	if r.Tag != "" {
		return r.Tag
	}
	rest, ok := strings.CutPrefix(r.Path, "/api/v1/")
	if !ok {
		return "system"
	}
	seg, _, _ := strings.Cut(rest, "/")
	return seg
}

func operationID(method, path string) string {
	path = strings.TrimPrefix(path, "/api/v1")
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	up := true
	for _, r := range path {
		switch {
		case r == ':' || r == '*':
			b.WriteString("By")
			up = true
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if up {
				r = unicode.ToUpper(r)
			}
			b.WriteRune(r)
			up = false
		default:
			up = true
		}
	}
	return b.String()
}

func buildOpenAPI(routes []route, version string) obj {
	if version == "" {
		version = "dev"
	}
	// A first pass over the answers learns which structs they use, so only a request
	// schema whose type is also an answer needs a name of its own.
	answers := &schemaGen{defs: obj{}, names: map[schemaKey]string{}, taken: map[string]schemaKey{}}
	for _, r := range routes {
		if r.Response != nil {
			answers.schema(reflect.TypeOf(r.Response))
		}
	}
	sg := &schemaGen{defs: obj{}, names: map[schemaKey]string{}, taken: map[string]schemaKey{}, answers: map[reflect.Type]bool{}}
	for k := range answers.names {
		sg.answers[k.t] = true
	}
	sg.defs["Problem"] = obj{"type": "object", "description": "RFC 9457 problem details",
		"required": []string{"type", "title", "status"},
		"properties": obj{"type": obj{"type": "string"}, "title": obj{"type": "string"}, "status": obj{"type": "integer"},
			"detail": obj{"type": "string"}, "instance": obj{"type": "string"}, "code": obj{"type": "string"},
			"field": obj{"type": "string"}, "extra": obj{"type": "object", "additionalProperties": true}}}
	problem := obj{"description": "Error (RFC 9457 problem document)",
		"content": obj{"application/problem+json": obj{"schema": obj{"$ref": "#/components/schemas/Problem"}}}}

	paths := obj{}
	tags := map[string]bool{}
	for _, r := range routes {
		path, params := openAPIPath(r.Path)
		item, _ := paths[path].(obj)
		if item == nil {
			item = obj{}
			paths[path] = item
		}
		tag := routeTag(r)
		tags[tag] = true
		roles := make([]string, 0, len(r.Roles))
		for _, role := range r.Roles {
			roles = append(roles, string(role))
		}
		op := obj{
			"operationId":   operationID(r.Method, r.Path),
			"summary":       r.Summary,
			"tags":          []string{tag},
			"x-aegis-roles": roles,
		}
		var parameters []obj
		for _, name := range params {
			parameters = append(parameters, obj{"name": name, "in": "path", "required": true, "schema": obj{"type": "string"}})
		}
		for _, name := range r.Query {
			p := obj{"name": name, "in": "query", "required": false, "schema": obj{"type": "string"}}
			if name == "search" {
				p["description"] = searchDescription(fullTextSearch[r.Path])
			}
			parameters = append(parameters, p)
		}
		if isPaged(r.Response) {
			for _, name := range []string{"limit", "offset"} {
				if slices.Contains(r.Query, name) {
					continue
				}
				parameters = append(parameters, obj{"name": name, "in": "query", "required": false,
					"schema": obj{"type": "integer", "minimum": 0}})
			}
		}
		switch {
		case r.Public:
			op["security"] = []obj{}
			op["x-aegis-public"] = true
		case r.SessionOnly:
			op["security"] = []obj{{"sessionCookie": []string{}}}
		default:
			op["security"] = []obj{{"sessionCookie": []string{}}, {"bearerToken": []string{}}}
		}
		if !r.Public && !safeMethod(r.Method) {
			parameters = append(parameters, obj{"name": CSRFHeader, "in": "header", "required": false,
				"description": "Required with the session cookie (the csrf_token from sign-in); not used with a Bearer token",
				"schema":      obj{"type": "string"}})
		}
		if parameters != nil {
			op["parameters"] = parameters
		}
		if len(r.Form) > 0 {
			props := obj{}
			names := make([]string, 0, len(r.Form))
			for name := range r.Form {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				p := obj{"type": "string", "description": r.Form[name]}
				if name == "file" {
					p["format"] = "binary"
				}
				props[name] = p
			}
			op["requestBody"] = obj{"required": true, "content": obj{"multipart/form-data": obj{"schema": obj{
				"type": "object", "properties": props, "required": []string{"file"}}}}}
		}
		if r.Request != nil {
			body := sg.requestSchema(reflect.TypeOf(r.Request))
			if len(r.Require) > 0 || len(r.RequireAnyOf) > 0 || r.MinFields > 0 {
				body = obj{"allOf": []obj{body}}
				if r.MinFields > 0 {
					body["minProperties"] = r.MinFields
				}
				if len(r.Require) > 0 {
					body["required"] = r.Require
				}
				if len(r.RequireAnyOf) > 0 {
					alts := make([]obj, len(r.RequireAnyOf))
					for i, names := range r.RequireAnyOf {
						alts[i] = obj{"required": names}
					}
					body["anyOf"] = alts
				}
			}
			op["requestBody"] = obj{"required": !r.BodyOptional,
				"content": obj{"application/json": obj{"schema": body}}}
		}
		ok := obj{"description": "Success"}
		if r.Response != nil {
			ok["content"] = obj{"application/json": obj{"schema": sg.schema(reflect.TypeOf(r.Response))}}
		}
		op["responses"] = obj{"2XX": ok, "default": problem}
		item[strings.ToLower(r.Method)] = op
	}
	tagList := make([]string, 0, len(tags))
	for t := range tags {
		tagList = append(tagList, t)
	}
	sort.Strings(tagList)
	tagObjs := make([]obj, 0, len(tagList))
	for _, t := range tagList {
		tagObjs = append(tagObjs, obj{"name": t})
	}
	return obj{
		"openapi": "3.0.3",
		"info": obj{"title": "Aegis API", "version": version,
			"description": "Purple-team coverage platform. Every operation lists the roles that may call it in x-aegis-roles."},
		"servers": []obj{{"url": "/"}},
		"tags":    tagObjs,
		"paths":   paths,
		"components": obj{
			"schemas": sg.defs,
			"securitySchemes": obj{
				"sessionCookie": obj{"type": "apiKey", "in": "cookie", "name": SessionCookie,
					"description": "Set by POST /api/v1/auth/login. Unsafe methods also need the " + CSRFHeader + " header."},
				"bearerToken": obj{"type": "http", "scheme": "bearer",
					"description": "A personal API token (aeg_...). Tokens of scope read may only GET."},
			},
		},
	}
}

// schemaGen turns Go types into JSON Schema (the OpenAPI 3.0 dialect), naming each
// struct once under components/schemas.
//
// A struct has two schemas. As an answer, a field is required unless it is
// omitted when empty: the server always sends it. As a request body, a field is
// required only when its type tags it api:"required" (or the route says so): the
// server's own checks decide what a client must send, and the tags say the same
// (TestDocumentedMinimalBodies sends every documented minimal body, and each one
// without each required field). A type that is both gets the suffix Input on its
// request schema (unless its name already says it is one), so both can live under
// components/schemas.
type schemaGen struct {
	defs    obj
	names   map[schemaKey]string
	taken   map[string]schemaKey
	request bool
	// answers are the structs some answer uses.
	answers map[reflect.Type]bool
}

type schemaKey struct {
	t       reflect.Type
	request bool
}

// requestSchema is the schema of t as a request body.
func (g *schemaGen) requestSchema(t reflect.Type) obj {
	g.request = true
	defer func() { g.request = false }()
	return g.schema(t)
}

// valueTyper is a wrapper that stands for its value in JSON (testflow.Opt).
type valueTyper interface{ ValueType() reflect.Type }

var valueTyperType = reflect.TypeOf((*valueTyper)(nil)).Elem()

// fieldEnums are the value lists a field names with api:"enum=NAME": plain string
// fields whose values the core checks.
var fieldEnums = map[string]func() []string{
	"attack_outcome":     func() []string { return core.AttackOutcomes },
	"remediation_status": func() []string { return core.RemediationStatuses },
	"rule_level":         func() []string { return core.RuleLevels },
	"export_scope":       func() []string { return core.ScopeKinds },
}

var (
	timeType = reflect.TypeOf(time.Time{})
	jsonType = reflect.TypeOf(core.JSON{})
	rawType  = reflect.TypeOf(json.RawMessage{})
	// enums lists the values of the domain's string enumerations a client should know.
	enums = map[reflect.Type]func() []string{
		reflect.TypeOf(core.Role("")): func() []string {
			out := make([]string, len(core.Roles))
			for i, r := range core.Roles {
				out[i] = string(r)
			}
			return out
		},
		reflect.TypeOf(core.TokenScope("")): func() []string {
			return []string{string(core.ScopeRead), string(core.ScopeReadWrite)}
		},
		reflect.TypeOf(core.VoteDecision("")):   func() []string { return strs(core.VoteDecisions) },
		reflect.TypeOf(core.CampaignStatus("")): func() []string { return strs(core.CampaignStatuses) },
		reflect.TypeOf(core.Recurrence("")):     func() []string { return strs(core.Recurrences) },
	}
	pkgPath = regexp.MustCompile(`[\w./-]*\.`)
)

func strs[S ~string](in []S) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = string(v)
	}
	return out
}

// typeName is a schema name for t: Paged[*core.APIToken] becomes PagedAPIToken,
// loginRequest LoginRequest; a request schema NewTest becomes NewTestInput.
func (g *schemaGen) typeName(t reflect.Type) string {
	key := schemaKey{t, g.request}
	n := pkgPath.ReplaceAllString(t.Name(), "")
	n = strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, n)
	if n == "" {
		n = "Object"
	}
	n = string(unicode.ToUpper(rune(n[0]))) + n[1:]
	if g.request && g.answers[t] && !inputName.MatchString(n) {
		n += "Input"
	}
	base := n
	for i := 2; ; i++ {
		if other, ok := g.taken[n]; !ok || other == key {
			break
		}
		n = fmt.Sprintf("%s%d", base, i)
	}
	g.taken[n] = key
	return n
}

// inputName matches type names that already say they are request bodies.
var inputName = regexp.MustCompile(`(Input|Request|Body|Doc|Patch)$`)

func (g *schemaGen) schema(t reflect.Type) obj {
	if f, ok := enums[t]; ok {
		return obj{"type": "string", "enum": f()}
	}
	if t.Kind() == reflect.Struct && t.Implements(valueTyperType) {
		s := g.schema(reflect.Zero(t).Interface().(valueTyper).ValueType())
		if _, isRef := s["$ref"]; !isRef {
			s["nullable"] = true
		}
		return s
	}
	switch t {
	case timeType:
		return obj{"type": "string", "format": "date-time"}
	case jsonType, rawType:
		return obj{"description": "any JSON value"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := g.schema(t.Elem())
		if _, isRef := s["$ref"]; !isRef {
			s["nullable"] = true
		}
		return s
	case reflect.String:
		return obj{"type": "string"}
	case reflect.Bool:
		return obj{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return obj{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return obj{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return obj{"type": "string", "format": "byte"}
		}
		return obj{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return obj{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		if name, ok := g.names[schemaKey{t, g.request}]; ok {
			return obj{"$ref": "#/components/schemas/" + name}
		}
		name := g.typeName(t)
		g.names[schemaKey{t, g.request}] = name
		s := obj{"type": "object"}
		g.defs[name] = s // before the fields, so a type that refers to itself ends
		props, required := obj{}, []string{}
		g.fields(t, props, &required)
		s["properties"] = props
		if len(required) > 0 {
			sort.Strings(required)
			s["required"] = required
		}
		return obj{"$ref": "#/components/schemas/" + name}
	}
	return obj{}
}

// fields adds t's JSON fields to props, flattening embedded structs as encoding/json does.
func (g *schemaGen) fields(t reflect.Type, props obj, required *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, props, required)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		p := g.schema(ft)
		api := strings.Split(f.Tag.Get("api"), ",")
		for _, a := range api {
			if e, ok := strings.CutPrefix(a, "enum="); ok {
				values, known := fieldEnums[e]
				if !known {
					panic(fmt.Sprintf("openapi: %s.%s names enum %q, which fieldEnums lacks", t, f.Name, e))
				}
				target := p
				if p["type"] == "array" {
					target = p["items"].(obj)
				}
				target["enum"] = values()
			}
		}
		if ex, ok := f.Tag.Lookup("example"); ok {
			if _, isRef := p["$ref"]; !isRef {
				var v any = ex
				if p["type"] != "string" {
					if err := json.Unmarshal([]byte(ex), &v); err != nil {
						panic(fmt.Sprintf("openapi: %s.%s: example %q is not JSON: %v", t, f.Name, ex, err))
					}
				}
				p["example"] = v
			}
		}
		props[name] = p
		if g.request {
			if slices.Contains(api, "required") {
				*required = append(*required, name)
			}
		} else if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") && ft.Kind() != reflect.Pointer {
			*required = append(*required, name)
		}
	}
}

// OpenAPIDocument is the OpenAPI document of the route table, indented, without a
// running server or a database: the web app generates its API types from it.
func OpenAPIDocument(version string) ([]byte, error) {
	s := New(Deps{Version: version})
	return json.MarshalIndent(buildOpenAPI(s.routes(), version), "", "  ")
}

// isPaged says whether a response is the Paged envelope, whose route reads limit and
// offset (pageParams).
func isPaged(resp any) bool {
	if resp == nil {
		return false
	}
	return strings.HasPrefix(reflect.TypeOf(resp).Name(), "Paged[")
}

// fullTextSearch names the lists whose ?search= goes through a full-text index (the
// store's where.fullText, migration 0200); the others match substrings.
var fullTextSearch = map[string]bool{"/api/v1/templates": true, "/api/v1/detection-rules": true,
	"/api/v1/techniques": true, "/api/v1/threat-actors": true}

// searchDescription is the syntax of a search box, as docs/SECURITY.md ("Search") gives it.
func searchDescription(fullText bool) string {
	const bounds = " At most 256 bytes and 16 terms."
	if !fullText {
		return "Words and \"quoted phrases\"; a row must hold every one, as a substring in any letter case, in any of the searched fields. " +
			"% and _ are literal characters." + bounds
	}
	return "Words and \"quoted phrases\", every one required, in any order; results come by relevance (a match in the title or name first). " +
		"A word matches words that begin with it, in any letter case (powersh finds PowerShell). " +
		"A term with punctuation or spaces (T1059.001, cmd.exe, -enc, a \"quoted phrase\") must appear as written. " +
		"Nothing is query syntax: AND, OR, NOT, NEAR, *, ^, :, (, ) are searched as text." + bounds
}
