// Package sdktest runs Aegis plugin components in-process over a real gRPC
// connection, through the same server (panic recovery, message limits) and
// client code as a deployed plugin, and collects what they stream.
//
//	res := sdktest.RunImport(t, myImporter, sdk.ImportRequest{Type: "csv", Source: "testdata/ok"})
//	if res.Err != nil { t.Fatal(res.Err) }
//	rule := res.Records[0].(*sdk.DetectionRule)
package sdktest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/host"
	"github.com/aegis-sec/aegis/sdk/source"
)

// ImportResult is everything an import streamed, in order of arrival.
type ImportResult struct {
	// Records are the decoded, validated records.
	Records []sdk.Record
	// Incoming are the records as they arrived, with file and line, in the
	// same order as Records followed by any that failed to decode.
	Incoming []host.IncomingRecord
	// Invalid holds one error per record that failed to decode or validate;
	// a real host fails the whole run on the first.
	Invalid     []error
	Diagnostics sdk.Diagnostics
	Progress    []host.Progress
	// FilesRead and FilesUnchanged are the plugin's file reports (protocol
	// minor 2; only when the request set ReportFiles). Pass FilesRead as the
	// next run's PreviousFiles to see what it skips.
	FilesRead, FilesUnchanged []source.FileState
	// Err is what Client.Import returned: nil, a transport error, or the
	// ERROR diagnostics as sdk.Diagnostics.
	Err error
}

// Warnings returns the WARNING diagnostics.
func (r *ImportResult) Warnings() sdk.Diagnostics { return r.Diagnostics.Warnings() }

// Errors returns the ERROR diagnostics.
func (r *ImportResult) Errors() sdk.Diagnostics { return r.Diagnostics.Errors() }

