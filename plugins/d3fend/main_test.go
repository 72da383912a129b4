package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/plugins/internal/testfmt"
	"github.com/aegis-sec/aegis/plugins/internal/testfs"
	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

var runner = &sdktest.Runner{Importer: &importer{}, Type: "d3fend"}

var run = runner.Run

func mappings(d *sdk.DefensiveTechnique) string {
	var out []string
	for _, m := range d.Mappings {
		out = append(out, m.TechniqueID+" "+m.Relation+" "+m.Via)
	}
	return strings.Join(out, "\n")
}

const miniAttack = `{"attack_source":"testdata/attack/enterprise-attack.json"}`

func TestMiniOntology(t *testing.T) {
	res := run(t, "testdata/mini", miniAttack)
	if res.Err != nil {
		t.Fatalf("import: %v", res.Err)
	}
	got := map[string]*sdk.DefensiveTechnique{}
	var ids []string
	for _, r := range res.Records {
		d := r.(*sdk.DefensiveTechnique)
		got[d.ExternalID] = d
		ids = append(ids, d.ExternalID)
	}
	// D3-ARMA is not below DefensiveTechnique, D3-RA is deprecated, D3-UN has no
	// label and the second D3-FA repeats an id.
	if strings.Join(ids, ",") != "D3-CH,D3-DA,D3-EAL,D3-FA" {
		t.Fatalf("techniques = %v", ids)
	}

	fa := got["D3-FA"]
	if fa.Name != "File Analysis" || fa.Tactic != "Detect" || fa.ParentID != "" || fa.Definition != "Analyzing the files on a system." ||
		fa.URI != "https://d3fend.mitre.org/technique/d3f:FileAnalysis/" {
		t.Errorf("D3-FA = %+v", fa)
	}
	// T1204.002 creates an ExecutableFile, a sub-artifact of the File that D3-FA
	// analyzes; the blank-node restriction on NetworkTraffic adds nothing, and
	// the deprecated T1099 and the invalid TX1 are not related.
	want := strings.Join([]string{
		"T1005 analyzes/accesses File",
		"T1005 mitigation:M1040 ",
		"T1055 mitigation:M1040 ",
		"T1204.002 analyzes/creates File",
	}, "\n")
	if m := mappings(fa); m != want {
		t.Errorf("D3-FA mappings:\n%s\nwant:\n%s", m, want)
	}

	// Tactic inherited from D3-FA, list-valued properties, a @value label.
	da := got["D3-DA"]
	if da.Name != "Dynamic Analysis" || da.Tactic != "Detect" || da.ParentID != "D3-FA" || da.Definition != "Executing a file in a sandbox." {
		t.Errorf("D3-DA = %+v", da)
	}
	want = "T1055 analyzes/may-modify Process\nT1204.002 analyzes/creates ExecutableFile"
	if m := mappings(da); m != want {
		t.Errorf("D3-DA mappings:\n%s\nwant:\n%s", m, want)
	}

	// A defence on ExecutableFile does not cover attacks on any File (T1005);
	// M1038's revoked T1086 is left out.
	eal := got["D3-EAL"]
	want = "T1204.002 blocks/creates ExecutableFile\nT1204.002 mitigation:M1038 "
	if eal.Tactic != "Harden" || eal.ParentID != "" || mappings(eal) != want {
		t.Errorf("D3-EAL = %+v, mappings:\n%s\nwant:\n%s", eal, mappings(eal), want)
	}

	// Full IRIs and another prefix for the D3FEND namespace read the same.
	ch := got["D3-CH"]
	if ch.Tactic != "Harden" || ch.URI != "https://d3fend.mitre.org/technique/d3f:CredentialHardening/" || mappings(ch) != "T1003 strengthens/reads Credential" {
		t.Errorf("D3-CH = %+v", ch)
	}

	if in := res.Incoming[3]; in.File != "ontologies/d3fend.json" || in.Line != 20 || in.ExternalID != "D3-FA" {
		t.Errorf("D3-FA position = %s:%d %s", in.File, in.Line, in.ExternalID)
	}

	wantDiags := strings.Join([]string{
		"warning ontologies/d3fend.json:63 : skipped graph entry that is not a JSON object",
		"warning ontologies/d3fend.json:61 D3-UN: skipped D3FEND technique without rdfs:label",
		"warning ontologies/d3fend.json:62 D3-FA: skipped second technique with the same d3fend-id",
		"warning ontologies/d3fend.json:70 TX1: skipped ATT&CK node with an invalid attack-id",
		"warning api/mappings/attack-mitigations.json:8 d3f:MX12: skipped ATT&CK mitigation whose id is not M followed by four digits",
		"warning api/mappings/attack-mitigations.json:6 M1040: skipped mapping to an unknown D3FEND technique",
		"warning api/mappings/attack-mitigations.json:7 M1056: mitigation mitigates no live technique in the ATT&CK data",
	}, "\n")
	if d := testfmt.WithSeverity(res.Diagnostics); d != wantDiags {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", d, wantDiags)
	}
	if last := res.Progress[len(res.Progress)-1]; last.Done != 4 || last.Total != 4 {
		t.Errorf("progress = %+v", last)
	}
}

