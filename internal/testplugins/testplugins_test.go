package testplugins_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aegis-sec/aegis/internal/testplugins"
	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/host"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

// start launches bin as a real plugin process the way the host does:
// checksum, AutoMTLS, gRPC only, versioned plugin sets.
func start(t *testing.T, bin string) (host.Client, *plugin.Client) {
	t.Helper()
	return sdktest.StartBinaryProcess(t, bin)
}

type collected struct {
	records []sdk.Record
	invalid []error
	diags   sdk.Diagnostics
}

func runImport(ctx context.Context, c host.Client, mode string, n int) (*collected, error) {
	cfg, _ := json.Marshal(map[string]any{"mode": mode, "n": n})
	col := &collected{}
	err := c.Import(ctx, sdk.ImportRequest{Type: "misbehave", Config: cfg, RunID: mode}, func(ev host.ImportEvent) error {
		switch {
		case ev.Record != nil:
			r, err := ev.Record.Decode()
			if err != nil {
				col.invalid = append(col.invalid, err)
				return nil
			}
			col.records = append(col.records, r)
		case ev.Diagnostic != nil:
			col.diags = append(col.diags, *ev.Diagnostic)
		}
		return nil
	})
	return col, err
}

func TestMisbehave(t *testing.T) {
	bin := testplugins.Build(t, "misbehave")

	t.Run("ok", func(t *testing.T) {
		c, _ := start(t, bin)
		ctx := context.Background()
		d, err := c.Describe(ctx)
		if err != nil || d.Name != "misbehave" || d.ProtocolVersion != 1 || len(d.Components) != 3 || d.Components[0].Kind != sdk.ComponentImporter || d.Components[1].Kind != sdk.ComponentExporter || d.Components[2].Kind != sdk.ComponentExporter {
			t.Fatalf("describe = %+v, %v", d, err)
		}
		col, err := runImport(ctx, c, "ok", 3)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range col.records {
			ids = append(ids, r.(*sdk.Technique).ExternalID)
		}
		if strings.Join(ids, ",") != "T9001,T9002,T9003" {
			t.Errorf("ids = %v", ids)
		}
		diags, err := c.ValidateConfig(ctx, "importer", "misbehave", json.RawMessage(`{"mode":"sulk"}`))
		if err != nil || len(diags) != 1 || diags[0].Attribute != "mode" {
			t.Errorf("ValidateConfig = %+v, %v", diags, err)
		}
	})

	t.Run("crash_after", func(t *testing.T) {
		c, pc := start(t, bin)
		col, err := runImport(context.Background(), c, "crash_after", 2)
		if !host.IsUnavailable(err) {
			t.Fatalf("err = %v, want IsUnavailable", err)
		}
		if !strings.Contains(err.Error(), "import misbehave") || !strings.Contains(err.Error(), "crashed") {
			t.Errorf("message = %q", err)
		}
		// Records still in the plugin's send buffer die with the process, so
		// anything from 0 to n may have arrived; the run fails either way.
		if len(col.records) > 2 {
			t.Errorf("got %d records from a plugin that sent 2", len(col.records))
		}
		deadline := time.Now().Add(10 * time.Second)
		for !pc.Exited() && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if !pc.Exited() {
			t.Error("go-plugin did not notice the exit")
		}
	})

	t.Run("hang", func(t *testing.T) {
		c, pc := start(t, bin)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		began := time.Now()
		col, err := runImport(ctx, c, "hang", 2)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want deadline exceeded", err)
		}
		if time.Since(began) > 5*time.Second || len(col.records) != 2 {
			t.Errorf("took %s, %d records", time.Since(began), len(col.records))
		}
		pc.Kill() // what the host does after a timeout
		if !pc.Exited() {
			t.Error("hung plugin survived Kill")
		}
	})

	t.Run("invalid_record", func(t *testing.T) {
		c, _ := start(t, bin)
		col, err := runImport(context.Background(), c, "invalid_record", 1)
		if err != nil {
			t.Fatalf("err = %v (the stream itself is fine)", err)
		}
		var ve *sdk.ValidationError
		if len(col.invalid) != 1 || !errors.As(col.invalid[0], &ve) || ve.Problems[0].Field != "name" {
			t.Fatalf("invalid = %v", col.invalid)
		}
		if !strings.Contains(col.invalid[0].Error(), "misbehave.json:2: technique \"T9002\"") {
			t.Errorf("error lacks position: %v", col.invalid[0])
		}
	})

	t.Run("panic", func(t *testing.T) {
		c, pc := start(t, bin)
		_, err := runImport(context.Background(), c, "panic", 1)
		if status.Code(errors.Unwrap(err)) != codes.Internal || !strings.Contains(err.Error(), "panic on purpose") || host.IsUnavailable(err) {
			t.Fatalf("err = %v", err)
		}
		if pc.Exited() {
			t.Fatal("plugin process died on a panic")
		}
		col, err := runImport(context.Background(), c, "ok", 1)
		if err != nil || len(col.records) != 1 {
			t.Fatalf("after panic: %v, %d records", err, len(col.records))
		}
	})

	t.Run("error_diag", func(t *testing.T) {
		c, _ := start(t, bin)
		col, err := runImport(context.Background(), c, "error_diag", 2)
		var ds sdk.Diagnostics
		if !errors.As(err, &ds) || len(ds) != 1 || ds[0].File != "misbehave.json" || ds[0].Line != 3 {
			t.Fatalf("err = %v", err)
		}
		if len(col.records) != 2 || len(col.diags) != 1 {
			t.Errorf("records %d, diags %d", len(col.records), len(col.diags))
		}
	})

	t.Run("run_by_hand", func(t *testing.T) {
		var stderr bytes.Buffer
		cmd := exec.Command(bin)
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(stderr.String(), "describe") {
			t.Errorf("run without cookie: %v, %q", err, stderr.String())
		}
	})
}

func TestVersionMismatch(t *testing.T) {
	bin := testplugins.Build(t, "v2only")
	cfg := host.ClientConfig(exec.Command(bin))
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Output: io.Discard})
	pc := plugin.NewClient(cfg)
	defer pc.Kill()
	_, err := pc.Client()
	if err == nil {
		t.Fatal("a v2-only plugin started against a v1 host")
	}
	for _, want := range []string{"Plugin version: 2", "Client versions: [1]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to contain %q", err, want)
		}
	}
}
