package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBrowser runs web/e2e/run.mjs: Debian's Chromium, driven by playwright-core,
// against a real `aegis serve` on SQLite holding real upstream data (ATT&CK Enterprise
// and Atomic Red Team imported here; Sigma imported by the test from the admin page).
// It signs in as every role, walks a test from draft to validated, opens the matrix
// and a technique, runs an import and takes screenshots (into docs/screenshots when
// AEGIS_E2E_SCREENSHOTS says so: `make screenshots`).
func TestBrowser(t *testing.T) {
	upstream := envOr("AEGIS_UPSTREAM_DIR", "../../shared/upstream")
	upstream, _ = filepath.Abs(upstream)
	chromium, node := browserPrereqs(t,
		need{filepath.Join(upstream, "mitre-cti", "enterprise-attack"), "the upstream data (AEGIS_UPSTREAM_DIR)"},
		need{filepath.Join(upstream, "mitre-cti-v17.1", "enterprise-attack"), "the upstream ATT&CK v17.1 (AEGIS_UPSTREAM_DIR)"},
		need{filepath.Join(upstream, "mappings-explorer", "mappings", "nist_800_53"), "the upstream NIST mappings (AEGIS_UPSTREAM_DIR)"})

	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	goBuild(t, filepath.Join(dir, "aegis"), "../cmd/aegis")
	for _, p := range []string{"attack", "atomic", "sigma", "cti", "nist", "d3fend", "navigator", "report"} {
		goBuild(t, filepath.Join(bin, "aegis-plugin-"+p), "../plugins/"+p)
	}
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "aegis.hcl")
	writeConfig := func(cfg, addr, db, evidence, release string) {
		writeFile(t, cfg, fmt.Sprintf(`
server { listen = %q }
database { dsn = %q }
evidence { path = %q }
plugin_dir = %q
# The clean-up job runs every few seconds, so that the jobs page lists real runs; the
# others wait for a date the run never reaches.
scheduler {
  enabled              = true
  notification_cleanup = "@every 3s"
  attack_sync          = "@yearly"
  intel_scan           = "@yearly"
  coverage_snapshot    = "@yearly"
  recurring_campaigns  = "@yearly"
}
log { level = "warn" }
plugin "attack" {
  timeout = "10m"
  config {
    domains         = ["enterprise-attack"]
    release_version = %q
  }
}
plugin "atomic" { timeout = "10m" }
plugin "sigma" { timeout = "10m" }
plugin "cti" {
  timeout = "10m"
  config { domains = ["enterprise-attack"] }
}
plugin "nist" { timeout = "10m" }
plugin "d3fend" {
  timeout = "10m"
  config { attack_source = %q }
}
plugin "navigator" { timeout = "5m" }
plugin "report" { timeout = "5m" }
# The admin page imports from the upstream folder through the API, which reads only
# local sources under allowed_paths.
import { allowed_paths = [%q] }
`, addr, db, evidence, bin, release, filepath.Join(absPath(t, upstream), "mitre-cti", "enterprise-attack"), absPath(t, upstream)))
	}
	writeConfig(cfg, addr, filepath.Join(dir, "aegis.db"), filepath.Join(dir, "evidence"), "18.1")
	// The same database with the attack plugin reading v17.1, for the upgrade the matrix's
	// release picker is tested on.
	cfg17 := filepath.Join(dir, "aegis-17.1.hcl")
	writeConfig(cfg17, addr, filepath.Join(dir, "aegis.db"), filepath.Join(dir, "evidence"), "17.1")
	// A second server with nothing imported: the pages of a fresh install must show
	// empty states, not errors.
	emptyAddr, emptyCfg := freeAddr(t), filepath.Join(dir, "empty.hcl")
	writeConfig(emptyCfg, emptyAddr, filepath.Join(dir, "empty.db"), filepath.Join(dir, "empty-evidence"), "18.1")
	aegisWith := func(cfg, stdin string, args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(dir, "aegis"), append([]string{"--config", cfg}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("aegis %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	aegis := func(stdin string, args ...string) {
		t.Helper()
		aegisWith(cfg, stdin, args...)
	}
	// ATT&CK v17.1, then the upgrade to v18.1: the matrix offers both releases.
	aegisWith(cfg17, "", "import", "attack", "--source", filepath.Join(upstream, "mitre-cti-v17.1", "enterprise-attack"))
	aegis("", "import", "attack", "--source", filepath.Join(upstream, "mitre-cti", "enterprise-attack"))
	aegis("", "import", "atomic", "--source", filepath.Join(upstream, "atomic-red-team"))
	// Threat actors (ATT&CK groups) and NIST 800-53 for the actors, campaigns and
	// compliance pages.
	aegis("", "import", "cti", "--source", filepath.Join(upstream, "mitre-cti", "enterprise-attack"))
	// D3FEND's defences of each technique, for the technique page.
	aegis("", "import", "d3fend", "--source", filepath.Join(upstream, "d3fend"))
	aegis("", "import", "nist", "--source", filepath.Join(upstream, "mappings-explorer", "mappings", "nist_800_53",
		"attack-16.1", "nist_800_53-rev5", "enterprise", "nist_800_53-rev5_attack-16.1-enterprise.json"))
	const password = "e2e-first-password-1"
	for _, role := range []string{"admin", "red_lead", "red_tech", "blue_lead", "blue_tech", "viewer"} {
		aegis(password+"\n", "user", "create", "e2e_"+role, "--role", role, "--password-stdin")
	}

	aegisWith(emptyCfg, password+"\n", "user", "create", "e2e_fresh", "--role", "admin", "--password-stdin")

	base := serveAegis(t, filepath.Join(dir, "aegis"), cfg, addr)
	emptyBase := serveAegis(t, filepath.Join(dir, "aegis"), emptyCfg, emptyAddr)

	shots := os.Getenv("AEGIS_E2E_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(dir, "screenshots")
	}
	shots, _ = filepath.Abs(shots)
	report := filepath.Join(dir, "report.json")
	run := exec.Command(node, "e2e/run.mjs")
	run.Env = append(os.Environ(), "AEGIS_URL="+base, "E2E_PASSWORD="+password, "E2E_UPSTREAM="+upstream,
		"E2E_SCREENSHOTS="+shots, "E2E_REPORT="+report, "E2E_FRESH=1", "CHROMIUM="+chromium, "AEGIS_EMPTY_URL="+emptyBase)
	out, err := run.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("e2e/run.mjs: %v", err)
	}
	var rep struct {
		Checks []string       `json:"checks"`
		Matrix map[string]any `json:"matrix"`
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Checks) < 20 || rep.Matrix == nil {
		t.Fatalf("the run passed only %d checks, matrix %v", len(rep.Checks), rep.Matrix)
	}
	t.Logf("matrix figures (ms): %v", rep.Matrix)
}

