package config

import (
	"encoding/hex"
	"fmt"
	"mime"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

var (
	rootSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "plugin_dir"}},
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "server"},
			{Type: "database"},
			{Type: "evidence"},
			{Type: "auth"},
			{Type: "scheduler"},
			{Type: "log"},
			{Type: "import"},
			{Type: "plugin", LabelNames: []string{"name"}},
		},
	}
	serverSchema = attrs("listen", "base_url", "tls_cert", "tls_key", "shutdown_timeout", "request_timeout", "trusted_proxies")
	importSchema = attrs("allowed_paths", "allow_private_networks")
	dbSchema     = attrs("driver", "dsn", "max_open_conns")
	evSchema     = &hcl.BodySchema{
		Attributes: attrs("backend", "path", "max_upload_size", "allowed_types").Attributes,
		Blocks:     []hcl.BlockHeaderSchema{{Type: "s3"}},
	}
	s3Schema    = attrs("endpoint", "bucket", "region", "access_key", "secret_key", "prefix", "use_ssl", "part_size")
	authSchema  = attrs("session_ttl", "token_max_ttl", "login_max_attempts", "login_window", "cookie_secure", "password_min_length")
	schedSchema = attrs("enabled", "attack_sync", "intel_scan", "notification_cleanup", "coverage_snapshot",
		"recurring_campaigns", "notification_retention", "snapshot_retention")
	logSchema    = attrs("level", "format")
	pluginSchema = &hcl.BodySchema{
		Attributes: attrs("path", "sha256", "enabled", "timeout", "schedule", "source", "log_level").Attributes,
		Blocks:     []hcl.BlockHeaderSchema{{Type: "config"}},
	}

	pluginName = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
)

func attrs(names ...string) *hcl.BodySchema {
	s := &hcl.BodySchema{}
	for _, n := range names {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: n})
	}
	return s
}

// decode fills cfg (already holding defaults) from src.
func decode(src []byte, filename string, cfg *Config) hcl.Diagnostics {
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return diags
	}
	d := &decoder{ctx: evalContext(), diags: diags}
	root := d.content(file.Body, rootSchema)

	d.str(root.Attributes, "plugin_dir", &cfg.PluginDir)
	cfg.PluginDir = cfg.resolve(cfg.PluginDir)

	if b := d.single(root.Blocks, "server"); b != nil {
		d.server(b, cfg)
	}
	if b := d.single(root.Blocks, "database"); b != nil {
		d.database(b, &cfg.Database)
	}
	if cfg.Database.Driver == DriverSQLite {
		if cfg.Database.DSN == "" {
			cfg.Database.DSN = DefaultSQLiteDSN
		}
		cfg.Database.DSN = cfg.resolveSQLite(cfg.Database.DSN)
	}
	if b := d.single(root.Blocks, "evidence"); b != nil {
		d.evidence(b, &cfg.Evidence)
	}
	cfg.Evidence.Path = cfg.resolve(cfg.Evidence.Path)
	if b := d.single(root.Blocks, "auth"); b != nil {
		d.auth(b, &cfg.Auth)
	}
	if b := d.single(root.Blocks, "scheduler"); b != nil {
		d.scheduler(b, &cfg.Scheduler)
	}
	if b := d.single(root.Blocks, "log"); b != nil {
		lc := d.content(b.Body, logSchema)
		d.enum(lc.Attributes, "level", &cfg.Log.Level, "trace", "debug", "info", "warn", "error")
		d.enum(lc.Attributes, "format", &cfg.Log.Format, "text", "json")
	}

	if b := d.single(root.Blocks, "import"); b != nil {
		d.importBlock(b, cfg)
	}

	seen := map[string]*hcl.Block{}
	for _, b := range root.Blocks {
		if b.Type != "plugin" {
			continue
		}
		p, ok := d.plugin(b, cfg)
		if !ok {
			continue
		}
		if first, dup := seen[p.Name]; dup {
			d.errorAt(b.DefRange, "Duplicate plugin block",
				"plugin %q is defined at %s and again at %s; each plugin name may appear once.",
				p.Name, pos(first.DefRange), pos(b.DefRange))
			continue
		}
		seen[p.Name] = b
		cfg.Plugins = append(cfg.Plugins, p)
	}
	return d.diags
}

