// Package config loads aegis.hcl, the one configuration file of an Aegis server.
//
// The file is HCL (hashicorp/hcl/v2, native syntax). Every block is optional
// and every attribute has a default, so an empty file is a valid embedded-mode
// configuration (SQLite under ./var, evidence on local disk). What is written,
// though, is checked strictly: unknown blocks and attributes, wrong types,
// unparsable durations, sizes and cron specs, and values outside an enum are
// errors that name file:line:column, never silent defaults. All problems in a
// file are reported together (see [Error]).
//
// Expressions may call env("NAME", "default"): the value of the environment
// variable NAME, or the default when it is unset or empty; env("NAME") yields
// "" when unset. An attribute whose value is the empty string or null counts
// as not set and gets its default, so `dsn = env("AEGIS_DB_DSN")` falls back
// to the default when the variable is missing.
//
// Relative paths (the SQLite file, the evidence directory, TLS files,
// plugin_dir, plugin paths and local plugin sources) are resolved against the
// directory holding the file, not the process's working directory.
package config

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/aegis-sec/aegis/core/auth"
)

// Config is a loaded and validated aegis.hcl. Paths in it are absolute.
type Config struct {
	Path      string // file it came from, as given to Load or Parse
	Dir       string // absolute directory of Path; relative paths are resolved against it
	Server    Server
	Database  Database
	Evidence  Evidence
	Auth      Auth
	Scheduler Scheduler
	Log       Log
	Import    Import
	PluginDir string   // top-level plugin_dir, default "bin" (resolved against Dir)
	Plugins   []Plugin // one per plugin "NAME" block, in file order
}

// Server is the `server` block: where the HTTP API and SPA listen.
type Server struct {
	Listen          string        // listen, default "127.0.0.1:8080"
	BaseURL         string        // base_url, the public URL (links in notifications); optional
	TLSCert         string        // tls_cert, PEM certificate file; set together with TLSKey
	TLSKey          string        // tls_key, PEM key file
	ShutdownTimeout time.Duration // shutdown_timeout, default 15s
	// RequestTimeout (request_timeout) is the deadline of an API request, down to the
	// database query it runs; past it the request is stopped and answered 503. Uploads,
	// downloads and verifications run without it. Default 30s.
	RequestTimeout time.Duration
	// TrustedProxies (trusted_proxies) are the addresses and CIDR ranges of reverse
	// proxies whose X-Forwarded-For is believed; empty (the default) believes none.
	TrustedProxies []*net.IPNet
}

// Import is the `import` block: what sources an import started through the API may
// read. Sources written in aegis.hcl and given on the command line are the operator's
// own and are not restricted.
type Import struct {
	// AllowedPaths (allowed_paths) are the folders under which a local source may lie
	// (absolute, symlinks resolved); empty means no local source through the API.
	AllowedPaths []string
	// AllowPrivateNetworks (allow_private_networks) lets URL sources reach loopback,
	// private, link-local and other non-public addresses; false by default.
	AllowPrivateNetworks bool
}

// TLS reports whether the server is configured to serve HTTPS.
func (s Server) TLS() bool { return s.TLSCert != "" && s.TLSKey != "" }

// Database drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Database is the `database` block.
type Database struct {
	Driver       string // driver: "sqlite" (default) or "postgres"
	DSN          string // dsn: SQLite file path (default var/aegis.db, resolved) or PostgreSQL URL/keywords (required)
	MaxOpenConns int    // max_open_conns, default 10
}

// Evidence backends.
const (
	BackendDisk = "disk"
	BackendS3   = "s3"
)

// Evidence is the `evidence` block: where uploaded test evidence is kept.
type Evidence struct {
	Backend        string   // backend: "disk" (default) or "s3"
	Path           string   // path: directory for the disk backend, default var/evidence (resolved)
	MaxUploadBytes int64    // from max_upload_size ("100MiB", "10MB", "512KiB", "1GB", plain bytes), default 100MiB
	AllowedTypes   []string // allowed_types: content-type allow list ("image/png", "text/*"); empty allows all
	S3             S3       // the nested s3 block, checked when Backend is "s3"
}