func TestDeterministic(t *testing.T) {
	runner.Deterministic(t, "testdata/mini", miniAttack)
}

func TestWithoutAttackSource(t *testing.T) {
	res := run(t, "testdata/mini", "")
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	for _, r := range res.Records {
		for _, m := range r.(*sdk.DefensiveTechnique).Mappings {
			if strings.HasPrefix(m.Relation, "mitigation:") {
				t.Errorf("%s has mitigation mapping %+v without attack_source", r.ID(), m)
			}
		}
	}
	if !strings.Contains(testfmt.WithSeverity(res.Diagnostics), "warning api/mappings/attack-mitigations.json:0 : 4 ATT&CK mitigation mappings left out: config attack_source is not set") {
		t.Errorf("diagnostics:\n%s", testfmt.WithSeverity(res.Diagnostics))
	}
}

func TestSingleFileSourceAndMitigationsSource(t *testing.T) {
	res := run(t, "testdata/mini/ontologies/d3fend.json", "")
	if res.Err != nil || len(res.Records) != 4 {
		t.Fatalf("%v, %d records", res.Err, len(res.Records))
	}
	if !strings.Contains(testfmt.WithSeverity(res.Diagnostics), "no ATT&CK mitigation mappings imported") {
		t.Errorf("diagnostics:\n%s", testfmt.WithSeverity(res.Diagnostics))
	}
	res = run(t, "testdata/mini/ontologies/d3fend.json",
		`{"mitigations_source":"testdata/mini/api/mappings/attack-mitigations.json","attack_source":"testdata/attack"}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	for _, r := range res.Records {
		if d := r.(*sdk.DefensiveTechnique); d.ExternalID == "D3-EAL" && !strings.Contains(mappings(d), "mitigation:M1038") {
			t.Errorf("D3-EAL mappings:\n%s", mappings(d))
		}
	}
}

func TestMalformedMitigationsAreAWarning(t *testing.T) {
	dir := t.TempDir()
	testfs.CopyFile(t, "testdata/mini/ontologies/d3fend.json", filepath.Join(dir, "ontologies", "d3fend.json"))
	testfs.WriteFile(t, filepath.Join(dir, "api", "mappings", "attack-mitigations.json"), "{\"@graph\": [\n{\"@id\": \"d3f:M1038\",\n")
	res := run(t, dir, miniAttack)
	if res.Err != nil || len(res.Records) != 4 {
		t.Fatalf("%v, %d records", res.Err, len(res.Records))
	}
	if d := testfmt.WithSeverity(res.Warnings()); !strings.Contains(d, "warning api/mappings/attack-mitigations.json:2 : skipped malformed ATT&CK mitigation mappings") {
		t.Errorf("diagnostics:\n%s", d)
	}
}

func TestFailures(t *testing.T) {
	dir := t.TempDir()
	testfs.WriteFile(t, filepath.Join(dir, "broken", "d3fend.json"), "{\n  \"@graph\": [\n    {\"@id\": \"d3f:X\",}\n  ]\n}\n")
	testfs.WriteFile(t, filepath.Join(dir, "nograph", "d3fend.json"), `{"@context": {}}`)
	testfs.WriteFile(t, filepath.Join(dir, "empty", "d3fend.json"), `{"@graph": [{"@id": "d3f:X", "rdfs:label": "x"}]}`)
	cases := []struct{ name, src, cfg, want string }{
		{"missing source", "testdata/nope", "", "no such file"},
		{"no ontology", t.TempDir(), "", "no D3FEND ontology"},
		{"syntax error names the line", filepath.Join(dir, "broken"), "", "d3fend.json: line 3: invalid character '}'"},
		{"not JSON-LD", filepath.Join(dir, "nograph"), "", "no @graph array"},
		{"no techniques", filepath.Join(dir, "empty"), "", "no D3FEND techniques"},
		{"unreadable attack source", "testdata/mini", `{"attack_source":"testdata/nope"}`, "attack_source"},
		{"attack source without mitigations", "testdata/mini", `{"attack_source":"testdata/mini/ontologies"}`, "no ATT&CK mitigations"},
		{"unknown config key", "testdata/mini", `{"ontologies":"x"}`, `config key "ontologies": unknown key`},
		{"bad glob", "testdata/mini", `{"ontology":"[x"}`, "invalid glob"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runner.WantFailure(t, tc.src, tc.cfg, tc.want) })
	}
}

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, sdk.ServeOpts{Name: "d3fend", Version: version, Importers: map[string]sdk.Importer{"d3fend": &importer{}}})
}

// The shipped aegis.hcl names URLs for mitigations_source and attack_source; a local
// source must still import offline: the folder's own attack-mitigations.json wins
// over the URL, and an unreachable attack_source leaves the mitigation mappings out
// with a warning instead of failing the run.
func TestOfflineWithTheShippedConfig(t *testing.T) {
	const shipped = `{"mitigations_source":"http://127.0.0.1:1/api/mappings/attack-mitigations.json",
		"attack_source":"http://127.0.0.1:1/enterprise-attack.json"}`
	res := run(t, "testdata/mini", shipped)
	if res.Err != nil || len(res.Records) != 4 {
		t.Fatalf("%v, %d records", res.Err, len(res.Records))
	}
	if d := testfmt.WithSeverity(res.Diagnostics); !strings.Contains(d, "warning api/mappings/attack-mitigations.json:0 : 4 ATT&CK mitigation mappings left out: attack_source could not be read") {
		t.Errorf("diagnostics:\n%s", d)
	}
	// With a local attack_source the folder's mitigation file is used, not the URL.
	res = run(t, "testdata/mini", `{"mitigations_source":"http://127.0.0.1:1/attack-mitigations.json","attack_source":"testdata/attack"}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	found := false
	for _, r := range res.Records {
		found = found || strings.Contains(mappings(r.(*sdk.DefensiveTechnique)), "mitigation:M1038")
	}
	if !found {
		t.Error("no mitigation mapping from the folder's attack-mitigations.json")
	}
	// A single ontology file with an unreachable mitigations_source: a warning.
	res = run(t, "testdata/mini/ontologies/d3fend.json", shipped)
	if res.Err != nil || len(res.Records) != 4 || !strings.Contains(testfmt.WithSeverity(res.Diagnostics), "mitigations_source could not be read") {
		t.Fatalf("%v, %d records, diagnostics:\n%s", res.Err, len(res.Records), testfmt.WithSeverity(res.Diagnostics))
	}
}

// Turtle is refused with a message that names the JSON-LD file to use instead, for a
// .ttl file, for Turtle content under another name and for a folder holding only .ttl.
func TestTurtleIsRefusedClearly(t *testing.T) {
	dir := t.TempDir()
	ttl := "# D3FEND\n@prefix d3f: <http://d3fend.mitre.org/ontologies/d3fend.owl#> .\nd3f:X a owl:Class .\n"
	testfs.WriteFile(t, filepath.Join(dir, "file", "d3fend.ttl"), ttl)
	testfs.WriteFile(t, filepath.Join(dir, "named", "d3fend.json"), ttl)
	testfs.WriteFile(t, filepath.Join(dir, "folder", "ontologies", "d3fend.ttl"), ttl)
	for _, src := range []string{filepath.Join(dir, "file", "d3fend.ttl"), filepath.Join(dir, "named"), filepath.Join(dir, "folder")} {
		res := run(t, src, "")
		if res.Err == nil || !strings.Contains(res.Err.Error(), "Turtle is not supported, use the JSON-LD release file") {
			t.Errorf("%s: err = %v", src, res.Err)
		}
	}
}

// A technique's record draws on the ontology, the mitigation mappings and the
// ATT&CK files of attack_source: a re-import skips the source only when none of
// them changed, was added or was deleted, and reads everything otherwise.
func TestSkipsOnlyAWhollyUnchangedSource(t *testing.T) {
	attack := t.TempDir()
	testfs.CopyDir(t, "testdata/attack", attack)
	grow := func(p string) { testfs.Append(t, p, "\n") }
	runner.SkipsOnlyWhollyUnchanged(t, "testdata/mini", `{"attack_source":`+strconv.Quote(attack)+`}`,
		sdktest.Edit{Name: "changed ontology", Apply: func(dir string) { grow(filepath.Join(dir, "ontologies/d3fend.json")) }},
		sdktest.Edit{Name: "changed mitigations", Apply: func(dir string) { grow(filepath.Join(dir, "api/mappings/attack-mitigations.json")) }},
		sdktest.Edit{Name: "changed ATT&CK file", Apply: func(string) { grow(filepath.Join(attack, "enterprise-attack.json")) }},
		sdktest.Edit{Name: "added ATT&CK file", Apply: func(string) {
			testfs.WriteFile(t, filepath.Join(attack, "extra.json"), `{"type":"bundle","objects":[]}`)
		}},
		sdktest.Edit{Name: "deleted mitigations", Apply: func(dir string) {
			testfs.Remove(t, filepath.Join(dir, "api/mappings/attack-mitigations.json"))
		}})
}
