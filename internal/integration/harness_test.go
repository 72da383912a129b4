package integration

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/importer"
	"github.com/aegis-sec/aegis/core/pluginhost"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

var ctx = context.Background()

// upstream returns the folder of one upstream data set, or skips the test.
func upstream(t testing.TB, name string) string {
	t.Helper()
	root := os.Getenv("AEGIS_UPSTREAM_DIR")
	if root == "" {
		root = filepath.Join("..", "..", "..", "shared", "upstream")
	}
	dir := filepath.Join(root, name)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("upstream data %s not found (set AEGIS_UPSTREAM_DIR): %v", name, err)
	}
	abs, _ := filepath.Abs(dir)
	return abs
}

var (
	buildMu  sync.Mutex
	binaries = map[string]string{}
	buildDir string
)

// pluginBinary builds plugins/<name> once per test run.
func pluginBinary(t testing.TB, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := binaries[name]; ok {
		return p
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "aegis-integration-")
		if err != nil {
			t.Fatal(err)
		}
		buildDir = d
	}
	p := sdktest.BuildPluginTo(t, filepath.Join("..", "..", "plugins", name), buildDir)
	binaries[name] = p
	return p
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// env is a store and a runner for a set of plugins.
type env struct {
	Store  *store.Store
	Runner *importer.Runner
}

// newEnv opens a fresh SQLite store and a host for the given plugins, each named
// after its folder under plugins/ with the given config JSON. (TestUpstreamOnPostgres
// runs the largest imports on PostgreSQL too.)
func newEnv(t testing.TB, configs map[string]string) *env {
	t.Helper()
	return newEnvOn(t, store.SQLite, configs)
}

// newEnvOn is newEnv on a given driver (PostgreSQL skips without AEGIS_TEST_POSTGRES_DSN).
func newEnvOn(t testing.TB, driver string, configs map[string]string) *env {
	t.Helper()
	e := &env{Store: storetest.Open(t, driver)}
	e.Configure(t, configs)
	return e
}

// Configure replaces the plugins' configuration, keeping the store (a second release
// imported with other settings, say).
func (e *env) Configure(t testing.TB, configs map[string]string) {
	t.Helper()
	cfg := config.Default()
	for name, c := range configs {
		if c == "" {
			c = "{}"
		}
		cfg.Plugins = append(cfg.Plugins, config.Plugin{Name: name, Path: pluginBinary(t, name), Enabled: true,
			Timeout: 10 * time.Minute, Config: json.RawMessage(c), Range: "test"})
	}
	log := hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: os.Stderr})
	e.Runner = &importer.Runner{Store: e.Store, Host: pluginhost.New(cfg, log), Log: log}
}

// Import runs one import and fails the test when it fails.
func (e *env) Import(t testing.TB, plugin, source string) *core.ImportRun {
	t.Helper()
	run, err := e.Runner.Run(ctx, importer.Options{Plugin: plugin, Source: source, TriggeredBy: "test"})
	if err != nil {
		t.Fatalf("import %s from %s: %v", plugin, source, err)
	}
	return run
}

// Count runs a COUNT query (with ? placeholders) against the store.
func (e *env) Count(t testing.TB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.Store.DB().Get(&n, e.Store.DB().Rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// Warnings decodes a run's kept warnings.
func Warnings(run *core.ImportRun) []core.ImportWarning {
	var ws []core.ImportWarning
	_ = json.Unmarshal(run.Warnings, &ws)
	return ws
}

// otherWarnings are a run's warnings less those naming files it left out, which
// TestEveryUpstreamFileIsReadOrNamed accounts for: the upstream tests expect none, or
// exactly the ones the data calls for.
func otherWarnings(run *core.ImportRun) []core.ImportWarning {
	var out []core.ImportWarning
	for _, w := range Warnings(run) {
		if !strings.HasPrefix(w.Summary, "file left out: ") && !strings.Contains(w.Summary, " left out: ") {
			out = append(out, w)
		}
	}
	return out
}

// walkFiles lists the files under dir whose names end in one of the suffixes.
func walkFiles(t testing.TB, dir string, suffixes ...string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		for _, s := range suffixes {
			if strings.HasSuffix(p, s) {
				out = append(out, p)
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
