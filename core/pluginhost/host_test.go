package pluginhost_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/pluginhost"
	"github.com/aegis-sec/aegis/internal/testplugins"
	"github.com/aegis-sec/aegis/sdk"
)

// The export half of the protocol through a real plugin process: records stream to the
// plugin, artifacts stream back, larger than one chunk.
func TestExportThroughAPluginProcess(t *testing.T) {
	bin := testplugins.Build(t, "misbehave")
	cfg := config.Default()
	cfg.Plugins = []config.Plugin{{Name: "mis", Path: bin, Enabled: true, Timeout: time.Minute, Config: json.RawMessage(`{}`)}}
	h := pluginhost.New(cfg, nil)
	ctx := context.Background()
	inst, err := h.Start(ctx, "mis")
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	desc, err := inst.Client.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := desc.Component(sdk.ComponentExporter, "jsonl"); !ok {
		t.Fatalf("no jsonl exporter in %+v", desc.Components)
	}
	records := []sdk.Record{
		&sdk.Technique{ExternalID: "T1059", Name: "Command and Scripting Interpreter"},
		&sdk.DetectionRule{ExternalID: "r1", Title: "Encoded PowerShell", Format: sdk.RuleSigma, Query: "x", TechniqueIDs: []string{"T1059.001"}},
	}
	got := map[string]*bytes.Buffer{}
	types := map[string]string{}
	diags, err := inst.Client.Export(ctx, sdk.ExportRequest{Type: "jsonl", Config: json.RawMessage(`{}`), ExportID: "e1"},
		func(yield func(sdk.Record) error) error {
			for _, r := range records {
				if err := yield(r); err != nil {
					return err
				}
			}
			return nil
		},
		func(name, mediaType string) (io.Writer, error) {
			got[name], types[name] = &bytes.Buffer{}, mediaType
			return got[name], nil
		})
	if err != nil || len(diags) != 0 {
		t.Fatalf("export: %v %v", diags, err)
	}
	lines := strings.Split(strings.TrimSpace(got["records.jsonl"].String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"external_id":"T1059"`) || !strings.Contains(lines[1], `"title":"Encoded PowerShell"`) {
		t.Fatalf("records.jsonl: %q", lines)
	}
	if types["records.jsonl"] != "application/x-ndjson" || got["padding.bin"].Len() != 3<<20/2 {
		t.Fatalf("artifacts: %v, padding %d bytes", types, got["padding.bin"].Len())
	}
}

// A plugin block's log_level reaches the plugin process (its own filter) and the host's
// logger for it, without moving the host's level.
func TestPluginLogLevel(t *testing.T) {
	bin := testplugins.Build(t, "misbehave")
	for _, tc := range []struct {
		level     string
		wantDebug bool
	}{{"debug", true}, {"", false}, {"error", false}} {
		var out bytes.Buffer
		var mu sync.Mutex
		log := hclog.New(&hclog.LoggerOptions{Level: hclog.Info, Output: &lockedWriter{w: &out, mu: &mu}, IndependentLevels: true})
		cfg := config.Default()
		cfg.Plugins = []config.Plugin{{Name: "mis", Path: bin, Enabled: true, Timeout: time.Minute, Config: json.RawMessage(`{}`), LogLevel: tc.level}}
		inst, err := pluginhost.New(cfg, log).Start(context.Background(), "mis")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := inst.Client.Describe(context.Background()); err != nil {
			t.Fatal(err)
		}
		inst.Close()
		mu.Lock()
		got := out.String()
		mu.Unlock()
		// go-plugin's server logs its address at DEBUG in the plugin process.
		if hasDebug := strings.Contains(got, "[DEBUG] mis.aegis-plugin-misbehave: plugin address"); hasDebug != tc.wantDebug {
			t.Errorf("log_level %q: plugin debug lines shown = %v, want %v:\n%s", tc.level, hasDebug, tc.wantDebug, got)
		}
		if log.GetLevel() != hclog.Info {
			t.Errorf("log_level %q moved the host's level to %s", tc.level, log.GetLevel())
		}
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
