package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/source"
)

// config is the plugin's `config { ... }` block from aegis.hcl.
type config struct {
	// Delimiter separates fields; default ",".
	Delimiter string `json:"delimiter"`
	// Templates and Rules are globs, relative to the source, naming the files.
	Templates string `json:"templates"`
	Rules     string `json:"rules"`
}

const configSchema = `{
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "delimiter": {"type": "string", "minLength": 1, "maxLength": 1, "default": ","},
    "templates": {"type": "string", "default": "**/templates.csv"},
    "rules":     {"type": "string", "default": "**/rules.csv"}
  }
}`

func decodeConfig(raw json.RawMessage) (config, error) {
	return sdk.DecodeConfig(raw, config{Delimiter: ",", Templates: "**/templates.csv", Rules: "**/rules.csv"})
}

type importer struct{}

func (*importer) Describe() sdk.Component {
	return sdk.Component{
		Description:  "In-house test templates (templates.csv) and detection rules (rules.csv) from CSV files",
		RecordKinds:  []string{sdk.KindTestTemplate, sdk.KindDetectionRule},
		ConfigSchema: json.RawMessage(configSchema),
	}
}

func (*importer) ValidateConfig(_ context.Context, raw json.RawMessage) sdk.Diagnostics {
	var ds sdk.Diagnostics
	c, err := decodeConfig(raw)
	if err != nil {
		ds.AddError("invalid csv config", err.Error(), sdk.ConfigKey(err))
		return ds
	}
	if len([]rune(c.Delimiter)) != 1 || c.Delimiter == "\"" || c.Delimiter == "\n" || c.Delimiter == "\r" {
		ds.AddError(fmt.Sprintf("delimiter %q must be a single character other than a quote or newline", c.Delimiter), "", "delimiter")
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

	var files []csvFile
	if tree.File() != "" {
		// A single file may have any name: its header says what it holds.
		kind, err := classify(tree.File(), cfg)
		if err != nil {
			return err
		}
		files = append(files, csvFile{path: tree.File(), rel: tree.Source(), kind: kind})
	} else {
		for _, k := range []*fileKind{templatesKind, rulesKind} {
			pattern := cfg.Templates
			if k == rulesKind {
				pattern = cfg.Rules
			}
			found, err := tree.Glob(pattern)
			if err != nil {
				return err
			}
			for _, f := range found {
				files = append(files, csvFile{path: f.Path, rel: f.Rel, kind: k})
			}
		}
	}
	if len(files) == 0 {
		return fmt.Errorf("no CSV files in %s (looked for %s and %s)", tree.Source(), cfg.Templates, cfg.Rules)
	}
	if tree.File() == "" {
		read := make([]source.File, len(files))
		for i, f := range files {
			read[i] = source.File{Path: f.path, Rel: f.rel}
		}
		left, err := tree.LeftOut(read)
		if err != nil {
			return err
		}
		source.WarnLeftOut(out, left, func(string) string {
			return "matches neither the templates pattern " + cfg.Templates + " nor the rules pattern " + cfg.Rules
		})
	}
	for i, f := range files {
		out.Progress(int64(i), int64(len(files)), "reading "+f.rel)
		if err := importFile(ctx, f, cfg, out); err != nil {
			return fmt.Errorf("%s: %w", f.rel, err)
		}
	}
	out.Progress(int64(len(files)), int64(len(files)), fmt.Sprintf("%d records", out.Count()))
	return nil
}

type csvFile struct {
	path, rel string
	kind      *fileKind
}

// fileKind describes one CSV layout: its columns and how a row becomes a record.
type fileKind struct {
	name     string
	columns  []string
	required []string
	record   func(row map[string]string) sdk.Record
}

var templatesKind = &fileKind{
	name:     "templates",
	columns:  []string{"id", "name", "description", "technique_ids", "platforms", "executor", "command", "cleanup"},
	required: []string{"id", "name"},
	record: func(row map[string]string) sdk.Record {
		t := &sdk.TestTemplate{
			ExternalID:   row["id"],
			Name:         row["name"],
			Description:  row["description"],
			TemplateType: sdk.TemplateCustom,
			TechniqueIDs: techniqueIDs(row["technique_ids"]),
			Platforms:    list(row["platforms"], strings.ToLower),
		}
		if row["executor"] != "" || row["command"] != "" || row["cleanup"] != "" {
			t.Executor = sdk.Executor{Name: row["executor"], Command: row["command"], Cleanup: row["cleanup"]}
		}
		return t
	},
}

var rulesKind = &fileKind{
	name:     "rules",
	columns:  []string{"id", "title", "description", "technique_ids", "level", "status", "language", "query"},
	required: []string{"id", "title", "query"},
	record: func(row map[string]string) sdk.Record {
		return &sdk.DetectionRule{
			ExternalID:   row["id"],
			Title:        row["title"],
			Description:  row["description"],
			Format:       sdk.RuleCustom,
			TechniqueIDs: techniqueIDs(row["technique_ids"]),
			Level:        strings.ToLower(row["level"]),
			Status:       row["status"],
			Language:     row["language"],
			Query:        row["query"],
		}
	},
}

// list splits a ";"-separated cell, trimming and dropping empty items.
func list(cell string, norm func(string) string) []string {
	var out []string
	for _, s := range strings.Split(cell, ";") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, norm(s))
		}
	}
	return out
}

