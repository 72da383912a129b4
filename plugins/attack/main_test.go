package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/plugins/internal/testfs"
	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

var runner = &sdktest.Runner{Importer: &importer{}, Type: "attack"}

// run imports strictly (twice, for determinism); runOnce imports once, for
// tests that count the requests an import makes.
var run, runOnce = runner.Run, runner.RunOnce

func diags(ds sdk.Diagnostics) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.String())
	}
	return strings.Join(out, "\n")
}

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, sdk.ServeOpts{Name: "attack", Version: version, Importers: map[string]sdk.Importer{"attack": &importer{}}})
}

func TestValidateConfig(t *testing.T) {
	imp := &importer{}
	for cfg, want := range map[string]string{
		`{}`: "",
		`{"domains":["enterprise-attack","ics-attack"],"version":"18.1","release_version":"18.1","taxii":{"url":"https://attack-taxii.mitre.org/taxii2/","collection":"Enterprise ATT&CK","page_size":500}}`: "",
		`{"domains":["pre-attack"]}`:          `unknown ATT&CK domain "pre-attack"`,
		`{"version":"newest"}`:                `version "newest" is not`,
		`{"release_version":"v18"}`:           `release_version "v18" is not`,
		`{"taxii":{"url":"ftp://x"}}`:         `taxii.url "ftp://x" is not an http(s) URL`,
		`{"taxii":{"page_size":-1}}`:          `taxii.page_size must not be negative`,
		`{"include_deprecated":false}`:        `config key "include_deprecated": unknown key`,
		`{"taxii":{"url":"https://x","x":1}}`: `config key "x": unknown key`,
	} {
		ds := imp.ValidateConfig(t.Context(), json.RawMessage(cfg))
		got := ""
		if len(ds) > 0 {
			got = ds[0].Summary + " " + ds[0].Detail
		}
		if (want == "") != (len(ds) == 0) || !strings.Contains(got, want) {
			t.Errorf("ValidateConfig(%s) = %v, want %q", cfg, ds, want)
		}
	}
}

