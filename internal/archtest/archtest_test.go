// Package archtest enforces the dependency rule of DESIGN.md §1 (api → core ← adapters;
// plugins → sdk; sdk never imports core) on the whole import graph, transitively: the
// core's services reach no adapter and no framework, the HTTP layer holds no store, no
// configuration and no SQL, the SDK never knows the core, and plugins see only the SDK.
// Every rule has a fixture that must break it, so a rule that can no longer fail is
// noticed.
package archtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/aegis-sec/aegis"

// sdkModule is the plugin SDK, a module of its own nested in this repository (the
// go.work of the repository puts it in the same build).
const sdkModule = module + "/sdk"

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

// frameworks the core's services must never reach, even indirectly.
var frameworks = []string{
	"github.com/labstack/echo",
	"github.com/jmoiron/sqlx",
	"github.com/minio/minio-go",
	"github.com/hashicorp/go-plugin",
	"google.golang.org/grpc",
	"github.com/golang-migrate/migrate",
	"modernc.org/sqlite",
	"github.com/jackc/pgx",
	"github.com/hashicorp/hcl",
	"github.com/robfig/cron",
	"database/sql",
}

// adapters are the core's packages that talk to the outside world on the core's behalf
// (DESIGN.md §1): the SQL store, the blob stores, the plugin host, the scheduler, and
// the configuration file reader. Their sub-packages (test helpers) count as them.
var adapters = []string{
	module + "/core/store",
	module + "/core/blobstore",
	module + "/core/pluginhost",
	module + "/core/schedule",
	module + "/core/config",
}

// sharedLibraries are the packages at the module root that both the core and the
// plugins may import: each stands on the standard library and its one parser
// dependency, never on anything else of the module, so importing one brings no core
// code across the plugin boundary.
var sharedLibraries = []string{module + "/sigma", module + "/evtx"}

// bridges may reach adapters and frameworks: the import and export pipelines drive
// plugin processes (core/plugin host → sdk in DESIGN.md §1). They still reach storage
// through the core's ports only, which the bridge-no-store rule checks.
var bridges = []string{module + "/core/importer", module + "/core/exporter"}

