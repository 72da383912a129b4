package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/plugins/internal/testfmt"
	"github.com/aegis-sec/aegis/plugins/internal/testfs"
	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

var runner = &sdktest.Runner{Importer: &importer{}, Type: "nist_800_53"}

var run = runner.Run

// controls returns the control records by id, checking that the framework
// comes first.
func controls(t *testing.T, res *sdktest.ImportResult) (map[string]*sdk.ComplianceControl, []string) {
	t.Helper()
	if len(res.Records) == 0 {
		t.Fatal("no records")
	}
	if f, ok := res.Records[0].(*sdk.ComplianceFramework); !ok || f.ExternalID != "nist-800-53-rev5" || f.Name == "" {
		t.Fatalf("first record = %#v, want the framework", res.Records[0])
	}
	byID := map[string]*sdk.ComplianceControl{}
	var ids []string
	for _, r := range res.Records[1:] {
		c := r.(*sdk.ComplianceControl)
		if c.FrameworkID != "nist-800-53-rev5" || c.ID() != "nist-800-53-rev5:"+c.ExternalID {
			t.Errorf("control %s has framework %q", c.ExternalID, c.FrameworkID)
		}
		byID[c.ExternalID] = c
		ids = append(ids, c.ExternalID)
	}
	return byID, ids
}

func mappings(c *sdk.ComplianceControl) string {
	var out []string
	for _, m := range c.Mappings {
		out = append(out, strings.TrimSpace(m.TechniqueID+" "+m.MappingType+" "+m.Comments))
	}
	return strings.Join(out, "\n")
}

func TestMappingsExplorer(t *testing.T) {
	res := run(t, "testdata/mapex", "")
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	cs, ids := controls(t, res)
	if strings.Join(ids, ",") != "AC-2,AC-2(1),CA-7,SI-4,XY-1" {
		t.Fatalf("controls = %v", ids)
	}
	// "AC-02" and "AC-2" are one control; the repeated object counts once and
	// the duplicate's comment fills the empty one.
	ac2 := cs["AC-2"]
	if ac2.Title != "Account Management" || ac2.Family != "Access Control" || ac2.ParentID != "" ||
		mappings(ac2) != "T1003.001 mitigates first comment\nT1078 mitigates comment of the duplicate" {
		t.Errorf("AC-2 = %+v\n%s", ac2, mappings(ac2))
	}
	if e := cs["AC-2(1)"]; e.ParentID != "AC-2" || e.Title != "Automated System Account Management" || mappings(e) != "T1098 mitigates" {
		t.Errorf("AC-2(1) = %+v", e)
	}
	// The rev5 family name, not the file's rev4-era group name; an unknown
	// family keeps the file's.
	if c := cs["CA-7"]; c.Family != "Assessment, Authorization, and Monitoring" {
		t.Errorf("CA-7 family = %q", c.Family)
	}
	if c := cs["XY-1"]; c.Family != "Made-up Family" {
		t.Errorf("XY-1 family = %q", c.Family)
	}
	// mapping_type null stays unspecified (the core stores "mitigates").
	if c := cs["SI-4"]; mappings(c) != "T1059.001" {
		t.Errorf("SI-4 mappings = %q", mappings(c))
	}
	file := "nist_800_53-rev5_attack-16.1-enterprise.json"
	if in := res.Incoming[2]; in.File != file || in.Line != 17 || in.ExternalID != "nist-800-53-rev5:AC-2(1)" {
		t.Errorf("AC-2(1) position = %s:%d %s", in.File, in.Line, in.ExternalID)
	}
	want := strings.Join([]string{
		"warning " + file + ":22 AC-XX: skipped mapping with an invalid control id",
		"warning " + file + ":23 AC-3: skipped mapping with an invalid ATT&CK id",
		"warning " + file + ":24 AC-03: skipped mapping with unknown status bogus",
		"warning " + file + ":25 : skipped malformed mapping object",
	}, "\n")
	if d := testfmt.WithSeverity(res.Diagnostics); d != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", d, want)
	}
	last := res.Progress[len(res.Progress)-1]
	if last.Done != 5 || !strings.Contains(last.Message, "5 controls, 6 mappings (2 duplicate and 1 non-mappable rows left out)") {
		t.Errorf("progress = %+v", last)
	}
}

