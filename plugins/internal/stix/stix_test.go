package stix

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/sdk/source"
)

// recorder is a Reporter that keeps what it is told.
type recorder struct {
	warnings []string
}

func (r *recorder) Warn(file string, line int, id, summary, detail string) {
	r.warnings = append(r.warnings, fmt.Sprintf("%s:%d %s: %s", file, line, id, summary))
}
func (r *recorder) Progress(done, total int64, msg string) {}

func TestParseFileShapesAndLines(t *testing.T) {
	cases := []struct {
		name  string
		data  string
		kind  FileKind
		lines []int
		err   string
	}{
		{"bundle", "{\n \"type\": \"bundle\",\n \"objects\": [\n  {\"type\": \"x\", \"id\": \"x--1\"},\n\n  {\"type\": \"x\",\n \"id\": \"x--2\"}\n ]\n}\n", KindBundle, []int{4, 6}, ""},
		{"objects before type", `{"objects":[{"type":"x","id":"x--1"}],"type":"bundle"}`, KindBundle, []int{1}, ""},
		{"list", "[\n{\"type\":\"x\",\"id\":\"x--1\"},\n{\"type\":\"x\",\"id\":\"x--2\"}]", KindBundle, []int{2, 3}, ""},
		{"object", `{"type":"attack-pattern","id":"attack-pattern--1"}`, KindObject, []int{1}, ""},
		{"index", `{"id":"i","collections":[]}`, KindIndex, nil, ""},
		{"unknown", `{"name":"x"}`, KindUnknown, nil, ""},
		{"objects not a list", `{"type":"bundle","objects":{"a":1}}`, KindBundle, nil, ""},
		{"empty", "  \n", 0, nil, "empty file"},
		{"not json", "hello", 0, nil, "line 1: malformed JSON"},
		{"scalar", "42", 0, nil, "want a JSON object or list"},
		{"broken first", "{\"type\":\"bundle\",\n\"id\":", 0, nil, "line 2: malformed JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pf, err := ParseFile([]byte(tc.data))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pf.Kind != tc.kind {
				t.Errorf("kind = %d, want %d", pf.Kind, tc.kind)
			}
			var lines []int
			for _, o := range pf.Objects {
				lines = append(lines, o.Line)
			}
			if fmt.Sprint(lines) != fmt.Sprint(tc.lines) && !(len(lines) == 0 && len(tc.lines) == 0) {
				t.Errorf("lines = %v, want %v", lines, tc.lines)
			}
		})
	}
}

