package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/aegis-sec/aegis/sdk/internal/protocol"
)

// ServeOpts declares what a plugin binary offers. A binary may hold several
// importers and exporters; the map keys are their types.
type ServeOpts struct {
	// Name of the plugin, e.g. "csvimport".
	Name string
	// Version of the plugin, semver without a leading "v".
	Version string
	// Importers by type; types match ^[a-z][a-z0-9_]*$.
	Importers map[string]Importer
	// Exporters by type.
	Exporters map[string]Exporter
	// Components describes components that do not implement Describer, or
	// overrides what they say; matched by Kind and Type.
	Components []Component
	// Logger replaces the default JSON logger on stderr (used by sdktest).
	Logger hclog.Logger
	// Test runs the server in-process in go-plugin's test mode and reports a
	// ReattachConfig instead of the handshake (used by sdktest).
	Test *plugin.ServeTestConfig
}

// Serve runs the plugin. Call it from main and nothing else:
//
//	func main() {
//		sdk.Serve(sdk.ServeOpts{Name: "csvimport", Version: "1.0.0",
//			Importers: map[string]sdk.Importer{"csv": csvimport.Importer{}}})
//	}
//
// Run with the single argument "describe", the binary prints its
// Description as JSON on stdout and exits without a handshake. Invalid
// options are reported on stderr with exit status 1.
func Serve(opts ServeOpts) {
	// The logger must exist before plugin.Serve, which swaps os.Stderr for a
	// pipe whose unread lines the host drops.
	logger := opts.Logger
	var echo hclog.Logger
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{
			Name:       opts.Name,
			Level:      hclog.LevelFromString(envOr("AEGIS_PLUGIN_LOG_LEVEL", "info")),
			Output:     os.Stderr,
			JSONFormat: true,
		})
		// Diagnostics are echoed on stderr whatever the log level: a write to the pipe
		// survives the process, a gRPC message still in the send buffer does not.
		echo = hclog.New(&hclog.LoggerOptions{Name: opts.Name, Level: hclog.Trace, Output: os.Stderr, JSONFormat: true})
	}
	desc, err := BuildDescription(opts)
	if err != nil {
		if opts.Test != nil {
			logger.Error("invalid plugin options", "error", err)
			if opts.Test.CloseCh != nil {
				close(opts.Test.CloseCh)
			}
			return
		}
		fmt.Fprintf(os.Stderr, "aegis plugin %s: %v\n", opts.Name, err)
		os.Exit(1)
	}
	if opts.Test == nil {
		if len(os.Args) == 2 && os.Args[1] == "describe" {
			if err := writeDescription(os.Stdout, desc); err != nil {
				fmt.Fprintf(os.Stderr, "aegis plugin %s: describe: %v\n", opts.Name, err)
				os.Exit(1)
			}
			os.Exit(0)
		}
		if os.Getenv(protocol.Handshake.MagicCookieKey) != protocol.Handshake.MagicCookieValue {
			fmt.Fprintf(os.Stderr, "%s %s is an Aegis plugin: Aegis starts it when it is named in aegis.hcl.\n"+
				"Run %q to see what it offers.\n", desc.Name, desc.Version, os.Args[0]+" describe")
			os.Exit(1)
		}
	}
	srv := &server{
		desc:      desc,
		importers: opts.Importers,
		exporters: opts.Exporters,
		logger:    logger,
		echo:      echo,
	}
	if opts.Test == nil {
		defer startCPUProfile(opts.Name, logger)()
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: protocol.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			ProtocolVersion: {protocol.DispenseName: &grpcPlugin{srv: srv}},
		},
		GRPCServer: newGRPCServerFunc(logger),
		Logger:     logger,
		Test:       opts.Test,
	})
}

