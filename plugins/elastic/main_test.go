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

var runner = &sdktest.Runner{Importer: &importer{}, Type: "elastic"}

var run = runner.Run

func rules(res *sdktest.ImportResult) map[string]*sdk.DetectionRule {
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

func TestImportRepository(t *testing.T) {
	res := run(t, "testdata/repo", "")
	if res.Err != nil {
		t.Fatalf("import: %v", res.Err)
	}
	// hunting/ ([hunt]) holds a hunting query, imported as a hunting rule;
	// pyproject.toml is named in a warning; tests/ is excluded.
	want := []string{
		"hunting/windows/queries/hunt_lateral.toml:7 0c0b4f6a-1a3c-4d5f-8f0a-123456789abc",
		"rules/_deprecated/persistence_old_rule.toml:15 3a59fc81-99d3-47ea-8cd6-d48d561fca20",
		"rules/cross-platform/execution_esql.toml:13 8d3d0794-c776-476b-8674-ee2e685f6470",
		"rules/integrations/aws/unknown_keys.toml:15 9a1b2c3d-0000-4000-8000-00000000000a",
		"rules/linux/credential_access_threshold.toml:15 1c27fa22-7727-4dd3-81c0-de6da5555feb",
		"rules/ml/ml_rare_process.toml:17 6d448b96-c922-4adb-b51c-b767f1ea5b76",
		"rules/network/command_and_control_no_threat.toml:15 143cb236-0956-4f42-a706-814bcaa0cf5a",
		"rules/threat_intel/threat_intel_match.toml:14 aab184d3-72b3-4639-b242-6597c99d8bca",
		"rules/windows/collection_outlook_ipc.toml:25 1dee0500-4aeb-44ca-b24b-4a285d7b6ba1",
		"rules_building_block/discovery_new_terms_bb.toml:17 0cd4f1a1-3d4b-4c6a-9c57-aaaaaaaaaaaa",
	}
	if got := positions(res); !reflect.DeepEqual(got, want) {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Unknown keys are warnings, one per key at its line, and the rule is kept.
	wantDiags := []string{
		"tests/data/test_rule.toml:0 : file left out: matches the exclude pattern **/tests/**",
		"hunting/windows/queries/hunt_lateral.toml:12 0c0b4f6a-1a3c-4d5f-8f0a-123456789abc: mitre entry \"TBAD\" is not an ATT&CK technique id; left out",
		"pyproject.toml:0 : skipped file: neither a detection rule ([rule]) nor a hunting query ([hunt])",
		"rules/integrations/aws/unknown_keys.toml:36 9a1b2c3d-0000-4000-8000-00000000000a: unknown key \"extra\" ignored",
		"rules/integrations/aws/unknown_keys.toml:4 9a1b2c3d-0000-4000-8000-00000000000a: unknown key \"metadata.reviewer\" ignored",
		"rules/integrations/aws/unknown_keys.toml:25 9a1b2c3d-0000-4000-8000-00000000000a: unknown key \"rule.future_table\" ignored",
		"rules/integrations/aws/unknown_keys.toml:19 9a1b2c3d-0000-4000-8000-00000000000a: unknown key \"rule.shiny_new_option\" ignored",
		"rules/integrations/aws/unknown_keys.toml:31 9a1b2c3d-0000-4000-8000-00000000000a: unknown key \"rule.threat.confidence\" ignored",
	}
	if got := testfmt.DiagnosticList(res.Diagnostics); !reflect.DeepEqual(got, wantDiags) {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantDiags, "\n"))
	}
	byID := rules(res)

	t.Run("eql rule with two threat entries and a transform", func(t *testing.T) {
		r := byID["1dee0500-4aeb-44ca-b24b-4a285d7b6ba1"] // upper-case rule_id in the file
		if r.Title != "Suspicious Inter-Process Communication via Outlook" || r.Format != sdk.RuleElastic || r.RuleType != "eql" ||
			r.Language != "eql" || r.Status != "production" || r.Level != "medium" || r.Severity != "" || r.RiskScore != 47 ||
			r.Author != "Elastic, Acme" || r.Deprecated ||
			r.Description != "Detects Inter-Process Communication with Outlook via Component Object Model from an unusual process." ||
			r.Query != `process where host.os.type == "windows" and process.name : "OUTLOOK.EXE"` {
			t.Errorf("rule = %+v", r)
		}
		if !r.Date.Equal(day(2023, 1, 11)) || !r.Modified.Equal(day(2026, 7, 28)) {
			t.Errorf("dates %v %v", r.Date, r.Modified)
		}
		testfmt.CheckJSON(t, "index", r.IndexPatterns, []string{"logs-endpoint.events.process-*", "logs-windows.*"})
		testfmt.CheckJSON(t, "tags", r.Tags, []string{"Domain: Endpoint", "OS: Windows", "Tactic: Collection"})
		testfmt.CheckJSON(t, "techniques", r.TechniqueIDs, []string{"T1114", "T1114.001", "T1559"})
		testfmt.CheckJSON(t, "tactics", r.Tactics, []string{"collection", "command-and-control"})
		testfmt.CheckJSON(t, "false positives", r.FalsePositives, []string{"Administrative scripts that automate Outlook.\n  Indented detail stays indented."})
		testfmt.CheckJSON(t, "references", r.References, []string{"https://example.test/outlook-com"})
		testfmt.CheckJSON(t, "threat", r.Metadata["threat"], []any{
			map[string]any{"framework": "MITRE ATT&CK",
				"tactic": map[string]any{"id": "TA0009", "name": "Collection", "reference": "https://attack.mitre.org/tactics/TA0009/"},
				"techniques": []any{map[string]any{"id": "T1114", "name": "Email Collection", "reference": "https://attack.mitre.org/techniques/T1114/",
					"subtechniques": []any{map[string]any{"id": "T1114.001", "name": "Local Email Collection", "reference": "https://attack.mitre.org/techniques/T1114/001/"}}}}},
			map[string]any{"framework": "MITRE ATT&CK",
				"tactic":     map[string]any{"id": "TA0011", "name": "Command and Control", "reference": "https://attack.mitre.org/tactics/TA0011/"},
				"techniques": []any{map[string]any{"id": "T1559", "name": "Inter-Process Communication", "reference": "https://attack.mitre.org/techniques/T1559/"}}},
		})
		testfmt.CheckJSON(t, "transform", r.Metadata["transform"], map[string]any{"osquery": []any{map[string]any{"label": "Osquery - Retrieve DNS Cache", "query": "SELECT * FROM dns_cache"}}})
		testfmt.CheckJSON(t, "integration", r.Metadata["integration"], []string{"endpoint", "windows"})
		testfmt.CheckJSON(t, "investigation fields", r.Metadata["investigation_fields"], map[string]any{"field_names": []string{"process.name", "user.name"}})
		if r.Metadata["note"] != "## Triage and analysis\nLook at the parent process.\n" || r.Metadata["from"] != "now-9m" || r.Metadata["license"] != "Elastic License v2" {
			t.Errorf("metadata = %v", r.Metadata)
		}
		raw, _ := os.ReadFile("testdata/repo/rules/windows/collection_outlook_ipc.toml")
		if r.Raw != string(raw) {
			t.Error("raw is not the file text")
		}
	})

	t.Run("machine learning rule with a tactic-only entry", func(t *testing.T) {
		r := byID["6d448b96-c922-4adb-b51c-b767f1ea5b76"]
		if r.RuleType != "machine_learning" || r.Query != "" || r.Language != "" || r.Level != "low" || len(r.TechniqueIDs) != 0 {
			t.Errorf("rule = %+v", r)
		}
		testfmt.CheckJSON(t, "tactics", r.Tactics, []string{"execution"})
		testfmt.CheckJSON(t, "job ids", r.Metadata["machine_learning_job_id"], []string{"v3_rare_process_by_host_windows", "v3_rare_process_by_host_linux"})
		if r.Metadata["anomaly_threshold"] != float64(75) {
			t.Errorf("metadata = %v", r.Metadata)
		}
	})

	t.Run("no threat mapping", func(t *testing.T) {
		r := byID["143cb236-0956-4f42-a706-814bcaa0cf5a"]
		if r.RuleType != "query" || r.Language != "kuery" || r.Level != "high" || r.Author != "Elastic" ||
			len(r.TechniqueIDs)+len(r.Tactics) != 0 || r.Metadata["threat"] != nil || r.Query != "network.transport:tcp and destination.port:135" {
			t.Errorf("rule = %+v", r)
		}
	})

	t.Run("deprecated", func(t *testing.T) {
		r := byID["3a59fc81-99d3-47ea-8cd6-d48d561fca20"]
		if !r.Deprecated || r.Status != "deprecated" || r.Metadata["deprecation_date"] != "2022/08/02" {
			t.Errorf("rule = %+v", r)
		}
		testfmt.CheckJSON(t, "techniques", r.TechniqueIDs, []string{"T1053"})
	})

	t.Run("other rule types", func(t *testing.T) {
		bb := byID["0cd4f1a1-3d4b-4c6a-9c57-aaaaaaaaaaaa"]
		if bb.RuleType != "new_terms" || bb.Metadata["building_block_type"] != "default" || bb.Metadata["bypass_bbr_timing"] != true {
			t.Errorf("building block = %+v", bb)
		}
		testfmt.CheckJSON(t, "new terms", bb.Metadata["new_terms"], map[string]any{"field": "new_terms_fields", "value": []string{"host.id", "user.id"},
			"history_window_start": []any{map[string]any{"field": "history_window_start", "value": "now-7d"}}})
		testfmt.CheckJSON(t, "lower-case technique id", bb.TechniqueIDs, []string{"T1033"})

		th := byID["1c27fa22-7727-4dd3-81c0-de6da5555feb"]
		testfmt.CheckJSON(t, "threshold techniques", th.TechniqueIDs, []string{"T1110", "T1110.001", "T1110.003"})
		testfmt.CheckJSON(t, "threshold", th.Metadata["threshold"], map[string]any{"field": []string{"source.ip"}, "value": 20})

		es := byID["8d3d0794-c776-476b-8674-ee2e685f6470"]
		if es.RuleType != "esql" || es.Language != "esql" || es.Level != "critical" || es.RiskScore != 99 || !strings.HasPrefix(es.Query, "from logs-endpoint") {
			t.Errorf("esql = %+v", es)
		}
		testfmt.CheckJSON(t, "tactic from a name alone", es.Tactics, []string{"execution"})

		tm := byID["aab184d3-72b3-4639-b242-6597c99d8bca"]
		if tm.RuleType != "threat_match" || tm.Metadata["threat_indicator_path"] != "threat.indicator" {
			t.Errorf("threat match = %+v", tm)
		}
		testfmt.CheckJSON(t, "threat mapping", tm.Metadata["threat_mapping"], []any{map[string]any{"entries": []any{
			map[string]any{"field": "file.hash.sha256", "type": "mapping", "value": "threat.indicator.file.hash.sha256"}}}})

		uk := byID["9a1b2c3d-0000-4000-8000-00000000000a"]
		if !uk.Date.Equal(day(2021, 6, 1)) || strings.Join(uk.Tactics, ",") != "privilege-escalation" {
			t.Errorf("rule with unknown keys = %+v", uk)
		}
	})

	t.Run("hunting query", func(t *testing.T) {
		h := byID["0c0b4f6a-1a3c-4d5f-8f0a-123456789abc"]
		if h == nil || h.RuleKind != sdk.RuleKindHunting || h.Format != sdk.RuleElastic || h.Title != "Lateral movement hunt" ||
			h.Language != "esql" || h.Author != "Elastic" || h.Deprecated ||
			h.Query != "from logs-endpoint.events.process-*\n| where process.parent.name == \"services.exe\"\n| limit 10" ||
			h.Description != "Hunts for remote service creation followed by execution, a sign of lateral movement." {
			t.Fatalf("hunting rule = %+v", h)
		}
		testfmt.CheckJSON(t, "techniques", h.TechniqueIDs, []string{"T1021.002", "T1569.002"})
		testfmt.CheckJSON(t, "languages", h.Metadata["languages"], []string{"esql", "sql"})
		if qs, _ := h.Metadata["queries"].([]any); len(qs) != 2 || !strings.HasPrefix(qs[1].(string), "SELECT * FROM services") {
			t.Errorf("queries = %#v", h.Metadata["queries"])
		}
		testfmt.CheckJSON(t, "integration", h.Metadata["integration"], []string{"endpoint", "windows"})
		if h.Metadata["license"] != "Elastic License v2" || h.Metadata["notes"] == nil {
			t.Errorf("metadata = %#v", h.Metadata)
		}
		if byID["1dee0500-4aeb-44ca-b24b-4a285d7b6ba1"].RuleKind != "" {
			t.Error("a detection rule has the default kind")
		}
	})

	if last := res.Progress[len(res.Progress)-1]; last.Message != "9 rules from 11 files, 1 hunting queries imported as hunting rules" {
		t.Errorf("last progress = %+v", last)
	}
}