func TestSTIX(t *testing.T) {
	res := run(t, "testdata/stix", `{"attack_source": "testdata/attack/enterprise-attack.json"}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	cs, ids := controls(t, res)
	if strings.Join(ids, ",") != "AC-1,AC-2,AC-2(1),AC-2(12),SI-4" {
		t.Fatalf("controls = %v", ids)
	}
	if c := cs["AC-2(12)"]; c.ParentID != "AC-2" || c.Title != "Account Management | Account Monitoring for Atypical Usage" ||
		c.Description != "Monitor accounts." || c.Family != "Access Control" || len(c.Mappings) != 0 {
		t.Errorf("AC-2(12) = %+v", c)
	}
	// SI-4's technique is revoked in the ATT&CK data: still mapped, by its id,
	// for the core's release migration to move.
	for id, want := range map[string]string{"AC-1": "", "AC-2": "T1078 mitigates", "AC-2(1)": "T1098 mitigates", "SI-4": "T1064 mitigates"} {
		if got := mappings(cs[id]); got != want {
			t.Errorf("%s mappings = %q, want %q", id, got, want)
		}
	}
	if in := res.Incoming[2]; in.File != "nist800-53-r5-controls.json" || in.Line != 8 {
		t.Errorf("AC-2 position = %s:%d", in.File, in.Line)
	}
	want := strings.Join([]string{
		"warning nist800-53-r5-controls.json:16 course-of-action--10000000-0000-4000-8000-000000000005: skipped control with an invalid id",
		"warning nist800-53-r5-controls.json:22 : skipped malformed STIX object",
		"warning nist800-53-r5-mappings.json:12 relationship--20000000-0000-4000-8000-000000000004: skipped mapping to an ATT&CK object not in attack_source",
		"warning nist800-53-r5-mappings.json:14 relationship--20000000-0000-4000-8000-000000000005: skipped mapping from an unknown control",
	}, "\n")
	if d := testfmt.WithSeverity(res.Diagnostics); d != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", d, want)
	}

	// Without attack_source the controls still come, and the mappings are one warning.
	res = run(t, "testdata/stix", "")
	if res.Err != nil || len(res.Records) != 6 {
		t.Fatalf("%v, %d records", res.Err, len(res.Records))
	}
	if d := testfmt.WithSeverity(res.Warnings()); !strings.Contains(d, "nist800-53-r5-mappings.json:0 : 5 STIX mappings left out: config attack_source is not set") {
		t.Errorf("diagnostics:\n%s", d)
	}
}

// TestBothFormats: a source holding both formats gives one record per
// control, the catalog's title, and the union of the mappings.
func TestBothFormats(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"mapex/nist_800_53-rev5_attack-16.1-enterprise.json", "stix/nist800-53-r5-controls.json", "stix/nist800-53-r5-mappings.json"} {
		testfs.CopyFile(t, filepath.Join("testdata", f), filepath.Join(dir, f))
	}
	res := run(t, dir, `{"attack_source": "testdata/attack"}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	cs, ids := controls(t, res)
	if strings.Join(ids, ",") != "AC-1,AC-2,AC-2(1),AC-2(12),CA-7,SI-4,XY-1" {
		t.Fatalf("controls = %v", ids)
	}
	if c := cs["AC-2"]; c.Description != "Define the types of accounts." ||
		mappings(c) != "T1003.001 mitigates first comment\nT1078 mitigates comment of the duplicate" {
		t.Errorf("AC-2 = %+v\n%s", c, mappings(c))
	}
	if c := cs["AC-2(1)"]; c.Title != "Account Management | Automated System Account Management" || mappings(c) != "T1098 mitigates" {
		t.Errorf("AC-2(1) = %+v", c)
	}
	if c := cs["SI-4"]; mappings(c) != "T1059.001\nT1064 mitigates" {
		t.Errorf("SI-4 mappings = %q", mappings(c))
	}
	for _, in := range res.Incoming {
		if in.ExternalID == "nist-800-53-rev5:AC-2(1)" && (in.File != "stix/nist800-53-r5-controls.json" || in.Line != 12) {
			t.Errorf("AC-2(1) position = %s:%d, want its catalog definition", in.File, in.Line)
		}
	}
}

func TestMalformedFileIsAWarning(t *testing.T) {
	res := run(t, "testdata/malformed", "")
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if _, ids := controls(t, res); strings.Join(ids, ",") != "IA-2" {
		t.Errorf("controls = %v", ids)
	}
	// Every file is imported or named in a warning: another framework's file too.
	if d := testfmt.WithSeverity(res.Diagnostics); d != "warning broken.json:4 : skipped malformed JSON file\nwarning package.json:0 : skipped file\nwarning veris-1.3.7_attack-16.1-enterprise.json:0 : skipped file" {
		t.Errorf("diagnostics:\n%s", d)
	}
	var said bool
	for _, d := range res.Diagnostics {
		said = said || strings.Contains(d.Detail, `mapping framework "veris"`)
	}
	if !said {
		t.Errorf("the VERIS file is not named with its framework: %+v", res.Diagnostics)
	}
}

func TestDeterministic(t *testing.T) {
	cfg := `{"attack_source": "testdata/attack"}`
	if res := runner.Deterministic(t, "testdata", cfg); res.Err != nil {
		t.Fatal(res.Err)
	}
}

func TestFailures(t *testing.T) {
	cases := []struct{ name, src, cfg, want string }{
		{"missing source", "testdata/nope", "", "no such file"},
		{"no JSON files", t.TempDir(), "", "no JSON files"},
		{"only other revisions", "testdata/rev4", "", "no NIST 800-53 rev5 controls or mappings"},
		{"unreadable attack source", "testdata/stix", `{"attack_source": "testdata/nope"}`, "attack_source"},
		{"attack source without techniques", "testdata/stix", `{"attack_source": "testdata/mapex"}`, "no ATT&CK techniques"},
		{"unknown config key", "testdata/mapex", `{"attack": "x"}`, `config key "attack": unknown key`},
		{"bad glob", "testdata/mapex", `{"files": "[x"}`, "invalid glob"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runner.WantFailure(t, tc.src, tc.cfg, tc.want) })
	}
	// The skipped rev4 files say why.
	res := run(t, "testdata/rev4", "")
	if d := testfmt.WithSeverity(res.Warnings()); !strings.Contains(d, "mappings-rev4.json:0 : skipped file") || !strings.Contains(d, "nist800-53-r4-controls.json:0 : skipped file") {
		t.Errorf("diagnostics:\n%s", d)
	}
}

