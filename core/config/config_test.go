package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, dir, name, src string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const fullHCL = `plugin_dir = "plugins/bin"

server {
  listen           = env("AEGIS_T_LISTEN", "0.0.0.0:9000")
  base_url         = "https://aegis.example.com/"
  tls_cert         = "tls/cert.pem"
  tls_key          = "/etc/aegis/key.pem"
  shutdown_timeout = "30s"
  request_timeout  = "45s"
}

database {
  driver         = "postgres"
  dsn            = env("AEGIS_T_DSN", "postgres://fallback")
  max_open_conns = 25
}

evidence {
  backend         = "s3"
  path            = "ignored/for/s3"
  max_upload_size = "2GiB"
  allowed_types   = ["image/png", "text/*"]
  s3 {
    endpoint   = "minio:9000"
    bucket     = "aegis"
    region     = "eu-west-1"
    access_key = env("AEGIS_T_AK")
    secret_key = env("AEGIS_T_SK", "sk-default")
    prefix     = "ev/"
    use_ssl    = false
    part_size  = "8MiB"
  }
}

auth {
  session_ttl         = "8h"
  token_max_ttl       = "720h"
  login_max_attempts  = 5
  login_window        = "10m"
  cookie_secure       = false
  password_min_length = 16
}

scheduler {
  enabled                = false
  attack_sync            = "0 3 * * *"
  intel_scan             = "@every 6h"
  notification_cleanup   = "@hourly"
  coverage_snapshot      = "30 1 * * 1"
  recurring_campaigns    = "@monthly"
  notification_retention = "48h"
  snapshot_retention     = 10
}

log {
  level  = "debug"
  format = "json"
}

plugin "attack" {
  sha256   = "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
  timeout  = "45m"
  log_level = "debug"
  schedule = "@weekly"
  source   = "https://example.com/enterprise-attack.json"
  config {
    domains = ["enterprise-attack", "ics-attack"]
    limits  = { max = 3, ratio = 0.5 }
    token   = env("AEGIS_T_UNSET")
    strict  = true
  }
}

plugin "local_sigma" {
  enabled = false
  path    = "tools/sigma"
  source  = "upstream/sigma"
}
`