// The STIX 2.1 bundle holds every shape of technique: a parent and its
// sub-technique, a revoked one, a chain of revocations, a deprecated one
// without tactics or platforms, a multi-domain one, one with malformed
// fields, one without an ATT&CK id and one with a bad id; v18 detection
// strategies and v17 data components; mitigations, one deprecated.
func TestBundle21(t *testing.T) {
	res := runner.MustRun(t, "testdata/bundle/enterprise-attack-18.1.json", "")
	if got := strings.Join(res.IDs(sdk.KindTactic), ","); got != "TA0002,TA0003,TA0005" {
		t.Errorf("tactics = %s", got)
	}
	if got := strings.Join(res.IDs(sdk.KindTechnique), ","); got != "T1000,T1001,T1002,T1003,T1004,T1059,T1059.001,T1086" {
		t.Errorf("techniques = %s", got)
	}
	if got := strings.Join(res.IDs(sdk.KindMitigation), ","); got != "M1038,M1049" {
		t.Errorf("mitigations = %s", got)
	}
	recs := res.ByKindID()
	for id, order := range map[string]int{"TA0002": 1, "TA0003": 2, "TA0005": 3} {
		ta := recs["tactic/"+id].(*sdk.Tactic)
		if ta.Order != order || ta.Domain != sdk.DomainEnterprise || ta.STIXID == "" || ta.URL != "https://attack.mitre.org/tactics/"+id {
			t.Errorf("%s = %+v", id, ta)
		}
	}
	if ta := recs["tactic/TA0005"].(*sdk.Tactic); ta.Shortname != "defense-evasion" || ta.Name != "Defense Evasion" {
		t.Errorf("TA0005 = %+v", ta)
	}

	ps := recs["technique/T1059.001"].(*sdk.Technique)
	if ps.ParentID != "T1059" || ps.Name != "PowerShell" || strings.Join(ps.Tactics, ",") != "execution" ||
		strings.Join(ps.Platforms, ",") != "Windows" || strings.Join(ps.Domains, ",") != sdk.DomainEnterprise ||
		ps.Version != "1.1" || ps.ReleaseVersion != "18.1" || ps.Modified.Format("2006-01-02T15:04:05.000Z") != "2025-10-24T17:49:07.660Z" ||
		ps.URL != "https://attack.mitre.org/techniques/T1059/001" || len(ps.References) != 1 || ps.References[0].Source != "Example Report 2024" {
		t.Errorf("T1059.001 = %+v", ps)
	}
	if got := strings.Join(ps.DataSources, "|"); got != "Process: Process Creation|Script Execution" {
		t.Errorf("T1059.001 data sources = %s", got)
	}
	wantDet := "Detection strategy DET0455: Abuse of PowerShell\n" +
		"- AN1251 (Windows): PowerShell child processes. Log sources: WinEventLog:Sysmon (EventCode=1).\n" +
		"- AN1252 (Windows): Encoded PowerShell launched by an unusual parent. Log sources: WinEventLog:PowerShell (EventCode=4104)."
	if ps.DetectionText != wantDet {
		t.Errorf("T1059.001 detection text:\n%s\nwant:\n%s", ps.DetectionText, wantDet)
	}
	cmd := recs["technique/T1059"].(*sdk.Technique)
	if cmd.ParentID != "" || strings.Join(cmd.Platforms, ",") != "Linux,Windows,macOS" || strings.Join(cmd.DataSources, ",") != "Process: Process Creation" || cmd.DetectionText != "" {
		t.Errorf("T1059 = %+v", cmd)
	}
	// A chain keeps its steps: T1000 names T1001, which names T1059; the core follows it.
	for id, by := range map[string]string{"T1086": "T1059.001", "T1000": "T1001", "T1001": "T1059"} {
		if r := recs["technique/"+id].(*sdk.Technique); !r.Revoked || r.RevokedBy != by {
			t.Errorf("%s revoked %v by %q, want %s", id, r.Revoked, r.RevokedBy, by)
		}
	}
	if d := recs["technique/T1002"].(*sdk.Technique); !d.Deprecated || d.Revoked || d.Tactics != nil || d.Platforms != nil {
		t.Errorf("T1002 = %+v", d)
	}
	if m := recs["technique/T1003"].(*sdk.Technique); strings.Join(m.Domains, ",") != "enterprise-attack,mobile-attack" ||
		strings.Join(m.Tactics, ",") != "defense-evasion,persistence" {
		t.Errorf("multi-domain T1003 = %+v", m)
	}
	if odd := recs["technique/T1004"].(*sdk.Technique); odd.Platforms != nil || !odd.Modified.IsZero() || odd.Name != "Odd fields" {
		t.Errorf("T1004 = %+v", odd)
	}

	m := recs["mitigation/M1038"].(*sdk.Mitigation)
	if len(m.Techniques) != 2 || m.Techniques[0] != (sdk.MitigationLink{TechniqueID: "T1059", Description: "Use application control."}) ||
		m.Techniques[1].TechniqueID != "T1059.001" || m.Deprecated || strings.Join(m.Domains, ",") != sdk.DomainEnterprise {
		t.Errorf("M1038 = %+v", m)
	}
	if m := recs["mitigation/M1049"].(*sdk.Mitigation); !m.Deprecated || len(m.Techniques) != 0 {
		t.Errorf("M1049 = %+v (its only link is a deprecated relationship)", m)
	}

	// Positions: each record points at its object in the bundle.
	for _, in := range res.Incoming {
		if in.File != "enterprise-attack-18.1.json" || in.Line < 2 {
			t.Errorf("%s %s at %s:%d", in.Kind, in.ExternalID, in.File, in.Line)
		}
	}
	want := strings.Join([]string{
		"enterprise-attack-18.1.json:360: ignored malformed fields of attack-pattern attack-pattern--0000006b-0000-4000-8000-00000000006b (T1004)",
		"enterprise-attack-18.1.json:715: skipped malformed STIX object",
		"enterprise-attack-18.1.json:716: skipped malformed STIX object",
		"enterprise-attack-18.1.json:395: skipped attack-pattern without an ATT&CK id (attack-pattern--0000006c-0000-4000-8000-00000000006c)",
		"enterprise-attack-18.1.json:704: mitigates names a technique that is not in the source (M1038)",
		`enterprise-attack-18.1.json:426: skipped invalid technique (T12)`,
	}, "\n")
	if got := diags(res.Diagnostics); got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
	if d := res.Diagnostics[0]; d.Detail != `modified: "yesterday" is not a timestamp (ignored); x_mitre_platforms: want a list of strings, got 42 (ignored)` {
		t.Errorf("detail = %q", d.Detail)
	}
	// 14 built, of which T12 was invalid.
	if last := res.Progress[len(res.Progress)-1]; last.Done != 14 || last.Total != 14 {
		t.Errorf("progress = %+v", last)
	}
}