func TestControlIDs(t *testing.T) {
	for in, want := range map[string]string{
		"AC-2": "AC-2", "AC-02": "AC-2", "ac-2": "AC-2", " AC - 02 ": "AC-2", "AC-2(1)": "AC-2(1)", "AC-02(01)": "AC-2(1)",
		"AC-2 (12)": "AC-2(12)", "ac-2.1": "AC-2(1)", "SI-004": "SI-4",
		"AC-0": "", "AC-2(0)": "", "AC2": "", "A-2": "", "AC-2(1)(a)": "", "": "", "AC-2.": "",
	} {
		id, ok := parseControlID(in)
		got := ""
		if ok {
			got = id.String()
		}
		if got != want {
			t.Errorf("parseControlID(%q) = %q, want %q", in, got, want)
		}
	}
	// A name that states no revision gives none: it is never taken for rev5.
	for in, want := range map[string]string{"rev5": "5", "r5": "5", "5": "5", "NIST 800-53 Revision 5": "5", "NIST 800-53": "",
		"": "", "rev4": "4", "NIST 800-53 Revision 4": "4", "r4": "4", "4": "4"} {
		if got := revision(in); got != want {
			t.Errorf("revision(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, sdk.ServeOpts{Name: "nist", Version: version, Importers: map[string]sdk.Importer{"nist_800_53": &importer{}}})
}

// A file that does not say which revision it maps is not taken for rev5: the revision
// comes from the data. With nothing else in the source, the run fails with the reason.
func TestRevisionComesFromTheData(t *testing.T) {
	for name, body := range map[string]string{
		"no-version.json": `{"metadata": {"mapping_framework": "nist_800_53", "capability_groups": {}},
 "mapping_objects": [{"capability_id": "AC-02", "mapping_type": "mitigates", "attack_object_id": "T1078", "status": "complete"}]}`,
		"no-metadata.json": `{"mapping_objects": [{"capability_id": "AC-02", "mapping_type": "mitigates", "attack_object_id": "T1078", "status": "complete"}]}`,
		"stix-no-revision.json": `{"type": "bundle", "id": "bundle--1", "objects": [{"type": "course-of-action", "id": "course-of-action--1",
 "name": "Account Management", "external_references": [{"source_name": "NIST 800-53", "external_id": "AC-2"}]}]}`,
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		res := run(t, dir, "")
		if res.Err == nil || len(res.Records) != 0 {
			t.Errorf("%s: err %v, %d records; want a failure and no framework", name, res.Err, len(res.Records))
		}
		if d := testfmt.WithSeverity(res.Diagnostics); !strings.Contains(d, name+":0 : skipped file") {
			t.Errorf("%s: diagnostics %q", name, d)
		}
		var said bool
		for _, d := range res.Diagnostics {
			said = said || strings.Contains(d.Detail, "which revision") || strings.Contains(d.Detail, "no metadata")
		}
		if !said {
			t.Errorf("%s: the warning does not say the revision is unknown: %+v", name, res.Diagnostics)
		}
	}
}

// Mappings Explorer files of other frameworks (AWS, Microsoft 365, ...) share the
// format: each becomes a compliance framework of its own, named and versioned from
// its metadata, its capabilities the controls and the score category (protect,
// detect, respond) the mapping type. NIST 800-53 beside them is read as before.
func TestOtherMappingsExplorerFrameworks(t *testing.T) {
	res := run(t, "testdata/frameworks", "")
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	frameworks := map[string]*sdk.ComplianceFramework{}
	controls := map[string]*sdk.ComplianceControl{}
	for _, r := range res.Records {
		switch r := r.(type) {
		case *sdk.ComplianceFramework:
			frameworks[r.ExternalID] = r
		case *sdk.ComplianceControl:
			if frameworks[r.FrameworkID] == nil {
				t.Errorf("control %s comes before its framework", r.ID())
			}
			controls[r.ID()] = r
		}
	}
	if len(frameworks) != 3 || frameworks["nist-800-53-rev5"] == nil {
		t.Fatalf("frameworks = %v", frameworks)
	}
	aws := frameworks["aws-12-12-2024"]
	if aws == nil || aws.Name != "AWS security capabilities" || aws.Version != "12/12/2024" || !strings.Contains(aws.Description, "ATT&CK 16.1") {
		t.Fatalf("aws framework = %+v", aws)
	}
	if m := frameworks["m365-07-18-2025"]; m == nil || m.Name != "Microsoft 365 security capabilities" || m.Version != "07/18/2025" {
		t.Fatalf("m365 framework = %+v", m)
	}
	cog := controls["aws-12-12-2024:amazon_cognito"]
	if cog == nil || cog.Title != "Amazon Cognito" || cog.Family != "Amazon Cognito" ||
		mappings(cog) != "T1078 protect Score: minimal. MFA for one sub-technique.\nT1110.001 protect Score: significant." {
		t.Errorf("amazon_cognito = %+v\n%s", cog, mappings(cog))
	}
	if gd := controls["aws-12-12-2024:amazon_guardduty"]; gd == nil || mappings(gd) != "T1046 detect Score: partial. Recon findings." {
		t.Errorf("amazon_guardduty = %+v", gd)
	}
	pur := controls["m365-07-18-2025:PUR-AUS-E5"]
	if pur == nil || pur.Family != "Microsoft Purview" || pur.Title != "Audit Solutions" ||
		mappings(pur) != "T1059 detect Score: partial. Audit log.\nT1059 protect Score: minimal. Review of accounts." {
		t.Errorf("PUR-AUS-E5 = %+v\n%s", pur, mappings(pur))
	}
	if n := len(controls); n != 3+5 {
		t.Errorf("%d controls, want 3 cloud and 5 NIST", n)
	}
	if d := testfmt.WithSeverity(res.Diagnostics); !strings.Contains(d, "aws-12.12.2024_attack-16.1-enterprise.json:") || !strings.Contains(d, "invalid ATT&CK id") {
		t.Errorf("diagnostics:\n%s", d)
	}
	last := res.Progress[len(res.Progress)-1].Message
	if !strings.Contains(last, "other frameworks: AWS security capabilities 12/12/2024 (2 controls), Microsoft 365 security capabilities 07/18/2025 (1 controls)") {
		t.Errorf("summary = %q", last)
	}

	// A folder of cloud mappings alone is no longer an empty run, and has no NIST framework.
	dir := t.TempDir()
	data, _ := os.ReadFile("testdata/frameworks/aws-12.12.2024_attack-16.1-enterprise.json")
	if err := os.WriteFile(filepath.Join(dir, "aws.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	res = run(t, dir, "")
	if res.Err != nil || len(res.Records) != 3 {
		t.Fatalf("aws alone: %v, %d records", res.Err, len(res.Records))
	}
	if f, ok := res.Records[0].(*sdk.ComplianceFramework); !ok || f.ExternalID != "aws-12-12-2024" {
		t.Errorf("first record = %#v", res.Records[0])
	}
}

// A control's record draws on several files (its mappings in other files, STIX
// mappings resolved through attack_source): a re-import skips the source only
// when none of them changed, was added or was deleted, and reads everything
// otherwise.
func TestSkipsOnlyAWhollyUnchangedSource(t *testing.T) {
	t.Run("mappings explorer", func(t *testing.T) {
		runner.SkipsOnlyWhollyUnchanged(t, "testdata/frameworks", "",
			sdktest.Edit{Name: "changed", Apply: func(dir string) {
				testfs.Append(t, filepath.Join(dir, "nist_800_53-rev5_attack-16.1-enterprise.json"), "\n")
			}},
			sdktest.Edit{Name: "added", Apply: func(dir string) {
				testfs.CopyFile(t, filepath.Join(dir, "aws-12.12.2024_attack-16.1-enterprise.json"), filepath.Join(dir, "copy.json"))
			}},
			sdktest.Edit{Name: "deleted", Apply: func(dir string) {
				testfs.Remove(t, filepath.Join(dir, "m365-07.18.2025_attack-16.1-enterprise.json"))
			}})
	})
	t.Run("stix with attack_source", func(t *testing.T) {
		attack := t.TempDir()
		testfs.CopyDir(t, "testdata/attack", attack)
		runner.SkipsOnlyWhollyUnchanged(t, "testdata/stix", `{"attack_source":`+strconv.Quote(attack)+`}`,
			sdktest.Edit{Name: "changed mappings", Apply: func(dir string) {
				testfs.Append(t, filepath.Join(dir, "nist800-53-r5-mappings.json"), "\n")
			}},
			sdktest.Edit{Name: "changed ATT&CK file", Apply: func(string) {
				testfs.Append(t, filepath.Join(attack, "enterprise-attack.json"), "\n")
			}},
			sdktest.Edit{Name: "added ATT&CK file", Apply: func(string) {
				testfs.WriteFile(t, filepath.Join(attack, "extra.json"), `{"type":"bundle","objects":[]}`)
			}})
	})
}

// The CTID mappings file alone gave one "skipped mapping from an unknown control"
// warning per mapping (4,929 of them upstream) and no word of the missing controls
// file; one warning names the file and what to import instead.
func TestSTIXMappingsWithoutTheirControls(t *testing.T) {
	res := run(t, "testdata/stix/nist800-53-r5-mappings.json", `{"attack_source": "testdata/attack"}`)
	ws := testfmt.DiagnosticList(res.Warnings())
	if len(ws) != 1 || !strings.HasSuffix(ws[0], "nist800-53-r5-mappings.json:0 : 5 STIX mappings left out: they name their controls by STIX id, and the source holds no STIX controls") {
		t.Fatalf("warnings = %v", ws)
	}
}