func TestParseFull(t *testing.T) {
	t.Setenv("AEGIS_T_LISTEN", "")
	t.Setenv("AEGIS_T_DSN", "postgres://aegis:pw@db:5432/aegis")
	t.Setenv("AEGIS_T_AK", "ak-from-env")
	t.Setenv("AEGIS_T_SK", "")
	t.Setenv("AEGIS_T_UNSET", "")
	dir := t.TempDir()
	cfg, err := Load(writeFile(t, dir, "aegis.hcl", fullHCL))
	if err != nil {
		t.Fatal(err)
	}
	f := false
	want := &Config{
		Path: filepath.Join(dir, "aegis.hcl"),
		Dir:  dir,
		Server: Server{
			Listen: "0.0.0.0:9000", BaseURL: "https://aegis.example.com",
			TLSCert: filepath.Join(dir, "tls/cert.pem"), TLSKey: "/etc/aegis/key.pem",
			ShutdownTimeout: 30 * time.Second, RequestTimeout: 45 * time.Second,
		},
		Database: Database{Driver: "postgres", DSN: "postgres://aegis:pw@db:5432/aegis", MaxOpenConns: 25},
		Evidence: Evidence{
			Backend: "s3", Path: filepath.Join(dir, "ignored/for/s3"), MaxUploadBytes: 2 << 30,
			AllowedTypes: []string{"image/png", "text/*"},
			S3: S3{Endpoint: "minio:9000", Bucket: "aegis", Region: "eu-west-1", AccessKey: "ak-from-env",
				SecretKey: "sk-default", Prefix: "ev/", UseSSL: false, PartSize: 8 << 20},
		},
		Auth: Auth{SessionTTL: 8 * time.Hour, TokenMaxTTL: 720 * time.Hour, LoginMaxAttempts: 5,
			LoginWindow: 10 * time.Minute, CookieSecure: &f, PasswordMinLength: 16},
		Scheduler: Scheduler{Enabled: false, AttackSync: "0 3 * * *", IntelScan: "@every 6h",
			NotificationCleanup: "@hourly", CoverageSnapshot: "30 1 * * 1", RecurringCampaigns: "@monthly",
			NotificationRetention: 48 * time.Hour, SnapshotRetention: 10},
		Log:       Log{Level: "debug", Format: "json"},
		PluginDir: filepath.Join(dir, "plugins/bin"),
	}
	plugins := cfg.Plugins
	cfg.Plugins = nil
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("config\n got %+v\nwant %+v", cfg, want)
	}
	if !cfg.Server.TLS() {
		t.Error("TLS() = false with cert and key set")
	}

	if len(plugins) != 2 || plugins[0].Name != "attack" || plugins[1].Name != "local_sigma" {
		t.Fatalf("plugins = %+v", plugins)
	}
	a := plugins[0]
	if a.Path != filepath.Join(dir, "plugins/bin/aegis-plugin-attack") || !a.Enabled || a.Timeout != 45*time.Minute ||
		a.Schedule != "@weekly" || a.LogLevel != "debug" || a.Source != "https://example.com/enterprise-attack.json" ||
		a.SHA256 != "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789" ||
		a.Range != filepath.Join(dir, "aegis.hcl")+":60" {
		t.Errorf("attack plugin = %+v", a)
	}
	var got map[string]any
	if err := json.Unmarshal(a.Config, &got); err != nil {
		t.Fatalf("config JSON %s: %v", a.Config, err)
	}
	wantCfg := map[string]any{
		"domains": []any{"enterprise-attack", "ics-attack"},
		"limits":  map[string]any{"max": 3.0, "ratio": 0.5},
		"token":   "",
		"strict":  true,
	}
	if !reflect.DeepEqual(got, wantCfg) {
		t.Errorf("attack config = %s", a.Config)
	}
	s := plugins[1]
	if s.Enabled || s.Path != filepath.Join(dir, "tools/sigma") || s.Source != filepath.Join(dir, "upstream/sigma") ||
		s.Timeout != DefaultPluginTimeout || string(s.Config) != "{}" || s.LogLevel != "" {
		t.Errorf("local_sigma plugin = %+v", s)
	}
	cfg.Plugins = plugins
	if p, ok := cfg.Plugin("local_sigma"); !ok || p.Name != "local_sigma" {
		t.Error("Plugin(local_sigma) not found")
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Parse([]byte("# nothing\n"), "/srv/aegis/aegis.hcl")
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Path:      "/srv/aegis/aegis.hcl",
		Dir:       "/srv/aegis",
		Server:    Server{Listen: "127.0.0.1:8080", ShutdownTimeout: 15 * time.Second, RequestTimeout: 30 * time.Second},
		Database:  Database{Driver: "sqlite", DSN: "/srv/aegis/var/aegis.db", MaxOpenConns: 10},
		Evidence:  Evidence{Backend: "disk", Path: "/srv/aegis/var/evidence", MaxUploadBytes: 100 << 20, S3: S3{UseSSL: true}},
		Auth:      Auth{SessionTTL: 12 * time.Hour, TokenMaxTTL: 8760 * time.Hour, LoginMaxAttempts: 10, LoginWindow: 15 * time.Minute, PasswordMinLength: 12},
		Scheduler: Scheduler{Enabled: true, AttackSync: "@daily", IntelScan: "@weekly", NotificationCleanup: "@daily", CoverageSnapshot: "0 0 * * 0", RecurringCampaigns: "@daily", NotificationRetention: 720 * time.Hour, SnapshotRetention: 104},
		Log:       Log{Level: "info", Format: "text"},
		PluginDir: "/srv/aegis/bin",
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults\n got %+v\nwant %+v", cfg, want)
	}

	// Empty blocks and empty strings (an unset env var) keep the defaults too.
	cfg, err = Parse([]byte(`
server {}
database { dsn = env("AEGIS_T_NOPE") }
evidence {}
auth {}
scheduler {}
log {}
plugin "x" {}
`), "/srv/aegis/aegis.hcl")
	if err != nil {
		t.Fatal(err)
	}
	plugins := cfg.Plugins
	cfg.Plugins = nil
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("empty blocks\n got %+v\nwant %+v", cfg, want)
	}
	if len(plugins) != 1 || plugins[0].Path != "/srv/aegis/bin/aegis-plugin-x" || !plugins[0].Enabled ||
		string(plugins[0].Config) != "{}" || plugins[0].Range != "/srv/aegis/aegis.hcl:8" {
		t.Errorf("plugin defaults = %+v", plugins)
	}

	if d := Default(); d.Database.Driver != "sqlite" || d.Path != "aegis.hcl" || !filepath.IsAbs(d.Dir) || len(d.Plugins) != 0 {
		t.Errorf("Default() = %+v", d)
	}
}