func (d *decoder) server(b *hcl.Block, cfg *Config) {
	c := d.content(b.Body, serverSchema)
	s := &cfg.Server
	if a := d.str(c.Attributes, "listen", &s.Listen); a != nil {
		if _, _, err := net.SplitHostPort(s.Listen); err != nil {
			d.invalid(a, "\"listen\" must be host:port such as \"127.0.0.1:8080\" or \":8080\", got %q: %s.", s.Listen, err)
		}
	}
	if a := d.str(c.Attributes, "base_url", &s.BaseURL); a != nil {
		u, err := url.Parse(s.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			d.invalid(a, "\"base_url\" must be an absolute http or https URL such as \"https://aegis.example.com\", got %q.", s.BaseURL)
		}
		s.BaseURL = strings.TrimRight(s.BaseURL, "/")
	}
	cert := d.str(c.Attributes, "tls_cert", &s.TLSCert)
	key := d.str(c.Attributes, "tls_key", &s.TLSKey)
	switch {
	case cert != nil && key == nil:
		d.invalid(cert, "\"tls_cert\" is set but \"tls_key\" is not; set both to serve HTTPS, or neither.")
	case key != nil && cert == nil:
		d.invalid(key, "\"tls_key\" is set but \"tls_cert\" is not; set both to serve HTTPS, or neither.")
	}
	s.TLSCert, s.TLSKey = cfg.resolve(s.TLSCert), cfg.resolve(s.TLSKey)
	d.duration(c.Attributes, "shutdown_timeout", &s.ShutdownTimeout)
	d.duration(c.Attributes, "request_timeout", &s.RequestTimeout)
	var proxies []string
	if a := d.strings(c.Attributes, "trusted_proxies", &proxies); a != nil {
		for _, p := range proxies {
			n, err := parseNet(p)
			if err != nil {
				d.invalid(a, "\"trusted_proxies\" must hold IP addresses or CIDR ranges such as \"10.0.0.5\" or \"10.0.0.0/8\", got %q.", p)
				continue
			}
			s.TrustedProxies = append(s.TrustedProxies, n)
		}
	}
}

// parseNet reads a CIDR range, or a single address as the range holding only it.
func parseNet(s string) (*net.IPNet, error) {
	s = strings.TrimSpace(s)
	if _, n, err := net.ParseCIDR(s); err == nil {
		return n, nil
	}
	ip := net.ParseIP(s)
	if ip == nil {
		return nil, fmt.Errorf("not an address")
	}
	bits := 128
	if ip4 := ip.To4(); ip4 != nil {
		ip, bits = ip4, 32
	}
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}, nil
}

func (d *decoder) importBlock(b *hcl.Block, cfg *Config) {
	c := d.content(b.Body, importSchema)
	im := &cfg.Import
	if a := d.strings(c.Attributes, "allowed_paths", &im.AllowedPaths); a != nil {
		for i, p := range im.AllowedPaths {
			if strings.TrimSpace(p) == "" {
				d.invalid(a, "\"allowed_paths\" must not hold an empty path (it would allow every file).")
				continue
			}
			im.AllowedPaths[i] = cfg.resolve(p)
		}
	}
	d.boolean(c.Attributes, "allow_private_networks", &im.AllowPrivateNetworks)
}

func (d *decoder) database(b *hcl.Block, db *Database) {
	c := d.content(b.Body, dbSchema)
	driver := d.enum(c.Attributes, "driver", &db.Driver, DriverSQLite, DriverPostgres)
	d.str(c.Attributes, "dsn", &db.DSN)
	d.integer(c.Attributes, "max_open_conns", 1, &db.MaxOpenConns)
	if db.Driver == DriverPostgres && db.DSN == "" {
		rng := b.DefRange
		if a, ok := c.Attributes["dsn"]; ok {
			rng = a.Expr.Range() // set, but empty (an unset env var)
		} else if driver != nil {
			rng = driver.Range
		}
		d.errorAt(rng, "Missing required argument",
			"\"dsn\" is required when driver = \"postgres\", e.g. dsn = env(\"AEGIS_DB_DSN\") with postgres://user:pass@host:5432/aegis?sslmode=require.")
	}
}

