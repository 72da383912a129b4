package main

// Issue 16: secrets (passwords, session and API tokens, the S3 secret key, credentials
// in an import source URL, the database password, the audit key) never in the logs or
// in an API answer, other than the one answer that hands a new secret to its owner.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/blobstore/blobtest"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

// answers records every answer body of a flow, by request.
type answers struct{ got []string }

func (a *answers) do(t *testing.T, hc *httpClient, method, path string, body any, want int) []byte {
	t.Helper()
	code, out := hc.do(method, path, body)
	a.got = append(a.got, method+" "+path+" "+string(out))
	if want != 0 && code != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, code, out, want)
	}
	return out
}

// finish starts an import or export run (POST runs) and waits until it succeeded,
// returning its id.
func (a *answers) finish(t *testing.T, hc *httpClient, runs string, req any) string {
	t.Helper()
	var run struct {
		ID, Outcome, Error string
	}
	json.Unmarshal(a.do(t, hc, http.MethodPost, runs, req, http.StatusAccepted), &run)
	for i := 0; i < 600 && (run.Outcome == "" || run.Outcome == "running"); i++ {
		time.Sleep(50 * time.Millisecond)
		json.Unmarshal(a.do(t, hc, http.MethodGet, runs+"/"+run.ID, nil, http.StatusOK), &run)
	}
	if run.Outcome != "succeeded" {
		t.Fatalf("POST %s %v: %+v", runs, req, run)
	}
	return run.ID
}

