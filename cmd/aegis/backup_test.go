package main

// Issue 16: the backup and restore of docs/DEPLOYMENT.md, tested: pg_dump of a running
// installation, pg_restore into a fresh database, a server started on it, the audit
// chain verified.

import (
	"database/sql"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// An installation is backed up with pg_dump while its server runs, restored with
// pg_restore into a fresh database, and a server started on the restored database
// (with the same evidence store and audit key) serves what was written, and its audit
// and worklog chains verify.
func TestBackupAndRestore(t *testing.T) {
	e := newFaultEnv(t, store.Postgres, "")
	for _, tool := range []string{"pg_dump", "pg_restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found (install the PostgreSQL client)", tool)
		}
	}
	k, v, _ := strings.Cut(faultAuditKey, "=")
	t.Setenv(k, v) // both servers, in this process, anchor the chain with the key
	base := startServer(t, e.cfg)
	red := signIn(t, base, "red", faultPassword)
	te := startedTest(t, red, "kept by the backup")
	if code, body := red.do(http.MethodPost, "/api/v1/tests/"+te.ID+"/worklogs", map[string]any{"minutes": 30, "note": "set up"}); code != http.StatusCreated {
		t.Fatalf("worklog: %d %s", code, body)
	}

	// The backup, taken while the server runs (pg_dump reads one snapshot): the
	// installation's schema, as DEPLOYMENT.md says, in the custom format.
	u, _ := url.Parse(e.dsn)
	schema := u.Query().Get("search_path")
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	dump := filepath.Join(t.TempDir(), "aegis.dump")
	if out, err := exec.Command("pg_dump", "--format=custom", "--no-owner", "--schema="+schema, "--file="+dump, u.String()).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}

	// The restore, into a fresh database.
	admin, err := sql.Open("pgx", os.Getenv(storetest.EnvPostgresDSN))
	if err != nil {
		t.Fatal(err)
	}
	fresh := "aegis_restore_" + strings.ToLower(core.RandomToken(8))
	if _, err := admin.Exec(`CREATE DATABASE ` + fresh); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + fresh + ` WITH (FORCE)`); err != nil {
			t.Logf("drop %s: %v", fresh, err)
		}
		admin.Close()
	})
	ru := *u
	ru.Path = "/" + fresh
	if out, err := exec.Command("pg_restore", "--no-owner", "--exit-on-error", "--dbname="+ru.String(), dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	q.Set("search_path", schema)
	ru.RawQuery = q.Encode()

	// A server on the restored database (and the same evidence store, which holds the
	// audit checkpoint) has everything, and its audit chain verifies.
	dir := t.TempDir()
	cfg := writeServerConfig(t, dir, store.Postgres, ru.String(), "evidence {\n  path = \""+filepath.Join(e.dir, "data", "evidence")+"\"\n}\n")
	restored := startServer(t, cfg)
	boss := signIn(t, restored, "boss", faultPassword)
	if code, body := boss.do(http.MethodGet, "/api/v1/tests/"+te.ID, nil); code != http.StatusOK || !strings.Contains(string(body), "kept by the backup") {
		t.Errorf("the test on the restored server: %d %s", code, body)
	}
	verifyChains(t, boss)
	if code, body := boss.do(http.MethodGet, "/api/v1/audit/verify", nil); !strings.Contains(string(body), `"ok":true`) || code != http.StatusOK {
		t.Errorf("audit chain of the restored database: %d %s", code, body)
	}
}
