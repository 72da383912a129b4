package integration

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// intelCount counts the identifiable entries of an RSS or Atom file with a
// plain XML decoder: items with a guid or a link, each id once.
func intelCount(t *testing.T, path string, seen map[string]bool) int {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name
		Items   []struct {
			GUID string `xml:"guid"`
			Link string `xml:"link"`
		} `xml:"channel>item"`
		Entries []struct {
			ID   string `xml:"id"`
			Link []struct {
				Href string `xml:"href,attr"`
			} `xml:"link"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var ids []string
	for _, it := range doc.Items {
		id := strings.TrimSpace(it.GUID)
		if id == "" {
			id = strings.TrimSpace(it.Link)
		}
		ids = append(ids, id)
	}
	for _, e := range doc.Entries {
		id := strings.TrimSpace(e.ID)
		if id == "" && len(e.Link) > 0 {
			id = e.Link[0].Href
		}
		ids = append(ids, id)
	}
	n := 0
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			n++
		}
	}
	return n
}

// TestIntelFeeds has no upstream data: the plugin's own fixture feeds are
// served over HTTP to the real plugin process, with a malformed and an
// unreachable feed among them.
func TestIntelFeeds(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"rss.xml", "atom.xml", "malformed.xml"} {
		d3fendCopy(t, filepath.Join("..", "..", "plugins", "intel", "testdata", "feeds", f), filepath.Join(dir, f))
	}
	seen := map[string]bool{}
	perFeed := map[string]int{"rss.xml": intelCount(t, filepath.Join(dir, "rss.xml"), seen), "atom.xml": intelCount(t, filepath.Join(dir, "atom.xml"), seen)}
	want := perFeed["rss.xml"] + perFeed["atom.xml"]
	t.Logf("fixture feeds: %v items", perFeed)

	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/feed.xml"
	dead.Close()
	cfg, _ := json.Marshal(map[string]any{"feeds": []string{srv.URL + "/atom.xml", srv.URL + "/malformed.xml", deadURL}})

	e := newEnv(t, map[string]string{"intel": string(cfg)})
	run := e.Import(t, "intel", srv.URL+"/rss.xml")
	var feedWarnings []string
	for _, w := range Warnings(run) {
		t.Logf("warning: %s:%d %s %s", w.File, w.Line, w.ExternalID, w.Summary)
		if w.Summary == "skipped feed that could not be read" {
			feedWarnings = append(feedWarnings, w.File)
		}
	}
	if run.Added != want {
		t.Errorf("run added %d, want %d", run.Added, want)
	}
	if strings.Join(feedWarnings, ",") != srv.URL+"/malformed.xml,"+deadURL {
		t.Errorf("feed warnings for %v, want the malformed and the unreachable feed", feedWarnings)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM intel_items WHERE source = 'intel'`); n != want {
		t.Errorf("%d intel items stored, want %d", n, want)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM intel_items WHERE feed_url = ?`, srv.URL+"/atom.xml"); n != perFeed["atom.xml"] {
		t.Errorf("%d items from the Atom feed, want %d", n, perFeed["atom.xml"])
	}
	// The technique only linked to (attack.mitre.org/techniques/T1566/001/) is found.
	if n := e.Count(t, `SELECT COUNT(*) FROM intel_items WHERE technique_ids LIKE '%"T1566.001"%' AND group_ids LIKE '%"G0016"%'`); n != 1 {
		t.Errorf("%d items with T1566.001 and G0016, want 1", n)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM intel_items WHERE published_at IS NULL`); n != 1 {
		t.Errorf("%d items without a date, want the one undated RSS item", n)
	}

	again := e.Import(t, "intel", srv.URL+"/rss.xml")
	if again.Added+again.Updated+again.Deprecated != 0 || again.Unchanged != want {
		t.Errorf("re-import: added %d updated %d deprecated %d unchanged %d", again.Added, again.Updated, again.Deprecated, again.Unchanged)
	}

	// A changed feed changes exactly its items: a new feed title reaches
	// every entry of the Atom feed and nothing else.
	d3fendEdit(t, filepath.Join(dir, "atom.xml"), "<title>Example CERT Advisories</title>", "<title>Example CERT Advisories (renamed)</title>")
	changed := e.Import(t, "intel", srv.URL+"/rss.xml")
	if changed.Updated != perFeed["atom.xml"] || changed.Added+changed.Deprecated != 0 || changed.Unchanged != perFeed["rss.xml"] {
		t.Errorf("after editing atom.xml (%d items): added %d updated %d deprecated %d unchanged %d",
			perFeed["atom.xml"], changed.Added, changed.Updated, changed.Deprecated, changed.Unchanged)
	}
}