func (d *decoder) evidence(b *hcl.Block, ev *Evidence) {
	c := d.content(b.Body, evSchema)
	backend := d.enum(c.Attributes, "backend", &ev.Backend, BackendDisk, BackendS3)
	d.str(c.Attributes, "path", &ev.Path)
	if a := d.size(c.Attributes, "max_upload_size", &ev.MaxUploadBytes); a != nil && ev.MaxUploadBytes <= 0 {
		d.invalid(a, "\"max_upload_size\" must be more than zero bytes.")
	}
	if a := d.strings(c.Attributes, "allowed_types", &ev.AllowedTypes); a != nil {
		for _, t := range ev.AllowedTypes {
			if _, _, err := mime.ParseMediaType(t); err != nil || !strings.Contains(t, "/") {
				d.invalid(a, "\"allowed_types\" must hold media types such as \"image/png\" or \"text/*\", got %q.", t)
			}
		}
	}
	s3b := d.single(c.Blocks, "s3")
	var s3c *hcl.BodyContent
	if s3b != nil {
		s3c = d.content(s3b.Body, s3Schema)
		s := &ev.S3
		a := s3c.Attributes
		if e := d.str(a, "endpoint", &s.Endpoint); e != nil && strings.Contains(s.Endpoint, "://") {
			d.invalid(e, "\"endpoint\" is host[:port] without a scheme, e.g. \"s3.amazonaws.com\" or \"minio:9000\"; use use_ssl = false for plain http. Got %q.", s.Endpoint)
		}
		d.str(a, "bucket", &s.Bucket)
		d.str(a, "region", &s.Region)
		ak := d.str(a, "access_key", &s.AccessKey)
		sk := d.str(a, "secret_key", &s.SecretKey)
		switch {
		case ak != nil && sk == nil:
			d.invalid(ak, "\"access_key\" is set but \"secret_key\" is not; set both, or neither to use ambient credentials.")
		case sk != nil && ak == nil:
			d.invalid(sk, "\"secret_key\" is set but \"access_key\" is not; set both, or neither to use ambient credentials.")
		}
		d.str(a, "prefix", &s.Prefix)
		d.boolean(a, "use_ssl", &s.UseSSL)
		// S3 takes parts of 5 MiB to 5 GiB (the last one may be smaller).
		if p := d.size(a, "part_size", &s.PartSize); p != nil && (s.PartSize < 5<<20 || s.PartSize > 5<<30) {
			d.invalid(p, "\"part_size\" must be between 5MiB and 5GiB (S3's limits for a multipart part).")
		}
	}
	if ev.Backend != BackendS3 {
		return
	}
	if s3b == nil {
		rng := b.DefRange
		if backend != nil {
			rng = backend.Range
		}
		d.errorAt(rng, "Missing s3 block", "backend = \"s3\" needs an s3 { endpoint = ... bucket = ... } block inside evidence.")
		return
	}
	for _, req := range []struct{ name, val string }{{"endpoint", ev.S3.Endpoint}, {"bucket", ev.S3.Bucket}} {
		if req.val != "" {
			continue
		}
		rng := s3b.DefRange
		if a, ok := s3c.Attributes[req.name]; ok {
			rng = a.Expr.Range()
		}
		d.errorAt(rng, "Missing required argument", "%q is required in the s3 block when backend = \"s3\".", req.name)
	}
}

func (d *decoder) auth(b *hcl.Block, au *Auth) {
	c := d.content(b.Body, authSchema)
	a := c.Attributes
	d.duration(a, "session_ttl", &au.SessionTTL)
	d.duration(a, "token_max_ttl", &au.TokenMaxTTL)
	d.integer(a, "login_max_attempts", 1, &au.LoginMaxAttempts)
	d.duration(a, "login_window", &au.LoginWindow)
	var secure bool
	if d.boolean(a, "cookie_secure", &secure) != nil {
		au.CookieSecure = &secure
	}
	d.integer(a, "password_min_length", 8, &au.PasswordMinLength)
}

func (d *decoder) scheduler(b *hcl.Block, s *Scheduler) {
	c := d.content(b.Body, schedSchema)
	a := c.Attributes
	d.boolean(a, "enabled", &s.Enabled)
	d.cron(a, "attack_sync", &s.AttackSync)
	d.cron(a, "intel_scan", &s.IntelScan)
	d.cron(a, "notification_cleanup", &s.NotificationCleanup)
	d.cron(a, "coverage_snapshot", &s.CoverageSnapshot)
	d.cron(a, "recurring_campaigns", &s.RecurringCampaigns)
	d.duration(a, "notification_retention", &s.NotificationRetention)
	d.integer(a, "snapshot_retention", 1, &s.SnapshotRetention)
}

