package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/aegis-sec/aegis/plugins/internal/rulefiles"
	"path"
	"strings"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/source"
)

// config is the plugin's `config { ... }` block from aegis.hcl.
type config struct {
	// Folders are the folders of the source to read, e.g. "rules" and
	// "rules_building_block"; empty reads the whole source.
	Folders []string `json:"folders"`
	// Exclude lists globs of files to leave out; given, it replaces the default.
	Exclude []string `json:"exclude"`
	// IncludeDeprecated imports rules of maturity deprecated, flagged
	// as deprecated (default true).
	IncludeDeprecated *bool `json:"include_deprecated"`
	// IncludeBuildingBlocks imports building-block rules (default true).
	IncludeBuildingBlocks *bool `json:"include_building_blocks"`
}

// defaultExclude leaves out the repository's test fixtures and CI files.
var defaultExclude = []string{"**/tests/**", "**/.github/**"}

const configSchema = `{
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "folders": {
      "type": "array", "items": {"type": "string", "minLength": 1},
      "description": "Folders of the source to read (e.g. rules, rules_building_block); empty reads every .toml file of the source"
    },
    "exclude": {
      "type": "array", "items": {"type": "string", "minLength": 1},
      "default": ["**/tests/**", "**/.github/**"],
      "description": "Globs (relative to the source, ** for any folders) of files to leave out; replaces the default"
    },
    "include_deprecated": {"type": "boolean", "default": true, "description": "Import rules of maturity deprecated (rules/_deprecated), flagged as deprecated"},
    "include_building_blocks": {"type": "boolean", "default": true, "description": "Import building-block rules (building_block_type set)"}
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
	yes := true
	if c.IncludeDeprecated == nil {
		c.IncludeDeprecated = &yes
	}
	if c.IncludeBuildingBlocks == nil {
		c.IncludeBuildingBlocks = &yes
	}
	return c, nil
}

type importer struct{}

func (*importer) Describe() sdk.Component {
	return sdk.Component{
		Description:  "Elastic detection rules (elastic/detection-rules TOML) with their ATT&CK tactics, techniques and sub-techniques",
		RecordKinds:  []string{sdk.KindDetectionRule},
		ConfigSchema: json.RawMessage(configSchema),
	}
}

func (*importer) ValidateConfig(_ context.Context, raw json.RawMessage) sdk.Diagnostics {
	var ds sdk.Diagnostics
	c, err := decodeConfig(raw)
	if err != nil {
		ds.AddError("invalid elastic config", err.Error(), sdk.ConfigKey(err))
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
		return fmt.Errorf("no .toml files in %s", rulefiles.Describe(tree, cfg.scope()))
	}

	first := map[string]string{} // rule_id → where it was first seen
	var candidates, leftOut, hunts, unchanged int
	// One rule per file: an unchanged file is skipped and the host keeps its rule.
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
		p := parseRule(data)
		if p.candidate {
			candidates++
		} else {
			// Every file under the source is imported or named: a TOML file
			// that is neither a rule nor a hunting query says so.
			out.Warn(f.Rel, 0, "", "skipped file: neither a detection rule ([rule]) nor a hunting query ([hunt])", "")
		}
		for _, pr := range p.problems {
			out.Warn(f.Rel, pr.line, pr.id, pr.summary, pr.detail)
		}
		r := p.rule
		if r == nil {
			continue
		}
		if (r.Deprecated && !*cfg.IncludeDeprecated) || (r.Metadata["building_block_type"] != nil && !*cfg.IncludeBuildingBlocks) {
			leftOut++
			continue
		}
		if where, dup := first[r.ExternalID]; dup {
			out.Warn(f.Rel, p.line, r.ExternalID, "skipped rule: duplicate rule_id", "first defined at "+where)
			continue
		}
		err = out.RecordAt(r, f.Rel, p.line)
		var ve *sdk.ValidationError
		if errors.As(err, &ve) {
			out.Diagnostic(sdk.Diagnostic{Severity: sdk.SeverityWarning, File: f.Rel, Line: p.line, ExternalID: r.ExternalID,
				Summary: "skipped invalid rule", Detail: err.Error(), Attribute: ve.Problems[0].Field})
			continue
		}
		if err != nil {
			return err
		}
		first[r.ExternalID] = fmt.Sprintf("%s:%d", f.Rel, p.line)
		if r.RuleKind == sdk.RuleKindHunting {
			hunts++
		}
	}
	if candidates == 0 && unchanged == 0 {
		// Importing nothing would mark every rule imported earlier from this
		// source as deprecated: a source without a single rule file is far
		// more likely a wrong path than an empty rule set.
		return fmt.Errorf("no Elastic rules in %s: %d TOML files read, none has a [rule] or [hunt] table", rulefiles.Describe(tree, cfg.scope()), len(files))
	}
	msg := fmt.Sprintf("%d rules from %d files", out.Count()-int64(hunts), len(files)-unchanged)
	if unchanged > 0 {
		msg += fmt.Sprintf(", %d unchanged files skipped", unchanged)
	}
	if hunts > 0 {
		msg += fmt.Sprintf(", %d hunting queries imported as hunting rules", hunts)
	}
	if leftOut > 0 {
		msg += fmt.Sprintf(", %d deprecated or building-block rules left out by the config", leftOut)
	}
	out.Progress(int64(len(files)), int64(len(files)), msg)
	return nil
}

// scope is the part of the source this config reads.
func (c config) scope() rulefiles.Scope {
	return rulefiles.Scope{Folders: c.Folders, Exclude: c.Exclude, Extensions: []string{".toml"}}
}
