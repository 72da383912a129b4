package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/password"
	"github.com/aegis-sec/aegis/core/store"
)

// syncBuffer is a bytes.Buffer safe to read while the server writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// writeConfig writes an aegis.hcl that keeps everything inside dir.
func writeConfig(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "aegis.hcl")
	cfg := `database {
  dsn = "data/aegis.db"
}
evidence {
  path = "data/evidence"
}
log {
  level = "debug"
}
`
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// run executes the CLI in-process and returns stdout, failing the test on error.
func run(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := runErr(t, stdin, args...)
	if err != nil {
		t.Fatalf("aegis %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := newRootCmd(strings.NewReader(stdin), &stdout, &stderr)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return stdout.String() + stderr.String(), err
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestServeFirstStart(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir)
	addr := freePort(t)

	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	cmd := newRootCmd(strings.NewReader(""), stdout, stderr)
	cmd.SetArgs([]string{"--config", cfg, "serve", "--listen", addr})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	base := "http://" + addr
	var resp *http.Response
	var err error
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err = http.Get(base + "/readyz"); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("server exited early: %v\n%s", err, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err != nil {
		t.Fatalf("server never answered: %v\n%s", err, stderr.String())
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz = %d", resp.StatusCode)
	}

	// The first start created an admin and printed its password once; it signs in.
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no admin password printed:\n%s", stdout.String())
	}
	resp, err = http.Get(base + "/api/v1/version")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]string
	json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	if v["version"] != version || v["api"] != "v1" {
		t.Fatalf("version answer %v", v)
	}
	resp, _ = http.Get(base + "/")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Aegis") {
		t.Fatalf("root page: %s", body)
	}
	if !strings.Contains(stderr.String(), "path=/readyz") {
		t.Errorf("requests are not logged:\n%s", stderr.String())
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("graceful shutdown returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not stop on cancel")
	}

	st, err := store.Open(context.Background(), store.Options{Driver: store.SQLite, DSN: filepath.Join(dir, "data/aegis.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.View(context.Background(), func(tx core.Tx) error {
		u, err := tx.UserByUsername(context.Background(), "admin")
		if err != nil {
			t.Fatal(err)
		}
		if u.Role != core.RoleAdmin || !u.MustChangePassword {
			t.Errorf("first admin: %+v", u)
		}
		if err := password.Check(u.PasswordHash, m[1]); err != nil {
			t.Errorf("printed password does not match the stored hash: %v", err)
		}
		return nil
	})

	// A second start finds the admin and prints no new password.
	out := runServeBriefly(t, cfg)
	if strings.Contains(out, "password:") {
		t.Errorf("second start printed a password again:\n%s", out)
	}
}

func runServeBriefly(t *testing.T, cfg string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &syncBuffer{}
	cmd := newRootCmd(strings.NewReader(""), stdout, io.Discard)
	addr := freePort(t)
	cmd.SetArgs([]string{"--config", cfg, "serve", "--listen", addr})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	for i := 0; i < 400; i++ {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return stdout.String()
}

func TestAdminPasswordFromEnvironment(t *testing.T) {
	cfg := writeConfig(t, t.TempDir())
	t.Setenv("AEGIS_ADMIN_PASSWORD", "a chosen admin passphrase")
	out := runServeBriefly(t, cfg)
	if !strings.Contains(out, "AEGIS_ADMIN_PASSWORD") || strings.Contains(out, "a chosen admin passphrase") {
		t.Fatalf("unexpected output:\n%s", out)
	}
}

func TestUserCommands(t *testing.T) {
	cfg := writeConfig(t, t.TempDir())
	out := run(t, "", "--config", cfg, "user", "create", "alice", "--role", "red_lead", "--name", "Alice")
	if !strings.Contains(out, "created user alice (red_lead)") || !regexp.MustCompile(`password: \S{20}`).MatchString(out) {
		t.Fatalf("create: %s", out)
	}
	run(t, "a very long passphrase\n", "--config", cfg, "user", "create", "bob", "--role", "viewer", "--password-stdin")

	if out, err := runErr(t, "", "--config", cfg, "user", "create", "alice"); err == nil || !strings.Contains(err.Error(), "taken") {
		t.Fatalf("duplicate user: %v %s", err, out)
	}
	if _, err := runErr(t, "", "--config", cfg, "user", "create", "carol", "--role", "emperor"); err == nil || !strings.Contains(err.Error(), "role") {
		t.Fatalf("bad role: %v", err)
	}
	if _, err := runErr(t, "short\n", "--config", cfg, "user", "create", "dave", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "at least 12") {
		t.Fatalf("short password: %v", err)
	}

	run(t, "", "--config", cfg, "user", "disable", "bob")
	run(t, "another long passphrase\n", "--config", cfg, "user", "set-password", "alice", "--password-stdin")
	if _, err := runErr(t, "", "--config", cfg, "user", "disable", "nobody"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("disable unknown user: %v", err)
	}

	var users []core.User
	if err := json.Unmarshal([]byte(run(t, "", "--config", cfg, "user", "list", "--json")), &users); err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || users[0].Username != "alice" || users[1].Username != "bob" || !users[1].Disabled || users[0].Disabled {
		t.Fatalf("list: %+v", users)
	}
	table := run(t, "", "--config", cfg, "user", "list")
	if !regexp.MustCompile(`bob\s+viewer\s+disabled`).MatchString(table) {
		t.Fatalf("table:\n%s", table)
	}

	var stats core.Stats
	if err := json.Unmarshal([]byte(run(t, "", "--config", cfg, "stats", "--json")), &stats); err != nil {
		t.Fatal(err)
	}
	u := stats.Entities["users"]
	if u.Total != 2 || u.By["role"]["red_lead"] != 1 || u.By["disabled"]["true"] != 1 {
		t.Fatalf("stats users: %+v", u)
	}
	plain := run(t, "", "--config", cfg, "stats")
	if !regexp.MustCompile(`(?m)^users\s+2$`).MatchString(plain) || !regexp.MustCompile(`(?m)^techniques\s+0$`).MatchString(plain) {
		t.Fatalf("plain stats:\n%s", plain)
	}
	// Short lines: one an entity, the breakdowns are under --json.
	for _, line := range strings.Split(strings.TrimSpace(plain), "\n") {
		if len(line) > 100 || strings.HasPrefix(line, " ") {
			t.Errorf("stats line too long or a breakdown: %q", line)
		}
	}

	// The command line goes through the same account rules as the API: audited, and
	// never leaving the installation without an enabled administrator.
	run(t, "", "--config", cfg, "user", "create", "root", "--role", "admin")
	if _, err := runErr(t, "", "--config", cfg, "user", "disable", "root"); err == nil || !strings.Contains(err.Error(), "administrator") {
		t.Fatalf("disabling the last admin: %v", err)
	}
	if err := json.Unmarshal([]byte(run(t, "", "--config", cfg, "stats", "--json")), &stats); err != nil {
		t.Fatal(err)
	}
	// create alice, create bob, disable bob, set alice's password, create root.
	if got := stats.Entities["audit_logs"].Total; got != 5 {
		t.Errorf("%d audit entries for five account changes", got)
	}
}

func TestMigrateCommands(t *testing.T) {
	cfg := writeConfig(t, t.TempDir())
	latest := fmt.Sprint(latestMigration(t))
	if out := run(t, "", "--config", cfg, "migrate", "version"); !strings.Contains(out, "version 0 of "+latest) {
		t.Fatalf("fresh: %s", out)
	}
	run(t, "", "--config", cfg, "migrate", "up")
	if out := run(t, "", "--config", cfg, "migrate", "version"); !strings.Contains(out, "version "+latest+" of "+latest) {
		t.Fatalf("after up: %s", out)
	}
	// A migration the database never had, below its version, is refused by name, and
	// --apply-skipped applies it.
	db, err := sql.Open("sqlite", filepath.Join(filepath.Dir(cfg), "data", "aegis.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM schema_migrations_ledger WHERE version = 3; DROP INDEX tests_retest_once_idx`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if out, err := runErr(t, "", "--config", cfg, "migrate", "up"); err == nil || !strings.Contains(err.Error(), "never had 0003_tests.up.sql") {
		t.Fatalf("skipped migration not refused: %v\n%s", err, out)
	}
	if out := run(t, "", "--config", cfg, "migrate", "up", "--apply-skipped"); !strings.Contains(out, "applied skipped migration 0003_tests.up.sql\ndatabase at version "+latest) {
		t.Fatalf("apply skipped: %s", out)
	}
	run(t, "", "--config", cfg, "migrate", "up")
	if out := run(t, "", "--config", cfg, "migrate", "down", "all"); !strings.Contains(out, "version 0") {
		t.Fatalf("after down: %s", out)
	}
	if _, err := runErr(t, "", "--config", cfg, "migrate", "down", "-3"); err == nil {
		t.Fatal("negative steps accepted")
	}
}

func latestMigration(t *testing.T) uint {
	t.Helper()
	entries, err := os.ReadDir("../../migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	var n uint
	for _, e := range entries {
		var v uint
		if _, err := fmt.Sscanf(e.Name(), "%d_", &v); err == nil && v > n {
			n = v
		}
	}
	return n
}

func TestBadConfigNamesTheLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "aegis.hcl")
	os.WriteFile(path, []byte("server {\n  listen = \"127.0.0.1:1\"\n  colour = \"blue\"\n}\n"), 0o644)
	_, err := runErr(t, "", "--config", path, "stats")
	if err == nil || !strings.Contains(err.Error(), "aegis.hcl:3") || !strings.Contains(err.Error(), "colour") {
		t.Fatalf("got %v", err)
	}
}

func TestHelpOnEveryLevel(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"migrate", "--help"}, {"migrate", "down", "--help"}, {"user", "create", "--help"}, {"stats", "--help"}} {
		out := run(t, "", args...)
		if !strings.Contains(out, "Usage:") {
			t.Errorf("%v: no usage:\n%s", args, out)
		}
	}
	if out := run(t, "", "serve", "--help"); !strings.Contains(out, "--listen") || !strings.Contains(out, "--no-migrate") {
		t.Errorf("serve help lacks its flags:\n%s", out)
	}
}

