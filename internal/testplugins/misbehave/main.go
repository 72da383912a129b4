// Command misbehave is a test plugin for the host's failure handling. Its
// importer "misbehave" reads {"mode": "...", "n": 3} from its config:
//
//	ok             stream n valid techniques T9001, T9002, ...
//	crash_after    stream n records, then exit the process with status 3
//	hang           stream n records, then block forever, ignoring cancellation
//	invalid_record stream n valid records, then one technique without a name
//	panic          stream n records, then panic in the handler
//	error_diag     stream n records, then emit an ERROR diagnostic
//	all_kinds      stream one record of every kind, linked to each other
//	extract_crash  open the source (extracting an archive into TMPDIR), then exit with status 3
//
// Its exporter "misbehave" reads the same config and writes the records it receives as
// JSON lines in "ok" mode; the export_* modes fail in one way each (see exportModes).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/source"
)

type config struct {
	Mode string `json:"mode"`
	N    int    `json:"n"`
}

var modes = []string{"ok", "crash_after", "hang", "invalid_record", "panic", "error_diag", "all_kinds", "extract_crash",
	"export_crash", "export_hang", "export_panic", "export_error", "export_bad_name", "export_bad_json", "export_none",
	"export_two"}

type misbehave struct{}

func (misbehave) Describe() sdk.Component {
	return sdk.Component{
		Description:  "misbehaves on purpose, for the host's failure tests",
		RecordKinds:  []string{sdk.KindTechnique},
		ConfigSchema: json.RawMessage(`{"type":"object","properties":{"mode":{"type":"string"},"n":{"type":"integer","minimum":0}}}`),
	}
}

func (misbehave) ValidateConfig(_ context.Context, raw json.RawMessage) sdk.Diagnostics {
	var ds sdk.Diagnostics
	var c config
	if err := json.Unmarshal(raw, &c); err != nil {
		ds.AddError("config does not decode", err.Error(), "")
		return ds
	}
	known := false
	for _, m := range modes {
		known = known || m == c.Mode
	}
	if !known {
		ds.AddError(fmt.Sprintf("unknown mode %q", c.Mode), fmt.Sprintf("modes: %v", modes), "mode")
	}
	if c.N < 0 {
		ds.AddError("n must not be negative", "", "n")
	}
	return ds
}

// brokenTechnique claims to be a technique and to be valid, so the SDK
// sends it; the host must catch that its JSON lacks the required name.
type brokenTechnique struct {
	ExternalID string `json:"external_id"`
}

func (b *brokenTechnique) Kind() string    { return sdk.KindTechnique }
func (b *brokenTechnique) ID() string      { return b.ExternalID }
func (b *brokenTechnique) Validate() error { return nil }

func (misbehave) Import(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
	var c config
	if err := json.Unmarshal(req.Config, &c); err != nil {
		return fmt.Errorf("decode config: %w", err)
	}
	if c.Mode == "extract_crash" {
		// A crash in the middle of an import, after the source was extracted and
		// before Close could remove the extraction.
		if _, err := source.Open(ctx, req.Source, source.Options{}); err != nil {
			return err
		}
		os.Exit(3)
	}
	for i := 1; i <= c.N; i++ {
		t := &sdk.Technique{ExternalID: fmt.Sprintf("T%04d", 9000+i), Name: fmt.Sprintf("Test technique %d", i), Tactics: []string{"execution"}}
		if i > 999 {
			// Past T9999 the ids go on as sub-techniques of the first thousand, so
			// benchmarks can stream tens of thousands of valid records.
			parent := fmt.Sprintf("T%04d", 9000+i/1000)
			t.ExternalID, t.ParentID = fmt.Sprintf("%s.%03d", parent, i%1000), parent
		}
		if err := out.RecordAt(t, "misbehave.json", i); err != nil {
			return err
		}
		out.Progress(int64(i), int64(c.N), "")
	}
	if c.Mode != "ok" && c.Mode != "all_kinds" && c.Mode != "error_diag" { // error_diag: its one diagnostic is the error
		// A failing run still keeps what the plugin said before it failed.
		out.Warn("misbehave.json", c.N, "", "misbehave: warning before the failure", c.Mode)
	}
	switch c.Mode {
	case "all_kinds":
		return allKinds(out)
	case "crash_after":
		os.Exit(3)
	case "hang":
		select {}
	case "invalid_record":
		return out.RecordAt(&brokenTechnique{ExternalID: fmt.Sprintf("T%04d", 9000+c.N+1)}, "misbehave.json", c.N+1)
	case "panic":
		panic("misbehave: panic on purpose")
	case "error_diag":
		out.Error("misbehave.json", c.N+1, "", "misbehave: failing on purpose", "error_diag mode")
	}
	return nil
}

// jsonl is an exporter that writes every record it receives as one JSON line, with a
// second artifact past the 1 MiB chunk size, so the host's export path is tested
// through a real process.
type jsonl struct{}

func (jsonl) Describe() sdk.Component {
	return sdk.Component{Description: "records as JSON lines", MediaTypes: []string{"application/x-ndjson"}}
}

