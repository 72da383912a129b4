package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/importer"
	"github.com/aegis-sec/aegis/core/pluginhost"
	"github.com/aegis-sec/aegis/core/store"
)

func (a *app) host() *pluginhost.Host { return pluginhost.New(a.cfg, a.log.Named("plugin")) }

func (a *app) importCmd() *cobra.Command {
	var o importer.Options
	cmd := &cobra.Command{
		Use:   "import PLUGIN",
		Short: "Run an importer plugin and store what it reads",
		Long: `Run the importer of a plugin named in aegis.hcl over a source (its configured source,
or --source: a URL, a file, a folder, a .tar.gz or a .zip) and store the records in one
transaction: nothing is written when the plugin fails. A re-import of unchanged data
changes nothing; records that vanished from the same source are marked deprecated.`,
		Example: `  aegis import attack
  aegis import sigma --source ../sigma/rules --dry-run`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := a.openStore(ctx, true)
			if err != nil {
				return err
			}
			defer st.Close()
			o.Plugin, o.TriggeredBy = args[0], "cli"
			return a.runImport(ctx, st, o)
		},
	}
	cmd.Flags().StringVar(&o.Source, "source", "", "source to read (URL or path), overriding the plugin's configured source")
	cmd.Flags().StringVar(&o.Type, "type", "", "importer type, for plugins with several importers")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "report what would change without writing anything")
	return cmd
}

func (a *app) runImport(ctx context.Context, st *store.Store, o importer.Options) error {
	r := &importer.Runner{Store: st, Host: a.host(), Log: a.log.Named("import")}
	o.Progress = a.progressReporter()
	run, err := r.Run(ctx, o)
	if run != nil {
		prefix := ""
		if run.DryRun {
			prefix = "dry run, nothing written: "
		}
		fmt.Fprintf(a.stdout, "%simport %s (%s) from %s: %s in %s\n  added %d, updated %d, unchanged %d, deprecated %d, rejected %d, warnings %d\n",
			prefix, run.PluginName, run.ImporterType, run.SourceLocation, run.Outcome, time.Duration(run.DurationMS)*time.Millisecond,
			run.Added, run.Updated, run.Unchanged, run.Deprecated, run.Rejected, run.WarningCount)
		var ws []core.ImportWarning
		_ = json.Unmarshal(run.Warnings, &ws)
		for i, w := range ws {
			if i == 10 {
				fmt.Fprintf(a.stdout, "  ... %d more (see the run for the first %d)\n", len(ws)-10, len(ws))
				break
			}
			fmt.Fprintf(a.stdout, "  %s: %s\n", w.Severity, w.String())
		}
		if err != nil {
			// The summary above already says why; the error only sets the exit status
			// and says where to look again.
			if !strings.Contains(string(run.Warnings), `"severity":"error"`) {
				fmt.Fprintf(a.stdout, "  error: %s\n", run.Error)
			}
			return fmt.Errorf("import %s failed; the run is %s (GET /api/v1/imports/%s)", run.PluginName, run.ID, run.ID)
		}
	}
	return err
}

// progressReporter draws a progress bar on a terminal and prints phase changes
// otherwise (logs and CI read lines, not redraws).
func (a *app) progressReporter() func(importer.Progress) {
	f, isFile := a.stderr.(*os.File)
	if isFile && term.IsTerminal(int(f.Fd())) {
		var bar *progressbar.ProgressBar
		phase := ""
		return func(p importer.Progress) {
			if p.Phase != phase || bar == nil {
				if bar != nil {
					_ = bar.Finish()
				}
				phase = p.Phase
				if phase == "done" || phase == "failed" {
					bar = nil
					return
				}
				bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(a.stderr), progressbar.OptionSetDescription(phase),
					progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
			}
			if p.Total > 0 {
				bar.ChangeMax64(p.Total)
				_ = bar.Set64(p.Done)
			} else {
				_ = bar.Set64(p.Records)
			}
			if p.Message != "" {
				bar.Describe(phase + ": " + p.Message)
			}
		}
	}
	phase := ""
	return func(p importer.Progress) {
		if p.Phase != phase {
			phase = p.Phase
			if phase == "failed" {
				return // the summary on stdout says how and why, once
			}
			fmt.Fprintf(a.stderr, "import: %s (%d records received, %d warnings)\n", phase, p.Records, p.Warnings)
		}
	}
}

func (a *app) pluginsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "List and inspect plugins",
	}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List plugins with version, SDK version, kinds and protocol version (major.minor)",
		Long: `List the plugins named in aegis.hcl (each is started briefly to ask what it offers,
and what it says is remembered) and plugin binaries found in plugin_dir that no block
names (listed, never run).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := a.openStore(ctx, true)
			if err != nil {
				return err
			}
			defer st.Close()
			rows, err := importer.Discover(ctx, st, a.host(), true)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			return writePluginTable(a.stdout, rows)
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(list)
	return cmd
}

func writePluginTable(w io.Writer, rows []core.PluginStatus) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tSDK\tKINDS\tPROTOCOL\tRECORDS\tSTATUS\tPATH")
	for _, r := range rows {
		version, sdkVersion, proto := r.Version, r.SDKVersion, fmt.Sprintf("%d.%d", r.ProtocolVersion, r.ProtocolMinor)
		if version == "" {
			version = "-"
		}
		if sdkVersion == "" {
			sdkVersion = "-"
		}
		if r.ProtocolVersion == 0 {
			proto = "-"
		}
		status := r.Status
		if r.LastError != "" {
			status += ": " + r.LastError
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, version, sdkVersion, strings.Join(r.Kinds, ","), proto,
			strings.Join(r.RecordKinds, ","), status, r.Path)
	}
	return tw.Flush()
}
