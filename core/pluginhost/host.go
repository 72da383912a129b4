// Package pluginhost starts and talks to Aegis plugins: separate processes speaking the
// SDK protocol over go-plugin's gRPC transport. It runs only plugins named in aegis.hcl,
// checks their sha256 before start, and makes sure no plugin process outlives the call
// it was started for.
package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/host"
)

// BinaryPrefix is how plugin binaries in the plugin directory are named.
const BinaryPrefix = "aegis-plugin-"

// Host knows the configured plugins and starts them on demand.
type Host struct {
	plugins      []config.Plugin
	pluginDir    string
	log          hclog.Logger
	StartTimeout time.Duration
	// TempRoot holds one folder per plugin process, its TMPDIR: downloads and archive
	// extractions land there, and the host removes the folder when the process ends,
	// however it ends. Default: aegis-plugin-runs in the system's temporary folder.
	TempRoot string
	// Import is the import block: what sources a run started through the API may read.
	Import config.Import
	// Resolver resolves URL sources' hosts for CheckSource; nil is net.DefaultResolver.
	Resolver Resolver
}

// New returns a host for the plugins of cfg. It removes the temporary folders that
// plugin processes of dead Aegis processes left behind (a crash or a SIGKILL skips the
// removal after the run; an extraction may hold gigabytes).
func New(cfg *config.Config, log hclog.Logger) *Host {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	h := &Host{plugins: cfg.Plugins, pluginDir: cfg.PluginDir, log: log, StartTimeout: 15 * time.Second,
		TempRoot: filepath.Join(os.TempDir(), "aegis-plugin-runs"), Import: cfg.Import}
	if n, err := h.SweepTemp(); err != nil {
		log.Warn("removing plugin temporary folders left by dead processes failed", "root", h.TempRoot, "error", err)
	} else if n > 0 {
		log.Info("removed plugin temporary folders left by dead processes", "root", h.TempRoot, "folders", n)
	}
	return h
}

// SweepTemp removes the run folders under TempRoot whose Aegis process is gone (each
// folder is named after the process that made it, so instances sharing a machine
// never remove each other's live runs). It returns how many it removed.
func (h *Host) SweepTemp() (int, error) {
	entries, err := os.ReadDir(h.TempRoot)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		pidText, _, ok := strings.Cut(e.Name(), "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(h.TempRoot, e.Name())); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// runTemp makes the temporary folder of one plugin process.
func (h *Host) runTemp() (string, error) {
	if err := os.MkdirAll(h.TempRoot, 0o700); err != nil {
		return "", err
	}
	return os.MkdirTemp(h.TempRoot, strconv.Itoa(os.Getpid())+"-")
}

// Entry is a plugin the host knows of: configured in aegis.hcl, or only found in the
// plugin directory (listed, never run).
type Entry struct {
	Name       string
	Path       string
	Configured bool
	Enabled    bool
	Config     config.Plugin
}

// Entries lists the configured plugins, then binaries in the plugin directory that no
// block names, by name.
func (h *Host) Entries() []Entry {
	var out []Entry
	named := map[string]bool{}
	for _, p := range h.plugins {
		out = append(out, Entry{Name: p.Name, Path: p.Path, Configured: true, Enabled: p.Enabled, Config: p})
		named[p.Name] = true
		named[filepath.Base(p.Path)] = true
	}
	files, _ := filepath.Glob(filepath.Join(h.pluginDir, BinaryPrefix+"*"))
	sort.Strings(files)
	for _, f := range files {
		name := strings.TrimPrefix(filepath.Base(f), BinaryPrefix)
		if named[name] || named[filepath.Base(f)] {
			continue
		}
		if st, err := os.Stat(f); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			continue
		}
		out = append(out, Entry{Name: name, Path: f})
	}
	return out
}

// Plugin returns the configuration of a named plugin.
func (h *Host) Plugin(name string) (config.Plugin, error) {
	for _, p := range h.plugins {
		if p.Name == name {
			return p, nil
		}
	}
	known := make([]string, 0, len(h.plugins))
	for _, p := range h.plugins {
		known = append(known, p.Name)
	}
	return config.Plugin{}, fmt.Errorf("plugin %q is not configured in aegis.hcl (configured: %s); Aegis runs only plugins named there",
		name, strings.Join(known, ", "))
}

// Instance is one running plugin process. Close it when the call is done.
type Instance struct {
	Name     string
	Config   config.Plugin
	Client   host.Client
	Protocol int
	Checksum string
	client   *plugin.Client
	temp     string
	echo     *host.EchoCollector
}

// Close kills the plugin process (go-plugin first asks it to exit gracefully) and
// removes its temporary folder with whatever it downloaded or extracted there.
func (i *Instance) Close() {
	if i == nil {
		return
	}
	if i.client != nil {
		i.client.Kill()
	}
	if i.temp != "" {
		_ = os.RemoveAll(i.temp)
	}
}

// LostDiagnostics returns the diagnostics the plugin echoed on its stderr that are not
// among received, the ones that arrived over gRPC: after a crash, those the process
// sent but gRPC never delivered. It ends the process first, so that its stderr has
// been read to the end.
func (i *Instance) LostDiagnostics(received []sdk.Diagnostic) []sdk.Diagnostic {
	if i == nil || i.echo == nil {
		return nil
	}
	if i.client != nil {
		i.client.Kill()
	}
	return i.echo.Lost(received)
}

// Exited reports whether the plugin process has ended (for example by crashing).
func (i *Instance) Exited() bool { return i.client.Exited() }

// FileSHA256 returns the hex SHA-256 of a file. A plugin binary is hashed at every
// start (20–40 ms of CPU for a 30 MB binary, a tenth of a small import), so the sum is
// kept per path with the identity of the file it was computed from: device, inode,
// size, modification and change time, read from the open file. Rewriting, replacing or
// touching the binary changes one of them (the change time cannot be set back by a
// user), and the file is hashed again. go-plugin also hashes a pinned binary itself
// right before it runs it (SecureConfig).
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", err
	}
	id, known := fileIdentity(info)
	if known {
		sumsMu.Lock()
		c, ok := sums[path]
		sumsMu.Unlock()
		if ok && c.id == id {
			return c.sum, nil
		}
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if known {
		sumsMu.Lock()
		sums[path] = cachedSum{id: id, sum: sum}
		sumsMu.Unlock()
	}
	return sum, nil
}

