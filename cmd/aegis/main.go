// Command aegis is the Aegis server and its command-line tools: one binary that serves
// the API and the web app, migrates the database, manages users, imports and exports
// through plugins, and reports statistics.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/aegis-sec/aegis"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/store"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd(os.Stdin, os.Stdout, os.Stderr).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "aegis:", err)
		os.Exit(1)
	}
}

// app is what every subcommand shares: the flags of the root command and, once loaded,
// the configuration and logger.
type app struct {
	configPath string
	verbose    bool
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer

	serving bool

	cfg *config.Config
	log hclog.Logger
}

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "aegis",
		Short: "Aegis: purple-team coverage of MITRE ATT&CK",
		Long: `Aegis plans, runs and judges purple-team tests of MITRE ATT&CK techniques and turns
them into coverage. This binary is the server and its command-line tools.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&a.configPath, "config", "", "configuration file (default: aegis.hcl in the current folder, else the built-in defaults)")
	root.PersistentFlags().BoolVarP(&a.verbose, "verbose", "v", false, "log at the configured level (tools other than serve log only errors by default)")
	root.AddCommand(
		a.serveCmd(),
		a.migrateCmd(),
		a.userCmd(),
		a.statsCmd(),
		a.importCmd(),
		a.detectCmd(),
		a.exportCmd(),
		a.convertCmd(),
		a.pluginsCmd(),
		a.versionCmd(),
		a.openAPICmd(),
		a.devCmd(),
	)
	return root
}

// load reads the configuration and sets up the logger.
func (a *app) load() error {
	if a.cfg != nil {
		return nil
	}
	builtIn := false
	if a.configPath == "" {
		a.configPath = defaultConfigFile
		if _, err := os.Stat(defaultConfigFile); errors.Is(err, fs.ErrNotExist) {
			builtIn = true
		}
	}
	var cfg *config.Config
	var err error
	if builtIn {
		// Started outside the repository (no aegis.hcl here, no --config): the
		// embedded copy of the shipped file, its relative paths from this folder.
		cfg, err = config.Parse(aegis.DefaultConfig, defaultConfigFile)
	} else {
		cfg, err = config.Load(a.configPath)
	}
	if err != nil {
		return err
	}
	a.cfg = cfg
	level := hclog.LevelFromString(cfg.Log.Level)
	// A command-line tool's output is its answer (warnings are part of it); the
	// server's is its log.
	if !a.verbose && !a.serving && level < hclog.Error {
		level = hclog.Error
	}
	a.log = hclog.New(&hclog.LoggerOptions{
		Name:       "aegis",
		Level:      level,
		JSONFormat: cfg.Log.Format == "json",
		Output:     a.stderr,
		// A plugin block's log_level sets its plugin's logger without moving the host's.
		IndependentLevels: true,
	})
	if builtIn {
		wd, _ := os.Getwd()
		const msg = "no aegis.hcl in the current folder and no --config: running on the built-in defaults (an embedded copy of aegis.hcl)"
		if a.log.IsWarn() {
			a.log.Warn(msg, "folder", wd)
		} else {
			fmt.Fprintf(a.stderr, "aegis: %s; relative paths are under %s\n", msg, wd)
		}
		a.configPath = "the built-in defaults"
	}
	return nil
}

// EnvAuditKey names the variable holding the audit key: with it, every audit entry
// carries an HMAC and the server checkpoints the chain's head to the evidence store,
// so truncation, renumbering and rewrites are found (docs/RELIABILITY.md). It is kept
// outside the database on purpose; every process writing to the database (server and
// CLI) needs the same key.
const EnvAuditKey = "AEGIS_AUDIT_KEY"

// auditKey reads EnvAuditKey; nil when it is not set.
func auditKey() ([]byte, error) {
	k := os.Getenv(EnvAuditKey)
	if k == "" {
		return nil, nil
	}
	if len(k) < 16 {
		return nil, fmt.Errorf("%s is %d characters long; use at least 16 (32 random bytes, base64, is a good key)", EnvAuditKey, len(k))
	}
	return []byte(k), nil
}

// defaultConfigFile is read when --config is not given.
const defaultConfigFile = "aegis.hcl"

// openStore loads the configuration and opens the database, migrating it first unless
// told not to: every command that touches the database works on the current schema.
func (a *app) openStore(ctx context.Context, migrate bool) (*store.Store, error) {
	if err := a.load(); err != nil {
		return nil, err
	}
	key, err := auditKey()
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, store.Options{
		Driver:       a.cfg.Database.Driver,
		DSN:          a.cfg.Database.DSN,
		MaxOpenConns: a.cfg.Database.MaxOpenConns,
		Logger:       a.log.Named("store"),
		AuditKey:     key,
	})
	if err != nil {
		return nil, err
	}
	if migrate {
		if err := st.Migrate(); err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(a.stdout, "aegis %s\n", version)
			return nil
		},
	}
}

// userError unwraps a domain error into its message for the terminal.
func userError(err error) error {
	var ce *core.Error
	if errors.As(err, &ce) {
		return errors.New(ce.Error())
	}
	return err
}
