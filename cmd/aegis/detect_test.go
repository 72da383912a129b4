package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDetectCommand(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	os.MkdirAll(rules, 0o755)
	os.WriteFile(filepath.Join(rules, "whoami.yml"), []byte(`title: Whoami
id: 11111111-1111-4111-8111-111111111111
level: medium
logsource: {product: windows, category: process_creation}
detection:
    sel:
        CommandLine|contains: whoami
    condition: sel
`), 0o644)
	os.WriteFile(filepath.Join(rules, "corr.yml"), []byte("title: c\ncorrelation: {type: temporal, rules: [a, b], timespan: 1m}\n"), 0o644)
	evs := filepath.Join(dir, "events.ndjson")
	os.WriteFile(evs, []byte(`{"process": {"command_line": "cmd /c whoami"}, "winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": 1, "record_id": 7}}
{"process": {"command_line": "notepad"}, "winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": 1, "record_id": 8}}
`), 0o644)
	out := run(t, "", "detect", "--rules", rules, "--events", evs, "--mapping", "ecs")
	var lines []detectMatch
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "{") {
			var m detectMatch
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, m)
		}
	}
	if len(lines) != 1 || lines[0].RuleID != "11111111-1111-4111-8111-111111111111" || lines[0].Searches[0] != "sel" ||
		lines[0].LogSource.Category != "process_creation" {
		t.Fatalf("matches %+v\n%s", lines, out)
	}
	if !strings.Contains(out, "corr.yml not evaluated: correlation") || !strings.Contains(out, "2 events, 1 matches, 1 rules evaluated, 1 not evaluable") {
		t.Fatalf("stderr does not report the unsupported rule and the summary:\n%s", out)
	}
	// Without the mapping the ECS names do not reach the rule.
	out = run(t, "", "detect", "--rules", rules, "--events", evs)
	if strings.Contains(out, "event_id") {
		t.Fatalf("matched without the mapping:\n%s", out)
	}
	os.WriteFile(evs, []byte("{\"a\": 1}\n{broken\n"), 0o644)
	if out, err := runErr(t, "", "detect", "--rules", rules, "--events", evs); err == nil || !strings.Contains(err.Error(), "events.ndjson:2") {
		t.Fatalf("bad events: %v\n%s", err, out)
	}
}
