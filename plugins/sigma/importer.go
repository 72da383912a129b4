package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/source"
)

// config is the plugin's `config { ... }` block from aegis.hcl.
type config struct {
	// Folders are the folders of the source to read, e.g. "rules" and
	// "rules-emerging-threats"; empty reads the whole source.
	Folders []string `json:"folders"`
	// Exclude lists globs of files to leave out; given, it replaces the default.
	Exclude []string `json:"exclude"`
	// IncludeDeprecated imports rules with status deprecated, flagged
	// as deprecated (default true).
	IncludeDeprecated *bool `json:"include_deprecated"`
}

// defaultExclude leaves out SigmaHQ's regression samples and test folders
// and CI files; the content check would skip them too, but reading them is
// wasted work and their broken YAML would be reported.
var defaultExclude = []string{"**/regression_data/**", "**/tests/**", "**/.github/**"}

const configSchema = `{
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "folders": {
      "type": "array", "items": {"type": "string", "minLength": 1},
      "description": "Folders of the source to read (e.g. rules, rules-emerging-threats, rules-threat-hunting, rules-compliance, rules-dfir, deprecated); empty reads every .yml/.yaml file of the source"
    },
    "exclude": {
      "type": "array", "items": {"type": "string", "minLength": 1},
      "default": ["**/regression_data/**", "**/tests/**", "**/.github/**"],
      "description": "Globs (relative to the source, ** for any folders) of files to leave out; replaces the default"
    },
    "include_deprecated": {"type": "boolean", "default": true, "description": "Import rules with status deprecated, flagged as deprecated"}
  }
}`

// maxFileSize bounds one rule file; Sigma rules are a few KiB.
const maxFileSize = 8 << 20

func decodeConfig(raw json.RawMessage) (config, error) {
	var c config
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return c, err
		}
	}
	if c.Exclude == nil {
		c.Exclude = defaultExclude
	}
	if c.IncludeDeprecated == nil {
		yes := true
		c.IncludeDeprecated = &yes
	}
	return c, nil
}

type importer struct{}

func (*importer) Describe() sdk.Component {
	return sdk.Component{
		Description:  "Sigma rules (SigmaHQ or any Sigma collection): detection, correlation and filter rules as detection rules",
		RecordKinds:  []string{sdk.KindDetectionRule},
		ConfigSchema: json.RawMessage(configSchema),
	}
}

func (*importer) ValidateConfig(_ context.Context, raw json.RawMessage) sdk.Diagnostics {
	var ds sdk.Diagnostics
	c, err := decodeConfig(raw)
	if err != nil {
		ds.AddError("invalid sigma config", err.Error(), "")
		return ds
	}
	for i, f := range c.Folders {
		if err := checkFolder(f); err != nil {
			ds.AddError(err.Error(), "", fmt.Sprintf("folders[%d]", i))
		}
	}
	for i, g := range c.Exclude {
		if _, err := path.Match(strings.ReplaceAll(g, "**", "*"), ""); err != nil || strings.TrimSpace(g) == "" {
			ds.AddError(fmt.Sprintf("exclude pattern %q is not a valid glob", g), "", fmt.Sprintf("exclude[%d]", i))
		}
	}
	return ds
}

func checkFolder(f string) error {
	clean := path.Clean(filepath.ToSlash(f))
	if strings.TrimSpace(f) == "" || path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return fmt.Errorf("folder %q must be a path inside the source", f)
	}
	return nil
}

func (*importer) Import(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
	cfg, err := decodeConfig(req.Config)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	tree, err := source.Open(ctx, req.Source, source.Options{})
	if err != nil {
		return err
	}
	defer tree.Close()

	files, err := ruleFiles(tree, cfg, out)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no .yml or .yaml files in %s", describeScope(tree, cfg))
	}

	first := map[string]string{} // rule id → where it was first seen
	var candidates, skippedDeprecated int
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if i%100 == 0 {
			out.Progress(int64(i), int64(len(files)), "reading "+f.Rel)
		}
		data, err := readFile(f.Path)
		if err != nil {
			out.Warn(f.Rel, 0, "", "skipped unreadable file", err.Error())
			continue
		}
		res := parseFile(data)
		candidates += res.candidates
		for _, p := range res.problems {
			out.Warn(f.Rel, p.line, p.id, p.summary, p.detail)
		}
		for _, pr := range res.rules {
			r := pr.rule
			if r.Deprecated && !*cfg.IncludeDeprecated {
				skippedDeprecated++
				continue
			}
			if where, dup := first[r.ExternalID]; dup {
				out.Warn(f.Rel, pr.line, r.ExternalID, "skipped rule: duplicate id", "first defined at "+where)
				continue
			}
			err := out.RecordAt(r, f.Rel, pr.line)
			var ve *sdk.ValidationError
			if errors.As(err, &ve) {
				out.Diagnostic(sdk.Diagnostic{Severity: sdk.SeverityWarning, File: f.Rel, Line: pr.line, ExternalID: r.ExternalID,
					Summary: "skipped invalid rule", Detail: err.Error(), Attribute: ve.Problems[0].Field})
				continue
			}
			if err != nil {
				return err
			}
			first[r.ExternalID] = fmt.Sprintf("%s:%d", f.Rel, pr.line)
		}
	}
	if candidates == 0 {
		// Importing nothing would mark every rule imported earlier from this
		// source as deprecated: a source without a single Sigma rule is far
		// more likely a wrong path than an empty collection.
		return fmt.Errorf("no Sigma rules in %s: %d YAML files read, none holds a document with title, logsource and detection, correlation or filter",
			describeScope(tree, cfg), len(files))
	}
	msg := fmt.Sprintf("%d rules from %d files", out.Count(), len(files))
	if skippedDeprecated > 0 {
		msg += fmt.Sprintf(", %d deprecated rules left out", skippedDeprecated)
	}
	out.Progress(int64(len(files)), int64(len(files)), msg)
	return nil
}

// ruleFiles lists the YAML files to read, sorted, without the excluded ones.
func ruleFiles(tree *source.Tree, cfg config, out *sdk.Emitter) ([]source.File, error) {
	if tree.File() != "" {
		return []source.File{{Path: tree.File(), Rel: filepath.Base(tree.File())}}, nil
	}
	var patterns []string
	if len(cfg.Folders) == 0 {
		patterns = []string{"**/*.yml", "**/*.yaml"}
	}
	for _, f := range cfg.Folders {
		if err := checkFolder(f); err != nil {
			return nil, err
		}
		dir := path.Clean(filepath.ToSlash(f))
		if st, err := os.Stat(tree.Path(dir)); err != nil || !st.IsDir() {
			out.Warn(dir, 0, "", "configured folder not found in the source", "source: "+tree.Source())
			continue
		}
		patterns = append(patterns, dir+"/**/*.yml", dir+"/**/*.yaml")
	}
	if len(patterns) == 0 {
		return nil, nil
	}
	found, err := tree.Glob(patterns...)
	if err != nil {
		return nil, err
	}
	var files []source.File
	for _, f := range found {
		if !excluded(f.Rel, cfg.Exclude) {
			files = append(files, f)
		}
	}
	return files, nil
}

func excluded(rel string, patterns []string) bool {
	for _, p := range patterns {
		if source.Match(p, rel) {
			return true
		}
	}
	return false
}

func describeScope(tree *source.Tree, cfg config) string {
	if len(cfg.Folders) == 0 {
		return tree.Source()
	}
	return fmt.Sprintf("%s (folders %s)", tree.Source(), strings.Join(cfg.Folders, ", "))
}

func readFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("larger than %d MiB", maxFileSize>>20)
	}
	return data, nil
}