// The command line sets passwords through the auth service, as the API's reset does:
// whoever receives a password from an administrator must change it, chosen or not, and
// it must meet the minimum length.
func TestSetPasswordKeepsTheAccountRules(t *testing.T) {
	cfg := writeConfig(t, t.TempDir())
	run(t, "a very long passphrase\n", "--config", cfg, "user", "create", "erin", "--role", "red_tech", "--password-stdin")
	if _, err := runErr(t, "short\n", "--config", cfg, "user", "set-password", "erin", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "at least 12") {
		t.Fatalf("short password: %v", err)
	}
	out := run(t, "another long passphrase\n", "--config", cfg, "user", "set-password", "erin", "--password-stdin")
	if !strings.Contains(out, "must be changed") {
		t.Errorf("output does not say the password must be changed: %s", out)
	}
	var users []core.User
	if err := json.Unmarshal([]byte(run(t, "", "--config", cfg, "user", "list", "--json")), &users); err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || !users[0].MustChangePassword {
		t.Fatalf("after set-password with a chosen password: %+v", users)
	}
	if _, err := runErr(t, "", "--config", cfg, "user", "set-password", "nobody"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("unknown user: %v", err)
	}
}

// AEGIS_ADMIN_PASSWORD is held to the same minimum length as every other password: a
// short one stops the first start with a message, and no administrator is created.
func TestAdminPasswordFromEnvironmentTooShort(t *testing.T) {
	cfg := writeConfig(t, t.TempDir())
	t.Setenv("AEGIS_ADMIN_PASSWORD", "short")
	// Bounded: a server that accepted the password would serve until cancelled.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout bytes.Buffer
	cmd := newRootCmd(strings.NewReader(""), &stdout, &stdout)
	cmd.SetArgs([]string{"--config", cfg, "serve", "--listen", "127.0.0.1:0"})
	err := cmd.ExecuteContext(ctx)
	out := stdout.String()
	if err == nil || !strings.Contains(err.Error(), "AEGIS_ADMIN_PASSWORD") || !strings.Contains(err.Error(), "at least 12") {
		t.Fatalf("serve with a short AEGIS_ADMIN_PASSWORD: %v\n%s", err, out)
	}
	var users []core.User
	if err := json.Unmarshal([]byte(run(t, "", "--config", cfg, "user", "list", "--json")), &users); err != nil {
		t.Fatal(err)
	}
	if len(users) != 0 {
		t.Fatalf("an administrator was created with a short password: %+v", users)
	}
}

// Outside the repository, with no aegis.hcl and no --config, aegis runs on the embedded
// copy of the shipped aegis.hcl and says so; --config still wins, and a --config that
// does not exist is an error, never the defaults.
func TestBuiltInDefaultsWithoutAConfigFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("AEGIS_DB_DRIVER", "")
	t.Setenv("AEGIS_DB_DSN", "")
	out := run(t, "", "stats", "--json")
	if !strings.Contains(out, "running on the built-in defaults (an embedded copy of aegis.hcl)") || !strings.Contains(out, `"entities"`) {
		t.Fatalf("output:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "var", "aegis.db")); err != nil {
		t.Errorf("the default database is not under the current folder: %v", err)
	}

	cfg := writeConfig(t, t.TempDir())
	if out := run(t, "", "--config", cfg, "stats"); strings.Contains(out, "built-in defaults") {
		t.Errorf("--config given, output:\n%s", out)
	}
	if _, err := runErr(t, "", "--config", filepath.Join(dir, "nope.hcl"), "stats"); err == nil || !strings.Contains(err.Error(), "nope.hcl") {
		t.Errorf("missing --config file: %v", err)
	}
}
