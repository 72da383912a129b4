package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/aegis-sec/aegis/plugins/internal/rulefiles"
	"path"
	"regexp"
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
	// IncludeDeprecated imports rules with status deprecated or unsupported, flagged
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
    "include_deprecated": {"type": "boolean", "default": true, "description": "Import rules with status deprecated or unsupported, flagged as deprecated"}
  }
}`

func decodeConfig(raw json.RawMessage) (config, error) {
	c, err := sdk.DecodeConfig(raw, config{})
	if err != nil {
		return c, err
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
		ds.AddError("invalid sigma config", err.Error(), sdk.ConfigKey(err))
		return ds
	}
	for i, f := range c.Folders {
		if err := rulefiles.CheckFolder(f); err != nil {
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

	files, err := rulefiles.Find(tree, cfg.scope(), out)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no .yml or .yaml files in %s", rulefiles.Describe(tree, cfg.scope()))
	}

	first := map[string]string{} // rule id → where it was first seen
	var candidates, skippedDeprecated, unsupported, unchanged int
	// Each file's rules depend on that file alone: an unchanged one is skipped and
	// the host keeps its rules (a rule id also in a changed file is the host's
	// duplicate to report).
	tr := source.NewTracker(req.PreviousFiles, out)
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if i%100 == 0 {
			out.Progress(int64(i), int64(len(files)), "reading "+f.Rel)
		}
		if tr.Unchanged(f) {
			unchanged++
			continue
		}
		data, err := rulefiles.ReadTracked(tr, f)
		if err != nil {
			out.Warn(f.Rel, 0, "", "skipped unreadable file", err.Error())
			continue
		}
		res := parseFile(data)
		candidates += res.candidates
		if res.candidates == 0 && len(res.problems) == 0 {
			// Every file under the source is read or named. A rule cut short before
			// its logsource and detection is a damaged file: named as skipped, which
			// keeps the rules it held before. A file read whole that holds no rule
			// (empty, comments, a tool's configuration) is named without a file
			// attribute, so that the rules it held before are deprecated.
			if ruleStart.Match(data) {
				out.Warn(f.Rel, 0, "", "skipped file: a Sigma rule without logsource and detection, correlation or filter (cut short?)", "")
			} else {
				why := "no document with title, logsource and detection, correlation or filter"
				if strings.TrimSpace(strings.TrimPrefix(string(data), "\ufeff")) == "" {
					why = "the file is empty"
				}
				out.Warn("", 0, "", f.Rel+": file read, no Sigma rule in it", why)
			}
		}
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
			if r.Status == "unsupported" {
				unsupported++
				out.Warn(f.Rel, pr.line, r.ExternalID, "rule has status unsupported: stored as deprecated, not active",
					"Sigma marks rules no backend can convert as unsupported; they are kept but neither counted nor evaluated as active rules")
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
	if candidates == 0 && unchanged == 0 {
		// Importing nothing would mark every rule imported earlier from this
		// source as deprecated: a source without a single Sigma rule is far
		// more likely a wrong path than an empty collection.
		return fmt.Errorf("no Sigma rules in %s: %d YAML files read, none holds a document with title, logsource and detection, correlation or filter",
			rulefiles.Describe(tree, cfg.scope()), len(files))
	}
	msg := fmt.Sprintf("%d rules from %d files", out.Count(), len(files)-unchanged)
	if unchanged > 0 {
		msg += fmt.Sprintf(", %d unchanged files skipped", unchanged)
	}
	if unsupported > 0 {
		msg += fmt.Sprintf(", %d with status unsupported stored as deprecated", unsupported)
	}
	if skippedDeprecated > 0 {
		msg += fmt.Sprintf(", %d deprecated rules left out", skippedDeprecated)
	}
	out.Progress(int64(len(files)), int64(len(files)), msg)
	return nil
}

// ruleStart finds a top-level title key, the start of a Sigma rule.
var ruleStart = regexp.MustCompile(`(?m)^(?:\x{feff})?title[ \t]*:`)

// scope is the part of the source this config reads.
func (c config) scope() rulefiles.Scope {
	return rulefiles.Scope{Folders: c.Folders, Exclude: c.Exclude, Extensions: []string{".yml", ".yaml"}}
}
