package sdk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/host"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

func TestImportStreamsRecordsDiagnosticsProgress(t *testing.T) {
	var gotReq sdk.ImportRequest
	imp := sdk.ImporterFunc(func(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
		gotReq = req
		out.Progress(0, 2, "start")
		if err := out.RecordAt(&sdk.Technique{ExternalID: "T1059", Name: "Command and Scripting Interpreter", Tactics: []string{"execution"}}, "techniques.json", 12); err != nil {
			return err
		}
		out.Warn("techniques.json", 20, "T0000", "skipped technique", "no name")
		if err := out.Record(&sdk.Tactic{ExternalID: "TA0002", Name: "Execution", Shortname: "execution", Domain: sdk.DomainEnterprise}); err != nil {
			return err
		}
		out.Progress(2, 2, "done")
		return nil
	})
	res := sdktest.RunImport(t, imp, sdk.ImportRequest{Type: "attack", Config: json.RawMessage(`{"domain":"enterprise-attack"}`), Source: "/data/attack", RunID: "run-1"})
	if res.Err != nil {
		t.Fatalf("import: %v", res.Err)
	}
	if gotReq.Type != "attack" || gotReq.Source != "/data/attack" || gotReq.RunID != "run-1" || string(gotReq.Config) != `{"domain":"enterprise-attack"}` {
		t.Errorf("importer got %+v", gotReq)
	}
	if len(res.Records) != 2 {
		t.Fatalf("got %d records", len(res.Records))
	}
	tech, ok := res.Records[0].(*sdk.Technique)
	if !ok || tech.ExternalID != "T1059" || tech.Tactics[0] != "execution" {
		t.Errorf("record 0 = %#v", res.Records[0])
	}
	if in := res.Incoming[0]; in.File != "techniques.json" || in.Line != 12 || in.Kind != "technique" {
		t.Errorf("incoming 0 = %+v", in)
	}
	if tac, ok := res.Records[1].(*sdk.Tactic); !ok || tac.Shortname != "execution" {
		t.Errorf("record 1 = %#v", res.Records[1])
	}
	want := sdk.Diagnostic{Severity: sdk.SeverityWarning, File: "techniques.json", Line: 20, ExternalID: "T0000", Summary: "skipped technique", Detail: "no name"}
	if len(res.Diagnostics) != 1 || res.Diagnostics[0] != want {
		t.Errorf("diagnostics = %+v", res.Diagnostics)
	}
	if len(res.Progress) != 2 || res.Progress[1] != (host.Progress{Done: 2, Total: 2, Message: "done"}) {
		t.Errorf("progress = %+v", res.Progress)
	}
}

func TestImportErrorBecomesErrorDiagnostic(t *testing.T) {
	imp := sdk.ImporterFunc(func(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
		return fmt.Errorf("open %s: no such file", req.Source)
	})
	res := sdktest.RunImport(t, imp, sdk.ImportRequest{Type: "csv", Source: "/nope"})
	var ds sdk.Diagnostics
	if !errors.As(res.Err, &ds) {
		t.Fatalf("err = %v, want Diagnostics", res.Err)
	}
	if len(ds) != 1 || ds[0].Severity != sdk.SeverityError || !strings.Contains(ds[0].Summary, "open /nope: no such file") {
		t.Errorf("diagnostics = %+v", ds)
	}
	if !strings.HasPrefix(res.Err.Error(), "import csv: ") {
		t.Errorf("error lacks context: %v", res.Err)
	}
	if host.IsUnavailable(res.Err) {
		t.Errorf("a failed import is not an unavailable plugin")
	}
}

func TestEmitterRejectsInvalidRecord(t *testing.T) {
	var emitErr error
	imp := sdk.ImporterFunc(func(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
		emitErr = out.Record(&sdk.DetectionRule{ExternalID: "r1", Title: "no body", Format: sdk.RuleSigma})
		return out.Record(&sdk.DetectionRule{ExternalID: "r2", Title: "ok", Format: sdk.RuleSigma, Query: "x"})
	})
	res := sdktest.RunImport(t, imp, sdk.ImportRequest{})
	var ve *sdk.ValidationError
	if !errors.As(emitErr, &ve) || ve.ID != "r1" || ve.Problems[0].Field != "query" {
		t.Fatalf("Record(invalid) = %v", emitErr)
	}
	if res.Err != nil || len(res.Records) != 1 || res.Records[0].ID() != "r2" {
		t.Fatalf("res = %+v", res)
	}
}

