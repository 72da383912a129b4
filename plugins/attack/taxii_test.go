package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// taxiiServer is a small TAXII 2.1 server: MITRE's discovery answer (with a
// host-relative API root), one API root, collections, and objects in pages
// of at most pageMax, paged by "next" or, for servers older than "next",
// by added_after and X-TAXII-Date-Added-Last.
type taxiiServer struct {
	*httptest.Server
	cols    []taxiiCol
	pageMax int
	byDate  bool // page by added_after instead of next
	failAll bool

	mu       sync.Mutex
	requests []string
}

type taxiiCol struct {
	ID, Title string
	Objects   []json.RawMessage
}

func newTAXIIServer(t *testing.T, cols ...taxiiCol) *taxiiServer {
	s := &taxiiServer{cols: cols, pageMax: 5}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// bundleObjects reads the objects of a bundle file.
func bundleObjects(t *testing.T, path string) []json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	return bundle.Objects
}

func (s *taxiiServer) reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *taxiiServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.URL.RequestURI())
	s.mu.Unlock()
	if s.failAll {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return
	}
	if r.Header.Get("Accept") != "application/taxii+json;version=2.1" {
		http.Error(w, `{"title":"Not Acceptable"}`, http.StatusNotAcceptable)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/taxii2/":
		s.reply(w, map[string]any{"title": "test TAXII", "default": "api/v21", "api_roots": []string{"api/v21"}})
	case p == "/api/v21/":
		s.reply(w, map[string]any{"title": "test root", "versions": []string{"application/taxii+json;version=2.1"}})
	case p == "/api/v21/collections/":
		var list []map[string]any
		for _, c := range s.cols {
			list = append(list, map[string]any{"id": c.ID, "title": c.Title, "can_read": true})
		}
		s.reply(w, map[string]any{"collections": list})
	case strings.HasPrefix(p, "/api/v21/collections/") && strings.HasSuffix(p, "/objects/"):
		id := strings.TrimSuffix(strings.TrimPrefix(p, "/api/v21/collections/"), "/objects/")
		for _, c := range s.cols {
			if c.ID == id {
				s.page(w, r, c)
				return
			}
		}
		http.NotFound(w, r)
	default:
		http.NotFound(w, r)
	}
}

// page serves objects[start:start+n]; the "date added" of object i is a
// timestamp made from i, so added_after can page as well.
func (s *taxiiServer) page(w http.ResponseWriter, r *http.Request, c taxiiCol) {
	q := r.URL.Query()
	n := s.pageMax
	if l, err := strconv.Atoi(q.Get("limit")); err == nil && l > 0 && l < n {
		n = l
	}
	start := 0
	if s.byDate {
		if a := q.Get("added_after"); a != "" {
			fmt.Sscanf(a, "2025-01-01T00:00:%d.000Z", &start)
			start++
		}
	} else if nx := q.Get("next"); nx != "" {
		start, _ = strconv.Atoi(strings.TrimPrefix(nx, "page-"))
	}
	end := min(start+n, len(c.Objects))
	env := map[string]any{"more": end < len(c.Objects), "objects": c.Objects[start:end]}
	if s.byDate {
		w.Header().Set("X-TAXII-Date-Added-First", fmt.Sprintf("2025-01-01T00:00:%02d.000Z", start))
		w.Header().Set("X-TAXII-Date-Added-Last", fmt.Sprintf("2025-01-01T00:00:%02d.000Z", end-1))
	} else if end < len(c.Objects) {
		env["next"] = "page-" + strconv.Itoa(end)
	}
	s.reply(w, env)
}

func (s *taxiiServer) objectRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if strings.Contains(r, "/objects/") {
			n++
		}
	}
	return n
}

const (
	enterpriseCollection = "x-mitre-collection--1f5f1533-f617-4ca8-9ab4-6a02367fa019"
	mobileCollection     = "x-mitre-collection--dac0d2d7-8653-445c-9bff-82f934c1e858"
)

