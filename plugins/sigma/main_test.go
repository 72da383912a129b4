package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/plugins/internal/testfmt"
	"github.com/aegis-sec/aegis/plugins/internal/testfs"
	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

var runner = &sdktest.Runner{Importer: &importer{}, Type: "sigma"}

var run = runner.Run

func rules(t *testing.T, res *sdktest.ImportResult) map[string]*sdk.DetectionRule {
	t.Helper()
	m := map[string]*sdk.DetectionRule{}
	for _, r := range res.Records {
		m[r.ID()] = r.(*sdk.DetectionRule)
	}
	return m
}

func positions(res *sdktest.ImportResult) []string {
	var out []string
	for _, in := range res.Incoming {
		out = append(out, fmt.Sprintf("%s:%d %s", in.File, in.Line, in.ExternalID))
	}
	return out
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestImportCollection(t *testing.T) {
	res := run(t, "testdata/collection", "")
	if res.Err != nil {
		t.Fatalf("import: %v", res.Err)
	}
	// The file left out by the default exclude patterns is named, and so are the
	// two YAML files that hold no rule.
	if got := strings.Join(testfmt.DiagnosticList(res.Diagnostics), "\n"); got != "regression_data/rules/win_encoded/info.yml:0 : file left out: matches the exclude pattern **/regression_data/**\n"+
		":0 : other/tooling.yml: file read, no Sigma rule in it\n"+
		":0 : other/workflow.yaml: file read, no Sigma rule in it" {
		t.Errorf("diagnostics: %v", got)
	}
	// Files in lexical order, documents in file order; regression_data,
	// the tool config list and the CI workflow are not rules.
	want := []string{
		"rules-threat-hunting/correlation/corr_brute_force.yml:1 5a1b2c3d-0007-4000-8000-000000000007",
		"rules-threat-hunting/correlation/corr_brute_force.yml:14 5a1b2c3d-0008-4000-8000-000000000008",
		"rules/cloud/azure_tactic_only.yml:2 5a1b2c3d-0002-4000-8000-000000000002",
		"rules/filters/filter_admin_hosts.yml:1 5a1b2c3d-0009-4000-8000-000000000009",
		"rules/linux/lnx_multi_global.yml:14 5a1b2c3d-0003-4000-8000-000000000003",
		"rules/linux/lnx_multi_global.yml:22 a5c9b8a0-2ab2-50de-a7fb-41f3bbfc632d",
		"rules/linux/lnx_multi_global.yml:29 9cc3ac0f-440a-5c3f-bcda-cfaa8e3f3591",
		"rules/linux/lnx_multi_global.yml:36 5a1b2c3d-0004-4000-8000-000000000004",
		"rules/network/net_two_rules.yml:1 5a1b2c3d-0005-4000-8000-000000000005",
		"rules/network/net_two_rules.yml:12 5a1b2c3d-0006-4000-8000-000000000006",
		"rules/windows/proc_creation_win_encoded_ps.yml:1 5a1b2c3d-0001-4000-8000-000000000001",
	}
	if got := positions(res); !reflect.DeepEqual(got, want) {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	byID := rules(t, res)

	t.Run("full rule", func(t *testing.T) {
		r := byID["5a1b2c3d-0001-4000-8000-000000000001"] // upper-case id in the file
		if r == nil {
			t.Fatal("missing")
		}
		if r.Title != "Encoded PowerShell Command Line" || r.Format != sdk.RuleSigma || r.RuleType != "" || r.Status != "test" ||
			r.Level != "high" || r.Description != "Detects PowerShell started with a base64 encoded command." ||
			r.Author != "Jane Doe, John Roe" || r.Deprecated {
			t.Errorf("rule = %+v", r)
		}
		if !r.Date.Equal(day(2021, 5, 12)) || !r.Modified.Equal(day(2023, 1, 5)) {
			t.Errorf("date %v modified %v: both date spellings must parse", r.Date, r.Modified)
		}
		testfmt.CheckJSON(t, "references", r.References, []string{"https://example.test/encoded-powershell"})
		testfmt.CheckJSON(t, "tags", r.Tags, []string{"attack.T1027", "attack.execution", "attack.g0016", "attack.s0002", "attack.stealth", "attack.t1059.001", "car.2014-04-003"})
		testfmt.CheckJSON(t, "techniques", r.TechniqueIDs, []string{"T1027", "T1059.001"})
		testfmt.CheckJSON(t, "tactics", r.Tactics, []string{"execution", "stealth"})
		testfmt.CheckJSON(t, "false positives", r.FalsePositives, []string{"Administrative scripts", "42"})
		testfmt.CheckJSON(t, "log source", r.LogSource, map[string]string{"category": "process_creation", "product": "windows"})
		testfmt.CheckJSON(t, "related", r.Related, []sdk.RelatedRule{{ID: "5a1b2c3d-0001-4000-8000-0000000000ff", Type: "derived"}, {ID: "legacy-rule-7", Type: "obsolete"}})
		testfmt.CheckJSON(t, "detection", r.Detection, map[string]any{
			"selection":   map[string]any{"Image|endswith": []any{`\powershell.exe`, `\pwsh.exe`}, "CommandLine|contains": " -enc "},
			"filter_main": map[string]any{"ParentImage": `C:\Windows\System32\svchost.exe`},
			"condition":   "selection and not filter_main",
		})
		testfmt.CheckJSON(t, "metadata", r.Metadata, map[string]any{"groups": []any{"G0016"}, "software": []any{"S0002"},
			"fields": []any{"CommandLine"}, "license": "DRL-1.1"})
		raw, _ := os.ReadFile("testdata/collection/rules/windows/proc_creation_win_encoded_ps.yml")
		if r.Raw != string(raw) {
			t.Errorf("raw is not the file text:\n%s", r.Raw)
		}
	})

	t.Run("tactic-only deprecated rule", func(t *testing.T) {
		r := byID["5a1b2c3d-0002-4000-8000-000000000002"]
		if !r.Deprecated || r.Status != "deprecated" || r.Level != "medium" || len(r.TechniqueIDs) != 0 || !r.Date.Equal(day(2020, 1, 31)) {
			t.Errorf("rule = %+v", r)
		}
		testfmt.CheckJSON(t, "tactics", r.Tactics, []string{"defense-evasion", "defense-impairment", "initial-access"})
		testfmt.CheckJSON(t, "detection", r.Detection, map[string]any{"selection": map[string]any{"ResultType": 0}, "condition": "selection"})
	})

	t.Run("global action merged into each document", func(t *testing.T) {
		first := byID["5a1b2c3d-0003-4000-8000-000000000003"]
		second := byID["a5c9b8a0-2ab2-50de-a7fb-41f3bbfc632d"]
		repeat := byID["9cc3ac0f-440a-5c3f-bcda-cfaa8e3f3591"]
		for _, r := range []*sdk.DetectionRule{first, second, repeat} {
			if r.Title != "Suspicious Shell History Tampering" || r.Status != "experimental" || r.Level != "medium" ||
				!r.Date.Equal(day(2019, 3, 2)) || strings.Join(r.TechniqueIDs, ",") != "T1070.003" {
				t.Errorf("merged rule %s = %+v", r.ExternalID, r)
			}
			if strings.Contains(r.Raw, "action:") || !strings.Contains(r.Raw, "title: Suspicious Shell History Tampering") {
				t.Errorf("raw of %s must be the merged rule as one document:\n%s", r.ExternalID, r.Raw)
			}
		}
		testfmt.CheckJSON(t, "first log source", first.LogSource, map[string]string{"product": "linux", "service": "auditd"})
		testfmt.CheckJSON(t, "first detection", first.Detection, map[string]any{"selection": map[string]any{"type": "EXECVE", "a0": "shred"}, "condition": "selection"})
		if first.Metadata != nil || len(first.Related) != 0 {
			t.Errorf("the first rule keeps the collection's id: %+v %+v", first.Metadata, first.Related)
		}
		testfmt.CheckJSON(t, "second log source", second.LogSource, map[string]string{"product": "linux", "category": "process_creation"})
		testfmt.CheckJSON(t, "second metadata", second.Metadata, map[string]any{"collection_id": "5a1b2c3d-0003-4000-8000-000000000003", "document": float64(3)})
		testfmt.CheckJSON(t, "second related", second.Related, []sdk.RelatedRule{{ID: "5a1b2c3d-0003-4000-8000-000000000003", Type: "derived"}})
		// "action: repeat" takes the previous rule and changes its selection.
		testfmt.CheckJSON(t, "repeat log source", repeat.LogSource, second.LogSource)
		testfmt.CheckJSON(t, "repeat detection", repeat.Detection, map[string]any{"selection": map[string]any{"CommandLine|contains": "unset HISTFILE"}, "condition": "selection"})
		// "action: reset" drops the global document.
		after := byID["5a1b2c3d-0004-4000-8000-000000000004"]
		if after.Title != "Linux Kernel Module Load" || after.Status != "stable" || len(after.TechniqueIDs) != 0 || after.Description != "" ||
			strings.Contains(after.Raw, "---") || !strings.HasPrefix(after.Raw, "title: Linux Kernel Module Load\n") {
			t.Errorf("rule after reset = %+v", after)
		}
	})

	t.Run("plain multi-document file", func(t *testing.T) {
		a, b := byID["5a1b2c3d-0005-4000-8000-000000000005"], byID["5a1b2c3d-0006-4000-8000-000000000006"]
		if a.Title != "DNS Query To Known Bad Domain" || b.Title != "Firewall Deny Burst" || strings.Join(b.TechniqueIDs, ",") != "T1046" {
			t.Errorf("rules = %+v / %+v", a, b)
		}
		if !strings.HasSuffix(a.Raw, "level: high\n") || strings.Contains(a.Raw, "Firewall") || !strings.HasPrefix(b.Raw, "title: Firewall Deny Burst") || strings.Contains(b.Raw, "...") {
			t.Errorf("raw texts are not cut per document:\n%q\n%q", a.Raw, b.Raw)
		}
	})

	t.Run("correlation and filter", func(t *testing.T) {
		base := byID["5a1b2c3d-0007-4000-8000-000000000007"]
		testfmt.CheckJSON(t, "base metadata", base.Metadata, map[string]any{"name": "failed_logon"})
		c := byID["5a1b2c3d-0008-4000-8000-000000000008"]
		if c.RuleType != "correlation" || c.LogSource != nil || c.Level != "high" || strings.Join(c.TechniqueIDs, ",") != "T1110" {
			t.Errorf("correlation = %+v", c)
		}
		testfmt.CheckJSON(t, "correlation", c.Detection, map[string]any{"type": "event_count", "rules": []any{"failed_logon"},
			"group-by": []any{"IpAddress"}, "timespan": "5m", "condition": map[string]any{"gte": float64(10)}})
		f := byID["5a1b2c3d-0009-4000-8000-000000000009"]
		if f.RuleType != "filter" || f.Description != "Admin jump hosts run encoded PowerShell all day" {
			t.Errorf("filter = %+v", f)
		}
		testfmt.CheckJSON(t, "filter log source", f.LogSource, map[string]string{"product": "windows", "category": "process_creation"})
		testfmt.CheckJSON(t, "filter", f.Detection, map[string]any{"rules": []any{"5a1b2c3d-0001-4000-8000-000000000001"},
			"selection": map[string]any{"ComputerName|startswith": "ADMJMP"}, "condition": "not selection"})
	})

	if last := res.Progress[len(res.Progress)-1]; last.Done != last.Total || last.Message != "11 rules from 8 files" {
		t.Errorf("last progress = %+v", last)
	}
}

func TestInvalidRulesAreWarnings(t *testing.T) {
	res := run(t, "testdata/invalid", "")
	if res.Err != nil {
		t.Fatalf("invalid rules must not fail the import: %v", res.Err)
	}
	want := []string{
		"partial_multi.yml:1 5a1b2c3d-0104-4000-8000-000000000104",
		"partial_multi.yml:16 5a1b2c3d-0106-4000-8000-000000000106",
		"soft_problems.yml:1 5a1b2c3d-0107-4000-8000-000000000107",
	}
	if got := positions(res); !reflect.DeepEqual(got, want) {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantDiags := []string{
		"bad_uuid.yml:1 win-rule-0001: skipped rule: id is not a UUID",
		"bad_yaml.yml:5 5a1b2c3d-0101-4000-8000-000000000101: skipped document: invalid YAML",
		"no_detection.yml:1 5a1b2c3d-0103-4000-8000-000000000103: skipped rule: detection is missing or not a mapping",
		"no_id.yml:1 : skipped rule: no id",
		"no_title.yml:1 5a1b2c3d-0102-4000-8000-000000000102: skipped rule: no title",
		"partial_multi.yml:11 5a1b2c3d-0105-4000-8000-000000000105: skipped document: invalid YAML",
		"soft_problems.yml:10 5a1b2c3d-0107-4000-8000-000000000107: detection has no condition",
		"soft_problems.yml:13 5a1b2c3d-0107-4000-8000-000000000107: unknown level \"severe\" left out",
		"soft_problems.yml:4 5a1b2c3d-0107-4000-8000-000000000107: date \"last tuesday\" is not a date; left out",
		"soft_problems.yml:5 5a1b2c3d-0107-4000-8000-000000000107: tag \"attack.t12345\" is not a valid ATT&CK technique id; kept as a tag only",
		"zz_duplicate.yml:1 5a1b2c3d-0107-4000-8000-000000000107: skipped rule: duplicate id",
	}
	if got := testfmt.DiagnosticList(res.Diagnostics); !reflect.DeepEqual(got, wantDiags) {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantDiags, "\n"))
	}
	for _, d := range res.Diagnostics {
		if d.Severity != sdk.SeverityWarning {
			t.Errorf("not a warning: %v", d)
		}
	}
	if d := res.Diagnostics[1]; !strings.Contains(d.Detail, "did not find expected key") {
		t.Errorf("bad YAML detail = %q", d.Detail)
	}
	if d := res.Diagnostics[10]; d.Detail != "first defined at soft_problems.yml:1" {
		t.Errorf("duplicate detail = %q", d.Detail)
	}
	soft := rules(t, res)["5a1b2c3d-0107-4000-8000-000000000107"]
	if soft.Status != "experimental" || soft.Level != "" || !soft.Date.IsZero() || strings.Join(soft.TechniqueIDs, ",") != "T1003.001" ||
		strings.Join(soft.Tags, ",") != "attack.t1003.001,attack.t12345" {
		t.Errorf("rule with fixable problems = %+v", soft)
	}
}

func TestConfig(t *testing.T) {
	t.Run("folders", func(t *testing.T) {
		res := run(t, "testdata/collection", `{"folders":["rules-threat-hunting", "rules-dfir"]}`)
		if res.Err != nil || len(res.Records) != 2 {
			t.Fatalf("%v, %d records", res.Err, len(res.Records))
		}
		want := []string{"rules-dfir:0 : configured folder not found in the source"}
		for _, f := range []string{"other/tooling.yml", "other/workflow.yaml"} {
			want = append(want, f+":0 : file left out: outside the configured folders (rules-threat-hunting, rules-dfir)")
		}
		want = append(want, "regression_data/rules/win_encoded/info.yml:0 : file left out: matches the exclude pattern **/regression_data/**")
		for _, f := range []string{"rules/cloud/azure_tactic_only.yml", "rules/filters/filter_admin_hosts.yml", "rules/linux/lnx_multi_global.yml",
			"rules/network/net_two_rules.yml", "rules/windows/proc_creation_win_encoded_ps.yml"} {
			want = append(want, f+":0 : file left out: outside the configured folders (rules-threat-hunting, rules-dfir)")
		}
		if got := testfmt.DiagnosticList(res.Diagnostics); !reflect.DeepEqual(got, want) {
			t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("deprecated left out", func(t *testing.T) {
		res := run(t, "testdata/collection", `{"include_deprecated":false}`)
		if res.Err != nil || len(res.Records) != 10 || rules(t, res)["5a1b2c3d-0002-4000-8000-000000000002"] != nil {
			t.Fatalf("%v, %d records", res.Err, len(res.Records))
		}
		if last := res.Progress[len(res.Progress)-1]; !strings.HasSuffix(last.Message, ", 1 deprecated rules left out") {
			t.Errorf("progress = %q", last.Message)
		}
	})
	t.Run("exclude replaces the default", func(t *testing.T) {
		// regression_data is read now, and its info.yml is named as no rule.
		res := run(t, "testdata/collection", `{"exclude":["rules/linux/**"]}`)
		if res.Err != nil || len(res.Records) != 7 ||
			strings.Join(testfmt.DiagnosticList(res.Diagnostics), "\n") != "rules/linux/lnx_multi_global.yml:0 : file left out: matches the exclude pattern rules/linux/**\n"+
				":0 : other/tooling.yml: file read, no Sigma rule in it\n"+
				":0 : other/workflow.yaml: file read, no Sigma rule in it\n"+
				":0 : regression_data/rules/win_encoded/info.yml: file read, no Sigma rule in it" {
			t.Fatalf("%v, %d records, %v", res.Err, len(res.Records), res.Diagnostics)
		}
	})
	t.Run("single file", func(t *testing.T) {
		res := run(t, "testdata/collection/rules/network/net_two_rules.yml", "")
		if res.Err != nil || len(res.Records) != 2 || res.Incoming[1].File != "net_two_rules.yml" || res.Incoming[1].Line != 12 {
			t.Fatalf("%v %v", res.Err, positions(res))
		}
	})
	bad := []struct{ name, cfg, want string }{
		{"unknown key", `{"folder":["rules"]}`, `config key "folder": unknown key`},
		{"escaping folder", `{"folders":["../etc"]}`, "folders[0]"},
		{"bad glob", `{"exclude":["[x"]}`, "exclude[0]"},
		{"wrong type", `{"include_deprecated":"yes"}`, "include_deprecated"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) { runner.WantFailure(t, "testdata/collection", tc.cfg, tc.want) })
	}
}

func TestSourcesWithoutRulesFail(t *testing.T) {
	noRules := t.TempDir()
	testfs.WriteFile(t, filepath.Join(noRules, "a", "config.yml"), "backends:\n  - splunk\n")
	for name, src := range map[string]string{"missing": "testdata/nope", "empty": t.TempDir(), "no rules": noRules} {
		t.Run(name, func(t *testing.T) {
			res := run(t, src, "")
			var ds sdk.Diagnostics
			if !errors.As(res.Err, &ds) || len(res.Records) != 0 {
				t.Fatalf("err = %v, records %d: want the run to fail", res.Err, len(res.Records))
			}
		})
	}
}

// TestDeterministic: the same input gives byte-identical records, so the
// core's content hashes see a re-import as unchanged.
func TestDeterministic(t *testing.T) {
	runner.Deterministic(t, "testdata/collection", "")
}

func TestSplitDocuments(t *testing.T) {
	text := "# header comment\n%YAML 1.2\n---\na: 1\n--- # second\nb: |\n  ---not a marker\n...\n\n---\nc: 3"
	var got []string
	for _, c := range splitDocuments(text) {
		got = append(got, fmt.Sprintf("%d %v %q", c.line, c.sep, c.raw()))
	}
	want := []string{`3 true "a: 1\n"`, `5 true "b: |\n  ---not a marker\n"`, `10 true "c: 3"`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("chunks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestClassifyTags(t *testing.T) {
	ti := classifyTags([]string{"attack.t1059.001", "attack.T1003", "attack.command_and_control", "attack.ta0005", "attack.ta0108",
		"attack.g0016", "attack.s0002", "attack.ds0005", "attack.m1038", "attack.t1059.1", "cve.2021-44228", "detection.threat-hunting"})
	testfmt.CheckJSON(t, "techniques", ti.techniques, []string{"T1003", "T1059.001"})
	testfmt.CheckJSON(t, "tactics", ti.tactics, []string{"command-and-control", "defense-evasion"})
	testfmt.CheckJSON(t, "groups/software", [][]string{ti.groups, ti.software, ti.dataSources, ti.mitigations, ti.tacticIDs, ti.badTags},
		[][]string{{"G0016"}, {"S0002"}, {"DS0005"}, {"M1038"}, {"TA0108"}, {"attack.t1059.1"}})
	if len(ti.tags) != 12 {
		t.Errorf("tags = %v", ti.tags)
	}
}

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, serveOpts())
}

// A folder of rules that is not a SigmaHQ checkout (none of the configured folders) is
// read as it is, and the run says so.
func TestPlainFolderOfRules(t *testing.T) {
	// The folders aegis.hcl ships with.
	res := run(t, "testdata/collection/rules", `{"folders":["rules", "rules-emerging-threats", "rules-threat-hunting", "deprecated"]}`)
	if res.Err != nil || len(res.Records) == 0 {
		t.Fatalf("%v, %d records", res.Err, len(res.Records))
	}
	want := run(t, "testdata/collection", `{"folders":["rules"]}`)
	if len(res.Records) != len(want.Records) {
		t.Errorf("%d records from the folder itself, %d from it as rules/ of a checkout", len(res.Records), len(want.Records))
	}
	if got := strings.Join(testfmt.DiagnosticList(res.Diagnostics), "\n"); !strings.Contains(got, "the whole source is read as a folder of rules") {
		t.Errorf("diagnostics = %s", got)
	}
}

// Sigma's status unsupported marks rules no backend can convert: they are stored, but
// deprecated (never counted or evaluated as active), and the run names each one.
func TestUnsupportedRulesAreNotActive(t *testing.T) {
	dir := t.TempDir()
	rule := func(id, status string) string {
		return "title: Rule " + id + "\nid: " + id + "\nstatus: " + status +
			"\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\\\x.exe'\n  condition: sel\nlevel: high\n"
	}
	testfs.WriteFile(t, filepath.Join(dir, "a_stable.yml"), rule("5a1b2c3d-00a1-4000-8000-000000000001", "stable"))
	testfs.WriteFile(t, filepath.Join(dir, "b_unsupported.yml"), rule("5a1b2c3d-00a2-4000-8000-000000000002", "unsupported"))

	res := run(t, dir, "")
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	byID := rules(t, res)
	if r := byID["5a1b2c3d-00a1-4000-8000-000000000001"]; r == nil || r.Deprecated {
		t.Errorf("stable rule: %+v", r)
	}
	r := byID["5a1b2c3d-00a2-4000-8000-000000000002"]
	if r == nil || !r.Deprecated || r.Status != "unsupported" {
		t.Fatalf("unsupported rule must be kept, deprecated, with its status: %+v", r)
	}
	if got := strings.Join(testfmt.DiagnosticList(res.Diagnostics), "\n"); !strings.Contains(got, "b_unsupported.yml:1 5a1b2c3d-00a2-4000-8000-000000000002: rule has status unsupported") {
		t.Errorf("diagnostics = %s", got)
	}
	if last := res.Progress[len(res.Progress)-1]; !strings.Contains(last.Message, "1 with status unsupported stored as deprecated") {
		t.Errorf("summary = %q", last.Message)
	}

	res = run(t, dir, `{"include_deprecated":false}`)
	if _, kept := rules(t, res)["5a1b2c3d-00a2-4000-8000-000000000002"]; res.Err != nil || kept {
		t.Errorf("include_deprecated=false keeps the unsupported rule (err %v)", res.Err)
	}
}

// With the host's file states, a re-import reads only the changed and the added file
// (the deleted one is simply not reported) and skips the others as unchanged.
func TestSkipsUnchangedFiles(t *testing.T) {
	second := runner.SkipsUnchanged(t, "testdata/collection", "", func(dir string) {
		win := filepath.Join(dir, "rules/windows/proc_creation_win_encoded_ps.yml")
		data, err := os.ReadFile(win)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(win, []byte(strings.Replace(string(data), "Detects PowerShell started", "Detects PowerShell launched", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, "rules/network/net_two_rules.yml")); err != nil {
			t.Fatal(err)
		}
		added := "title: Added Rule\nid: 5a1b2c3d-0009-4000-8000-000000000009\nstatus: test\nlogsource:\n    product: azure\n" +
			"detection:\n    selection:\n        ResultType: 1\n    condition: selection\nlevel: low\n"
		if err := os.WriteFile(filepath.Join(dir, "rules/cloud/added.yml"), []byte(added), 0o644); err != nil {
			t.Fatal(err)
		}
	}, "rules/cloud/added.yml", "rules/windows/proc_creation_win_encoded_ps.yml")
	got := rules(t, second)
	if len(got) != 2 || got["5a1b2c3d-0009-4000-8000-000000000009"] == nil ||
		!strings.Contains(got["5a1b2c3d-0001-4000-8000-000000000001"].Description, "launched") {
		t.Errorf("second import sent %v, want the added rule and the changed one", positions(second))
	}
}

// A rule file cut short before its logsource and detection, an empty file, and a
// YAML file of something else were passed over in silence: the run succeeded with
// the other rules and no warning named them. Each is named now.
func TestFilesWithoutRulesAreNamed(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("good.yml", "\ufefftitle: Good\r\nid: 0d0d0d0d-0000-4000-8000-000000000001\r\nlogsource:\r\n  product: windows\r\ndetection:\r\n  sel:\r\n    Image|endswith: '\\x.exe'\r\n  condition: sel\r\n")
	write("truncated.yml", "title: Cut\nid: 0d0d0d0d-0000-4000-8000-000000000002\nstatus: test\ndescription: Detects execution of")
	write("empty.yml", "")
	write("config.yaml", "backends:\n  - splunk\n")
	res := run(t, dir, "")
	if res.Err != nil || len(res.Records) != 1 {
		t.Fatalf("%v, %d records", res.Err, len(res.Records))
	}
	got := strings.Join(testfmt.DiagnosticList(res.Diagnostics), "\n")
	for _, want := range []string{
		"truncated.yml:0 : skipped file: a Sigma rule without logsource and detection, correlation or filter (cut short?)",
		":0 : empty.yml: file read, no Sigma rule in it",
		":0 : config.yaml: file read, no Sigma rule in it",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "good.yml") {
		t.Errorf("the good rule is named:\n%s", got)
	}
}

// A rule saved as Latin-1 was named on the line of its document's start with
// yaml.v3's "invalid trailing UTF-8 octet"; the warning names the line and the byte.
func TestLatin1RuleNamesItsLine(t *testing.T) {
	dir := t.TempDir()
	good := "title: Good\nid: 0d0d0d0d-0000-4000-8000-000000000001\nlogsource:\n  product: windows\ndetection:\n  sel:\n    Image: x.exe\n  condition: sel\n"
	testfs.WriteFile(t, filepath.Join(dir, "good.yml"), good)
	testfs.WriteFile(t, filepath.Join(dir, "latin1.yml"), "title: Latin\nid: 0d0d0d0d-0000-4000-8000-000000000002\nauthor: Jos\xe9\n"+good[strings.Index(good, "logsource"):])
	res := run(t, dir, "")
	if res.Err != nil || len(res.Records) != 1 {
		t.Fatalf("%v, %d records", res.Err, len(res.Records))
	}
	var found bool
	for _, d := range res.Diagnostics {
		if d.File == "latin1.yml" && d.Line == 3 && strings.Contains(d.Detail, "byte 0xE9 at column 12 is not UTF-8") {
			found = true
		}
	}
	if !found {
		t.Errorf("diagnostics = %+v", res.Diagnostics)
	}
}
