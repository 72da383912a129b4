package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

var runner = &sdktest.Runner{Importer: &importer{}, Type: "feeds"}

var run = runner.Run

// feedServer serves testdata/feeds, plus a feed that answers too slowly.
func feedServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir("testdata/feeds")))
	mux.HandleFunc("/slow.xml", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// deadURL is a URL nothing listens on.
func deadURL(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u + "/feed.xml"
}

func feedsConfig(feeds ...string) string {
	b, _ := json.Marshal(map[string]any{"feeds": feeds})
	return string(b)
}

func items(res *sdktest.ImportResult) map[string]*sdk.IntelItem {
	out := map[string]*sdk.IntelItem{}
	for _, r := range res.Records {
		out[r.ID()] = r.(*sdk.IntelItem)
	}
	return out
}

func TestFeedsOverHTTP(t *testing.T) {
	srv := feedServer(t)
	dead := deadURL(t)
	res := run(t, srv.URL+"/rss.xml", feedsConfig(srv.URL+"/atom.xml", srv.URL+"/malformed.xml", srv.URL+"/missing.xml", dead, srv.URL+"/rss.xml"))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	var ids []string
	for _, r := range res.Records {
		ids = append(ids, r.ID())
	}
	want := "https://blog.example.test/apt29-2026,https://blog.example.test/lsass,example-2026-0042,tag:cert.example.test,2026:advisory-7,tag:cert.example.test,2026:digest-10"
	if strings.Join(ids, ",") != want {
		t.Fatalf("items = %v", ids)
	}
	got := items(res)

	// RSS 2.0: guid, HTML description to text, ids from the text and from the
	// link to attack.mitre.org (slash form), none from a script or from
	// lookalikes; categories sorted and distinct; the pubDate in UTC.
	a := got["https://blog.example.test/apt29-2026"]
	if a.Title != "APT29 (G0016) returns with T1059.001 & friends" || a.Link != "https://blog.example.test/apt29-2026" ||
		a.Summary != "The group sent spearphishing attachments, then ran PowerShell. Not ids: AT1234, T12345, G00123." ||
		a.FeedURL != srv.URL+"/rss.xml" || a.FeedTitle != "Example Threat Blog" ||
		!a.Published.Equal(time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC)) || a.Published.Location() != time.UTC ||
		strings.Join(a.Authors, ",") != "Ana Lyst" || strings.Join(a.Categories, ",") != "APT29,Phishing" ||
		strings.Join(a.TechniqueIDs, ",") != "T1059.001,T1566.001" || strings.Join(a.GroupIDs, ",") != "G0016" {
		t.Errorf("rss item = %+v", a)
	}
	// No guid: the link is the id; the Sigma tag spelling counts.
	if l := got["https://blog.example.test/lsass"]; strings.Join(l.TechniqueIDs, ",") != "T1003.001" || strings.Join(l.GroupIDs, ",") != "G0046" {
		t.Errorf("lsass item = %+v", l)
	}
	// No title: the description stands in.
	if n := got["example-2026-0042"]; n.Title != "A short note without a title about T1490 in ransomware cases." || n.Link != "" || !n.Published.IsZero() {
		t.Errorf("untitled item = %+v", n)
	}
	// Atom: html title, published before updated, content when there is no summary.
	adv := got["tag:cert.example.test,2026:advisory-7"]
	if adv.Title != "Advisory 2026-07: Sandworm (G0034) targets OT" || adv.Link != "https://cert.example.test/advisories/2026-07" ||
		!adv.Published.Equal(time.Date(2026, 3, 4, 6, 0, 0, 0, time.UTC)) || adv.FeedURL != srv.URL+"/atom.xml" ||
		strings.Join(adv.TechniqueIDs, ",") != "T0855,T1059" || strings.Join(adv.GroupIDs, ",") != "G0034" || strings.Join(adv.Authors, ",") != "Example CERT" {
		t.Errorf("atom entry = %+v", adv)
	}
	if d := got["tag:cert.example.test,2026:digest-10"]; d.Summary != "T1486 Data Encrypted for Impact" ||
		!d.Published.Equal(time.Date(2026, 3, 5, 7, 0, 0, 0, time.UTC)) || strings.Join(d.TechniqueIDs, ",") != "T1486" {
		t.Errorf("digest entry = %+v", d)
	}

	// The malformed, missing and unreachable feeds are warnings; the rest came.
	wantDiags := []string{
		srv.URL + "/rss.xml|An entry nobody can point at|skipped entry without guid or link|",
		srv.URL + "/rss.xml|https://blog.example.test/apt29-2026|skipped entry already read|first delivered by " + srv.URL + "/rss.xml",
		srv.URL + "/malformed.xml||skipped feed that could not be read|failed to detect feed type",
		srv.URL + "/missing.xml||skipped feed that could not be read|404",
		dead + "||skipped feed that could not be read|network unreachable",
	}
	if len(res.Diagnostics) != len(wantDiags) {
		t.Fatalf("diagnostics: %v", res.Diagnostics)
	}
	for i, d := range res.Diagnostics {
		parts := strings.SplitN(wantDiags[i], "|", 4)
		if d.Severity != sdk.SeverityWarning || d.File != parts[0] || d.ExternalID != parts[1] || d.Summary != parts[2] || !strings.Contains(d.Detail, parts[3]) {
			t.Errorf("diagnostic %d = %+v, want %s", i, d, wantDiags[i])
		}
	}
	if last := res.Progress[len(res.Progress)-1]; last.Message != "5 items from 2 feeds" || last.Done != 5 || last.Total != 5 {
		t.Errorf("progress = %+v", last)
	}
}