// S3 is the `s3` block inside `evidence`, for MinIO, AWS S3 or any S3-compatible server.
type S3 struct {
	Endpoint  string // endpoint: host[:port] without scheme (required for backend s3)
	Bucket    string // bucket (required for backend s3)
	Region    string // region, optional
	AccessKey string // access_key; set together with SecretKey, or neither (ambient credentials)
	SecretKey string // secret_key
	Prefix    string // prefix: key prefix inside the bucket, optional
	UseSSL    bool   // use_ssl, default true
	// PartSize is part_size: the multipart chunk an upload is sent in, held in memory
	// once per upload in flight; 5 MiB to 5 GiB, default 16 MiB (0 here).
	PartSize int64
}

// Auth is the `auth` block: sessions, API tokens, login throttling and passwords.
type Auth struct {
	SessionTTL        time.Duration // session_ttl, default 12h
	TokenMaxTTL       time.Duration // token_max_ttl: longest lifetime of a personal API token, default 8760h
	LoginMaxAttempts  int           // login_max_attempts per LoginWindow, default 10
	LoginWindow       time.Duration // login_window, default 15m
	CookieSecure      *bool         // cookie_secure; nil means automatic (secure when the server serves TLS)
	PasswordMinLength int           // password_min_length, default 12, at least 8
}

// Scheduler is the `scheduler` block: cron specs of the built-in jobs.
// Specs use the standard five fields or descriptors such as @daily and @every 1h.
type Scheduler struct {
	Enabled               bool          // enabled, default true
	AttackSync            string        // attack_sync, default "@daily"
	IntelScan             string        // intel_scan, default "@weekly"
	NotificationCleanup   string        // notification_cleanup, default "@daily"
	CoverageSnapshot      string        // coverage_snapshot, default "0 0 * * 0" (Sundays 00:00)
	RecurringCampaigns    string        // recurring_campaigns, default "@daily"
	NotificationRetention time.Duration // notification_retention, default 720h
	SnapshotRetention     int           // snapshot_retention: how many coverage snapshots to keep, default 104 (two years of weeks)
}

// Log is the `log` block.
type Log struct {
	Level  string // level: trace, debug, info (default), warn, error
	Format string // format: "text" (default) or "json"
}

// Plugin is one `plugin "NAME"` block. Only plugins named in the file are ever run.
type Plugin struct {
	Name     string          // block label, ^[a-z][a-z0-9_-]*$
	Path     string          // path to the binary, default <PluginDir>/aegis-plugin-<name> (resolved)
	SHA256   string          // sha256 of the binary, lower-case hex; checked before start when set
	Enabled  bool            // enabled, default true
	Timeout  time.Duration   // timeout of one run, default 30m
	Schedule string          // schedule: optional cron spec for scheduled imports
	Source   string          // source: default source, an http(s) URL (untouched) or a local path (resolved)
	LogLevel string          // log_level: the plugin's own log level; "" means the host's
	Config   json.RawMessage // the config { ... } block as a JSON object; {} when absent
	Range    string          // "file:line" of the block, for messages
}

// Plugin returns the plugin block with the given name.
func (c *Config) Plugin(name string) (Plugin, bool) {
	for _, p := range c.Plugins {
		if p.Name == name {
			return p, true
		}
	}
	return Plugin{}, false
}