// The full flow against a real `aegis serve` (debug logs, evidence and export
// artifacts on S3, an audit key, PostgreSQL with a password in its DSN when
// AEGIS_TEST_POSTGRES_DSN is set, else SQLite): sign in, change a password, create a
// user and an API token and use it, import from a URL with credentials (through the
// API and the CLI), try an API import whose URL carries credentials, upload evidence,
// export, read the runs, the audit log, plugins and metrics. Then the server's log,
// the CLI's output and every answer are searched for each secret.
func TestSecretsNeverInLogsOrAnswers(t *testing.T) {
	g := blobtest.NewVersityGW(t)
	bucket := g.NewBucket(t)
	const srcUser, srcPass = "feeduser", "src-pass-5e1d7a9b"
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != srcUser || p != srcPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="feed"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, "id,name,description,technique_ids,platforms,executor,command,cleanup\nS-1,Whoami,,T1033,Windows,cmd,whoami,\n")
	}))
	defer feed.Close()
	source := strings.Replace(feed.URL, "http://", "http://"+srcUser+":"+srcPass+"@", 1) + "/templates.csv"

	driver := store.SQLite
	if os.Getenv("AEGIS_TEST_POSTGRES_DSN") != "" {
		driver = store.Postgres
	}
	e := newFaultEnv(t, driver, s3Evidence(g, bucket)+
		fmt.Sprintf("log {\n  level = \"debug\"\n}\nplugin \"csvimport\" {\n  source = %q\n}\nplugin \"navigator\" {}\n", source))
	dbPass := ""
	if driver == store.Postgres {
		// Trust authentication ignores the password, so the DSN may carry one that
		// must not show anywhere.
		dbPass = "db-pass-" + strings.Repeat("7", 12)
		u, err := url.Parse(e.dsn)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(u.User.Username(), dbPass)
		cfg, _ := os.ReadFile(e.cfg)
		os.WriteFile(e.cfg, []byte(strings.Replace(string(cfg), fmt.Sprintf("%q", e.dsn), fmt.Sprintf("%q", u.String()), 1)), 0o644)
	}
	// The export resolves its scope over ATT&CK Enterprise techniques.
	if err := e.st.Update(context.Background(), func(tx core.Tx) error {
		return tx.UpsertTechnique(context.Background(), &core.Technique{ExternalID: "T1033", Name: "System Owner/User Discovery",
			Known: true, Domains: core.Strings{"enterprise-attack"}, Platforms: core.Strings{"Windows"}})
	}); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(e.dir, "bin")
	buildCSVPlugin(t, e.dir)
	sdktest.BuildPluginTo(t, "../../plugins/navigator", bin)
	srv := startServerProcess(t, e.cfg, faultAuditKey)
	auditKey := strings.TrimPrefix(faultAuditKey, EnvAuditKey+"=")

	var a answers
	boss := signIn(t, srv.Base, "boss", faultPassword)
	a.got = append(a.got, "csrf "+boss.csrf) // the sign-in answer holds it, rightly
	sessionCookie := ""
	for _, ck := range boss.c.Jar.Cookies(mustURL(t, srv.Base)) {
		sessionCookie = ck.Value
	}
	const newPass = "a new passphrase 9f3c1e2a"
	a.do(t, boss, http.MethodPost, "/api/v1/auth/password", map[string]string{"current_password": faultPassword, "new_password": newPass}, http.StatusOK)

	var created struct{ Password string }
	createdAnswer := a.do(t, boss, http.MethodPost, "/api/v1/users", map[string]string{"username": "newbie", "role": "viewer"}, http.StatusCreated)
	json.Unmarshal(createdAnswer, &created)
	var tok struct{ Token string }
	tokenAnswer := a.do(t, boss, http.MethodPost, "/api/v1/tokens", map[string]string{"name": "ci", "scope": "read_write"}, http.StatusCreated)
	json.Unmarshal(tokenAnswer, &tok)
	if created.Password == "" || tok.Token == "" {
		t.Fatalf("no generated password or token: %s %s", createdAnswer, tokenAnswer)
	}
	bearer := &httpClient{base: srv.Base, c: &http.Client{Timeout: time.Minute}}
	req, _ := http.NewRequest(http.MethodGet, srv.Base+"/api/v1/auth/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	if resp, err := bearer.c.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the API token does not work: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// A wrong password and a wrong token are logged as failures, without the guess.
	bad := &httpClient{base: srv.Base, c: &http.Client{Timeout: time.Minute}}
	a.do(t, bad, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "boss", "password": newPass + "x"}, http.StatusUnauthorized)

	// Imports: the configured URL with credentials, and one sent through the API.
	a.finish(t, boss, "/api/v1/imports", map[string]string{"plugin": "csvimport"})
	a.do(t, boss, http.MethodPost, "/api/v1/imports", map[string]string{"plugin": "csvimport", "source": source}, http.StatusBadRequest)
	cli, err := runErr(t, "", "--config", e.cfg, "import", "csvimport")
	if err != nil {
		t.Fatalf("aegis import: %v\n%s", err, cli)
	}

	// Evidence and an export, both through S3.
	red := signIn(t, srv.Base, "red", faultPassword)
	var test struct{ ID string }
	json.Unmarshal(a.do(t, red, http.MethodPost, "/api/v1/tests", map[string]string{"title": "t", "technique_id": "T1059"}, http.StatusCreated), &test)
	if code, body := upload(red, test.ID, 50_000, 0, nil); code != http.StatusCreated {
		t.Fatalf("evidence upload: %d %s", code, body)
	} else {
		a.got = append(a.got, string(body))
	}
	exp := a.finish(t, boss, "/api/v1/exports", map[string]string{"plugin": "navigator"})
	a.do(t, boss, http.MethodGet, "/api/v1/exports/"+exp+"/artifact", nil, http.StatusOK)
	for _, path := range []string{"/api/v1/imports", "/api/v1/exports", "/api/v1/audit?limit=500", "/api/v1/plugins",
		"/api/v1/users", "/api/v1/tokens", "/api/v1/auth/me", "/api/v1/jobs/runs", "/metrics", "/api/v1/openapi.json"} {
		a.do(t, boss, http.MethodGet, path, nil, http.StatusOK)
	}
	srv.Kill()

	logs := srv.Log() + "\n" + cli
	if !strings.Contains(logs, "request") || !strings.Contains(logs, "import") {
		t.Fatalf("the server log is not at debug level (no request or import lines):\n%s", tail(logs, 20))
	}
	for _, s := range []struct {
		name, value string
		allowedIn   string // the one answer that hands it out
	}{
		{"the first password", faultPassword, ""},
		{"the changed password", newPass, ""},
		{"a generated password", created.Password, "POST /api/v1/users " + string(createdAnswer)},
		{"an API token", tok.Token, "POST /api/v1/tokens " + string(tokenAnswer)},
		{"the session cookie", sessionCookie, ""},
		{"the S3 secret key", g.Secret, ""},
		{"the import source's password", srcPass, ""},
		{"the audit key", auditKey, ""},
		{"the database password", dbPass, ""},
		{"the CSRF token", boss.csrf, "csrf " + boss.csrf},
	} {
		if s.value == "" {
			continue
		}
		if i := strings.Index(logs, s.value); i >= 0 {
			t.Errorf("%s is in the logs: …%s…", s.name, logs[max(0, i-200):min(len(logs), i+len(s.value)+50)])
		}
		for _, ans := range a.got {
			if strings.Contains(ans, s.value) && ans != s.allowedIn && !(s.name == "the CSRF token" && isSignInAnswer(ans)) {
				t.Errorf("%s is in an answer: %.300s", s.name, ans)
			}
		}
	}
}

// isSignInAnswer says whether an answer is the session's own description, which
// carries its CSRF token for the browser to send back.
func isSignInAnswer(ans string) bool {
	return strings.HasPrefix(ans, "POST /api/v1/auth/password ") || strings.HasPrefix(ans, "GET /api/v1/auth/me ")
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