func under(path string, prefixes ...string) bool {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// isCoreService reports whether path is the domain or one of its services: every
// package under core/ that is not an adapter or a bridge.
func isCoreService(path string) bool {
	return under(path, module+"/core") && !under(path, adapters...) && !under(path, bridges...)
}

// rule is one forbidden arrow: packages from which forbidden must not be reached
// (through any chain of imports, or directly when Direct is set).
type rule struct {
	Name      string
	From      func(path string) bool
	Forbidden []string
	Direct    bool
	Why       string
	// Except are packages From may still reach (the package itself, allowed siblings).
	Except func(from, dep string) bool
}

var rules = []rule{
	{Name: "core-no-framework", From: isCoreService, Forbidden: frameworks,
		Why: "the core's services import no framework: they reach the outside through ports"},
	{Name: "core-no-adapter", From: isCoreService, Forbidden: adapters,
		Why: "the core's services reach storage, blobs, plugins and configuration through ports defined in core; cmd/aegis wires the adapters in"},
	{Name: "bridge-no-store", From: func(p string) bool { return under(p, bridges...) },
		Forbidden: []string{module + "/core/store", module + "/core/blobstore", "github.com/jmoiron/sqlx", "database/sql"},
		Why:       "the import and export pipelines reach storage through the core's ports (core.Tx), never the SQL store"},
	{Name: "core-no-http", From: func(p string) bool { return under(p, module+"/core") },
		Forbidden: []string{module + "/api", module + "/cmd", "github.com/labstack/echo"},
		Why:       "the core must not know the HTTP layer or the command line"},
	{Name: "api-no-store", From: func(p string) bool { return under(p, module+"/api") },
		Forbidden: append(append([]string{module + "/migrations", "github.com/jmoiron/sqlx", "github.com/jackc/pgx", "modernc.org/sqlite",
			"github.com/golang-migrate/migrate", "github.com/minio/minio-go", "github.com/hashicorp/hcl", "github.com/robfig/cron"},
			adapters...), bridges...),
		Why: "handlers go through the core's services: no store, no adapter, no configuration block"},
	// Transitively, prometheus' collectors package links database/sql; the HTTP layer
	// itself must not.
	{Name: "api-no-database", From: func(p string) bool { return under(p, module+"/api") }, Direct: true,
		Forbidden: []string{"database/sql"},
		Why:       "handlers never open or query a database"},
	// sdk/ is a module of its own, so the go command already refuses most of this; the
	// rule names the arrow when someone adds a require or a replace.
	{Name: "sdk-no-server", From: func(p string) bool { return under(p, sdkModule) },
		Forbidden: []string{module}, Except: func(_, dep string) bool { return under(dep, sdkModule) },
		Why: "the SDK must not know the server"},
	{Name: "sdk-author-no-host", From: func(p string) bool { return p == sdkModule },
		Forbidden: []string{sdkModule + "/host"},
		Why:       "the author's API must not carry the host side of the protocol"},
	{Name: "plugins-only-sdk", From: func(p string) bool { return under(p, module+"/plugins") },
		Forbidden: []string{module},
		Except: func(from, dep string) bool {
			return under(dep, sdkModule, module+"/plugins/internal") || under(dep, sharedLibraries...) || under(dep, pluginRoot(from))
		},
		Why: "plugins may use only the SDK, shared plugin code under plugins/internal and the shared libraries"},
	{Name: "shared-stands-alone", From: func(p string) bool { return under(p, sharedLibraries...) },
		Forbidden: []string{module}, Except: func(_, dep string) bool { return under(dep, sharedLibraries...) },
		Why: "a shared library may use only the standard library and its parser"},
	{Name: "plugins-no-host", From: func(p string) bool { return under(p, module+"/plugins") },
		Forbidden: []string{sdkModule + "/host"},
		Why:       "the host side of the protocol is the core's"},
}

// pluginRoot is module/plugins/NAME for any package of that plugin.
func pluginRoot(path string) string {
	rest := strings.TrimPrefix(path, module+"/plugins/")
	name, _, _ := strings.Cut(rest, "/")
	return module + "/plugins/" + name
}

type violation struct{ Rule, From, Dep, Chain string }

func (v violation) String() string {
	return fmt.Sprintf("[%s] %s reaches %s (%s)", v.Rule, v.From, v.Dep, v.Chain)
}

// check applies every rule to pkgs and returns what breaks them.
func check(pkgs []pkg) []violation {
	imports := map[string][]string{}
	for _, p := range pkgs {
		imports[p.ImportPath] = p.Imports
	}
	var out []violation
	for _, r := range rules {
		for _, p := range pkgs {
			if !r.From(p.ImportPath) {
				continue
			}
			deps := p.Deps
			if r.Direct {
				deps = p.Imports
			}
			for _, d := range deps {
				// The domain names driver.Valuer for its JSON column types, but never
				// opens a database.
				if d == p.ImportPath || d == "database/sql/driver" || !under(d, r.Forbidden...) || (r.Except != nil && r.Except(p.ImportPath, d)) {
					continue
				}
				out = append(out, violation{Rule: r.Name, From: p.ImportPath, Dep: d, Chain: chain(imports, p.ImportPath, d)})
			}
		}
	}
	return out
}

// chain names one import path from one package to another, so a transitive violation
// says where to cut.
func chain(imports map[string][]string, from, to string) string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var path []string
			for n := to; n != ""; n = prev[n] {
				path = append([]string{strings.TrimPrefix(n, module+"/")}, path...)
			}
			return strings.Join(path, " → ")
		}
		for _, n := range imports[cur] {
			if _, seen := prev[n]; !seen {
				prev[n] = cur
				queue = append(queue, n)
			}
		}
	}
	return "through packages outside the module"
}

func TestDependencyRule(t *testing.T) {
	pkgs := listPackages(t)
	for _, v := range check(pkgs) {
		t.Errorf("%s: %s", v, ruleWhy(v.Rule))
	}
	for _, p := range pkgs {
		if under(p.ImportPath, module+"/api") {
			checkNoSQL(t, p)
		}
	}
}

func ruleWhy(name string) string {
	for _, r := range rules {
		if r.Name == name {
			return r.Why
		}
	}
	return ""
}

// TestNamedPackagesExist keeps the rules honest: a rule that names a package the tree no
// longer has (renamed, moved) would silently check nothing.
func TestNamedPackagesExist(t *testing.T) {
	have := map[string]bool{}
	for _, p := range listPackages(t) {
		have[p.ImportPath] = true
	}
	named := append([]string{sdkModule, sdkModule + "/host"}, sharedLibraries...)
	for _, name := range append(append(named, adapters...), bridges...) {
		if !have[name] {
			t.Errorf("archtest names %s, which does not exist: update the rules", name)
		}
	}
}

