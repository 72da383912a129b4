// Package archtest enforces the dependency rule of DESIGN.md §1: the domain imports no
// framework, the SDK never imports the core, plugins see only the SDK (and the shared
// rule-language packages), and the HTTP layer never builds SQL.
package archtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const module = "github.com/aegis-sec/aegis"

// sdkModule is the plugin SDK, a module of its own nested in this repository.
const sdkModule = module + "/sdk"

func inSDK(path string) bool { return path == sdkModule || strings.HasPrefix(path, sdkModule+"/") }

type pkg struct {
	ImportPath string
	Dir        string
	Imports    []string
	Deps       []string
	GoFiles    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

// frameworks the domain must never reach, even indirectly.
var frameworks = []string{
	"github.com/labstack/echo",
	"github.com/jmoiron/sqlx",
	"github.com/minio/minio-go",
	"github.com/hashicorp/go-plugin",
	"google.golang.org/grpc",
	"github.com/golang-migrate/migrate",
	"modernc.org/sqlite",
	"github.com/jackc/pgx",
}

// domainPackages are the pure packages of the core.
func isDomain(path string) bool {
	switch path {
	case module + "/core", module + "/core/password", module + "/core/auth", module + "/core/testflow", module + "/core/scoring":
		return true
	}
	return false
}

// sharedLibraries are the packages at the module root that both the core and the
// plugins may import: each stands on the standard library and its one parser
// dependency, never on anything else of the module, so importing one brings no core
// code across the plugin boundary.
var sharedLibraries = []string{module + "/sigma", module + "/evtx"}

func hasPrefix(dep string, prefixes []string) (string, bool) {
	for _, p := range prefixes {
		if dep == p || strings.HasPrefix(dep, p+"/") {
			return p, true
		}
	}
	return "", false
}

func TestDependencyRule(t *testing.T) {
	sdkSeen := false
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(p.ImportPath, module)
		sdkSeen = sdkSeen || p.ImportPath == sdkModule
		switch {
		case isDomain(p.ImportPath):
			for _, d := range p.Deps {
				if fw, bad := hasPrefix(d, frameworks); bad {
					t.Errorf("domain package %s depends on %s (through %s)", p.ImportPath, fw, d)
				}
				// The domain may name driver.Valuer for its JSON column types, but never
				// open a database.
				if d == "database/sql" {
					t.Errorf("domain package %s depends on database/sql", p.ImportPath)
				}
			}
		case rel == "/sdk" || strings.HasPrefix(rel, "/sdk/"):
			// sdk/ is a module of its own, so the go command already refuses most of
			// this; the check names the arrow when someone adds a require or replace.
			for _, d := range p.Deps {
				if strings.HasPrefix(d, module+"/") && !inSDK(d) {
					t.Errorf("sdk package %s imports %s: the SDK must not know the server", p.ImportPath, d)
				}
			}
			if p.ImportPath == sdkModule {
				for _, d := range p.Deps {
					if d == sdkModule+"/host" {
						t.Errorf("package sdk imports %s: the author's API must not carry the host side", d)
					}
				}
			}
		case isShared(p.ImportPath):
			for _, d := range p.Deps {
				if strings.HasPrefix(d, module+"/") && !isShared(d) {
					t.Errorf("shared package %s imports %s: it may use only the standard library and its parser", p.ImportPath, d)
				}
			}
		case strings.HasPrefix(rel, "/plugins/"):
			for _, d := range p.Deps {
				if strings.HasPrefix(d, module+"/") && !inSDK(d) && !strings.HasPrefix(d, p.ImportPath) &&
					!strings.HasPrefix(d, module+"/plugins/internal/") && !isShared(d) {
					t.Errorf("plugin %s imports %s: plugins may use only the SDK, shared plugin code under plugins/internal and %v", p.ImportPath, d, sharedLibraries)
				}
				if d == sdkModule+"/host" {
					t.Errorf("plugin %s imports %s: the host side of the protocol is the core's", p.ImportPath, d)
				}
			}
		case strings.HasPrefix(rel, "/core/"):
			for _, d := range p.Imports {
				if _, bad := hasPrefix(d, []string{module + "/api", module + "/cmd", "github.com/labstack/echo"}); bad {
					t.Errorf("core package %s imports %s: the core must not know the HTTP layer", p.ImportPath, d)
				}
			}
		case rel == "/api" || strings.HasPrefix(rel, "/api/"):
			for _, d := range p.Imports {
				if _, bad := hasPrefix(d, []string{"database/sql", "github.com/jmoiron/sqlx", module + "/core/store", module + "/migrations", "github.com/minio/minio-go"}); bad {
					t.Errorf("api package %s imports %s: handlers go through core ports, never the database", p.ImportPath, d)
				}
			}
			checkNoSQL(t, p)
		}
	}
	if !sdkSeen {
		t.Errorf("go list %s/... did not reach the SDK module: its rules were not checked", module)
	}
}

var sqlRE = regexp.MustCompile(`\b(SELECT\s+[\w*,\s.]+\s+FROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b`)

func isShared(path string) bool {
	_, ok := hasPrefix(path, sharedLibraries)
	return ok
}

// checkNoSQL looks for SQL statements (written in upper case, as this code base does) in
// the HTTP layer's source.
func checkNoSQL(t *testing.T, p pkg) {
	for _, f := range p.GoFiles {
		fh, err := os.Open(filepath.Join(p.Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for n := 1; sc.Scan(); n++ {
			if sqlRE.MatchString(sc.Text()) {
				t.Errorf("%s/%s:%d builds SQL in the HTTP layer: %s", p.ImportPath, f, n, strings.TrimSpace(sc.Text()))
			}
		}
		fh.Close()
	}
}

// TestRuleCatchesViolations proves the checks above can fail: the patterns recognise what
// they must forbid.
func TestRuleCatchesViolations(t *testing.T) {
	if _, bad := hasPrefix("github.com/labstack/echo/v4", frameworks); !bad {
		t.Error("echo/v4 not recognised as a framework")
	}
	if _, bad := hasPrefix("github.com/labstack/echoes", frameworks); bad {
		t.Error("prefix match is not bounded by a path separator")
	}
	for _, line := range []string{`q := "SELECT id FROM users"`, `"INSERT INTO tests (id) VALUES (?)"`, `"UPDATE tests SET x=1"`, `"DELETE FROM audit_logs"`} {
		if !sqlRE.MatchString(line) {
			t.Errorf("SQL not recognised in %s", line)
		}
	}
	if sqlRE.MatchString(`// select the rows from the page`) {
		t.Error("prose taken for SQL")
	}
	if !inSDK(sdkModule+"/host") || inSDK(module+"/sdkfoo") || inSDK(module+"/core") {
		t.Error("SDK module membership is wrong")
	}
	if !isDomain(module+"/core") || isDomain(module+"/core/store") {
		t.Error("domain package list is wrong")
	}
	if !isShared(module+"/sigma") || isShared(module+"/sigmax") || isShared(module+"/core") {
		t.Error("shared library list is wrong")
	}
}