// Defaults.
const (
	DefaultListen            = "127.0.0.1:8080"
	DefaultShutdownTimeout   = 15 * time.Second
	DefaultRequestTimeout    = 30 * time.Second
	DefaultSQLiteDSN         = "var/aegis.db"
	DefaultMaxOpenConns      = 10
	DefaultEvidencePath      = "var/evidence"
	DefaultMaxUploadBytes    = 100 << 20
	DefaultSessionTTL        = auth.DefaultSessionTTL
	DefaultTokenMaxTTL       = auth.DefaultTokenMaxTTL
	DefaultLoginMaxAttempts  = auth.DefaultLoginMaxAttempts
	DefaultLoginWindow       = auth.DefaultLoginWindow
	DefaultPasswordMinLength = auth.DefaultPasswordMinLength
	DefaultPluginDir         = "bin"
	DefaultPluginTimeout     = 30 * time.Minute
	DefaultRetention         = 720 * time.Hour
	DefaultSnapshotRetention = 104
)

// Load reads and parses the file at path. A missing or unreadable file is an
// error naming the path; problems in the file are reported as an *Error.
func Load(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(src, path)
}

// Parse parses src as the contents of filename. filename names the file in
// messages, and its directory is the base for relative paths.
func Parse(src []byte, filename string) (*Config, error) {
	cfg := newDefaults(filename)
	diags := decode(src, filename, cfg)
	if diags.HasErrors() {
		return nil, newError(diags)
	}
	return cfg, nil
}

// Default returns the built-in defaults, as for an empty file in the current
// directory: SQLite, disk evidence, scheduler on, no plugins. It is meant for
// tests; servers use Load.
func Default() *Config {
	cfg, err := Parse(nil, "aegis.hcl")
	if err != nil {
		panic("config: defaults do not validate: " + err.Error())
	}
	return cfg
}

func newDefaults(filename string) *Config {
	dir := filepath.Dir(filename)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return &Config{
		Path: filename,
		Dir:  dir,
		Server: Server{
			Listen:          DefaultListen,
			ShutdownTimeout: DefaultShutdownTimeout,
			RequestTimeout:  DefaultRequestTimeout,
		},
		Database: Database{Driver: DriverSQLite, MaxOpenConns: DefaultMaxOpenConns},
		Evidence: Evidence{
			Backend:        BackendDisk,
			Path:           DefaultEvidencePath,
			MaxUploadBytes: DefaultMaxUploadBytes,
			S3:             S3{UseSSL: true},
		},
		Auth: Auth{
			SessionTTL:        DefaultSessionTTL,
			TokenMaxTTL:       DefaultTokenMaxTTL,
			LoginMaxAttempts:  DefaultLoginMaxAttempts,
			LoginWindow:       DefaultLoginWindow,
			PasswordMinLength: DefaultPasswordMinLength,
		},
		Scheduler: Scheduler{
			Enabled:               true,
			AttackSync:            "@daily",
			IntelScan:             "@weekly",
			NotificationCleanup:   "@daily",
			CoverageSnapshot:      "0 0 * * 0",
			RecurringCampaigns:    "@daily",
			NotificationRetention: DefaultRetention,
			SnapshotRetention:     DefaultSnapshotRetention,
		},
		Log:       Log{Level: "info", Format: "text"},
		PluginDir: DefaultPluginDir,
	}
}

// Error is every problem found in a configuration file. Its message has one
// line per problem, each "file:line:column: summary; detail". Diagnostics
// keeps the originals (with source ranges) for richer output, e.g. through
// hcl.NewDiagnosticTextWriter.
type Error struct {
	Diagnostics hcl.Diagnostics
}

func newError(diags hcl.Diagnostics) *Error {
	var errs hcl.Diagnostics
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs = append(errs, d)
		}
	}
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i].Subject, errs[j].Subject
		if a == nil || b == nil {
			return a == nil && b != nil
		}
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
	return &Error{Diagnostics: errs}
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, d := range e.Diagnostics {
		if i > 0 {
			b.WriteByte('\n')
		}
		if d.Subject != nil {
			fmt.Fprintf(&b, "%s:%d:%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		}
		b.WriteString(d.Summary)
		if d.Detail != "" {
			b.WriteString("; ")
			b.WriteString(d.Detail)
		}
	}
	return b.String()
}