// startCPUProfile writes a CPU profile of the whole plugin process to
// $AEGIS_PLUGIN_CPUPROFILE/<name>-<pid>.pprof when that variable names a folder (the host
// passes it through from its own environment: profiling imports end to end needs the
// plugin's side too, and the plugin binary the host started may be gone afterwards, so
// perf cannot name its functions). The returned stop ends the profile; plugin.Serve
// returns once the host shuts the plugin down.
func startCPUProfile(name string, logger hclog.Logger) (stop func()) {
	dir := os.Getenv(CPUProfileEnv)
	if dir == "" {
		return func() {}
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", name, os.Getpid()))
	f, err := os.Create(path)
	if err != nil {
		logger.Warn("no CPU profile", "error", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		logger.Warn("no CPU profile", "error", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			logger.Warn("CPU profile", "path", path, "error", err)
		}
	}
}

// CPUProfileEnv names the folder a plugin writes its CPU profile to (see startCPUProfile).
const CPUProfileEnv = "AEGIS_PLUGIN_CPUPROFILE"

func writeDescription(w io.Writer, d *Description) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// BuildDescription checks opts and returns the Description the plugin will
// report. Serve calls it; tests and tools may call it directly.
func BuildDescription(opts ServeOpts) (*Description, error) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if strings.TrimSpace(opts.Name) == "" {
		bad("Name is required")
	}
	if !ValidSemver(opts.Version) {
		bad("Version %q is not a semantic version (want e.g. 1.2.3)", opts.Version)
	}
	if len(opts.Importers)+len(opts.Exporters) == 0 {
		bad("no importers or exporters")
	}
	d := &Description{
		Name:            opts.Name,
		Version:         opts.Version,
		SDKVersion:      SDKVersion,
		ProtocolVersion: ProtocolVersion,
		ProtocolMinor:   ProtocolMinor,
		Components:      []Component{},
	}
	overrides := map[ComponentKind]map[string]Component{}
	for _, c := range opts.Components {
		if c.Kind != ComponentImporter && c.Kind != ComponentExporter {
			bad("Components: %q has kind %q (want importer or exporter)", c.Type, c.Kind)
			continue
		}
		if overrides[c.Kind] == nil {
			overrides[c.Kind] = map[string]Component{}
		}
		overrides[c.Kind][c.Type] = c
	}
	add := func(kind ComponentKind, typ string, impl any) {
		if !ValidComponentType(typ) {
			bad("%s type %q must match ^[a-z][a-z0-9_]*$", kind, typ)
		}
		if impl == nil {
			bad("%s %q is nil", kind, typ)
		}
		var c Component
		if dsc, ok := impl.(Describer); ok {
			c = dsc.Describe()
		}
		if o, ok := overrides[kind][typ]; ok {
			c = o
			delete(overrides[kind], typ)
		}
		c.Kind, c.Type = kind, typ
		for _, k := range c.RecordKinds {
			if !KnownRecordKind(k) {
				bad("%s %q: unknown record kind %q (known: %s)", kind, typ, k, strings.Join(RecordKinds(), ", "))
			}
		}
		if len(c.ConfigSchema) > 0 {
			var schema map[string]any
			if err := json.Unmarshal(c.ConfigSchema, &schema); err != nil || schema == nil {
				bad("%s %q: ConfigSchema is not a JSON object", kind, typ)
			}
		}
		for _, mt := range c.MediaTypes {
			if _, _, err := mime.ParseMediaType(mt); err != nil {
				bad("%s %q: media type %q: %v", kind, typ, mt, err)
			}
		}
		d.Components = append(d.Components, c)
	}
	for _, typ := range sortedKeys(opts.Importers) {
		add(ComponentImporter, typ, opts.Importers[typ])
	}
	for _, typ := range sortedKeys(opts.Exporters) {
		add(ComponentExporter, typ, opts.Exporters[typ])
	}
	for kind, rest := range overrides {
		for typ := range rest {
			bad("Components: %s %q is not in ServeOpts.%ss", kind, typ, strings.ToUpper(string(kind[:1]))+string(kind[1:]))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("invalid ServeOpts: %s", strings.Join(problems, "; "))
	}
	return d, nil
}

type loggerKey struct{}

func withLogger(ctx context.Context, l hclog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// Logger returns the plugin's logger for the component handling ctx. Its
// lines reach the host's log, levelled and named after the plugin.
func Logger(ctx context.Context) hclog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(hclog.Logger); ok {
		return l
	}
	return hclog.NewNullLogger()
}