// mitre/cti's STIX 2.0 layout, v6.3 style: no x_mitre_domains, no
// collection, an old technique-shaped mitigation; plus a broken file, a
// JSON file that is not STIX, and a second domain folder.
func TestFolder20(t *testing.T) {
	res := runner.MustRun(t, "testdata/cti", "")
	if got := strings.Join(res.IDs(sdk.KindTactic), ","); got != "TA0002,TA0003,TA0027" {
		t.Errorf("tactics = %s", got)
	}
	if got := strings.Join(res.IDs(sdk.KindTechnique), ","); got != "T1050,T1086,T1476" {
		t.Errorf("techniques = %s", got)
	}
	recs := res.ByKindID()
	if ta := recs["tactic/TA0003"].(*sdk.Tactic); ta.Order != 1 || ta.Domain != sdk.DomainEnterprise {
		t.Errorf("TA0003 = %+v", ta)
	}
	if ta := recs["tactic/TA0027"].(*sdk.Tactic); ta.Domain != sdk.DomainMobile || ta.Order != 0 {
		t.Errorf("TA0027 = %+v", ta)
	}
	ps := recs["technique/T1086"].(*sdk.Technique)
	if ps.Revoked || strings.Join(ps.DataSources, ",") != "PowerShell logs,Process monitoring" || ps.DetectionText != "Watch PowerShell." ||
		strings.Join(ps.Domains, ",") != sdk.DomainEnterprise || ps.ReleaseVersion != "" {
		t.Errorf("T1086 = %+v", ps)
	}
	if mob := recs["technique/T1476"].(*sdk.Technique); strings.Join(mob.Domains, ",") != sdk.DomainMobile || strings.Join(mob.Tactics, ",") != "initial-access" {
		t.Errorf("T1476 = %+v", mob)
	}
	old := recs["mitigation/T1086"].(*sdk.Mitigation)
	if !old.Deprecated || len(old.Techniques) != 1 || old.Techniques[0].TechniqueID != "T1086" || old.Techniques[0].Description != "Remove PowerShell." {
		t.Errorf("old mitigation = %+v", old)
	}
	if in := res.Incoming[0]; in.File != "enterprise-attack/x-mitre-tactic/x-mitre-tactic--00000001-0000-4000-8000-000000000001.json" || in.Line != 6 {
		t.Errorf("first position = %s:%d", in.File, in.Line)
	}
	want := strings.Join([]string{
		"enterprise-attack/attack-pattern/broken.json:4: file breaks off: the objects after this line were skipped",
		"enterprise-attack/notes.json:1: skipped JSON file that is not a STIX bundle or object",
		"ATT&CK release unknown",
	}, "\n")
	if got := diags(res.Diagnostics); got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}

	// The release comes from config, or from a versioned folder name.
	res = runner.MustRun(t, "testdata/cti", `{"release_version":"6.3","domains":["mobile-attack"]}`)
	if got := strings.Join(res.IDs(sdk.KindTechnique), ","); got != "T1476" {
		t.Errorf("mobile only: %s", got)
	}
	if r := res.ByKindID()["technique/T1476"].(*sdk.Technique); r.ReleaseVersion != "6.3" {
		t.Errorf("release %q", r.ReleaseVersion)
	}
	// Every file of the other domain is named as left out, and nothing else warns.
	var enterprise []string
	filepath.WalkDir("testdata/cti/enterprise-attack", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel("testdata/cti", p)
			enterprise = append(enterprise, filepath.ToSlash(rel))
		}
		return nil
	})
	var named []string
	for _, w := range res.Warnings() {
		if w.Summary != "file left out: the domain enterprise-attack is not among the configured domains (mobile-attack)" {
			t.Errorf("warning %s: %s", w.File, w.Summary)
		}
		named = append(named, w.File)
	}
	if len(enterprise) < 5 || strings.Join(named, ",") != strings.Join(enterprise, ",") {
		t.Errorf("left out:\n%v\nwant:\n%v", named, enterprise)
	}
	dir := filepath.Join(t.TempDir(), "mitre-cti-v6.3")
	testfs.CopyDir(t, "testdata/cti", dir)
	res = runner.MustRun(t, dir, `{"domains":["enterprise-attack"]}`)
	if r := res.ByKindID()["technique/T1086"].(*sdk.Technique); r.ReleaseVersion != "6.3" {
		t.Errorf("release from folder name = %q", r.ReleaseVersion)
	}
	// A domain folder given directly is read whole.
	res = runner.MustRun(t, "testdata/cti/mobile-attack", `{"domains":["enterprise-attack"]}`)
	if got := strings.Join(res.IDs(sdk.KindTechnique), ","); got != "T1476" {
		t.Errorf("domain folder: %s", got)
	}
	res = run(t, "testdata/cti", `{"domains":["ics-attack"]}`)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "holds the domains enterprise-attack, mobile-attack, and the configured domains ics-attack select none") {
		t.Errorf("no selected domain: %v", res.Err)
	}
}

