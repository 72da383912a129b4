package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/aegis-sec/aegis/api"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestHealthAndReadiness(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	srv := api.New(api.ServicesFor(st, api.Deps{Version: "1.2.3"}))
	h := srv.Handler()

	if rec := get(t, h, "/healthz"); rec.Code != 200 {
		t.Fatalf("/healthz = %d", rec.Code)
	}
	if rec := get(t, h, "/readyz"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "ready") {
		t.Fatalf("/readyz = %d %s", rec.Code, rec.Body)
	}
	rec := get(t, h, "/api/v1/version")
	if !strings.Contains(rec.Body.String(), `"version":"1.2.3"`) {
		t.Fatalf("version: %s", rec.Body)
	}
	if rec := get(t, h, "/metrics"); rec.Code != 200 || !strings.Contains(rec.Body.String(), `aegis_http_request_duration_seconds_count{method="GET",route="/api/v1/version",status="200"} 1`) {
		t.Fatalf("metrics do not count the version request:\n%s", rec.Body)
	}

	// With the database gone, readiness fails with a problem document; liveness does not.
	st.Close()
	rec = get(t, h, "/readyz")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("/readyz with closed db = %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var p map[string]any
	json.Unmarshal(rec.Body.Bytes(), &p)
	if p["status"] != float64(503) || p["code"] != "unavailable" || p["title"] != "Service Unavailable" {
		t.Fatalf("problem: %v", p)
	}
	if rec := get(t, h, "/healthz"); rec.Code != 200 {
		t.Fatalf("/healthz with closed db = %d", rec.Code)
	}
}

func TestUnknownAPIRouteIsProblem(t *testing.T) {
	srv := api.New(api.ServicesFor(storetest.Open(t, store.SQLite), api.Deps{}))
	rec := get(t, srv.Handler(), "/api/v1/nope")
	if rec.Code != 404 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
}

func TestSPA(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	// Not built: the root says how to build it.
	rec := get(t, api.New(api.ServicesFor(st, api.Deps{})).Handler(), "/")
	if !strings.Contains(rec.Body.String(), "make build") {
		t.Fatalf("placeholder page: %s", rec.Body)
	}
	// Built: files are served, client-side routes fall back to index.html, /api/ does not.
	dist := fstest.MapFS{
		"index.html":    {Data: []byte("<html>the app</html>")},
		"assets/app.js": {Data: []byte("console.log(1)")},
	}
	h := api.New(api.ServicesFor(st, api.Deps{Web: dist, WebBuilt: true})).Handler()
	// A sub-technique's page (a dot and digits in the last segment) is a route, not a file.
	if rec := get(t, h, "/techniques/T1059.001"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "the app") {
		t.Fatalf("sub-technique route: %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, h, "/favicon.svg"); rec.Code != 404 {
		t.Fatalf("missing file: %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, h, "/assets/app.js"); rec.Body.String() != "console.log(1)" {
		t.Fatalf("asset: %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, h, "/tests/123"); !strings.Contains(rec.Body.String(), "the app") {
		t.Fatalf("client route: %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, h, "/api/v1/nope"); rec.Code != 404 || strings.Contains(rec.Body.String(), "the app") {
		t.Fatalf("api path fell through to the SPA: %d %s", rec.Code, rec.Body)
	}

	// Hashed assets are cached for a year, index.html is revalidated on every load, and
	// every answer carries the CSP.
	asset, page := get(t, h, "/assets/app.js"), get(t, h, "/tests/123")
	if cc := asset.Header().Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") || !strings.Contains(cc, "immutable") {
		t.Errorf("asset Cache-Control = %q", cc)
	}
	if cc := page.Header().Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("index Cache-Control = %q", cc)
	}
	for _, rec := range []*httptest.ResponseRecorder{asset, page, get(t, h, "/")} {
		if csp := rec.Header().Get("Content-Security-Policy"); csp != api.ContentSecurityPolicy || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("CSP = %q", csp)
		}
	}
	if ct := page.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("index Content-Type = %q", ct)
	}
	// A missing hashed file is 404: a stale page must never get HTML for a script.
	if rec := get(t, h, "/assets/gone-1234.js"); rec.Code != 404 || strings.Contains(rec.Body.String(), "the app") {
		t.Errorf("missing asset: %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, h, "/assets/../index.html"); !strings.Contains(rec.Body.String(), "the app") {
		t.Errorf("cleaned path: %d", rec.Code)
	}
}

// One Content-Security-Policy outside /api/: the not-built page and the health checks
// (set by the middleware only) and the SPA's pages and files (served by its handler)
// carry the same policy, and no answer carries two. The middleware's own copy, laxer
// ('unsafe-inline' styles, data: fonts), used to reach every page but the SPA's files.
func TestOneContentSecurityPolicy(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	bare := api.New(api.ServicesFor(st, api.Deps{})).Handler()
	built := api.New(api.ServicesFor(st, api.Deps{Web: fstest.MapFS{"index.html": {Data: []byte("<html>the app</html>")},
		"assets/app.js": {Data: []byte("1")}}, WebBuilt: true})).Handler()
	for _, c := range []struct {
		h    http.Handler
		path string
	}{{bare, "/"}, {bare, "/healthz"}, {bare, "/readyz"}, {built, "/"}, {built, "/tests/1"}, {built, "/assets/app.js"}, {built, "/healthz"}} {
		rec := get(t, c.h, c.path)
		if got := rec.Header().Values("Content-Security-Policy"); len(got) != 1 || got[0] != api.ContentSecurityPolicy {
			t.Errorf("GET %s: CSP %q, want only %q", c.path, got, api.ContentSecurityPolicy)
		}
	}
	if body := get(t, bare, "/").Body.String(); strings.Contains(body, "style=") {
		t.Errorf("the not-built page has an inline style, which the policy refuses: %s", body)
	}
}
