package main

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/plugins/internal/testfs"
	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

var runner = &sdktest.Runner{Importer: &importer{}, Type: "csv"}

var run = runner.Run

func TestImportFolder(t *testing.T) {
	res := run(t, "testdata/ok", "")
	if res.Err != nil {
		t.Fatalf("import: %v", res.Err)
	}
	if len(res.Records) != 5 {
		t.Fatalf("got %d records, want 3 templates and 2 rules", len(res.Records))
	}
	tpl := res.Records[0].(*sdk.TestTemplate)
	if tpl.ExternalID != "ACME-T-001" || tpl.TemplateType != sdk.TemplateCustom ||
		strings.Join(tpl.TechniqueIDs, ",") != "T1059.001,T1105" || strings.Join(tpl.Platforms, ",") != "windows" ||
		tpl.Executor.Name != "powershell" || tpl.Executor.Command != "powershell -enc SQBFAFgA" || tpl.Executor.Cleanup != `Remove-Item $env:TEMP\p.ps1` {
		t.Errorf("template 1 = %+v", tpl)
	}
	if in := res.Incoming[0]; in.File != "templates.csv" || in.Line != 2 {
		t.Errorf("template 1 position = %s:%d", in.File, in.Line)
	}
	cron := res.Records[1].(*sdk.TestTemplate)
	if cron.Description != "Adds a cron job, then removes it" || strings.Join(cron.Platforms, ",") != "linux,macos" || cron.Executor.Command != "echo '* * * * * /tmp/x' | crontab -" {
		t.Errorf("template 2 = %+v", cron)
	}
	if manual := res.Records[2].(*sdk.TestTemplate); manual.Executor != (sdk.Executor{}) || len(manual.Platforms) != 0 {
		t.Errorf("manual template = %+v", manual)
	}
	// rules.csv has its columns in another order and lives in a subfolder.
	rule := res.Records[3].(*sdk.DetectionRule)
	if rule.ExternalID != "ACME-R-001" || rule.Title != "Encoded PowerShell" || rule.Level != "high" || rule.Format != sdk.RuleCustom ||
		rule.Query != `process.name:powershell.exe and process.args:("-enc" or "-EncodedCommand")` || rule.Language != "kuery" || rule.Status != "stable" {
		t.Errorf("rule 1 = %+v", rule)
	}
	if in := res.Incoming[4]; in.File != "detections/rules.csv" || in.Line != 3 || in.ExternalID != "ACME-R-002" {
		t.Errorf("rule 2 position = %+v", in)
	}
	// The unknown "owner" column is a warning on the header line, nothing more.
	if len(res.Diagnostics) != 1 || res.Diagnostics[0].String() != `detections/rules.csv:1: unknown column "owner" ignored` {
		t.Errorf("diagnostics = %v", res.Diagnostics)
	}
	if last := res.Progress[len(res.Progress)-1]; last.Done != 2 || last.Total != 2 {
		t.Errorf("progress = %+v", res.Progress)
	}
}

func TestMalformedRowsAreWarnings(t *testing.T) {
	res := run(t, "testdata/malformed", "")
	if res.Err != nil {
		t.Fatalf("bad rows must not fail the import: %v", res.Err)
	}
	var ids []string
	for _, r := range res.Records {
		ids = append(ids, r.ID())
	}
	if got := strings.Join(ids, ","); got != "ACME-T-010,ACME-T-016,ACME-R-012" {
		t.Errorf("imported %s", got)
	}
	want := []string{
		"templates.csv:3 external_id",
		"templates.csv:4 technique_ids[0] ACME-T-012",
		"templates.csv:5 skipped row with 4 fields, header has 8",
		"templates.csv:6 executor.name ACME-T-014",
		"templates.csv:7 skipped duplicate id (first on line 2) ACME-T-010",
		"templates.csv:8 skipped malformed row",
		"rules.csv:2 query ACME-R-010",
		"rules.csv:3 level ACME-R-011",
	}
	var got []string
	for _, d := range res.Diagnostics {
		if d.Severity != sdk.SeverityWarning {
			t.Errorf("not a warning: %v", d)
		}
		s := d.File + ":" + strconv.Itoa(d.Line) + " "
		if d.Attribute != "" {
			s += d.Attribute
		} else {
			s += d.Summary
		}
		if d.ExternalID != "" {
			s += " " + d.ExternalID
		}
		got = append(got, s)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSingleFileClassifiedByHeader(t *testing.T) {
	res := run(t, "testdata/single/acme-detections-2026.csv", "")
	if res.Err != nil || len(res.Records) != 1 {
		t.Fatalf("%v, %d records", res.Err, len(res.Records))
	}
	if r, ok := res.Records[0].(*sdk.DetectionRule); !ok || r.ExternalID != "ACME-R-100" || r.Level != "medium" {
		t.Errorf("record = %#v", res.Records[0])
	}
}

func TestFailures(t *testing.T) {
	cases := []struct {
		name, src, cfg, want string
	}{
		{"missing source", "testdata/nope", "", "no such file"},
		{"no csv files", t.TempDir(), "", "no CSV files"},
		{"missing required column", "testdata/missingcol", "", `templates.csv: line 1: templates file lacks the required column "name"`},
		{"bad delimiter", "testdata/ok", `{"delimiter":";;"}`, "delimiter"},
		{"unknown config key", "testdata/ok", `{"delimeter":";"}`, `config key "delimeter": unknown key`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runner.WantFailure(t, tc.src, tc.cfg, tc.want) })
	}
}

func TestCustomGlobsAndDelimiter(t *testing.T) {
	dir := t.TempDir()
	testfs.WriteFile(t, filepath.Join(dir, "catalog", "in-house-tests.csv"), "id;name;technique_ids\nX-1;Semicolon test;T1082\n")
	res := run(t, dir, `{"delimiter":";","templates":"catalog/*-tests.csv","rules":"none"}`)
	if res.Err != nil || len(res.Records) != 1 || res.Records[0].(*sdk.TestTemplate).TechniqueIDs[0] != "T1082" {
		t.Fatalf("%v %+v", res.Err, res.Records)
	}
}

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, sdk.ServeOpts{Name: "csvimport", Version: version, Importers: map[string]sdk.Importer{"csv": &importer{}}})
}

// TestDescribeSubcommand builds the real binary and checks that `describe`
// prints the description without any handshake.
func TestDescribeSubcommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin binary")
	}
	out := sdktest.Describe(t, sdktest.BuildPlugin(t, "."))
	var d sdk.Description
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatalf("describe output is not JSON: %v\n%s", err, out)
	}
	if d.Name != "csvimport" || d.Version != version || d.ProtocolVersion != 1 || d.SDKVersion != sdk.SDKVersion ||
		len(d.Components) != 1 || d.Components[0].Kind != sdk.ComponentImporter || d.Components[0].Type != "csv" ||
		strings.Join(d.Components[0].RecordKinds, ",") != "test_template,detection_rule" {
		t.Errorf("description = %+v", d)
	}
	var schema map[string]any
	if err := json.Unmarshal(d.Components[0].ConfigSchema, &schema); err != nil || schema["type"] != "object" {
		t.Errorf("config schema = %s", d.Components[0].ConfigSchema)
	}
}
