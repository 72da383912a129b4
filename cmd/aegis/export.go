package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/exporter"
	"github.com/aegis-sec/aegis/core/store"
)

func (a *app) exportRunner(st core.Store) *exporter.Runner {
	return &exporter.Runner{Store: st, Host: a.host(), Log: a.log.Named("export"),
		Resolver: exporter.StoreResolver{Store: st, BaseURL: a.cfg.Server.BaseURL}}
}

func (a *app) exportCmd() *cobra.Command {
	var (
		typ, scope, out string
	)
	cmd := &cobra.Command{
		Use:   "export PLUGIN --out FILE",
		Short: "Run an exporter plugin over a scope and write what it produces",
		Long: `Resolve a scope, stream it to the exporter of a plugin named in aegis.hcl and write
the artifact to --out (or, when the exporter produces several files, into the folder
--out). The run is recorded with its size and sha256; a failed run writes nothing.

Scopes: organisation (default), tactic:TA0002 (or tactic:execution), actor:G0016,
campaign:ID, snapshot:ID, diff:OLD..NEW (two snapshots), rules[:key=value,...] (keys:
search, technique, platform, source, level, status, format). Coverage scopes carry the
numbers of the coverage API (docs/PLUGINS.md, "The Scope JSON").`,
		Example: `  aegis export navigator --scope actor:G0016 --out apt29.json
  aegis export navigator --scope diff:OLD..NEW --out change.json
  aegis export report --type html --scope organisation --out coverage.html
  aegis export splunk --scope rules:source=sigma,level=high --out high.spl`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("--out is required: the file (or folder, for several artifacts) to write")
			}
			sc, err := core.ParseExportScope(scope)
			if err != nil {
				return userError(err)
			}
			ctx := cmd.Context()
			st, err := a.openStore(ctx, true)
			if err != nil {
				return err
			}
			defer st.Close()
			return a.runExport(ctx, st, exporter.Options{Plugin: args[0], Type: typ, Scope: sc, TriggeredBy: "cli"}, out)
		},
	}
	cmd.Flags().StringVar(&typ, "type", "", "exporter type, for plugins with several exporters")
	cmd.Flags().StringVar(&scope, "scope", "organisation", "what to export (see above)")
	cmd.Flags().StringVar(&out, "out", "", "file to write (a folder when the exporter produces several files)")
	return cmd
}

func (a *app) runExport(ctx context.Context, st *store.Store, o exporter.Options, out string) error {
	phase := ""
	o.Progress = func(p core.ExportProgress) {
		if p.Phase != phase {
			phase = p.Phase
			if a.verbose {
				fmt.Fprintf(a.stderr, "export: %s (%d of %d records sent, %d bytes received)\n", phase, p.Records, p.Total, p.Bytes)
			}
		}
	}
	res, err := a.exportRunner(st).Run(ctx, o)
	if err != nil {
		if res != nil && res.Run != nil {
			return fmt.Errorf("%w\nthe run is %s (GET /api/v1/exports/%s); nothing was written to %s", userError(err), res.Run.ID, res.Run.ID, out)
		}
		return userError(err)
	}
	written, err := writeArtifacts(res.Artifacts, out)
	if err != nil {
		return err
	}
	run := res.Run
	fmt.Fprintf(a.stdout, "export %s (%s) of %s: %d records, %d bytes in %s, sha256 %s\n", run.PluginName, run.ExporterType,
		o.Scope.String(), run.Records, run.SizeBytes, time.Duration(run.DurationMS)*time.Millisecond, run.SHA256)
	for _, f := range written {
		fmt.Fprintf(a.stdout, "  wrote %s\n", f)
	}
	fmt.Fprintf(a.stdout, "  run %s, %d warnings\n", run.ID, run.WarningCount)
	return nil
}

// writeArtifacts writes one artifact to out, or several into the folder out. Each file
// is written under a temporary name and renamed, so a failure leaves no partial file.
func writeArtifacts(arts []*core.ExportArtifact, out string) ([]string, error) {
	if len(arts) == 1 {
		return []string{out}, writeFileAtomic(out, arts[0].Data)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("the exporter produced %d files, so --out must be a folder: %w", len(arts), err)
	}
	var written []string
	for _, a := range arts {
		p := filepath.Join(out, a.Name) // names are bare file names: the pipeline checked them
		if err := writeFileAtomic(p, a.Data); err != nil {
			return written, err
		}
		written = append(written, p)
	}
	return written, nil
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