func (jsonl) Export(ctx context.Context, req sdk.ExportRequest, records sdk.RecordIterator, out sdk.ArtifactWriter) error {
	w, err := out.Begin("records.jsonl", "application/x-ndjson")
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	for r, err := range sdk.Records(records) {
		if err != nil {
			return err
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	big, err := out.Begin("padding.bin", "application/octet-stream")
	if err != nil {
		return err
	}
	_, err = big.Write(make([]byte, 3<<20/2))
	return err
}

// exportModes: after writing part of an artifact, export_crash exits the process,
// export_hang blocks ignoring cancellation, export_panic panics, export_error returns an
// error; export_bad_name names its artifact "../escape.json", export_bad_json sends
// application/json that does not parse, export_none produces nothing, export_two
// produces two artifacts.
type misbehaveExporter struct{}

func (misbehaveExporter) Describe() sdk.Component {
	return sdk.Component{Description: "misbehaves on purpose, for the host's export failure tests",
		MediaTypes: []string{"application/x-ndjson"}}
}

func (misbehaveExporter) Export(ctx context.Context, req sdk.ExportRequest, records sdk.RecordIterator, out sdk.ArtifactWriter) error {
	var c config
	if err := json.Unmarshal(req.Config, &c); err != nil {
		return fmt.Errorf("decode config: %w", err)
	}
	if c.Mode == "export_none" {
		return nil
	}
	name, media := "records.jsonl", "application/x-ndjson"
	switch c.Mode {
	case "export_bad_name":
		name = "../escape.json"
	case "export_bad_json":
		name, media = "layer.json", "application/json"
	}
	w, err := out.Begin(name, media)
	if err != nil {
		return err
	}
	if c.Mode == "export_bad_json" {
		_, err := w.Write([]byte(`{"name": "half a layer", "techniques": [`))
		return err
	}
	enc := json.NewEncoder(w)
	n := 0
	for r, err := range sdk.Records(records) {
		if err != nil {
			return err
		}
		if err := enc.Encode(map[string]any{"kind": r.Kind(), "id": r.ID()}); err != nil {
			return err
		}
		n++
		out.Progress(int64(n), 0, "")
	}
	switch c.Mode {
	case "export_crash":
		os.Exit(3)
	case "export_hang":
		select {}
	case "export_panic":
		panic("misbehave: export panic on purpose")
	case "export_error":
		return fmt.Errorf("misbehave: export failing on purpose")
	case "export_two":
		w2, err := out.Begin("scope.json", "application/json")
		if err != nil {
			return err
		}
		_, err = w2.Write(req.Scope)
		return err
	}
	return nil
}

func main() {
	sdk.Serve(sdk.ServeOpts{
		Name:      "misbehave",
		Version:   "1.0.0",
		Importers: map[string]sdk.Importer{"misbehave": misbehave{}},
		Exporters: map[string]sdk.Exporter{"jsonl": jsonl{}, "misbehave": misbehaveExporter{}},
	})
}

// allKinds streams one record of every kind, so the host's storage of each kind is
// tested through a real process.
func allKinds(out *sdk.Emitter) error {
	recs := []sdk.Record{
		&sdk.ComplianceControl{FrameworkID: "fw-1", ExternalID: "AC-2", Family: "AC", Title: "Account Management",
			Mappings: []sdk.ControlMapping{{TechniqueID: "T1078", MappingType: "mitigates", Comments: "accounts"}}},
		&sdk.ComplianceFramework{ExternalID: "fw-1", Name: "Framework One", Version: "5"},
		&sdk.Tactic{ExternalID: "TA0001", Name: "Initial Access", Shortname: "initial-access", Domain: "enterprise-attack", Order: 1},
		&sdk.Technique{ExternalID: "T1078", Name: "Valid Accounts", Tactics: []string{"initial-access"}, Platforms: []string{"Windows"},
			Domains: []string{"enterprise-attack"}, ReleaseVersion: "18.1"},
		&sdk.Mitigation{ExternalID: "M1032", Name: "Multi-factor Authentication", Techniques: []sdk.MitigationLink{{TechniqueID: "T1078", Description: "MFA"}}},
		&sdk.ThreatActor{ExternalID: "G0016", Name: "APT29", Aliases: []string{"Cozy Bear"}, Country: "RU",
			Techniques: []sdk.ActorTechnique{{TechniqueID: "T1078", Procedure: "used stolen creds"}, {TechniqueID: "T1685", Procedure: "new in v19"}}},
		&sdk.Campaign{ExternalID: "C0024", Name: "SolarWinds", CampaignKind: sdk.CampaignAttack, ActorIDs: []string{"G0016"}, TechniqueIDs: []string{"T1078"}},
		&sdk.DefensiveTechnique{ExternalID: "D3-MFA", Name: "Multi-factor Authentication", Tactic: "Harden",
			Mappings: []sdk.DefensiveMapping{{TechniqueID: "T1078", Relation: "authenticates/accesses", Via: "UserAccount"}}},
		&sdk.IntelItem{ExternalID: "https://example.test/a", Title: "APT29 uses T1078", TechniqueIDs: []string{"T1078"}, GroupIDs: []string{"G0016"}},
		&sdk.TestTemplate{ExternalID: "tt-1", Name: "Log in with a test account", TemplateType: sdk.TemplateCustom, TechniqueIDs: []string{"T1078"},
			Platforms: []string{"windows"}, Executor: sdk.Executor{Name: "manual"}, Author: "Purple Team",
			Modified: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), DependencyExecutor: "powershell"},
		&sdk.DetectionRule{ExternalID: "r-1", Title: "Unusual logon", Format: sdk.RuleCustom, TechniqueIDs: []string{"T1078"}, Query: "event.code:4624",
			Severity: "moderate"},
	}
	for i, r := range recs {
		if err := out.RecordAt(r, "all_kinds.json", i+1); err != nil {
			return err
		}
	}
	return nil
}