// A TAXII import gives the same records as the bundle the server serves.
func TestTAXII(t *testing.T) {
	bundle := "testdata/bundle/enterprise-attack-18.1.json"
	want := recordJSON(t, runner.MustRun(t, bundle, ""))
	objs := bundleObjects(t, bundle)
	srv := newTAXIIServer(t,
		taxiiCol{ID: enterpriseCollection, Title: "Enterprise ATT&CK", Objects: objs},
		taxiiCol{ID: mobileCollection, Title: "Mobile ATT&CK", Objects: bundleObjects(t, "testdata/index/mobile-attack/mobile-attack-18.1.json")},
	)
	pages := (len(objs) + 2) / 3
	for _, c := range []struct{ name, cfg string }{
		{"discovery and title", `{"taxii":{"url":"` + srv.URL + `/taxii2/","collection":"enterprise att&ck","page_size":3}}`},
		{"api root and id", `{"taxii":{"url":"` + srv.URL + `/api/v21","collection":"` + enterpriseCollection + `","page_size":3}}`},
		{"collections URL and domain", `{"taxii":{"url":"` + srv.URL + `/api/v21/collections/","collection":"enterprise-attack","page_size":3}}`},
		{"domains select collections", `{"domains":["enterprise-attack"],"taxii":{"url":"` + srv.URL + `/taxii2/","page_size":3}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := srv.objectRequests()
			res := runOnce(t, "https://unused.example.test/enterprise-attack.json", c.cfg)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if got := recordJSON(t, res); got != want {
				t.Errorf("TAXII records differ from the bundle's:\n%s\nwant:\n%s", got, want)
			}
			if n := srv.objectRequests() - before; n != pages {
				t.Errorf("%d object pages requested, want %d", n, pages)
			}
			// The two malformed objects of the bundle are warned about by page.
			var w []string
			for _, d := range res.Warnings() {
				if strings.Contains(d.Summary, "malformed STIX object") {
					w = append(w, d.File)
				}
			}
			if len(w) != 2 || !strings.HasPrefix(w[0], srv.URL+"/api/v21/collections/"+enterpriseCollection+"/objects/ (page ") {
				t.Errorf("malformed-object warnings: %q", w)
			}
		})
	}

	// The server's base URL finds discovery at /taxii2/.
	res0 := runner.MustRun(t, srv.URL, `{"taxii":{"collection":"Mobile ATT&CK"}}`)
	if got := strings.Join(res0.IDs("technique"), ","); got != "T1404" {
		t.Errorf("base URL: %s", got)
	}
	// The source may be the TAXII server itself.
	res := runner.MustRun(t, srv.URL+"/taxii2/", `{"taxii":{"collection":"Mobile ATT&CK"}}`)
	if got := strings.Join(res.IDs("technique"), ","); got != "T1404" {
		t.Errorf("source as TAXII URL: %s", got)
	}
	// No selection: every ATT&CK collection.
	res = runner.MustRun(t, srv.URL+"/taxii2/", `{"taxii":{}}`)
	if r := res.ByKindID()["technique/T1404"]; r == nil || len(res.Records) != 15 {
		t.Errorf("all collections: %d records", len(res.Records))
	}

	srv.byDate = true
	res = runner.MustRun(t, "x", `{"taxii":{"url":"`+srv.URL+`/taxii2/","collection":"Enterprise ATT&CK"}}`)
	if got := recordJSON(t, res); got != want {
		t.Error("paging by added_after gives other records")
	}
	srv.byDate = false

	res = run(t, "x", `{"taxii":{"url":"`+srv.URL+`/taxii2/","collection":"ICS ATT&CK"}}`)
	if res.Err == nil || !strings.Contains(res.Err.Error(), `TAXII server has collection "ICS ATT&CK"; it has "Enterprise ATT&CK" (`+enterpriseCollection+`), "Mobile ATT&CK"`) || !strings.Contains(res.Err.Error(), "and the source, read instead") {
		t.Errorf("unknown collection: %v", res.Err)
	}
}

// When the TAXII server fails, the source (the repository's URL or a local
// copy) is read instead, with a warning.
func TestTAXIIFallsBackToSource(t *testing.T) {
	srv := newTAXIIServer(t)
	srv.failAll = true
	bundle := "testdata/bundle/enterprise-attack-18.1.json"
	res := runner.MustRun(t, bundle, `{"taxii":{"url":"`+srv.URL+`/taxii2/","collection":"Enterprise ATT&CK"}}`)
	if recordJSON(t, res) != recordJSON(t, runner.MustRun(t, bundle, "")) {
		t.Error("the fallback gives other records than the source")
	}
	d := res.Diagnostics[0]
	if d.Summary != "TAXII server failed, reading the source instead" || !strings.Contains(d.Detail, "503 Service Unavailable: maintenance; reading "+bundle) {
		t.Errorf("first diagnostic = %+v", d)
	}
	// Without a separate source there is nothing to fall back to.
	res = run(t, srv.URL+"/taxii2/", `{"taxii":{"collection":"Enterprise ATT&CK"}}`)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "503") {
		t.Errorf("no fallback: %v", res.Err)
	}
}