// A local copy of attack-stix-data: index.json with the bundles beside it.
func TestIndexLocalMirror(t *testing.T) {
	res := runner.MustRun(t, "testdata/index", `{"domains":["enterprise-attack","mobile-attack"]}`)
	recs := res.ByKindID()
	if got := strings.Join(res.IDs(sdk.KindTactic), ","); got != "TA0001,TA0027" {
		t.Errorf("tactics = %s", got)
	}
	if r := recs["technique/T1190"].(*sdk.Technique); r.Version != "2.0" || r.ReleaseVersion != "18.1" {
		t.Errorf("T1190 = %+v, want the 18.1 version", r)
	}
	// One object in the Enterprise and the Mobile bundle carries both domains.
	if r := recs["technique/T1404"].(*sdk.Technique); strings.Join(r.Domains, ",") != "enterprise-attack,mobile-attack" {
		t.Errorf("T1404 domains = %v", r.Domains)
	}
	if ta := recs["tactic/TA0027"].(*sdk.Tactic); ta.Domain != sdk.DomainMobile {
		t.Errorf("TA0027 = %+v", ta)
	}
	if in := recs["technique/T1190"]; in == nil {
		t.Fatal("no T1190")
	}
	for _, in := range res.Incoming {
		if in.ExternalID == "T1190" && in.File != "enterprise-attack/enterprise-attack-18.1.json" {
			t.Errorf("T1190 read from %s", in.File)
		}
	}
	res = runner.MustRun(t, "testdata/index/index.json", `{"domains":["enterprise-attack"],"version":"17.1"}`)
	if r := res.ByKindID()["technique/T1190"].(*sdk.Technique); r.Version != "1.1" || r.ReleaseVersion != "17.1" {
		t.Errorf("17.1: T1190 = %+v", r)
	}
	if got := strings.Join(res.IDs(sdk.KindTechnique), ","); got != "T1190" {
		t.Errorf("17.1 techniques = %s", got)
	}
	res = run(t, "testdata/index", `{"domains":["enterprise-attack"],"version":"99.0"}`)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "nothing to read for enterprise-attack, release 99.0") {
		t.Errorf("missing release: %v", res.Err)
	}
}

// serveDir serves a folder over HTTP, counting requests per path.
func serveDir(t *testing.T, dir string) (*httptest.Server, map[string]int) {
	t.Helper()
	hits := map[string]int{}
	fs := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits[r.URL.Path]++
		fs.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, hits
}

func recordJSON(t *testing.T, res *sdktest.ImportResult) string {
	t.Helper()
	var b strings.Builder
	for _, in := range res.Incoming {
		b.WriteString(in.Kind + " " + in.ExternalID + " " + string(in.JSON) + "\n")
	}
	return b.String()
}