func TestSlowFeedTimesOut(t *testing.T) {
	srv := feedServer(t)
	start := time.Now()
	res := run(t, srv.URL+"/slow.xml", `{"timeout": "300ms", "feeds": ["`+srv.URL+`/atom.xml"]}`)
	if res.Err != nil || len(res.Records) != 2 {
		t.Fatalf("%v, %d records", res.Err, len(res.Records))
	}
	if w := res.Warnings(); len(w) != 1 || w[0].File != srv.URL+"/slow.xml" || !strings.Contains(w[0].Detail, "300ms") {
		t.Errorf("warnings = %+v", w)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("took %s: the timeout did not apply", d)
	}
}

func TestFolderSource(t *testing.T) {
	res := run(t, "testdata/folder", "")
	if res.Err != nil || len(res.Records) != 1 {
		t.Fatalf("%v, %d records", res.Err, len(res.Records))
	}
	j := res.Records[0].(*sdk.IntelItem)
	if j.ExternalID != "json-1" || j.FeedURL != "testdata/folder/feed.json" || strings.Join(j.TechniqueIDs, ",") != "T1071.001" || strings.Join(j.GroupIDs, ",") != "G0010" {
		t.Errorf("JSON feed item = %+v", j)
	}
	if w := res.Warnings(); len(w) != 1 || w[0].File != "notes.xml" || w[0].Summary != "skipped feed that could not be read" {
		t.Errorf("warnings = %v", w)
	}
}

func TestDeterministic(t *testing.T) {
	srv := feedServer(t)
	cfg := feedsConfig(srv.URL + "/atom.xml")
	if res := runner.Deterministic(t, srv.URL+"/rss.xml", cfg); len(res.Incoming) != 5 {
		t.Fatalf("%d records, want 5", len(res.Incoming))
	}
}

func TestFailures(t *testing.T) {
	srv := feedServer(t)
	cases := []struct{ name, src, cfg, want string }{
		{"every feed fails", deadURL(t), feedsConfig(srv.URL + "/malformed.xml"), "no feed could be read"},
		{"missing file", "testdata/nope.xml", "", "no such file"},
		{"malformed single feed", "testdata/folder/notes.xml", "", "failed to detect feed type"},
		{"bad timeout", srv.URL + "/rss.xml", `{"timeout": "soon"}`, "timeout"},
		{"negative size", srv.URL + "/rss.xml", `{"max_feed_bytes": -1}`, "max_feed_bytes"},
		{"empty feed", srv.URL + "/rss.xml", `{"feeds": [" "]}`, "feeds[0] is empty"},
		{"unknown key", srv.URL + "/rss.xml", `{"feed": []}`, `config key "feed": unknown key`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runner.WantFailure(t, tc.src, tc.cfg, tc.want) })
	}
}

func TestAttackIDs(t *testing.T) {
	cases := []struct{ text, techniques, groups string }{
		{"T1059 and T1059.001, again T1059", "T1059,T1059.001", ""},
		{"https://attack.mitre.org/techniques/T1566/001/ and /groups/G0016/", "T1566.001", "G0016"},
		{"tags: attack.t1003.001 attack.T1021 attack.g0016", "T1003.001,T1021", ""},
		{"AT1234 T12345 xT1000 G00123 g0016 t1059", "", ""},
		{"(T1486), [G0034].", "T1486", "G0034"},
	}
	for _, c := range cases {
		ts, gs := attackIDs(c.text)
		if strings.Join(ts, ",") != c.techniques || strings.Join(gs, ",") != c.groups {
			t.Errorf("attackIDs(%q) = %v %v, want %s / %s", c.text, ts, gs, c.techniques, c.groups)
		}
	}
}

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, sdk.ServeOpts{Name: "intel", Version: version, Importers: map[string]sdk.Importer{"feeds": &importer{}}})
}