// cachedSum is a file's SHA-256 and the identity of the file it was computed from.
type cachedSum struct {
	id  fileID
	sum string
}

var (
	sumsMu sync.Mutex
	sums   = map[string]cachedSum{}
)

// ErrChecksum is wrapped when a plugin binary does not match its configured sha256.
var ErrChecksum = errors.New("plugin checksum mismatch")

// Start launches a configured, enabled plugin and negotiates the protocol.
func (h *Host) Start(ctx context.Context, name string) (*Instance, error) {
	p, err := h.Plugin(name)
	if err != nil {
		return nil, err
	}
	if !p.Enabled {
		return nil, fmt.Errorf("plugin %q is disabled in aegis.hcl (%s)", name, p.Range)
	}
	return h.start(ctx, p)
}

func (h *Host) start(ctx context.Context, p config.Plugin) (*Instance, error) {
	st, err := os.Stat(p.Path)
	if err != nil {
		return nil, fmt.Errorf("plugin %q: binary %s: %w (build it with `make plugins`, or fix path in %s)", p.Name, p.Path, err, p.Range)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("plugin %q: %s is a directory, not a binary", p.Name, p.Path)
	}
	sum, err := FileSHA256(p.Path)
	if err != nil {
		return nil, fmt.Errorf("plugin %q: checksum %s: %w", p.Name, p.Path, err)
	}
	var secure *plugin.SecureConfig
	if p.SHA256 != "" {
		if sum != p.SHA256 {
			return nil, fmt.Errorf("plugin %q: %w: aegis.hcl (%s) expects sha256 %s, but %s has %s; refusing to start it",
				p.Name, ErrChecksum, p.Range, p.SHA256, p.Path, sum)
		}
		want, _ := hex.DecodeString(p.SHA256)
		// go-plugin checks again right before exec, narrowing the window in which the
		// file could be swapped after the check above.
		secure = &plugin.SecureConfig{Checksum: want, Hash: sha256.New()}
	}

	temp, err := h.runTemp()
	if err != nil {
		return nil, fmt.Errorf("plugin %q: temporary folder under %s: %w", p.Name, h.TempRoot, err)
	}
	logger, level := h.pluginLogger(p)
	cmd := exec.Command(p.Path)
	// The plugin filters its own lines at its level (sdk.Serve reads the variable); the
	// host's logger for it lets them through at the same level. go-plugin puts the
	// plugin's socket in its TMPDIR unless told otherwise; the run folder's path may be
	// too long for a unix socket (108 bytes), so the socket stays where it always was.
	cmd.Env = append(pluginEnv(), "AEGIS_PLUGIN_LOG_LEVEL="+level.String(),
		"TMPDIR="+temp, plugin.EnvUnixSocketDir+"="+os.TempDir())
	setProcAttr(cmd)
	cc := host.ClientConfig(cmd)
	cc.SecureConfig = secure
	cc.SkipHostEnv = true
	cc.StartTimeout = h.StartTimeout
	cc.Logger = quietExits{logger}
	cc.Managed = true
	echo := &host.EchoCollector{}
	cc.Stderr = echo
	client := plugin.NewClient(cc)

	inst := &Instance{Name: p.Name, Config: p, Checksum: sum, client: client, temp: temp, echo: echo}
	started := make(chan error, 1)
	var rpc plugin.ClientProtocol
	go func() {
		var err error
		rpc, err = client.Client()
		started <- err
	}()
	select {
	case err = <-started:
	case <-ctx.Done():
		inst.Close()
		return nil, fmt.Errorf("plugin %q: start: %w", p.Name, ctx.Err())
	}
	if err != nil {
		inst.Close()
		return nil, fmt.Errorf("plugin %q: start %s: %w", p.Name, p.Path, explainStartError(err))
	}
	raw, err := rpc.Dispense(host.DispenseName)
	if err != nil {
		inst.Close()
		return nil, fmt.Errorf("plugin %q: dispense: %w", p.Name, err)
	}
	c, ok := raw.(host.Client)
	if !ok {
		inst.Close()
		return nil, fmt.Errorf("plugin %q: dispensed %T, not an SDK client", p.Name, raw)
	}
	inst.Client = c
	inst.Protocol = client.NegotiatedVersion()
	return inst, nil
}