// plugin decodes one plugin block; ok is false when its name is unusable.
func (d *decoder) plugin(b *hcl.Block, cfg *Config) (p Plugin, ok bool) {
	p = Plugin{
		Name:    b.Labels[0],
		Enabled: true,
		Timeout: DefaultPluginTimeout,
		Config:  []byte("{}"),
		Range:   pos(b.DefRange),
	}
	ok = true
	if !pluginName.MatchString(p.Name) {
		rng := b.DefRange
		if len(b.LabelRanges) > 0 {
			rng = b.LabelRanges[0]
		}
		d.errorAt(rng, "Invalid plugin name",
			"plugin %q: a name starts with a lower-case letter and holds only a-z, 0-9, '_' and '-'.", p.Name)
		ok = false
	}
	c := d.content(b.Body, pluginSchema)
	a := c.Attributes
	if d.str(a, "path", &p.Path) != nil {
		p.Path = cfg.resolve(p.Path)
	} else {
		p.Path = filepath.Join(cfg.PluginDir, "aegis-plugin-"+p.Name)
	}
	if at := d.str(a, "sha256", &p.SHA256); at != nil {
		if raw, err := hex.DecodeString(p.SHA256); err != nil || len(raw) != 32 {
			d.invalid(at, "\"sha256\" must be 64 hexadecimal characters (sha256sum of the plugin binary), got %q (%d characters).", p.SHA256, len(p.SHA256))
		}
		p.SHA256 = strings.ToLower(p.SHA256)
	}
	d.boolean(a, "enabled", &p.Enabled)
	d.duration(a, "timeout", &p.Timeout)
	d.cron(a, "schedule", &p.Schedule)
	d.enum(a, "log_level", &p.LogLevel, "trace", "debug", "info", "warn", "error")
	if at := d.str(a, "source", &p.Source); at != nil {
		src, err := cfg.resolveSource(p.Source)
		if err != nil {
			d.invalid(at, "\"source\" must be an http(s) URL or a local path: %s.", err)
		}
		p.Source = src
	}
	if cb := d.single(c.Blocks, "config"); cb != nil {
		if js, good := d.pluginConfig(cb); good {
			p.Config = js
		}
	}
	return p, ok
}

// pluginConfig converts the attributes of a config block to a JSON object.
func (d *decoder) pluginConfig(b *hcl.Block) ([]byte, bool) {
	attrs, diags := b.Body.JustAttributes()
	d.add(diags)
	obj := make(map[string]cty.Value, len(attrs))
	good := !diags.HasErrors()
	for name, a := range attrs {
		v, vd := a.Expr.Value(d.ctx)
		d.add(vd)
		if vd.HasErrors() {
			good = false
			continue
		}
		if !v.IsWhollyKnown() {
			d.invalid(a, "The value of %q must be known when the configuration is loaded.", name)
			good = false
			continue
		}
		obj[name] = v
	}
	if !good {
		return nil, false
	}
	val := cty.EmptyObjectVal
	if len(obj) > 0 {
		val = cty.ObjectVal(obj)
	}
	js, err := ctyjson.Marshal(val, val.Type())
	if err != nil {
		d.errorAt(b.DefRange, "Invalid plugin config", "The config block cannot be converted to JSON: %s.", err)
		return nil, false
	}
	return js, true
}

// resolve makes a relative path absolute against the config file's directory.
func (c *Config) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// resolveSQLite resolves the file part of a SQLite DSN ("var/aegis.db",
// "file:var/aegis.db?_pragma=..."), leaving ":memory:" and URIs' query alone.
func (c *Config) resolveSQLite(dsn string) string {
	prefix := ""
	rest := dsn
	if strings.HasPrefix(rest, "file:") {
		prefix, rest = "file:", strings.TrimPrefix(rest, "file:")
	}
	path, query, hasQuery := strings.Cut(rest, "?")
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "//") {
		return dsn
	}
	out := prefix + c.resolve(path)
	if hasQuery {
		out += "?" + query
	}
	return out
}

// resolveSource leaves http(s) URLs untouched and resolves local paths.
func (c *Config) resolveSource(s string) (string, error) {
	if i := strings.Index(s, "://"); i > 0 {
		u, err := url.Parse(s)
		if err != nil {
			return s, err
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return s, fmt.Errorf("scheme %q is not supported (http, https, or a plain path), got %q", u.Scheme, s)
		}
		if u.Host == "" {
			return s, fmt.Errorf("URL %q has no host", s)
		}
		return s, nil
	}
	return c.resolve(s), nil
}