func TestCommittedFile(t *testing.T) {
	for _, v := range []string{"AEGIS_LISTEN", "AEGIS_BASE_URL", "AEGIS_DB_DRIVER", "AEGIS_DB_DSN", "AEGIS_LOG_LEVEL"} {
		t.Setenv(v, "")
	}
	cfg, err := Load("../../aegis.hcl")
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs("../..")
	if cfg.Dir != root || cfg.Database.Driver != "sqlite" || cfg.Database.DSN != filepath.Join(root, "var/aegis.db") ||
		cfg.Evidence.Backend != "disk" || cfg.Evidence.Path != filepath.Join(root, "var/evidence") || !cfg.Scheduler.Enabled {
		t.Errorf("committed aegis.hcl = %+v", cfg)
	}
	p, ok := cfg.Plugin("csvimport")
	if !ok || !p.Enabled || p.Path != filepath.Join(root, "bin/aegis-plugin-csvimport") {
		t.Errorf("csvimport plugin = %+v (found %v)", p, ok)
	}
}

func TestBroken(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // each must appear in the error text
	}{
		{"unknown block", "server {}\n\nmetrics {\n}\n",
			[]string{"broken.hcl:3:1: Unsupported block type", `"metrics"`}},
		{"unknown attribute in server", "server {\n  listen = \"127.0.0.1:1\"\n  port = 8080\n}\n",
			[]string{"broken.hcl:3:3: Unsupported argument", `"port"`}},
		{"wrong type", "plugin \"csv\" {\n  enabled = \"maybe\"\n}\n",
			[]string{"broken.hcl:2:", "Incorrect attribute value type", `attribute "enabled"`, `"maybe"`}},
		{"bad duration", "auth {\n  session_ttl = \"12h\"\n  login_window = \"15 minutes\"\n}\n",
			[]string{"broken.hcl:3:", `"login_window"`, `"15 minutes"`}},
		{"bad driver", "database {\n  driver = \"mysql\"\n}\n",
			[]string{"broken.hcl:2:", `"driver"`, `"mysql"`, `"sqlite" or "postgres"`}},
		{"postgres without dsn", "database {\n  driver = \"postgres\"\n}\n",
			[]string{"broken.hcl:2:", `"dsn" is required`}},
		{"s3 missing bucket", "evidence {\n  backend = \"s3\"\n  s3 {\n    endpoint = \"minio:9000\"\n  }\n}\n",
			[]string{"broken.hcl:3:", `"bucket" is required`}},
		{"s3 backend without s3 block", "evidence {\n  backend = \"s3\"\n}\n",
			[]string{"broken.hcl:2:", "Missing s3 block"}},
		{"duplicate plugin", "plugin \"csv\" {}\n\nplugin \"sigma\" {}\nplugin \"csv\" {\n}\n",
			[]string{"broken.hcl:4:1: Duplicate plugin block", `"csv"`, "broken.hcl:1 ", "broken.hcl:4;"}},
		{"bad sha256", "plugin \"csv\" {\n  sha256 = \"abc123\"\n}\n",
			[]string{"broken.hcl:2:", `"sha256"`, "64 hexadecimal", `"abc123"`}},
		{"bad plugin cron", "plugin \"csv\" {\n  schedule = \"every day\"\n}\n",
			[]string{"broken.hcl:2:", `"schedule"`, `"every day"`}},
		{"bad scheduler cron", "scheduler {\n  intel_scan = \"@weekly\"\n  attack_sync = \"0 25 * * *\"\n}\n",
			[]string{"broken.hcl:3:", `"attack_sync"`, `"0 25 * * *"`}},
		{"tls_cert without tls_key", "server {\n  tls_cert = \"cert.pem\"\n}\n",
			[]string{"broken.hcl:2:", `"tls_cert" is set but "tls_key" is not`}},
		{"invalid size", "evidence {\n  max_upload_size = \"100MegaBytes\"\n}\n",
			[]string{"broken.hcl:2:", `"max_upload_size"`, `"100MegaBytes"`}},
		{"S3 part too small", "evidence {\n  s3 {\n    part_size = \"1MiB\"\n  }\n}\n",
			[]string{"broken.hcl:3:", `"part_size" must be between 5MiB and 5GiB`}},
		{"bad log level", "log {\n  format = \"json\"\n  level = \"verbose\"\n}\n",
			[]string{"broken.hcl:3:", `"level"`, `"trace", "debug", "info", "warn" or "error"`}},
		{"bad plugin name", "plugin \"Sigma\" {}\n",
			[]string{"broken.hcl:1:8: Invalid plugin name", `"Sigma"`}},
		{"duplicate singleton", "log {}\nlog {}\n",
			[]string{"broken.hcl:2:1: Duplicate log block", "broken.hcl:1"}},
		{"block in plugin config", "plugin \"x\" {\n  config {\n    a = 1\n    nested {}\n  }\n}\n",
			[]string{"broken.hcl:4:", `"nested"`}},
		{"env misuse", "server {\n  listen = env()\n}\n",
			[]string{"broken.hcl:2:", "env"}},
		{"syntax error", "server {\n  listen = \n}\n",
			[]string{"broken.hcl:2:"}},
		{"bad trusted proxy", "server {\n  trusted_proxies = [\"10.0.0.0/8\", \"proxy.local\"]\n}\n",
			[]string{"broken.hcl:2:", `"trusted_proxies"`, `"proxy.local"`}},
		{"empty allowed path", "import {\n  allowed_paths = [\"\"]\n}\n",
			[]string{"broken.hcl:2:", `"allowed_paths"`, "empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "broken.hcl", tt.src)
			_, err := Load(p)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			msg := strings.ReplaceAll(err.Error(), p, "broken.hcl")
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
		})
	}
}