// pluginLogger is the logger a plugin's lines go through, at the plugin block's
// log_level or, without one, the host's level. A level of its own needs a host logger
// made with IndependentLevels (cmd/aegis makes one); on another the plugin keeps the
// host's level rather than moving it.
func (h *Host) pluginLogger(p config.Plugin) (hclog.Logger, hclog.Level) {
	hostLevel := h.log.GetLevel()
	l := h.log.Named(p.Name)
	if p.LogLevel == "" {
		return l, hostLevel
	}
	want := hclog.LevelFromString(p.LogLevel)
	if want == hostLevel {
		return l, want
	}
	l.SetLevel(want)
	if h.log.GetLevel() != hostLevel {
		h.log.SetLevel(hostLevel)
		h.log.Warn("plugin log_level ignored: the host logger does not have independent levels", "plugin", p.Name)
		return h.log.Named(p.Name), hostLevel
	}
	return l, want
}

var pluginVersionRE = regexp.MustCompile(`Plugin version: (\d+)`)

// explainStartError turns go-plugin's start errors into messages an admin can act on.
func explainStartError(err error) error {
	msg := err.Error()
	if m := pluginVersionRE.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("protocol version mismatch: the plugin speaks protocol version %s, this Aegis speaks protocol version(s) %s; "+
			"rebuild the plugin with an SDK of a protocol this Aegis speaks, or upgrade Aegis (%w)", m[1], hostVersions(), err)
	}
	if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
		return fmt.Errorf("%w: the binary changed between the check and the start (%v)", ErrChecksum, err)
	}
	if strings.Contains(msg, "Unrecognized remote plugin message") || strings.Contains(msg, "magic cookie") {
		return fmt.Errorf("the binary is not an Aegis plugin (no handshake): %w", err)
	}
	return err
}

func hostVersions() string {
	var vs []string
	for v := range host.PluginSets() {
		vs = append(vs, fmt.Sprint(v))
	}
	sort.Strings(vs)
	return strings.Join(vs, ", ")
}

// pluginEnv is the whole environment a plugin gets: enough to run and reach the network
// through the machine's proxy, and no credential of the server's. TMPDIR is the
// process's own folder, added by start. What a plugin needs
// beyond this it asks for in its config block.
func pluginEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "LANG", "LC_ALL", "TZ", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
		"http_proxy", "https_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", sdk.CPUProfileEnv} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// Shutdown kills every plugin process still running (on server exit).
func Shutdown() { plugin.CleanupClients() }

