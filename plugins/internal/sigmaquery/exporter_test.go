package sigmaquery

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

// The converter exporter through the SDK's harness: a real gRPC connection, records in,
// one JSON line per rule out, with the configured field mapping applied.
func TestExporterThroughSDK(t *testing.T) {
	rules := []sdk.Record{
		&sdk.DetectionRule{ExternalID: "r-1", Title: "whoami", Format: sdk.RuleSigma, Metadata: map[string]any{"file": "a.yml"},
			Raw: "title: Whoami\nid: r-1\nlogsource:\n    category: process_creation\ndetection:\n    sel:\n        Image|endswith: '\\whoami.exe'\n    condition: sel\n"},
		&sdk.DetectionRule{ExternalID: "r-2", Title: "field ref", Format: sdk.RuleSigma,
			Raw: "title: Ref\nid: r-2\nlogsource:\n    product: windows\ndetection:\n    sel:\n        A|fieldref: B\n    condition: sel\n"},
		&sdk.DetectionRule{ExternalID: "r-3", Title: "elastic", Format: sdk.RuleElastic, Query: "process.name:x"},
		&sdk.DetectionRule{ExternalID: "r-4", Title: "broken", Format: sdk.RuleSigma, Raw: "title: [unclosed\n"},
	}
	res := sdktest.RunExport(t, Exporter{Backend: Lucene}, sdk.ExportRequest{Type: "queries",
		Config: json.RawMessage(`{"field_mapping":"sysmon_ecs"}`)}, rules)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	a, ok := res.Artifact("lucene.ndjson")
	if !ok || a.MediaType != "application/x-ndjson" {
		t.Fatalf("artifacts: %+v", res.Artifacts)
	}
	var lines []Line
	for _, s := range strings.Split(strings.TrimSpace(string(a.Data)), "\n") {
		var l Line
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	if len(lines) != 4 {
		t.Fatalf("lines: %+v", lines)
	}
	if lines[0].File != "a.yml" || lines[0].ID != "r-1" || len(lines[0].Queries) != 1 || lines[0].Queries[0] != `process.executable:*\\whoami.exe` {
		t.Errorf("mapped rule: %+v", lines[0])
	}
	if !strings.Contains(lines[1].Unsupported, "compare two fields") {
		t.Errorf("fieldref: %+v", lines[1])
	}
	if !strings.Contains(lines[2].Unsupported, "not Sigma") {
		t.Errorf("elastic rule: %+v", lines[2])
	}
	if lines[3].Error == "" || lines[3].ID != "r-4" {
		t.Errorf("broken rule: %+v", lines[3])
	}

	bad := sdktest.RunExport(t, Exporter{Backend: KQL}, sdk.ExportRequest{Type: "queries",
		Config: json.RawMessage(`{"field_mapping":"nope"}`)}, rules)
	if bad.Err == nil || !strings.Contains(bad.Err.Error(), "config is not valid") {
		t.Errorf("bad config: %v", bad.Err)
	}
}