func TestURLSources(t *testing.T) {
	local := runner.MustRun(t, "testdata/bundle/enterprise-attack-18.1.json", "")
	srv, _ := serveDir(t, "testdata")
	res := runner.MustRun(t, srv.URL+"/bundle/enterprise-attack-18.1.json", "")
	if recordJSON(t, res) != recordJSON(t, local) {
		t.Error("a bundle by URL gives other records than the same file")
	}

	// An index by URL: its bundle URLs (here relative) are downloaded.
	dir := t.TempDir()
	testfs.CopyDir(t, "testdata/index", dir)
	idx := `{"collections":[{"id":"x-mitre-collection--dac0d2d7-8653-445c-9bff-82f934c1e858","name":"Mobile ATT&CK",
	  "versions":[{"version":"18.1","url":"mobile-attack/mobile-attack-18.1.json"}]}]}`
	if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(idx), 0o644); err != nil {
		t.Fatal(err)
	}
	isrv, hits := serveDir(t, dir)
	res = runOnce(t, isrv.URL+"/index.json", "")
	if got := strings.Join(res.IDs(sdk.KindTechnique), ","); res.Err != nil || got != "T1404" || hits["/mobile-attack/mobile-attack-18.1.json"] != 1 {
		t.Errorf("index by URL: techniques %s, hits %v", got, hits)
	}
	res = run(t, isrv.URL+"/missing.json", "")
	if res.Err == nil || !strings.Contains(res.Err.Error(), "404") {
		t.Errorf("missing URL: %v", res.Err)
	}
}

func TestTruncatedBundleKeepsWhatCameBefore(t *testing.T) {
	res := runner.MustRun(t, "testdata/truncated/enterprise-attack.json", "")
	if got := strings.Join(res.IDs(sdk.KindTechnique), ","); got != "T1059" {
		t.Errorf("techniques = %s", got)
	}
	w := res.Warnings()
	if len(w) != 1 || w[0].File != "enterprise-attack.json" || w[0].Line != 85 || !strings.Contains(w[0].Summary, "file breaks off") {
		t.Errorf("warnings = %v", w)
	}
}

func TestUnreadableSourcesFail(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "notes.json")
	noAttack := filepath.Join(dir, "identity.json")
	empty := filepath.Join(dir, "empty")
	for p, s := range map[string]string{notJSON: "hello", noAttack: `{"type":"bundle","objects":[{"type":"identity","id":"identity--1","name":"MITRE"}]}`} {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	for src, want := range map[string]string{
		filepath.Join(dir, "absent"): "no such file",
		notJSON:                      "notes.json: line 1: malformed JSON",
		noAttack:                     "holds 1 STIX objects but no ATT&CK tactics, techniques or mitigations",
		empty:                        "no JSON files found",
	} {
		res := run(t, src, "")
		var ds sdk.Diagnostics
		if !errors.As(res.Err, &ds) || !strings.Contains(res.Err.Error(), want) || len(res.Records) != 0 {
			t.Errorf("%s: err = %v, want %q", src, res.Err, want)
		}
	}
}

func TestDeterministic(t *testing.T) {
	for _, src := range []string{"testdata/bundle/enterprise-attack-18.1.json", "testdata/cti", "testdata/index"} {
		cfg := `{"domains":["enterprise-attack","mobile-attack"]}`
		a, b := runner.MustRun(t, src, cfg), runner.MustRun(t, src, cfg)
		if recordJSON(t, a) != recordJSON(t, b) {
			t.Errorf("%s: two imports differ", src)
		}
	}
}

// A technique's record draws on other files (its relationships, its tactics), so the
// source is skipped whole or read whole: skipped only while no file was changed,
// added or removed; then every file is reported unchanged and no record is sent.
func TestSkipsOnlyAWhollyUnchangedSource(t *testing.T) {
	runner.SkipsOnlyWhollyUnchanged(t, "testdata/cti", "",
		sdktest.Edit{Name: "changed", Apply: func(dir string) {
			p := filepath.Join(dir, "enterprise-attack/x-mitre-tactic/x-mitre-tactic--00000001-0000-4000-8000-000000000001.json")
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			testfs.WriteFile(t, p, string(data)+"\n")
		}},
		sdktest.Edit{Name: "added", Apply: func(dir string) {
			testfs.WriteFile(t, filepath.Join(dir, "enterprise-attack/extra.json"), `{"type":"bundle","objects":[]}`)
		}},
		sdktest.Edit{Name: "deleted", Apply: func(dir string) { testfs.Remove(t, filepath.Join(dir, "enterprise-attack/notes.json")) }})
}
