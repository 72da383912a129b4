package web_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBrowserXSS runs web/e2e/xss.mjs (issue 16): XSS payloads stored through the API
// in test, worklog, template, detection-rule and campaign texts are rendered by the
// built web app in Debian's Chromium without executing. A `aegis serve` on an empty
// SQLite database is enough (the technique the payloads name is created as a
// placeholder), so this runs in seconds, apart from the build.
func TestBrowserXSS(t *testing.T) {
	chromium, node := browserPrereqs(t)
	dir := t.TempDir()
	goBuild(t, filepath.Join(dir, "aegis"), "../cmd/aegis")
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "aegis.hcl")
	writeFile(t, cfg, fmt.Sprintf(`
server { listen = %q }
database { dsn = %q }
evidence { path = %q }
scheduler { enabled = false }
log { level = "warn" }
`, addr, filepath.Join(dir, "aegis.db"), filepath.Join(dir, "evidence")))
	const password = "xss-first-password-1"
	create := exec.Command(filepath.Join(dir, "aegis"), "--config", cfg, "user", "create", "xss_admin", "--role", "admin", "--password-stdin")
	create.Stdin = strings.NewReader(password + "\n")
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("aegis user create: %v\n%s", err, out)
	}
	base := serveAegis(t, filepath.Join(dir, "aegis"), cfg, addr)
	run := exec.Command(node, "e2e/xss.mjs")
	run.Env = append(os.Environ(), "AEGIS_URL="+base, "E2E_USER=xss_admin", "E2E_PASSWORD="+password, "CHROMIUM="+chromium)
	out, err := run.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("e2e/xss.mjs: %v", err)
	}
	if n := strings.Count("\n"+string(out), "\nok: "); n < 9 {
		t.Fatalf("only %d pages were checked", n)
	}
}