// need is a file a browser test cannot run without, and what it is.
type need struct{ path, why string }

// browserPrereqs skips the test, saying what is missing, unless Chromium, the web
// dependencies, the built app, Node.js and more are there; it returns Chromium's and
// node's paths.
func browserPrereqs(t *testing.T, more ...need) (chromium, node string) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped in -short mode")
	}
	chromium = envOr("CHROMIUM", "/usr/bin/chromium")
	for _, n := range append([]need{
		{chromium, "Chromium (apt-get install chromium)"},
		{"node_modules/playwright-core", "the web dependencies (cd web && npm ci)"},
		{"dist/index.html", "the built web app (make web)"},
	}, more...) {
		if _, err := os.Stat(n.path); err != nil {
			t.Skipf("e2e: needs %s: %s is missing", n.why, n.path)
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("e2e: needs Node.js (node) on PATH")
	}
	return chromium, node
}

// serveAegis runs `aegis serve` with cfg (listening on addr) until the test ends,
// and returns its base URL once it is ready; its log is shown when the test failed.
func serveAegis(t *testing.T, aegis, cfg, addr string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var serveLog bytes.Buffer
	serve := exec.CommandContext(ctx, aegis, "--config", cfg, "serve")
	serve.Stdout, serve.Stderr = &serveLog, &serveLog
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = serve.Wait()
		if t.Failed() {
			t.Logf("aegis serve log:\n%s", serveLog.String())
		}
	})
	base := "http://" + addr
	waitReady(t, base+"/readyz")
	return base
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func goBuild(t *testing.T, out, pkg string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s never answered 200", url)
}

// absPath makes a configured path absolute, as aegis.hcl's allowed_paths requires.
func absPath(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