func TestAllErrorsReported(t *testing.T) {
	src := `server {
  shutdown_timeout = "soon"
  extra = 1
}
database { driver = "oracle" }
scheduler { enabled = "yes" }
`
	_, err := Parse([]byte(src), "multi.hcl")
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("error %v is not *Error", err)
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{"multi.hcl:2:", "multi.hcl:3:", "multi.hcl:5:", "multi.hcl:6:"}
	if len(lines) != len(want) || len(cerr.Diagnostics) != len(want) {
		t.Fatalf("want %d problems, got:\n%s", len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], w)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.hcl")
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), p) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"100MiB": 100 << 20, "10MB": 10_000_000, "512 KiB": 512 << 10, "1GB": 1e9, "2GiB": 2 << 30,
		"1.5KiB": 1536, "42": 42, "42B": 42, "1kb": 1000,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "10XB", "1.5B", "-1MiB", "1.2.3MB", "99999999999GiB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) succeeded", in)
		}
	}
}

func TestSQLiteDSNResolution(t *testing.T) {
	c := &Config{Dir: "/srv/aegis"}
	for in, want := range map[string]string{
		"var/a.db":                     "/srv/aegis/var/a.db",
		"/data/a.db":                   "/data/a.db",
		"file:var/a.db?_pragma=foo(1)": "file:/srv/aegis/var/a.db?_pragma=foo(1)",
		":memory:":                     ":memory:",
		"file::memory:?cache=shared":   "file::memory:?cache=shared",
		"var/a.db?_txlock=immediate":   "/srv/aegis/var/a.db?_txlock=immediate",
	} {
		if got := c.resolveSQLite(in); got != want {
			t.Errorf("resolveSQLite(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTrustedProxiesAndImportBlock(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "aegis.hcl", `server {
  trusted_proxies = ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]
}
import {
  allowed_paths          = ["data/imports", "/srv/feeds"]
  allow_private_networks = true
}
`)
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	var nets []string
	for _, n := range cfg.Server.TrustedProxies {
		nets = append(nets, n.String())
	}
	if want := []string{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"}; !reflect.DeepEqual(nets, want) {
		t.Fatalf("trusted_proxies %v, want %v", nets, want)
	}
	if want := []string{filepath.Join(dir, "data/imports"), "/srv/feeds"}; !reflect.DeepEqual(cfg.Import.AllowedPaths, want) || !cfg.Import.AllowPrivateNetworks {
		t.Fatalf("import block %+v", cfg.Import)
	}
	def := Default()
	if len(def.Server.TrustedProxies) != 0 || len(def.Import.AllowedPaths) != 0 || def.Import.AllowPrivateNetworks {
		t.Fatalf("defaults must trust no proxy and allow no local path or private network: %+v %+v", def.Server, def.Import)
	}
}