// fixtures break each rule once: a package the rule covers reaching something it
// forbids. Each must be caught by its own rule.
var fixtures = map[string]pkg{
	"core-no-framework": {ImportPath: module + "/core/testflow",
		Imports: []string{module + "/core"}, Deps: []string{module + "/core", "github.com/jmoiron/sqlx"}},
	"core-no-adapter": {ImportPath: module + "/core/evidence",
		Imports: []string{module + "/core/blobstore"}, Deps: []string{module + "/core/blobstore"}},
	"bridge-no-store": {ImportPath: module + "/core/importer",
		Imports: []string{module + "/core/store"}, Deps: []string{module + "/core/store"}},
	"core-no-http": {ImportPath: module + "/core/store",
		Imports: []string{module + "/api"}, Deps: []string{module + "/api"}},
	"api-no-store": {ImportPath: module + "/api",
		Imports: []string{module + "/core/evidence"}, Deps: []string{module + "/core/evidence", "github.com/minio/minio-go/v7"}},
	"api-no-database": {ImportPath: module + "/api/apitest",
		Imports: []string{"database/sql"}, Deps: []string{"database/sql"}},
	"sdk-no-server": {ImportPath: module + "/sdk/sdktest",
		Imports: []string{module + "/core"}, Deps: []string{module + "/core"}},
	"sdk-author-no-host": {ImportPath: sdkModule,
		Imports: []string{sdkModule + "/host"}, Deps: []string{sdkModule + "/host"}},
	"shared-stands-alone": {ImportPath: module + "/sigma",
		Imports: []string{module + "/core"}, Deps: []string{module + "/core"}},
	"plugins-no-host": {ImportPath: module + "/plugins/sigma",
		Imports: []string{sdkModule + "/host"}, Deps: []string{sdkModule + "/host"}},
	"plugins-only-sdk": {ImportPath: module + "/plugins/sigma",
		Imports: []string{module + "/core/evidence"}, Deps: []string{module + "/core/evidence"}},
}

// TestRulesCatchTheirFixtures proves each rule can fail: its fixture breaks it, and
// the fixture of one rule is not excused by another's exception.
func TestRulesCatchTheirFixtures(t *testing.T) {
	for _, r := range rules {
		f, ok := fixtures[r.Name]
		if !ok {
			t.Errorf("rule %s has no fixture that must break it", r.Name)
			continue
		}
		var names []string
		for _, v := range check([]pkg{f}) {
			names = append(names, v.Rule)
		}
		if !slices.Contains(names, r.Name) {
			t.Errorf("rule %s does not catch its fixture %s → %v (caught by %v)", r.Name, f.ImportPath, f.Deps, names)
		}
	}
	// What the rules allow stays allowed: a plugin on the SDK and its own packages, a
	// core service on the core, the API on a service.
	for _, ok := range []pkg{
		{ImportPath: module + "/plugins/sigma", Deps: []string{module + "/sdk", module + "/plugins/internal/rulefiles", module + "/plugins/sigma/internal/x", module + "/sigma"}},
		{ImportPath: module + "/core/detect", Deps: []string{module + "/core", module + "/sigma", module + "/evtx"}},
		{ImportPath: module + "/core/testflow", Deps: []string{module + "/core"}},
		{ImportPath: module + "/api", Deps: []string{module + "/core/testflow", "github.com/labstack/echo/v4", "database/sql"}},
		{ImportPath: module + "/core/importer", Deps: []string{module + "/core/pluginhost", "google.golang.org/grpc"}},
		{ImportPath: sdkModule + "/sdktest", Deps: []string{sdkModule, sdkModule + "/host"}},
	} {
		if v := check([]pkg{ok}); len(v) > 0 {
			t.Errorf("allowed arrows reported: %v", v)
		}
	}
	if under("github.com/labstack/echoes", frameworks...) {
		t.Error("prefix match is not bounded by a path separator")
	}
	if under("github.com/hashicorp/go-hclog", "github.com/hashicorp/hcl") {
		t.Error("go-hclog taken for hcl")
	}
	for _, line := range []string{`q := "SELECT id FROM users"`, `"INSERT INTO tests (id) VALUES (?)"`, `"UPDATE tests SET x=1"`, `"DELETE FROM audit_logs"`} {
		if !sqlRE.MatchString(line) {
			t.Errorf("SQL not recognised in %s", line)
		}
	}
	if sqlRE.MatchString(`// select the rows from the page`) {
		t.Error("prose taken for SQL")
	}
}

var sqlRE = regexp.MustCompile(`\b(SELECT\s+[\w*,\s.]+\s+FROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b`)

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