func techniqueIDs(cell string) []string { return list(cell, strings.ToUpper) }

// classify picks the layout of a single-file source from its header.
func classify(path string, cfg config) (*fileKind, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	header, err := newReader(f, cfg).Read()
	if err != nil {
		return nil, fmt.Errorf("%s: read header: %w", path, err)
	}
	cols := normaliseHeader(header)
	switch {
	case slices.Contains(cols, "title"):
		return rulesKind, nil
	case slices.Contains(cols, "name"):
		return templatesKind, nil
	}
	return nil, fmt.Errorf("%s: header has neither a name column (templates) nor a title column (rules)", path)
}

func newReader(r io.Reader, cfg config) *csv.Reader {
	cr := csv.NewReader(r)
	cr.Comma = []rune(cfg.Delimiter)[0]
	cr.FieldsPerRecord = -1 // row length is checked per row, with a warning
	return cr
}

func normaliseHeader(header []string) []string {
	cols := make([]string, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // Excel's byte-order mark
		}
		cols[i] = strings.ToLower(strings.TrimSpace(h))
	}
	return cols
}

// importFile streams one CSV file. Problems with single rows are warnings
// and the import goes on; only an unusable file or a broken stream fails it.
func importFile(ctx context.Context, f csvFile, cfg config, out *sdk.Emitter) error {
	fh, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer fh.Close()
	r := newReader(fh, cfg)
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		out.Warn(f.rel, 1, "", "empty file", "")
		return nil
	}
	if err != nil {
		return fmt.Errorf("read header: %w", err)
	}
	cols := normaliseHeader(header)
	index := map[string]int{}
	for i, c := range cols {
		if _, dup := index[c]; dup {
			return fmt.Errorf("line 1: column %q appears twice", c)
		}
		index[c] = i
		if !slices.Contains(f.kind.columns, c) {
			out.Warn(f.rel, 1, "", fmt.Sprintf("unknown column %q ignored", c), "known columns: "+strings.Join(f.kind.columns, ", "))
		}
	}
	for _, c := range f.kind.required {
		if _, ok := index[c]; !ok {
			return fmt.Errorf("line 1: %s file lacks the required column %q", f.kind.name, c)
		}
	}

	seen := map[string]int{}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		fields, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			out.Warn(f.rel, pe.StartLine, "", "skipped malformed row", pe.Err.Error())
			continue
		}
		if err != nil {
			return err
		}
		line, _ := r.FieldPos(0)
		if len(fields) != len(cols) {
			out.Warn(f.rel, line, "", fmt.Sprintf("skipped row with %d fields, header has %d", len(fields), len(cols)), "")
			continue
		}
		row := make(map[string]string, len(cols))
		for c, i := range index {
			row[c] = strings.TrimSpace(fields[i])
		}
		id := row["id"]
		if first, dup := seen[id]; dup && id != "" {
			out.Warn(f.rel, line, id, fmt.Sprintf("skipped duplicate id (first on line %d)", first), "")
			continue
		}
		err = out.RecordAt(f.kind.record(row), f.rel, line)
		var ve *sdk.ValidationError
		if errors.As(err, &ve) {
			out.Diagnostic(sdk.Diagnostic{
				Severity: sdk.SeverityWarning, File: f.rel, Line: line, ExternalID: id,
				Summary: "skipped invalid row", Detail: err.Error(), Attribute: ve.Problems[0].Field,
			})
			continue
		}
		if err != nil {
			return err
		}
		seen[id] = line
	}
}