func TestParseFileBreaksOff(t *testing.T) {
	data := "{\"type\":\"bundle\",\"objects\":[\n{\"type\":\"x\",\"id\":\"x--1\"},\n{\"type\":\"x\",\n\"id\":"
	pf, err := ParseFile([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(pf.Objects) != 1 || pf.Err == nil || pf.ErrLine != 4 {
		t.Fatalf("got %d objects, err %v at line %d; want 1 object and a break at line 4", len(pf.Objects), pf.Err, pf.ErrLine)
	}
}

func TestDecodeObjectIsTolerant(t *testing.T) {
	o, problems, err := DecodeObject([]byte(`{"type":"attack-pattern","id":"attack-pattern--1","name":"X",
		"x_mitre_platforms":"Windows","x_mitre_domains":["enterprise-attack",7],"revoked":"true","x_mitre_deprecated":1,
		"x_mitre_version":2.1,"modified":"2025-10-24T17:49:07.660Z","created":"not a date",
		"external_references":[{"source_name":"mitre-attack","external_id":" t1059 "},"junk"],
		"kill_chain_phases":{"kill_chain_name":"mitre-attack"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if o.ExternalID() != "T1059" || strings.Join(o.Platforms, ",") != "Windows" || strings.Join(o.Domains, ",") != "enterprise-attack" ||
		!o.Revoked || o.Deprecated || o.Version != "2.1" || o.Modified.IsZero() || !o.Created.IsZero() || o.KillChainPhases != nil {
		t.Errorf("decoded %+v", o)
	}
	want := []string{
		`created: "not a date" is not a timestamp (ignored)`,
		`external_references[1]: want an object, got "junk" (ignored)`,
		`kill_chain_phases: want a list of objects, got {"kill_chain_name":"mitre-attack"} (ignored)`,
		`x_mitre_deprecated: want a boolean, got 1 (ignored)`,
		`x_mitre_domains[1]: want a string, got 7 (ignored)`,
	}
	if strings.Join(problems, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
	for _, bad := range []string{`42`, `null`, `{"id":"x--1"}`, `{"type":"x"}`, `{"type":7,"id":"x--1"}`, `[`} {
		if _, _, err := DecodeObject([]byte(bad)); err == nil {
			t.Errorf("DecodeObject(%s) succeeded", bad)
		}
	}
}

func TestVersionsAndNames(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"9.0", "18.1", -1}, {"18.1", "18.1", 0}, {"18", "18.0", 0}, {"v18.1", "18.0", 1}, {"18.1", "18.10", -1}, {"x", "y", -1}} {
		if got := CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	for src, want := range map[string]string{
		"https://github.com/mitre/cti/archive/refs/tags/ATT&CK-v17.1.tar.gz": "17.1",
		"https://github.com/mitre/cti/archive/refs/tags/ATT%26CK-v9.0.zip":   "9.0",
		"/srv/cti-ATT-CK-v16.1":                                  "16.1",
		"../shared/upstream/mitre-cti-v6.3":                      "6.3",
		"/data/attack-stix-data/ics-attack/ics-attack-18.1.json": "18.1",
		"../shared/upstream/mitre-cti":                           "",
		"/data/enterprise-attack.json":                           "",
	} {
		if got := ReleaseFromName(src); got != want {
			t.Errorf("ReleaseFromName(%q) = %q, want %q", src, got, want)
		}
	}
	for name, want := range map[string]string{"Enterprise ATT&CK": DomainEnterprise, "ICS ATT&CK": DomainICS, "ATT&CK for ICS": DomainICS,
		"Mobile ATT&CK": DomainMobile, "mobile-attack": DomainMobile, "Physics": "", "PRE-ATT&CK": ""} {
		if got := DomainFromName(name); got != want {
			t.Errorf("DomainFromName(%q) = %q, want %q", name, got, want)
		}
	}
}

func bundleOf(objs ...string) []byte {
	return []byte(`{"type":"bundle","id":"bundle--1","objects":[` + strings.Join(objs, ",\n") + `]}`)
}

func ap(n int, ext string, extra string) string {
	return fmt.Sprintf(`{"type":"attack-pattern","id":"attack-pattern--%d","name":"T%d","revoked":true,"external_references":[{"source_name":"mitre-attack","external_id":%q}]%s}`, n, n, ext, extra)
}

func revokedBy(n int, from, to int) string {
	return fmt.Sprintf(`{"type":"relationship","id":"relationship--%d","relationship_type":"revoked-by","source_ref":"attack-pattern--%d","target_ref":"attack-pattern--%d"}`, n, from, to)
}

func TestReplacementChains(t *testing.T) {
	data := bundleOf(
		ap(1, "T1001", ""), ap(2, "T1002", ""), ap(3, "T1003", `,"revoked":false`), // 1 -> 2 -> 3
		revokedBy(10, 1, 2), revokedBy(11, 2, 3),
		ap(4, "T1004", ""), ap(5, "T1005", ""), revokedBy(12, 4, 5), revokedBy(13, 5, 4), // circle
		ap(6, "T1006", ""), revokedBy(14, 6, 3), revokedBy(15, 6, 1), // ambiguous
		ap(7, "T1007", ""), revokedBy(16, 7, 99), // broken
		ap(8, "T1008", ""), // no successor
	)
	ds, err := ReadBundle("x.json", data, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	get := func(n int) *Object { return ds.Get(fmt.Sprintf("attack-pattern--%d", n)) }
	if r, err := ds.Replacement(get(1)); err != nil || r.ExternalID() != "T1003" {
		t.Errorf("T1001 -> %v, %v; want T1003", r, err)
	}
	if _, err := ds.Replacement(get(4)); err == nil || !strings.Contains(err.Error(), "circle") {
		t.Errorf("circle: %v", err)
	}
	if _, err := ds.Replacement(get(6)); err == nil || !strings.Contains(err.Error(), "several objects (T1001, T1003)") {
		t.Errorf("ambiguous: %v", err)
	}
	if _, err := ds.Replacement(get(7)); err == nil || !strings.Contains(err.Error(), "not in the source") {
		t.Errorf("broken: %v", err)
	}
	if r, err := ds.Replacement(get(8)); r != nil || err != nil {
		t.Errorf("no successor: %v, %v", r, err)
	}
}

func TestLaterModifiedWins(t *testing.T) {
	data := bundleOf(
		`{"type":"attack-pattern","id":"attack-pattern--1","name":"new","modified":"2025-01-01T00:00:00Z"}`,
		`{"type":"attack-pattern","id":"attack-pattern--1","name":"old","modified":"2020-01-01T00:00:00Z"}`,
		`{"type":"attack-pattern","id":"attack-pattern--1","name":"same time, read later","modified":"2025-01-01T00:00:00Z"}`,
	)
	ds, err := ReadBundle("x.json", data, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 1 || ds.Get("attack-pattern--1").Name != "new" {
		t.Errorf("kept %+v", ds.Get("attack-pattern--1"))
	}
}

// failingDoer stands in for the network: no test may download.
type failingDoer struct{}

func (failingDoer) Do(*http.Request) (*http.Response, error) {
	return nil, errors.New("no network in tests")
}

func sourceOpts() source.Options { return source.Options{HTTPClient: failingDoer{}} }

func TestLoadIndexSelection(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, s string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("index.json", `{"collections":[
	  {"id":"c1","name":"Enterprise ATT&CK","versions":[{"version":"9.0","url":"https://example.test/x/enterprise-attack/enterprise-attack-9.0.json"},
	                                                  {"version":"10.1","url":"https://example.test/x/enterprise-attack/enterprise-attack-10.1.json"}]},
	  {"id":"c2","name":"Something Else","versions":[{"version":"1.0","url":"https://example.test/other.json"}]},
	  {"id":"c3","name":"ICS ATT&CK","versions":[{"version":"10.1","url":"https://example.test/x/ics-attack/ics-attack-10.1.json"}]}]}`)
	write("enterprise-attack/enterprise-attack-9.0.json", string(bundleOf(ap(1, "T1001", `,"revoked":false`))))
	write("enterprise-attack/enterprise-attack-10.1.json", string(bundleOf(ap(2, "T1002", `,"revoked":false`))))
	opts := Options{Domains: []string{DomainEnterprise}, Source: sourceOpts()}
	r := &recorder{}
	ds, err := Load(context.Background(), dir, opts, r)
	if err != nil {
		t.Fatal(err)
	}
	o := ds.Get("attack-pattern--2")
	if ds.Len() != 1 || o == nil || ds.Release(o) != "10.1" || strings.Join(ds.Domains(o), ",") != DomainEnterprise {
		t.Fatalf("latest: %d objects, %+v", ds.Len(), o)
	}
	// The release the index does not select is named as left out.
	if len(r.warnings) != 2 || !strings.Contains(r.warnings[0], "c2: skipped collection of an unknown domain") ||
		r.warnings[1] != "enterprise-attack/enterprise-attack-9.0.json:0 : file left out: not a bundle that index.json names for the configured domains and release" {
		t.Errorf("warnings = %q", r.warnings)
	}
	opts.Version = "9"
	if ds, err = Load(context.Background(), filepath.Join(dir, "index.json"), opts, &recorder{}); err != nil || ds.Get("attack-pattern--1") == nil {
		t.Fatalf("9.0: %v", err)
	}
	opts.Version = "11.0"
	if _, err := Load(context.Background(), dir, opts, &recorder{}); err == nil || !strings.Contains(err.Error(), "nothing to read") {
		t.Errorf("missing release: %v", err)
	}
	opts = Options{Domains: []string{DomainICS}, Source: sourceOpts()}
	if _, err := Load(context.Background(), dir, opts, &recorder{}); err == nil || !strings.Contains(err.Error(), "no network in tests") {
		t.Errorf("bundle neither local nor reachable: %v", err)
	}
}

// A STIX file that starts with a UTF-8 byte order mark was skipped ("skipped file
// that is not JSON: invalid character 'ï'"), and a whole bundle given as the source
// failed; its objects are read, on the lines they are on.
func TestParseFileWithAByteOrderMark(t *testing.T) {
	pf, err := ParseFile([]byte("\xef\xbb\xbf{\"type\": \"bundle\", \"id\": \"bundle--1\",\n\"objects\": [\n{\"type\": \"x-mitre-tactic\", \"id\": \"x-mitre-tactic--1\"}]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if pf.Kind != KindBundle || len(pf.Objects) != 1 || pf.Objects[0].Line != 3 || pf.Err != nil {
		t.Fatalf("parsed = %+v", pf)
	}
}