// RunImport serves imp under req.Type (default "test") and runs one import
// with a one-minute timeout.
func RunImport(t testing.TB, imp sdk.Importer, req sdk.ImportRequest) *ImportResult {
	t.Helper()
	if req.Type == "" {
		req.Type = "test"
	}
	c := Start(t, sdk.ServeOpts{Name: "sdktest", Version: "0.0.0", Importers: map[string]sdk.Importer{req.Type: imp}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return Import(ctx, c, req)
}

// Import runs one import through an already started client and collects
// the result; use it with Start to control the context.
func Import(ctx context.Context, c host.Client, req sdk.ImportRequest) *ImportResult {
	res := &ImportResult{}
	var bad []host.IncomingRecord
	res.Err = c.Import(ctx, req, func(ev host.ImportEvent) error {
		switch {
		case ev.Record != nil:
			rec, err := ev.Record.Decode()
			if err != nil {
				res.Invalid = append(res.Invalid, err)
				bad = append(bad, *ev.Record)
				return nil
			}
			res.Records = append(res.Records, rec)
			res.Incoming = append(res.Incoming, *ev.Record)
		case ev.Diagnostic != nil:
			res.Diagnostics = append(res.Diagnostics, *ev.Diagnostic)
		case ev.Progress != nil:
			res.Progress = append(res.Progress, *ev.Progress)
		case ev.Files != nil:
			res.FilesRead = append(res.FilesRead, ev.Files.Read...)
			res.FilesUnchanged = append(res.FilesUnchanged, ev.Files.Unchanged...)
		}
		return nil
	})
	res.Incoming = append(res.Incoming, bad...)
	return res
}

// Artifact is one file an exporter produced.
type Artifact struct {
	Name      string
	MediaType string
	Data      []byte
	// Chunks is the number of data messages the artifact arrived in.
	Chunks int
}

// ExportResult is everything an export streamed.
type ExportResult struct {
	Artifacts   []Artifact
	Diagnostics sdk.Diagnostics
	Err         error
}

// Artifact returns the artifact with the given name.
func (r *ExportResult) Artifact(name string) (Artifact, bool) {
	for _, a := range r.Artifacts {
		if a.Name == name {
			return a, true
		}
	}
	return Artifact{}, false
}

// RunExport serves exp under req.Type (default "test"), sends records and
// collects the artifacts, with a one-minute timeout.
func RunExport(t testing.TB, exp sdk.Exporter, req sdk.ExportRequest, records []sdk.Record) *ExportResult {
	t.Helper()
	if req.Type == "" {
		req.Type = "test"
	}
	c := Start(t, sdk.ServeOpts{Name: "sdktest", Version: "0.0.0", Exporters: map[string]sdk.Exporter{req.Type: exp}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return Export(ctx, c, req, records)
}

// Export runs one export through an already started client.
func Export(ctx context.Context, c host.Client, req sdk.ExportRequest, records []sdk.Record) *ExportResult {
	res := &ExportResult{}
	produce := func(yield func(sdk.Record) error) error {
		for _, r := range records {
			if err := yield(r); err != nil {
				return err
			}
		}
		return nil
	}
	var arts []*Artifact
	diags, err := c.Export(ctx, req, produce, func(name, mediaType string) (io.Writer, error) {
		a := &Artifact{Name: name, MediaType: mediaType}
		arts = append(arts, a)
		return &artifactBuffer{a: a}, nil
	})
	for _, a := range arts {
		res.Artifacts = append(res.Artifacts, *a)
	}
	res.Diagnostics, res.Err = diags, err
	return res
}

// artifactBuffer counts the data messages (one Write each) and keeps the
// bytes; the host closes it when the artifact is complete.
type artifactBuffer struct {
	a   *Artifact
	buf bytes.Buffer
}

func (b *artifactBuffer) Write(p []byte) (int, error) {
	b.a.Chunks++
	return b.buf.Write(p)
}

func (b *artifactBuffer) Close() error {
	b.a.Data = bytes.Clone(b.buf.Bytes())
	return nil
}

// Start serves opts in-process in go-plugin's test mode and returns a
// connected Client. Everything is torn down when the test ends.
func Start(t testing.TB, opts sdk.ServeOpts) host.Client {
	t.Helper()
	if _, err := sdk.BuildDescription(opts); err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	reattach := make(chan *plugin.ReattachConfig, 1)
	closed := make(chan struct{})
	logs := newTestWriter(t)
	opts.Logger = hclog.New(&hclog.LoggerOptions{Name: opts.Name, Level: hclog.Debug, Output: logs})
	opts.Test = &plugin.ServeTestConfig{Context: ctx, ReattachConfigCh: reattach, CloseCh: closed}
	go sdk.Serve(opts)

	var rc *plugin.ReattachConfig
	select {
	case rc = <-reattach:
	case <-closed:
		cancel()
		t.Fatalf("sdktest: plugin server stopped before it was ready")
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("sdktest: plugin server did not start")
	}
	addr := rc.Addr
	conn, err := grpc.NewClient("passthrough:///"+addr.String(),
		append([]grpc.DialOption{
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, addr.Network(), addr.String())
			}),
		}, host.DialOptions()...)...)
	if err != nil {
		cancel()
		t.Fatalf("sdktest: dial plugin: %v", err)
	}
	t.Cleanup(func() {
		// Stopping the server closes its listener under the accept loop, which
		// go-plugin logs as an ERROR; that line is teardown, not a failure.
		logs.tearingDown()
		_ = conn.Close()
		cancel()
		<-closed
	})
	gp, ok := host.PluginSets()[sdk.ProtocolVersion][host.DispenseName].(plugin.GRPCPlugin)
	if !ok {
		t.Fatalf("sdktest: host plugin set has no gRPC plugin")
	}
	raw, err := gp.GRPCClient(ctx, nil, conn)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	return raw.(host.Client)
}

// testWriter sends plugin logs to the test log and stops when the test
// ends, since t.Log panics after that.
type testWriter struct {
	mu       sync.Mutex
	t        testing.TB
	done     bool
	teardown bool
}

func newTestWriter(t testing.TB) *testWriter {
	w := &testWriter{t: t}
	t.Cleanup(w.stop)
	return w
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done || (w.teardown && bytes.Contains(p, []byte("use of closed network connection"))) {
		return len(p), nil
	}
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

func (w *testWriter) tearingDown() {
	w.mu.Lock()
	w.teardown = true
	w.mu.Unlock()
}

func (w *testWriter) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// Conformance checks what every plugin must get right: options that Serve
// accepts, a Describe over gRPC that matches the describe subcommand, valid
// names, versions, record kinds, schemas and media types, a diagnostic (not a
// transport error) for an unknown component type, and ValidateConfig
// answering for every component with an empty config.
func Conformance(t *testing.T, opts sdk.ServeOpts) {
	t.Helper()
	want, err := sdk.BuildDescription(opts)
	if err != nil {
		t.Fatalf("ServeOpts rejected: %v", err)
	}
	c := Start(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	got, err := c.Describe(ctx)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("Describe over gRPC differs from the describe subcommand:\n grpc:     %s\n describe: %s", gotJSON, wantJSON)
	}
	if got.Name == "" {
		t.Errorf("Describe: empty name")
	}
	if !sdk.ValidSemver(got.Version) {
		t.Errorf("Describe: version %q is not semver", got.Version)
	}
	if !sdk.ValidSemver(got.SDKVersion) {
		t.Errorf("Describe: sdk_version %q is not semver", got.SDKVersion)
	}
	if got.ProtocolVersion != sdk.ProtocolVersion || got.ProtocolMinor != sdk.ProtocolMinor {
		t.Errorf("Describe: protocol %d.%d, want %d.%d", got.ProtocolVersion, got.ProtocolMinor, sdk.ProtocolVersion, sdk.ProtocolMinor)
	}
	if len(got.Components) == 0 {
		t.Errorf("Describe: no components")
	}
	seen := map[string]bool{}
	for _, comp := range got.Components {
		key := string(comp.Kind) + "/" + comp.Type
		if seen[key] {
			t.Errorf("component %s listed twice", key)
		}
		seen[key] = true
		if comp.Kind != sdk.ComponentImporter && comp.Kind != sdk.ComponentExporter {
			t.Errorf("component %s: kind %q", key, comp.Kind)
		}
		if !sdk.ValidComponentType(comp.Type) {
			t.Errorf("component %s: invalid type", key)
		}
		if comp.Description == "" {
			t.Errorf("component %s: no description (implement sdk.Describer)", key)
		}
		if len(comp.RecordKinds) == 0 {
			t.Errorf("component %s: no record kinds", key)
		}
		for _, k := range comp.RecordKinds {
			if !slices.Contains(sdk.RecordKinds(), k) {
				t.Errorf("component %s: unknown record kind %q", key, k)
			}
		}
		if comp.Kind == sdk.ComponentExporter && len(comp.MediaTypes) == 0 {
			t.Errorf("component %s: exporter without media types", key)
		}
		if len(comp.ConfigSchema) > 0 && !json.Valid(comp.ConfigSchema) {
			t.Errorf("component %s: config schema is not JSON", key)
		}
		if _, err := c.ValidateConfig(ctx, string(comp.Kind), comp.Type, json.RawMessage(`{}`)); err != nil {
			t.Errorf("component %s: ValidateConfig({}) failed in transport: %v", key, err)
		}
		diags, err := c.ValidateConfig(ctx, string(comp.Kind), comp.Type, json.RawMessage(`[1,2]`))
		if err != nil {
			t.Errorf("component %s: ValidateConfig([1,2]): %v", key, err)
		} else if !sdk.Diagnostics(diags).HasError() {
			t.Errorf("component %s: ValidateConfig accepted a non-object config", key)
		}
	}

	const missing = "sdktest_no_such_type"
	diags, err := c.ValidateConfig(ctx, "importer", missing, nil)
	if err != nil || !sdk.Diagnostics(diags).HasError() {
		t.Errorf("ValidateConfig for an unknown type: want an ERROR diagnostic, got %v, %v", diags, err)
	}
	res := Import(ctx, c, sdk.ImportRequest{Type: missing})
	var ds sdk.Diagnostics
	if !errors.As(res.Err, &ds) || len(ds) == 0 || ds[0].Attribute != "type" {
		t.Errorf("Import of an unknown type: want an ERROR diagnostic on attribute type, got %v", res.Err)
	}
}