func TestMalformedFilesAreWarnings(t *testing.T) {
	res := run(t, "testdata/malformed", "")
	if res.Err != nil {
		t.Fatalf("malformed files must not fail the import: %v", res.Err)
	}
	if got := positions(res); strings.Join(got, ",") != "wrong_types.toml:6 b0000000-0000-4000-8000-000000000005" {
		t.Errorf("records = %v", got)
	}
	want := []string{
		"bad_syntax.toml:6 b0000000-0000-4000-8000-000000000001: skipped file: invalid TOML",
		"missing_name.toml:2 b0000000-0000-4000-8000-000000000003: skipped rule: no name",
		"missing_rule_id.toml:1 : skipped rule: no rule_id",
		"wrong_shape.toml:7 b0000000-0000-4000-8000-000000000004: skipped rule: unexpected structure",
		"wrong_types.toml:9 b0000000-0000-4000-8000-000000000005: value of the wrong type left out",
		"wrong_types.toml:11 b0000000-0000-4000-8000-000000000005: value of the wrong type left out",
		"wrong_types.toml:6 b0000000-0000-4000-8000-000000000005: eql rule has no query",
		"wrong_types.toml:10 b0000000-0000-4000-8000-000000000005: severity \"urgent\" is not a level; kept as the source's severity only",
		"wrong_types.toml:2 b0000000-0000-4000-8000-000000000005: metadata.creation_date \"yesterday\" is not a date; left out",
		"wrong_types.toml:16 b0000000-0000-4000-8000-000000000005: technique id \"T99\" is not an ATT&CK technique id; left out",
		"zz_duplicate.toml:2 b0000000-0000-4000-8000-000000000005: skipped rule: duplicate rule_id",
	}
	if got := testfmt.DiagnosticList(res.Diagnostics); !reflect.DeepEqual(got, want) {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d := res.Diagnostics[4]; d.Detail != `rule.risk_score: expected a number, found text "high"` {
		t.Errorf("detail = %q", d.Detail)
	}
	r := res.Records[0].(*sdk.DetectionRule)
	// The ATLAS entry is kept in Metadata but gives no ATT&CK ids.
	if r.Status != "production" || r.Level != "" || r.Severity != "urgent" || r.RiskScore != 0 || len(r.Tags) != 0 ||
		len(r.TechniqueIDs) != 0 || strings.Join(r.Tactics, ",") != "execution" || len(r.Metadata["threat"].([]any)) != 2 {
		t.Errorf("rule = %+v", r)
	}
}

func TestConfig(t *testing.T) {
	t.Run("folders", func(t *testing.T) {
		res := run(t, "testdata/repo", `{"folders":["rules_building_block","rules/ml","rules_nope"]}`)
		if res.Err != nil || len(res.Records) != 2 {
			t.Fatalf("%v, %v", res.Err, positions(res))
		}
		// Each file outside the folders is named, with why.
		want := []string{"rules_nope:0 : configured folder not found in the source"}
		for _, f := range []string{"hunting/windows/queries/hunt_lateral.toml", "pyproject.toml", "rules/_deprecated/persistence_old_rule.toml",
			"rules/cross-platform/execution_esql.toml", "rules/integrations/aws/unknown_keys.toml", "rules/linux/credential_access_threshold.toml",
			"rules/network/command_and_control_no_threat.toml", "rules/threat_intel/threat_intel_match.toml", "rules/windows/collection_outlook_ipc.toml"} {
			want = append(want, f+":0 : file left out: outside the configured folders (rules_building_block, rules/ml, rules_nope)")
		}
		want = append(want, "tests/data/test_rule.toml:0 : file left out: matches the exclude pattern **/tests/**")
		if got := testfmt.DiagnosticList(res.Diagnostics); !reflect.DeepEqual(got, want) {
			t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("deprecated and building blocks left out", func(t *testing.T) {
		res := run(t, "testdata/repo", `{"include_deprecated":false,"include_building_blocks":false}`)
		m := rules(res)
		if res.Err != nil || len(res.Records) != 8 || m["3a59fc81-99d3-47ea-8cd6-d48d561fca20"] != nil || m["0cd4f1a1-3d4b-4c6a-9c57-aaaaaaaaaaaa"] != nil {
			t.Fatalf("%v, %v", res.Err, positions(res))
		}
	})
	t.Run("exclude replaces the default", func(t *testing.T) {
		res := run(t, "testdata/repo", `{"exclude":["rules/integrations/**"]}`)
		if res.Err != nil || len(res.Records) != 10 || rules(res)["test-only"] == nil || len(res.Diagnostics) != 3 ||
			testfmt.DiagnosticList(res.Diagnostics)[0] != "rules/integrations/aws/unknown_keys.toml:0 : file left out: matches the exclude pattern rules/integrations/**" {
			t.Fatalf("%v, %v %v", res.Err, positions(res), res.Diagnostics)
		}
	})
	t.Run("single file", func(t *testing.T) {
		res := run(t, "testdata/repo/rules/ml/ml_rare_process.toml", "")
		if res.Err != nil || len(res.Records) != 1 || res.Incoming[0].File != "ml_rare_process.toml" {
			t.Fatalf("%v %v", res.Err, positions(res))
		}
	})
	bad := []struct{ name, cfg, want string }{
		{"unknown key", `{"include_deprecate":false}`, `config key "include_deprecate": unknown key`},
		{"escaping folder", `{"folders":["/etc"]}`, "folders[0]"},
		{"bad glob", `{"exclude":["rules/[x"]}`, "exclude[0]"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) { runner.WantFailure(t, "testdata/repo", tc.cfg, tc.want) })
	}
}

func TestSourcesWithoutRulesFail(t *testing.T) {
	noRules := t.TempDir()
	testfs.WriteFile(t, filepath.Join(noRules, "pyproject.toml"), "[project]\nname = \"x\"\n")
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
	runner.Deterministic(t, "testdata/repo", "")
}

func TestDedent(t *testing.T) {
	for in, want := range map[string]string{
		"    a\n      b\n    ":  "a\n  b",
		"\n\tx\n\n\ty\n":        "x\n\ny",
		"no indent\n  but this": "no indent\n  but this",
		"   ":                   "",
	} {
		if got := dedent(in); got != want {
			t.Errorf("dedent(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTacticShortname(t *testing.T) {
	for _, c := range []struct{ id, name, want string }{
		{"TA0011", "Command and Control", "command-and-control"},
		{"", "Command & Control", "command-and-control"},
		{"TA0005", "", "defense-evasion"},
		{"", "Stealth", "stealth"},
		{"TA9999", "", ""},
	} {
		if got := tacticShortname(attackRef{ID: text{s: c.id}, Name: text{s: c.name}}); got != c.want {
			t.Errorf("%q/%q = %q, want %q", c.id, c.name, got, c.want)
		}
	}
}

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, serveOpts())
}

// With the host's file states, a re-import reads only the changed and the added file
// (the deleted one is simply not reported) and skips the others as unchanged.
func TestSkipsUnchangedFiles(t *testing.T) {
	const changed = "rules/network/command_and_control_no_threat.toml"
	second := runner.SkipsUnchanged(t, "testdata/repo", "", func(dir string) {
		data, err := os.ReadFile(filepath.Join(dir, changed))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, changed), []byte(strings.Replace(string(data), "risk_score = 73", "risk_score = 47", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		added := strings.Replace(string(data), "143cb236-0956-4f42-a706-814bcaa0cf5a", "143cb236-0956-4f42-a706-000000000009", 1)
		if err := os.WriteFile(filepath.Join(dir, "rules/network/added.toml"), []byte(added), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, "rules/windows/collection_outlook_ipc.toml")); err != nil {
			t.Fatal(err)
		}
	}, changed, "rules/network/added.toml")
	got := rules(second)
	if len(got) != 2 || got["143cb236-0956-4f42-a706-000000000009"] == nil || got["143cb236-0956-4f42-a706-814bcaa0cf5a"].RiskScore != 47 {
		t.Errorf("second import sent %v, want the added rule and the changed one", positions(second))
	}
}
