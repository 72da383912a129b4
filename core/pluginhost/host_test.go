package pluginhost_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
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

// AEGIS_PLUGIN_CPUPROFILE in the host's environment reaches the plugin process, which
// writes a CPU profile there when the host shuts it down.
func TestPluginCPUProfile(t *testing.T) {
	bin := testplugins.Build(t, "misbehave")
	dir := t.TempDir()
	t.Setenv(sdk.CPUProfileEnv, dir)
	cfg := config.Default()
	cfg.Plugins = []config.Plugin{{Name: "mis", Path: bin, Enabled: true, Timeout: time.Minute, Config: json.RawMessage(`{}`)}}
	inst, err := pluginhost.New(cfg, nil).Start(context.Background(), "mis")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inst.Client.Describe(context.Background()); err != nil {
		t.Fatal(err)
	}
	inst.Close()
	files, err := filepath.Glob(filepath.Join(dir, "*.pprof"))
	if err != nil || len(files) != 1 {
		t.Fatalf("profiles in %s: %v %v, want one", dir, files, err)
	}
	if data, err := os.ReadFile(files[0]); err != nil || len(data) == 0 {
		t.Fatalf("profile %s: %v, %d bytes", files[0], err, len(data))
	}
}

// FileSHA256 keeps a binary's sum between starts, and hashes again after any rewrite:
// same size with the modification time set back, or another file renamed over it.
func TestFileSHA256FollowsRewrites(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "plugin")
	sum := func() string {
		t.Helper()
		s, err := pluginhost.FileSHA256(p)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if err := os.WriteFile(p, []byte("version one"), 0o755); err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(p)
	first := sum()
	if again := sum(); again != first {
		t.Fatalf("the same file: %s then %s", first, again)
	}
	time.Sleep(10 * time.Millisecond) // a change time of its own
	if err := os.WriteFile(p, []byte("version two"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	second := sum()
	if second == first {
		t.Fatal("rewritten with the same size and modification time: the old sum was returned")
	}
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("version one"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, p); err != nil {
		t.Fatal(err)
	}
	if got := sum(); got != first {
		t.Fatalf("another file renamed over it: %s, want %s", got, first)
	}
}
