package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/source"
)

// config is the plugin's `config { ... }` block from aegis.hcl.
type config struct {
	// Files are globs, relative to the source, naming the technique files.
	Files []string `json:"files"`
	// Platforms, when set, keeps only tests that support one of them.
	Platforms []string `json:"platforms"`
}

// defaultFiles match atomics/T1003/T1003.yaml and atomics/T1003.001/T1003.001.yaml
// whether the source is the repository, its atomics folder or an archive of
// either, and nothing else in the repository (src/, bin/, Indexes/).
var defaultFiles = []string{
	"**/T[0-9][0-9][0-9][0-9].yaml",
	"**/T[0-9][0-9][0-9][0-9].[0-9][0-9][0-9].yaml",
	"**/T[0-9][0-9][0-9][0-9].yml",
	"**/T[0-9][0-9][0-9][0-9].[0-9][0-9][0-9].yml",
}

// plainFiles are read when no file matches the configured names.
var plainFiles = []string{"**/*.yaml", "**/*.yml"}

const configSchema = `{
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "files": {
      "type": "array", "items": {"type": "string", "minLength": 1},
      "description": "Globs (relative to the source, ** for any folders) naming the technique files; default: atomics/T*/T*.yaml at any depth",
      "default": ["**/T[0-9][0-9][0-9][0-9].yaml", "**/T[0-9][0-9][0-9][0-9].[0-9][0-9][0-9].yaml", "**/T[0-9][0-9][0-9][0-9].yml", "**/T[0-9][0-9][0-9][0-9].[0-9][0-9][0-9].yml"]
    },
    "platforms": {
      "type": "array", "items": {"type": "string", "minLength": 1},
      "description": "Import only tests supporting one of these platforms (windows, linux, macos, iaas:aws, ...); default: all"
    }
  }
}`

func decodeConfig(raw json.RawMessage) (config, error) {
	c, err := sdk.DecodeConfig(raw, config{})
	if err != nil {
		return c, err
	}
	if len(c.Files) == 0 {
		c.Files = defaultFiles
	}
	for i, p := range c.Platforms {
		c.Platforms[i] = strings.ToLower(strings.TrimSpace(p))
	}
	return c, nil
}

type importer struct{}

func (*importer) Describe() sdk.Component {
	return sdk.Component{
		Description:  "Atomic Red Team tests (atomics/T*/T*.yaml): one test template per atomic test",
		RecordKinds:  []string{sdk.KindTestTemplate},
		ConfigSchema: json.RawMessage(configSchema),
	}
}

func (*importer) ValidateConfig(_ context.Context, raw json.RawMessage) sdk.Diagnostics {
	var ds sdk.Diagnostics
	c, err := decodeConfig(raw)
	if err != nil {
		ds.AddError("invalid atomic config", err.Error(), sdk.ConfigKey(err))
		return ds
	}
	for i, g := range c.Files {
		if strings.TrimSpace(g) == "" {
			ds.AddError("empty glob", "", fmt.Sprintf("files[%d]", i))
		} else if _, err := path.Match(strings.ReplaceAll(g, "**", "*"), ""); err != nil {
			ds.AddError(fmt.Sprintf("bad glob %q", g), err.Error(), fmt.Sprintf("files[%d]", i))
		}
	}
	for i, p := range c.Platforms {
		if p == "" {
			ds.AddError("empty platform", "", fmt.Sprintf("platforms[%d]", i))
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
	files, err := tree.Glob(cfg.Files...)
	if err != nil {
		return err
	}
	plain := len(files) == 0
	if plain {
		// No file has the repository's names (atomics/T1003/T1003.yaml): the
		// source is a plain folder of atomic files (any names), read whole, as
		// Sigma and Elastic read a plain folder of rules. Files that are not
		// atomic technique files are named in warnings by the parser.
		if files, err = tree.Glob(plainFiles...); err != nil {
			return err
		}
		if len(files) > 0 {
			out.Warn("", 0, "", "no file matched the configured names; the whole source is read as a folder of atomic files",
				"files: "+strings.Join(cfg.Files, ", ")+"; source: "+tree.Source())
		}
	}
	if len(files) == 0 {
		return fmt.Errorf("no Atomic Red Team technique files in %s (looked for %s, then any .yaml or .yml file)", tree.Source(), strings.Join(cfg.Files, ", "))
	}
	patterns := cfg.Files
	if plain {
		patterns = plainFiles
	}
	left, err := tree.LeftOut(files)
	if err != nil {
		return err
	}
	source.WarnLeftOut(out, left, func(string) string { return "matches none of the file patterns " + strings.Join(patterns, ", ") })

	seen := map[string]string{} // external id → file:line of its first test
	filtered, unchanged := 0, 0
	// A technique file's tests depend on it alone: an unchanged one is skipped and
	// the host keeps its tests.
	tr := source.NewTracker(req.PreviousFiles, out)
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		out.Progress(int64(i), int64(len(files)), "reading "+f.Rel)
		if tr.Unchanged(f) {
			unchanged++
			continue
		}
		data, err := tr.ReadFile(f)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Rel, err)
		}
		parsed, problems := parseFile(f.Rel, data)
		for _, pr := range problems {
			out.Warn(f.Rel, pr.line, pr.id, pr.summary, pr.detail)
		}
		for _, it := range parsed {
			t := it.rec
			if len(cfg.Platforms) > 0 && !slices.ContainsFunc(t.Platforms, func(p string) bool { return slices.Contains(cfg.Platforms, p) }) {
				filtered++
				continue
			}
			pos := fmt.Sprintf("%s:%d", f.Rel, it.line)
			if first, dup := seen[t.ExternalID]; dup {
				out.Warn(f.Rel, it.line, t.ExternalID, "skipped test with a duplicate id (first at "+first+")", "")
				continue
			}
			err := out.RecordAt(t, f.Rel, it.line)
			var ve *sdk.ValidationError
			if errors.As(err, &ve) {
				out.Warn(f.Rel, it.line, t.ExternalID, "skipped invalid test", err.Error())
				continue
			}
			if err != nil {
				return err
			}
			seen[t.ExternalID] = pos
		}
	}
	msg := fmt.Sprintf("%d atomic tests from %d files", out.Count(), len(files)-unchanged)
	if unchanged > 0 {
		msg += fmt.Sprintf(", %d unchanged files skipped", unchanged)
	}
	if filtered > 0 {
		msg += fmt.Sprintf(" (%d left out by the platforms filter)", filtered)
	}
	out.Progress(int64(len(files)), int64(len(files)), msg)
	return nil
}