func TestImportPanicIsRecovered(t *testing.T) {
	calls := 0
	imp := sdk.ImporterFunc(func(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
		calls++
		if req.Source == "boom" {
			_ = out.Record(&sdk.Technique{ExternalID: "T1001", Name: "Data Obfuscation"})
			panic("nil map in parser")
		}
		return out.Record(&sdk.Technique{ExternalID: "T1002", Name: "Data Compressed"})
	})
	c := sdktest.Start(t, sdk.ServeOpts{Name: "p", Version: "1.0.0", Importers: map[string]sdk.Importer{"x": imp}})
	ctx := context.Background()

	res := sdktest.Import(ctx, c, sdk.ImportRequest{Type: "x", Source: "boom"})
	if status.Code(errors.Unwrap(res.Err)) != codes.Internal || !strings.Contains(res.Err.Error(), "nil map in parser") {
		t.Fatalf("err = %v, want Internal naming the panic", res.Err)
	}
	if host.IsUnavailable(res.Err) {
		t.Errorf("a recovered panic must not look like a crash: %v", res.Err)
	}
	// The process (here: the server) survives and serves the next call.
	res = sdktest.Import(ctx, c, sdk.ImportRequest{Type: "x", Source: "fine"})
	if res.Err != nil || len(res.Records) != 1 || res.Records[0].ID() != "T1002" || calls != 2 {
		t.Fatalf("after panic: %+v (calls %d)", res, calls)
	}
}

type panickyValidator struct{ sdk.ImporterFunc }

func (panickyValidator) ValidateConfig(context.Context, json.RawMessage) sdk.Diagnostics {
	var m map[string]int
	m["x"] = 1 // panics: assignment to entry in nil map
	return nil
}

func TestUnaryPanicIsRecovered(t *testing.T) {
	c := sdktest.Start(t, sdk.ServeOpts{Name: "p", Version: "1.0.0", Importers: map[string]sdk.Importer{"x": panickyValidator{}}})
	_, err := c.ValidateConfig(context.Background(), "importer", "x", json.RawMessage(`{}`))
	if status.Code(errors.Unwrap(err)) != codes.Internal || !strings.Contains(err.Error(), "nil map") {
		t.Fatalf("err = %v", err)
	}
	if d, err := c.Describe(context.Background()); err != nil || d.Name != "p" {
		t.Fatalf("describe after panic: %v %v", d, err)
	}
}

