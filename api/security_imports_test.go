package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/api"
	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/importer"
	"github.com/aegis-sec/aegis/core/pluginhost"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

const templatesCSV = "id,name,description,technique_ids,platforms,executor,command,cleanup\nA-1,Whoami,,T1033,Windows,cmd,whoami,\n"

// importEnv is a server whose csvimport plugin (a real process) reads sources under
// the import block given.
type importEnv struct {
	st    *store.Store
	svc   *importer.Service
	admin *apitest.Client
}

func newImportEnv(t *testing.T, im config.Import, configuredSource string) *importEnv {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "aegis-plugin-csvimport")
	cmd := exec.Command("go", "build", "-o", bin, "./plugins/csvimport")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	st := storetest.Open(t, store.SQLite)
	cfg := config.Default()
	cfg.Import = im
	cfg.Plugins = []config.Plugin{{Name: "csvimport", Path: bin, Enabled: true, Timeout: time.Minute, Config: json.RawMessage(`{}`),
		Source: configuredSource, Range: "t"}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	svc := importer.NewService(ctx, &importer.Runner{Store: st, Host: pluginhost.New(cfg, nil)})
	h := api.New(api.ServicesFor(st, api.Deps{Imports: svc})).Handler()
	apitest.CreateUser(t, st, "root", core.RoleAdmin, "a long admin password")
	return &importEnv{st: st, svc: svc, admin: apitest.Login(t, h, "root", "a long admin password")}
}

func (e *importEnv) start(t *testing.T, source string) (int, importRun, apitest.Problem) {
	t.Helper()
	body := map[string]any{"plugin": "csvimport"}
	if source != "" {
		body["source"] = source
	}
	rec := e.admin.Do(http.MethodPost, "/api/v1/imports", body)
	var run importRun
	var p apitest.Problem
	if rec.Code == http.StatusAccepted {
		apitest.Decode(t, rec, &run)
		e.svc.Wait()
		e.admin.Want(http.StatusOK, http.MethodGet, "/api/v1/imports/"+run.ID, nil, &run)
	} else {
		p = apitest.ProblemOf(t, rec)
	}
	return rec.Code, run, p
}

// Attack (issue 17 item 8): an administrator's API import read any local file the
// server could read (/etc, the database, the TLS key) and fetched internal addresses
// (loopback services, cloud metadata). The import block of aegis.hcl now says which
// folders and networks an API-started import may use, checked before a plugin starts.
func TestSecurityAPIImportSourcesRestricted(t *testing.T) {
	allowed := t.TempDir()
	os.WriteFile(filepath.Join(allowed, "templates.csv"), []byte(templatesCSV), 0o644)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret.csv"), []byte(templatesCSV), 0o644)
	if err := os.Symlink(outside, filepath.Join(allowed, "escape")); err != nil {
		t.Fatal(err)
	}
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(templatesCSV)) }))
	defer internal.Close()

	e := newImportEnv(t, config.Import{AllowedPaths: []string{allowed}}, "")
	for _, src := range []string{
		"/etc/passwd",
		filepath.Join(outside, "secret.csv"),
		filepath.Join(allowed, "..", filepath.Base(outside), "secret.csv"),
		filepath.Join(allowed, "escape", "secret.csv"), // a symbolic link inside pointing outside
		"file://" + filepath.Join(outside, "secret.csv"),
		internal.URL + "/templates.csv", // loopback
		"http://localhost:1/x.csv",
		"http://169.254.169.254/latest/meta-data/", // cloud metadata
		"http://10.0.0.1/x.csv",
		"http://[::1]:1/x.csv",
		"http://0.0.0.0:1/x.csv",
		"gopher://example.com/x",
	} {
		if code, _, p := e.start(t, src); code != http.StatusBadRequest || p.Field != "source" {
			t.Errorf("source %s: %d %+v, want 400 on source", src, code, p)
		}
	}
	var page api.Paged[core.ImportRun]
	e.admin.Want(http.StatusOK, http.MethodGet, "/api/v1/imports", nil, &page)
	if page.Total != 0 {
		t.Fatalf("refused sources left %d import runs: a plugin started", page.Total)
	}
	// Allowed: a file under allowed_paths.
	if code, run, p := e.start(t, filepath.Join(allowed, "templates.csv")); code != http.StatusAccepted || run.Outcome != core.RunSucceeded || run.Added != 1 {
		t.Fatalf("allowed source: %d %+v %+v", code, run, p)
	}

	// No allowed_paths: no local source at all; allow_private_networks lets the
	// loopback server through.
	e = newImportEnv(t, config.Import{AllowPrivateNetworks: true}, "")
	if code, _, p := e.start(t, filepath.Join(allowed, "templates.csv")); code != http.StatusBadRequest || !strings.Contains(p.Detail, "allowed_paths") {
		t.Fatalf("local source without allowed_paths: %d %+v", code, p)
	}
	if code, run, p := e.start(t, internal.URL+"/templates.csv"); code != http.StatusAccepted || run.Outcome != core.RunSucceeded {
		t.Fatalf("loopback with allow_private_networks: %d %+v %+v", code, run, p)
	}
}

