package sdk_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The SDK is a module of its own so that a partner's plugin links the
// protocol and nothing of the server. These tests keep it that way.

// directDeps are the only modules the SDK may require directly.
var directDeps = []string{
	"github.com/hashicorp/go-hclog",
	"github.com/hashicorp/go-plugin",
	"google.golang.org/grpc",
	"google.golang.org/protobuf",
}

// linkedModules are every module whose code may end up in a plugin binary:
// the direct dependencies and what they themselves link.
var linkedModules = append([]string{
	"github.com/aegis-sec/aegis/sdk",
	"github.com/fatih/color",
	"github.com/golang/protobuf",
	"github.com/hashicorp/yamux",
	"github.com/mattn/go-colorable",
	"github.com/mattn/go-isatty",
	"github.com/oklog/run",
	"golang.org/x/net",
	"golang.org/x/sys",
	"golang.org/x/text",
	"google.golang.org/genproto/googleapis/rpc",
}, directDeps...)

// serverModules must never reach a plugin author's module graph.
var serverModules = []string{
	"github.com/aegis-sec/aegis ", // the server module itself (trailing space: exact path)
	"github.com/jackc/pgx",
	"github.com/labstack/echo",
	"github.com/minio/minio-go",
	"modernc.org/sqlite",
	"github.com/hashicorp/hcl",
	"github.com/golang-migrate/migrate",
	"github.com/spf13/cobra",
	"github.com/jmoiron/sqlx",
}

func goCmd(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

func TestModuleRequiresOnlyTheProtocolStack(t *testing.T) {
	var mod struct {
		Module  struct{ Path string }
		Go      string
		Require []struct {
			Path     string
			Indirect bool
		}
		Replace []any
	}
	if err := json.Unmarshal([]byte(goCmd(t, ".", nil, "mod", "edit", "-json")), &mod); err != nil {
		t.Fatal(err)
	}
	if mod.Module.Path != "github.com/aegis-sec/aegis/sdk" {
		t.Fatalf("module path %q", mod.Module.Path)
	}
	if len(mod.Replace) > 0 {
		t.Errorf("sdk/go.mod has replace directives, which a partner's build ignores: %v", mod.Replace)
	}
	for _, r := range mod.Require {
		if !r.Indirect && !slices.Contains(directDeps, r.Path) {
			t.Errorf("sdk/go.mod requires %s directly; the SDK may depend only on %s", r.Path, strings.Join(directDeps, ", "))
		}
	}
	for _, m := range strings.Fields(goCmd(t, ".", nil, "list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", "./...")) {
		if !slices.Contains(linkedModules, m) {
			t.Errorf("an SDK package links module %s, outside go-plugin, grpc, protobuf, hclog and what they need", m)
		}
	}
}

// TestAuthorDocShowsNoHostNames: what `go doc` shows an author is the author's
// API; the client, dispenser and handshake live in package host.
func TestAuthorDocShowsNoHostNames(t *testing.T) {
	doc := goCmd(t, ".", nil, "doc", "-all", "github.com/aegis-sec/aegis/sdk")
	if !strings.Contains(doc, "func Serve(opts ServeOpts)") {
		t.Fatalf("go doc output does not look like package sdk:\n%s", doc)
	}
	for _, name := range []string{
		"type Client ", "type ImportEvent ", "type IncomingRecord ", "type Progress ",
		"HostPluginSets", "HostDialOptions", "HostClientConfig", "ErrPluginUnavailable", "IsUnavailable",
		"Handshake", "DispenseName", "MaxMessageSize", "ChunkSize",
	} {
		if strings.Contains(doc, name) {
			t.Errorf("go doc .../sdk shows the host-side name %q", strings.TrimSpace(name))
		}
	}
}

// TestPartnerModuleBuildsAgainstSDKAlone builds a plugin in a module of its
// own, as a partner would, with the SDK replaced by this directory and
// nothing of the server, and checks what its module graph holds.
func TestPartnerModuleBuildsAgainstSDKAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module from scratch; skipped with -short")
	}
	sdkDir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/partnerplugin\n\ngo 1.25\n\nrequire github.com/aegis-sec/aegis/sdk v0.0.0\n\n" +
			"replace github.com/aegis-sec/aegis/sdk => " + sdkDir + "\n",
		"main.go": `package main

import (
	"context"

	"github.com/aegis-sec/aegis/sdk"
)

func main() {
	sdk.Serve(sdk.ServeOpts{Name: "partner", Version: "0.1.0", Importers: map[string]sdk.Importer{
		"feed": sdk.ImporterFunc(func(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
			return out.Record(&sdk.Tactic{ExternalID: "TA0002", Name: "Execution", Shortname: "execution", Domain: sdk.DomainEnterprise})
		}),
	}})
}
`,
		"main_test.go": `package main

import (
	"testing"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

func TestFeed(t *testing.T) {
	sdktest.Conformance(t, sdk.ServeOpts{Name: "partner", Version: "0.1.0"})
}
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	// tidy reads the tests of every package the plugin imports, so it needs
	// modules (grpc's otel, hclog's old colour libraries) that no build of
	// the SDK downloads. Fetch the SDK's whole graph first, with whatever
	// proxy this machine has; it is a no-op when the cache already holds it.
	warm := exec.Command("go", "mod", "download", "all")
	warm.Dir = sdkDir
	warm.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	if out, err := warm.CombinedOutput(); err != nil {
		t.Skipf("the module cache lacks the SDK's dependency graph and the proxy cannot fill it: %v: %s", err, firstLine(string(out)))
	}
	// Then offline: everything must come from that cache and the SDK's go.sum,
	// which proves the SDK's go.mod and go.sum are complete.
	env := []string{"GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOWORK=off"}
	goCmd(t, dir, env, "mod", "tidy")
	goCmd(t, dir, env, "build", "-o", filepath.Join(dir, "plugin"), ".")
	goCmd(t, dir, env, "vet", "./...")

	all := strings.Fields(goCmd(t, dir, env, "list", "-m", "-f", "{{.Path}}", "all"))
	// grpc's go.mod names its own optional dependencies (xds, otel), which
	// show in the graph without being linked; the server's ~110 must not.
	if len(all) > 60 {
		t.Errorf("the partner module's graph has %d modules, want at most 60:\n%s", len(all), strings.Join(all, "\n"))
	}
	for _, m := range all {
		for _, bad := range serverModules {
			if m+" " == bad || (!strings.HasSuffix(bad, " ") && strings.HasPrefix(m, bad)) {
				t.Errorf("the partner module's graph holds server module %s", m)
			}
		}
	}
	for _, m := range strings.Fields(goCmd(t, dir, env, "list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", ".")) {
		if m != "example.com/partnerplugin" && !slices.Contains(linkedModules, m) {
			t.Errorf("the partner plugin links %s", m)
		}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