func TestCancellationStopsImportStream(t *testing.T) {
	stopped := make(chan error, 1)
	imp := sdk.ImporterFunc(func(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
		for i := 0; ; i++ {
			if err := out.Record(&sdk.Technique{ExternalID: fmt.Sprintf("T%04d", i%10000), Name: "x"}); err != nil {
				stopped <- err
				return err
			}
		}
	})
	c := sdktest.Start(t, sdk.ServeOpts{Name: "p", Version: "1.0.0", Importers: map[string]sdk.Importer{"inf": imp}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	err := c.Import(ctx, sdk.ImportRequest{Type: "inf"}, func(ev host.ImportEvent) error {
		if n++; n == 5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Import err = %v, want context.Canceled", err)
	}
	select {
	case err := <-stopped:
		if err == nil {
			t.Fatal("emitter returned nil after cancel")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("importer kept streaming after the host cancelled")
	}
}

func TestHandleErrorCancelsImport(t *testing.T) {
	imp := sdk.ImporterFunc(func(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
		for i := 1; i < 100; i++ {
			if err := out.Record(&sdk.Technique{ExternalID: fmt.Sprintf("T%04d", i), Name: "x"}); err != nil {
				return err
			}
		}
		return nil
	})
	c := sdktest.Start(t, sdk.ServeOpts{Name: "p", Version: "1.0.0", Importers: map[string]sdk.Importer{"x": imp}})
	stop := errors.New("store full")
	err := c.Import(context.Background(), sdk.ImportRequest{Type: "x"}, func(host.ImportEvent) error { return stop })
	if !errors.Is(err, stop) || !strings.HasPrefix(err.Error(), "import x: ") {
		t.Fatalf("err = %v", err)
	}
}

type validatingImporter struct {
	called bool
}

func (v *validatingImporter) Import(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
	v.called = true
	return nil
}

func (v *validatingImporter) ValidateConfig(ctx context.Context, cfg json.RawMessage) sdk.Diagnostics {
	var c struct {
		Delimiter string `json:"delimiter"`
	}
	var ds sdk.Diagnostics
	if err := json.Unmarshal(cfg, &c); err != nil {
		ds.AddError("config does not decode", err.Error(), "")
	} else if len(c.Delimiter) > 1 {
		ds.AddError("delimiter must be one character", "", "delimiter")
	}
	return ds
}

func (v *validatingImporter) Describe() sdk.Component {
	return sdk.Component{Description: "validates", RecordKinds: []string{sdk.KindTechnique}}
}

func TestConfigValidatedBeforeImport(t *testing.T) {
	imp := &validatingImporter{}
	c := sdktest.Start(t, sdk.ServeOpts{Name: "p", Version: "1.0.0", Importers: map[string]sdk.Importer{"v": imp}})
	ctx := context.Background()
	diags, err := c.ValidateConfig(ctx, "importer", "v", json.RawMessage(`{"delimiter":";;"}`))
	if err != nil || len(diags) != 1 || diags[0].Attribute != "delimiter" {
		t.Fatalf("ValidateConfig = %+v, %v", diags, err)
	}
	diags, err = c.ValidateConfig(ctx, "importer", "v", json.RawMessage(`not json`))
	if err != nil || len(diags) != 1 || diags[0].Attribute != "config" {
		t.Fatalf("ValidateConfig(not json) = %+v, %v", diags, err)
	}
	res := sdktest.Import(ctx, c, sdk.ImportRequest{Type: "v", Config: json.RawMessage(`{"delimiter":";;"}`)})
	var ds sdk.Diagnostics
	if !errors.As(res.Err, &ds) || ds[0].Attribute != "delimiter" || imp.called {
		t.Fatalf("import with bad config: err %v, called %v", res.Err, imp.called)
	}
	if _, err := c.ValidateConfig(ctx, "transformer", "v", nil); err == nil {
		t.Fatal("unknown component kind accepted")
	}
}

func TestUnknownTypeIsDiagnostic(t *testing.T) {
	c := sdktest.Start(t, sdk.ServeOpts{Name: "multi", Version: "1.0.0", Importers: map[string]sdk.Importer{"b": &validatingImporter{}, "a": &validatingImporter{}}})
	res := sdktest.Import(context.Background(), c, sdk.ImportRequest{Type: "c"})
	var ds sdk.Diagnostics
	if !errors.As(res.Err, &ds) || !strings.Contains(ds[0].Summary, `no importer of type "c"`) || ds[0].Detail != "importer types offered: a, b" {
		t.Fatalf("err = %v (%+v)", res.Err, ds)
	}
}

func TestLargeRecordsPassBothWays(t *testing.T) {
	// 5 MiB is above gRPC's 4 MiB default on either side.
	big := strings.Repeat("a", 5<<20)
	imp := sdk.ImporterFunc(func(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
		return out.Record(&sdk.DetectionRule{ExternalID: "big", Title: "big", Format: sdk.RuleCustom, Raw: big})
	})
	res := sdktest.RunImport(t, imp, sdk.ImportRequest{})
	if res.Err != nil || len(res.Records) != 1 || len(res.Records[0].(*sdk.DetectionRule).Raw) != len(big) {
		t.Fatalf("import of a 5 MiB record: %v", res.Err)
	}
	exp := sdk.ExporterFunc(func(ctx context.Context, req sdk.ExportRequest, records sdk.RecordIterator, out sdk.ArtifactWriter) error {
		r, err := records.Next()
		if err != nil {
			return err
		}
		w, err := out.Begin("size.txt", "text/plain")
		if err != nil {
			return err
		}
		_, err = fmt.Fprint(w, len(r.(*sdk.DetectionRule).Raw))
		return err
	})
	eres := sdktest.RunExport(t, exp, sdk.ExportRequest{}, res.Records)
	if eres.Err != nil || len(eres.Artifacts) != 1 || string(eres.Artifacts[0].Data) != fmt.Sprint(len(big)) {
		t.Fatalf("export of a 5 MiB record: %+v", eres)
	}
}

func TestExportChunksLargeArtifacts(t *testing.T) {
	var gotReq sdk.ExportRequest
	var got []string
	exp := sdk.ExporterFunc(func(ctx context.Context, req sdk.ExportRequest, records sdk.RecordIterator, out sdk.ArtifactWriter) error {
		gotReq = req
		for r, err := range sdk.Records(records) {
			if err != nil {
				return err
			}
			got = append(got, r.Kind()+":"+r.ID())
		}
		out.Progress(1, 2, "layer")
		w, err := out.Begin("layer.json", "application/json")
		if err != nil {
			return err
		}
		// Many small writes must still be sent in full chunks.
		line := bytes.Repeat([]byte("x"), 1000)
		for i := 0; i < 2600; i++ {
			if _, err := w.Write(line); err != nil {
				return err
			}
		}
		out.Warn("T1059", "technique has no score", "")
		w, err = out.Begin("README.txt", "text/plain")
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, "hello")
		return err
	})
	records := []sdk.Record{
		&sdk.Technique{ExternalID: "T1059", Name: "Command"},
		&sdk.DetectionRule{ExternalID: "r1", Title: "t", Format: sdk.RuleSigma, Query: "q"},
	}
	res := sdktest.RunExport(t, exp, sdk.ExportRequest{Type: "navigator", Config: json.RawMessage(`{"layer":"4.5"}`), ExportID: "e-1", Scope: json.RawMessage(`{"org":"acme"}`)}, records)
	if res.Err != nil {
		t.Fatalf("export: %v", res.Err)
	}
	if gotReq.ExportID != "e-1" || string(gotReq.Scope) != `{"org":"acme"}` || string(gotReq.Config) != `{"layer":"4.5"}` {
		t.Errorf("exporter got %+v", gotReq)
	}
	if strings.Join(got, ",") != "technique:T1059,detection_rule:r1" {
		t.Errorf("records = %v", got)
	}
	layer, ok := res.Artifact("layer.json")
	if !ok || layer.MediaType != "application/json" || len(layer.Data) != 2_600_000 {
		t.Fatalf("layer = %q %d bytes", layer.MediaType, len(layer.Data))
	}
	// 2,600,000 bytes: two full 1 MiB chunks and a remainder.
	if layer.Chunks != 3 {
		t.Errorf("layer arrived in %d chunks, want 3", layer.Chunks)
	}
	if readme, _ := res.Artifact("README.txt"); string(readme.Data) != "hello" || readme.Chunks != 1 {
		t.Errorf("README = %q in %d chunks", readme.Data, readme.Chunks)
	}
	if len(res.Diagnostics) != 1 || res.Diagnostics[0].ExternalID != "T1059" || res.Diagnostics[0].Severity != sdk.SeverityWarning {
		t.Errorf("diagnostics = %+v", res.Diagnostics)
	}
}

func TestExportEarlyReturnAndErrors(t *testing.T) {
	// An exporter that stops reading must not hang a host that is still sending.
	exp := sdk.ExporterFunc(func(ctx context.Context, req sdk.ExportRequest, records sdk.RecordIterator, out sdk.ArtifactWriter) error {
		if _, err := records.Next(); err != nil {
			return err
		}
		if req.Type == "fail" {
			return errors.New("template engine broke")
		}
		if _, err := out.Begin("../etc/passwd", "text/plain"); err == nil {
			return errors.New("path accepted as artifact name")
		}
		return nil
	})
	many := make([]sdk.Record, 20000)
	for i := range many {
		many[i] = &sdk.Technique{ExternalID: fmt.Sprintf("T%04d", i%10000), Name: "x"}
	}
	c := sdktest.Start(t, sdk.ServeOpts{Name: "p", Version: "1.0.0", Exporters: map[string]sdk.Exporter{"ok": exp, "fail": exp}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := sdktest.Export(ctx, c, sdk.ExportRequest{Type: "ok"}, many)
	if res.Err != nil {
		t.Fatalf("early return: %v", res.Err)
	}
	res = sdktest.Export(ctx, c, sdk.ExportRequest{Type: "fail"}, many[:3])
	var ds sdk.Diagnostics
	if !errors.As(res.Err, &ds) || !strings.Contains(ds[0].Summary, "export fail failed: template engine broke") {
		t.Fatalf("failing export: %v", res.Err)
	}
}

func TestExportHostRecordError(t *testing.T) {
	exp := sdk.ExporterFunc(func(ctx context.Context, req sdk.ExportRequest, records sdk.RecordIterator, out sdk.ArtifactWriter) error {
		for _, err := range sdk.Records(records) {
			if err != nil {
				return err
			}
		}
		return nil
	})
	c := sdktest.Start(t, sdk.ServeOpts{Name: "p", Version: "1.0.0", Exporters: map[string]sdk.Exporter{"x": exp}})
	dbErr := errors.New("db gone")
	_, err := c.Export(context.Background(), sdk.ExportRequest{Type: "x"}, func(yield func(sdk.Record) error) error {
		if err := yield(&sdk.Technique{ExternalID: "T1059", Name: "x"}); err != nil {
			return err
		}
		return dbErr
	}, func(string, string) (io.Writer, error) { return io.Discard, nil })
	if !errors.Is(err, dbErr) || !strings.HasPrefix(err.Error(), "export x: ") {
		t.Fatalf("err = %v", err)
	}
}

func TestBuildDescription(t *testing.T) {
	d, err := sdk.BuildDescription(sdk.ServeOpts{
		Name: "multi", Version: "1.2.3-rc.1",
		Importers:  map[string]sdk.Importer{"b_imp": &validatingImporter{}, "a_imp": sdk.ImporterFunc(nil)},
		Exporters:  map[string]sdk.Exporter{"layer": sdk.ExporterFunc(nil)},
		Components: []sdk.Component{{Kind: sdk.ComponentExporter, Type: "layer", Description: "Navigator layer", RecordKinds: []string{"technique"}, MediaTypes: []string{"application/json"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range d.Components {
		got = append(got, string(c.Kind)+"/"+c.Type+"/"+c.Description)
	}
	if strings.Join(got, ",") != "importer/a_imp/,importer/b_imp/validates,exporter/layer/Navigator layer" {
		t.Errorf("components = %v", got)
	}
	if d.ProtocolVersion != 1 || d.SDKVersion != sdk.SDKVersion {
		t.Errorf("description = %+v", d)
	}

	_, err = sdk.BuildDescription(sdk.ServeOpts{
		Name: "bad", Version: "v1.0",
		Importers:  map[string]sdk.Importer{"Bad-Type": &validatingImporter{}},
		Components: []sdk.Component{{Kind: sdk.ComponentImporter, Type: "Bad-Type", RecordKinds: []string{"ttp"}}, {Kind: sdk.ComponentExporter, Type: "ghost"}},
	})
	for _, want := range []string{`Version "v1.0"`, `type "Bad-Type" must match`, `unknown record kind "ttp"`, `exporter "ghost" is not in ServeOpts.Exporters`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
}

func TestConformanceOnSamplePlugin(t *testing.T) {
	sdktest.Conformance(t, sdk.ServeOpts{
		Name: "sample", Version: "0.1.0",
		Importers: map[string]sdk.Importer{"v": &validatingImporter{}},
		Exporters: map[string]sdk.Exporter{"layer": sdk.ExporterFunc(nil)},
		Components: []sdk.Component{{Kind: sdk.ComponentExporter, Type: "layer", Description: "Navigator layer",
			RecordKinds: []string{"technique"}, MediaTypes: []string{"application/json"}, ConfigSchema: json.RawMessage(`{"type":"object"}`)}},
	})
}

func TestExampleJSONLExporter(t *testing.T) {
	res := sdktest.RunExport(t, jsonlExporter{}, sdk.ExportRequest{Type: "jsonl"}, sampleRecords()[:2])
	a, ok := res.Artifact("records.jsonl")
	if res.Err != nil || !ok {
		t.Fatalf("%v %+v", res.Err, res.Artifacts)
	}
	lines := strings.Split(strings.TrimSpace(string(a.Data)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], `"kind":"technique"`) || !strings.Contains(lines[1], `"external_id":"T1059.001"`) {
		t.Errorf("artifact = %s", a.Data)
	}
}
