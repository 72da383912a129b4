package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/exporter"
	"github.com/aegis-sec/aegis/sdk"
)

func (a *app) convertCmd() *cobra.Command {
	var typ string
	cmd := &cobra.Command{
		Use:   "convert BACKEND PATH...",
		Short: "Convert Sigma rule files or folders to a SIEM query language, without a database",
		Long: `Read the Sigma rules under each PATH (files, or folders searched for .yml and .yaml
files), send them to the exporter plugin BACKEND named in aegis.hcl (splunk, lucene, kql,
or any other converter) and print one JSON object per rule:

  {"file":"...","id":"...","title":"...","queries":["..."]}
  {"file":"...","id":"...","title":"...","unsupported":"why the backend cannot express it"}
  {"file":"...","id":"...","error":"why the rule cannot be read"}

No database is opened. The command fails when the plugin fails; a rule that cannot be
converted is a line, not a failure.`,
		Example: `  aegis convert splunk rules/windows/process_creation
  aegis convert kql rule.yml other.yml`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.load(); err != nil {
				return err
			}
			files, err := sigmaFiles(args[1:])
			if err != nil {
				return err
			}
			res := &exporter.Resolved{}
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					return fmt.Errorf("read %s: %w", f, err)
				}
				res.Records = append(res.Records, &sdk.DetectionRule{ExternalID: f, Title: filepath.Base(f),
					Format: sdk.RuleSigma, Raw: string(data), Metadata: map[string]any{"file": f}})
			}
			res.ScopeJSON, _ = json.Marshal(sdk.Scope{Kind: core.ScopeRules, Title: "aegis convert", GeneratedAt: core.Now(),
				Records: map[string]int{sdk.KindDetectionRule: len(res.Records)}})
			arts, warnings, err := exporter.Convert(cmd.Context(), a.host(), args[0], typ, res)
			if err != nil {
				return fmt.Errorf("convert: %w", err)
			}
			for _, w := range warnings {
				fmt.Fprintf(a.stderr, "%s: %s\n", w.Severity, w.String())
			}
			for _, art := range arts {
				if !bytes.HasSuffix(art.Data, []byte("\n")) && len(art.Data) > 0 {
					art.Data = append(art.Data, '\n')
				}
				w := bufio.NewWriter(a.stdout)
				w.Write(art.Data)
				if err := w.Flush(); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&typ, "type", "", "exporter type, for plugins with several exporters")
	return cmd
}

// sigmaFiles lists the rule files of the given paths in a stable order: a file as
// given, a folder's .yml and .yaml files below it.
func sigmaFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != p && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".yml") || strings.HasSuffix(path, ".yaml")) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s holds no .yml or .yaml file", p)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}