// Info is what a running plugin said about itself, as the store keeps it.
func Info(inst *Instance, d *sdk.Description) *core.PluginInfo {
	now := core.Now()
	info := &core.PluginInfo{Name: inst.Name, Version: d.Version, Path: inst.Config.Path, SHA256: inst.Checksum,
		Enabled: inst.Config.Enabled, ProtocolVersion: inst.Protocol,
		ProtocolMinor: d.ProtocolMinor, SDKVersion: d.SDKVersion, LastSeenAt: &now, Kinds: core.Strings{}, RecordKinds: core.Strings{}}
	kinds, rkinds := map[string]bool{}, map[string]bool{}
	var descs []string
	for _, c := range d.Components {
		kinds[string(c.Kind)] = true
		for _, k := range c.RecordKinds {
			rkinds[k] = true
		}
		if c.Description != "" {
			descs = append(descs, c.Description)
		}
	}
	for k := range kinds {
		info.Kinds = append(info.Kinds, k)
	}
	for k := range rkinds {
		info.RecordKinds = append(info.RecordKinds, k)
	}
	sort.Strings(info.Kinds)
	sort.Strings(info.RecordKinds)
	info.Description = strings.Join(descs, "; ")
	if b, err := json.Marshal(d.Components); err == nil {
		info.Components = b
	}
	return info
}

// ValidateConfig asks a running plugin to check its config block for one component and
// returns the problems as one error naming the block and the attributes, nil when the
// config is fine.
func (i *Instance) ValidateConfig(ctx context.Context, kind sdk.ComponentKind, typ string) error {
	diags, err := i.Client.ValidateConfig(ctx, string(kind), typ, i.Config.Config)
	if err != nil {
		return fmt.Errorf("plugin %q: validate config: %w", i.Name, err)
	}
	var errs []string
	for _, d := range sdk.Diagnostics(diags).Errors() {
		msg := d.Summary
		if d.Attribute != "" {
			msg = "config." + d.Attribute + ": " + msg
		}
		if d.Detail != "" {
			msg += " (" + d.Detail + ")"
		}
		errs = append(errs, msg)
	}
	if len(errs) > 0 {
		return fmt.Errorf("plugin %q: its config block (%s) is not valid for %s %s: %s", i.Name, i.Config.Range, kind, typ, strings.Join(errs, "; "))
	}
	return nil
}

// CallFailure says why a call to the plugin failed: it crashed, timed out, was
// cancelled, or answered with an error. nothing completes the sentence "...; nothing
// was imported" (or "exported") so the user knows the data is as it was.
func (i *Instance) CallFailure(ctx context.Context, op, nothing string, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("the plugin did not finish within its timeout of %s (timeout in aegis.hcl, %s); it was stopped and %s",
			i.Config.Timeout, i.Config.Range, nothing)
	case errors.Is(ctx.Err(), context.Canceled) || errors.Is(err, context.Canceled):
		return fmt.Errorf("the %s was cancelled; %s", op, nothing)
	case host.IsUnavailable(err) || i.exitedSoon():
		return fmt.Errorf("the plugin process crashed during %s; %s (its last log lines are in the server log under plugin %q): %w",
			op, nothing, i.Name, err)
	}
	return fmt.Errorf("%s: %w; %s", op, err, nothing)
}

// exitedSoon reports whether the plugin process has ended or ends within a moment: the
// stream can break a little before go-plugin has reaped a crashed process.
func (i *Instance) exitedSoon() bool {
	for n := 0; n < 20; n++ {
		if i.Exited() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// ChooseComponent picks the component of a kind a run asked for (by type), or the
// plugin's only one of that kind when none was asked for.
func ChooseComponent(d *sdk.Description, kind sdk.ComponentKind, want string) (string, error) {
	var types []string
	for _, c := range d.Components {
		if c.Kind == kind {
			types = append(types, c.Type)
		}
	}
	if want != "" {
		if slices.Contains(types, want) {
			return want, nil
		}
		return "", fmt.Errorf("plugin %s has no %s %q (it has: %s)", d.Name, kind, want, strings.Join(types, ", "))
	}
	switch len(types) {
	case 0:
		if kind == sdk.ComponentImporter {
			var exporters []string
			for _, c := range d.Components {
				if c.Kind == sdk.ComponentExporter {
					exporters = append(exporters, c.Type)
				}
			}
			if len(exporters) > 0 {
				return "", fmt.Errorf("plugin %s has no importer: it only exports (exporters: %s); use `aegis export %s --out FILE`",
					d.Name, strings.Join(exporters, ", "), d.Name)
			}
		}
		return "", fmt.Errorf("plugin %s has no %s", d.Name, kind)
	case 1:
		return types[0], nil
	}
	return "", fmt.Errorf("plugin %s has several %ss (%s): choose one with --type", d.Name, kind, strings.Join(types, ", "))
}

// SummarizeDiagnostics joins the first three diagnostics into one line and counts the
// rest, for run errors that must stay readable.
func SummarizeDiagnostics(ds sdk.Diagnostics) string {
	var parts []string
	for i, d := range ds {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(ds)-3))
			break
		}
		parts = append(parts, d.String())
	}
	return strings.Join(parts, "; ")
}