// Attack (issue 17 item 5): credentials in an import source URL were stored in clear
// in the import run and the audit log, readable by both leads. API requests may not
// carry them; a source from the plugin block (env(...)) may, and is stored and shown
// masked, in successful and failed runs alike.
func TestSecurityImportSourceCredentialsMasked(t *testing.T) {
	const user, secret = "importbot", "s3cret-Passw0rd"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != secret {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/templates.csv" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(templatesCSV))
	}))
	defer srv.Close()
	withCreds := strings.Replace(srv.URL, "http://", "http://"+user+":"+secret+"@", 1)

	e := newImportEnv(t, config.Import{AllowPrivateNetworks: true}, withCreds+"/templates.csv")
	if code, _, p := e.start(t, withCreds+"/templates.csv"); code != http.StatusBadRequest || p.Field != "source" || strings.Contains(p.Detail, secret) {
		t.Fatalf("credentials in an API source: %d %+v, want 400 on source", code, p)
	}
	code, ok, _ := e.start(t, "") // the configured source, credentials and all
	if code != http.StatusAccepted || ok.Outcome != core.RunSucceeded || ok.Added != 1 {
		t.Fatalf("configured source with credentials: %d %+v", code, ok)
	}
	if strings.Contains(ok.SourceLocation, secret) || strings.Contains(ok.SourceLocation, user) || !strings.Contains(ok.SourceLocation, "xxxxx@") {
		t.Fatalf("the run shows the source %q", ok.SourceLocation)
	}

	// A failing run: its error message must not leak the credentials either.
	e2 := newImportEnv(t, config.Import{AllowPrivateNetworks: true}, withCreds+"/missing.csv")
	if _, failed, _ := e2.start(t, ""); failed.Outcome != core.RunFailed || strings.Contains(failed.Error, secret) || strings.Contains(failed.SourceLocation, secret) {
		t.Fatalf("failed run: %+v", failed)
	}
	for _, env := range []*importEnv{e, e2} {
		rec := env.admin.Do(http.MethodGet, "/api/v1/imports", nil)
		audit := env.admin.Do(http.MethodGet, "/api/v1/audit?limit=500", nil)
		for what, body := range map[string]string{"import runs": rec.Body.String(), "audit log": audit.Body.String()} {
			if strings.Contains(body, secret) || strings.Contains(body, user+":") || strings.Contains(body, user+"@") {
				t.Fatalf("the %s show the credentials: %s", what, body)
			}
		}
		if audit.Code != http.StatusOK || !strings.Contains(audit.Body.String(), "import.") {
			t.Fatalf("audit: %d %s", audit.Code, audit.Body)
		}
	}
}
