package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/aegis-sec/aegis/plugins/internal/yamlnode"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/source"
)

// Layouts the importer reads.
const (
	layoutAuto     = "auto"
	layoutLOLBAS   = "lolbas"
	layoutGTFOBins = "gtfobins"
)

// config is the plugin's `config { ... }` block from aegis.hcl.
type config struct {
	// Layout is auto (whatever the source holds), lolbas or gtfobins.
	Layout string `json:"layout"`
	// LOLBASFiles and GTFOBinsFiles are globs relative to the source.
	LOLBASFiles   []string `json:"lolbas_files"`
	GTFOBinsFiles []string `json:"gtfobins_files"`
}

var (
	defaultLOLBAS   = []string{"**/yml/**/*.yml", "**/yml/**/*.yaml"}
	defaultGTFOBins = []string{"**/_gtfobins/*"}
)

const configSchema = `{
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "layout": {
      "type": "string", "enum": ["auto", "lolbas", "gtfobins"], "default": "auto",
      "description": "auto reads whatever the source holds (a LOLBAS checkout, a GTFOBins checkout, or both); lolbas or gtfobins reads only that layout and fails when the source lacks it"
    },
    "lolbas_files": {
      "type": "array", "items": {"type": "string", "minLength": 1},
      "description": "Globs (relative to the source, ** for any folders) naming LOLBAS entries",
      "default": ["**/yml/**/*.yml", "**/yml/**/*.yaml"]
    },
    "gtfobins_files": {
      "type": "array", "items": {"type": "string", "minLength": 1},
      "description": "Globs naming GTFOBins binary files; _data/functions.yml is read beside their _gtfobins folder",
      "default": ["**/_gtfobins/*"]
    }
  }
}`

func decodeConfig(raw json.RawMessage) (config, error) {
	c, err := sdk.DecodeConfig(raw, config{})
	if c.Layout == "" {
		c.Layout = layoutAuto
	}
	return c, err
}

type importer struct{}

func (*importer) Describe() sdk.Component {
	return sdk.Component{
		Description: "LOLBAS (yml/<Category>/*.yml: one template per command) and GTFOBins (_gtfobins/<binary>: " +
			"one template per binary, function and example, aliases resolved); the source's layout decides which",
		RecordKinds:  []string{sdk.KindTestTemplate},
		ConfigSchema: json.RawMessage(configSchema),
	}
}

func (*importer) ValidateConfig(_ context.Context, raw json.RawMessage) sdk.Diagnostics {
	var ds sdk.Diagnostics
	c, err := decodeConfig(raw)
	if err != nil {
		ds.AddError("invalid lolbas config", err.Error(), sdk.ConfigKey(err))
		return ds
	}
	if !slices.Contains([]string{layoutAuto, layoutLOLBAS, layoutGTFOBins}, c.Layout) {
		ds.AddError(fmt.Sprintf("layout %q is not auto, lolbas or gtfobins", c.Layout), "", "layout")
	}
	for attr, globs := range map[string][]string{"lolbas_files": c.LOLBASFiles, "gtfobins_files": c.GTFOBinsFiles} {
		for i, g := range globs {
			if strings.TrimSpace(g) == "" {
				ds.AddError("empty glob", "", fmt.Sprintf("%s[%d]", attr, i))
			} else if _, err := path.Match(strings.ReplaceAll(g, "**", "*"), ""); err != nil {
				ds.AddError(fmt.Sprintf("bad glob %q", g), err.Error(), fmt.Sprintf("%s[%d]", attr, i))
			}
		}
	}
	return ds
}

// importRun is one import: the emitter and the ids sent so far.
type importRun struct {
	out  *sdk.Emitter
	tr   *source.Tracker
	seen map[string]string // external id → file:line of its record
	done int64
	all  int64
}

func (r *importRun) emit(t *sdk.TestTemplate, rel string, line int) error {
	if first, dup := r.seen[t.ExternalID]; dup {
		r.out.Warn(rel, line, t.ExternalID, "skipped template with a duplicate id (first at "+first+")", "")
		return nil
	}
	err := r.out.RecordAt(t, rel, line)
	var ve *sdk.ValidationError
	if errors.As(err, &ve) {
		r.out.Warn(rel, line, t.ExternalID, "skipped invalid template", err.Error())
		return nil
	}
	if err != nil {
		return err
	}
	r.seen[t.ExternalID] = fmt.Sprintf("%s:%d", rel, line)
	return nil
}

func (r *importRun) progress(msg string) {
	r.out.Progress(r.done, r.all, msg)
	r.done++
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

	lolbasFiles, gtfoFiles, err := findFiles(tree, cfg)
	if err != nil {
		return err
	}
	r := &importRun{out: out, seen: map[string]string{}, all: int64(len(lolbasFiles) + len(gtfoFiles))}
	// Records depend on other files (a duplicate id or Name is decided by the file
	// read first, GTFOBins aliases take their target's functions): the source is
	// skipped whole when no file changed, or read whole.
	r.tr = source.NewTracker(req.PreviousFiles, out)
	all := append(slices.Clone(lolbasFiles), gtfoFiles...)
	if len(gtfoFiles) > 0 {
		if fns := functionsFile(tree, gtfoFiles[0]); fileExists(fns.Path) {
			all = append(all, fns)
		}
	}
	if tree.File() == "" {
		left, err := tree.LeftOut(all)
		if err != nil {
			return err
		}
		source.WarnLeftOut(out, left, func(string) string {
			return "not a LOLBAS entry or GTFOBins binary by the lolbas_files, gtfobins_files and layout settings"
		})
	}
	if r.tr.AllUnchanged(all) {
		out.Progress(r.all, r.all, fmt.Sprintf("the source is unchanged since the previous import: %d files skipped", len(all)))
		return nil
	}

	names := map[string]string{} // entry Name → the file that used it first
	for _, f := range lolbasFiles {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.progress("reading " + f.Rel)
		data, err := r.tr.ReadFile(f)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Rel, err)
		}
		items, ps := parseLOLBASFile(f.Rel, data)
		for _, p := range ps {
			out.Warn(f.Rel, p.line, p.id, p.summary, p.detail)
		}
		if len(items) > 0 {
			name, _ := items[0].rec.Metadata["binary"].(string)
			if first, dup := names[name]; dup {
				out.Warn(f.Rel, 1, "", "entry "+name+" has the same Name as "+first+"; commands whose ids collide are skipped", "")
			} else {
				names[name] = f.Rel
			}
		}
		for _, it := range items {
			if err := r.emit(it.rec, f.Rel, it.line); err != nil {
				return err
			}
		}
	}
	nLOLBAS := out.Count()

	aliases := 0
	if len(gtfoFiles) > 0 {
		if aliases, err = importGTFOBins(ctx, tree, gtfoFiles, r); err != nil {
			return err
		}
	}
	var msg []string
	if len(lolbasFiles) > 0 {
		msg = append(msg, fmt.Sprintf("%d LOLBAS commands from %d files", nLOLBAS, len(lolbasFiles)))
	}
	if len(gtfoFiles) > 0 {
		msg = append(msg, fmt.Sprintf("%d GTFOBins examples from %d files, %d aliases resolved to their targets",
			out.Count()-nLOLBAS, len(gtfoFiles), aliases))
	}
	out.Progress(r.all, r.all, strings.Join(msg, "; "))
	return nil
}

// findFiles lists the LOLBAS entries and GTFOBins binaries in the source, as
// the layout setting allows.
func findFiles(tree *source.Tree, cfg config) (lolbas, gtfo []source.File, err error) {
	if p := tree.File(); p != "" {
		return classifySingle(p, cfg)
	}
	lolbasGlobs, gtfoGlobs := cfg.LOLBASFiles, cfg.GTFOBinsFiles
	// The source may be the yml/ or _gtfobins/ folder itself, or a folder below
	// yml/ (yml/OSBinaries), whose files the default yml/** patterns miss.
	base := filepath.Base(tree.Root())
	if cfg.Layout != layoutGTFOBins && belowFolder(tree.Root(), "yml") {
		base = "yml"
	}
	switch base {
	case "yml":
		if lolbasGlobs == nil {
			lolbasGlobs = []string{"**/*.yml", "**/*.yaml"}
		}
	case "_gtfobins":
		if gtfoGlobs == nil {
			gtfoGlobs = []string{"*"}
		}
	}
	if lolbasGlobs == nil {
		lolbasGlobs = defaultLOLBAS
	}
	if gtfoGlobs == nil {
		gtfoGlobs = defaultGTFOBins
	}
	if cfg.Layout != layoutGTFOBins && len(lolbasGlobs) > 0 {
		if lolbas, err = tree.Glob(lolbasGlobs...); err != nil {
			return nil, nil, err
		}
	}
	if cfg.Layout != layoutLOLBAS && len(gtfoGlobs) > 0 {
		found, err := tree.Glob(gtfoGlobs...)
		if err != nil {
			return nil, nil, err
		}
		for _, f := range found {
			if !strings.HasPrefix(path.Base(f.Rel), ".") { // .DS_Store, .gitkeep
				gtfo = append(gtfo, f)
			}
		}
	}
	switch {
	case cfg.Layout == layoutLOLBAS && len(lolbas) == 0:
		return nil, nil, fmt.Errorf("no LOLBAS entries in %s (looked for %s)", tree.Source(), strings.Join(lolbasGlobs, ", "))
	case cfg.Layout == layoutGTFOBins && len(gtfo) == 0:
		return nil, nil, fmt.Errorf("no GTFOBins binaries in %s (looked for %s)", tree.Source(), strings.Join(gtfoGlobs, ", "))
	case len(lolbas)+len(gtfo) == 0:
		return nil, nil, fmt.Errorf("neither LOLBAS entries nor GTFOBins binaries in %s (looked for %s and %s)",
			tree.Source(), strings.Join(lolbasGlobs, ", "), strings.Join(gtfoGlobs, ", "))
	}
	return lolbas, gtfo, nil
}

// belowFolder reports whether one of the folders above dir (dir excluded) is named name.
func belowFolder(dir, name string) bool {
	for d := filepath.Dir(filepath.Clean(dir)); ; d = filepath.Dir(d) {
		if filepath.Base(d) == name {
			return true
		}
		if up := filepath.Dir(d); up == d {
			return false
		}
	}
}

// classifySingle decides from its content what a single-file source is: a
// mapping with Commands is a LOLBAS entry, front matter with functions or
// alias a GTFOBins binary.
func classifySingle(p string, cfg config) (lolbas, gtfo []source.File, err error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, nil, err
	}
	f := source.File{Path: p, Rel: filepath.Base(p)}
	root, err := yamlnode.FirstDocument(data)
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("%s: %w", f.Rel, err)
	case root.Kind == yaml.MappingNode && yamlnode.Has(root, "Commands") && cfg.Layout != layoutGTFOBins:
		return []source.File{f}, nil, nil
	case root.Kind == yaml.MappingNode && (yamlnode.Has(root, "functions") || yamlnode.Has(root, "alias")) && cfg.Layout != layoutLOLBAS:
		return nil, []source.File{f}, nil
	}
	return nil, nil, fmt.Errorf("%s is neither a LOLBAS entry (Commands) nor a GTFOBins binary (functions or alias)", f.Rel)
}

// importGTFOBins reads every binary first, since aliases and inherit
// examples point at other binaries, then emits the templates in file order.
// It returns how many aliases were resolved.
func importGTFOBins(ctx context.Context, tree *source.Tree, files []source.File, r *importRun) (int, error) {
	out := r.out
	cat := &gtfoCatalog{binaries: map[string]*gtfoBinary{}}
	type located struct {
		b   *gtfoBinary
		rel string
	}
	var order []located
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		r.progress("reading " + f.Rel)
		data, err := r.tr.ReadFile(f)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", f.Rel, err)
		}
		name := strings.TrimSuffix(path.Base(f.Rel), ".md") // older checkouts named them bash.md
		b, ps := parseGTFOBinsFile(name, data)
		for _, p := range ps {
			out.Warn(f.Rel, p.line, p.id, p.summary, p.detail)
		}
		if b == nil {
			continue
		}
		if _, dup := cat.binaries[name]; dup {
			out.Warn(f.Rel, b.line, name, "skipped binary: another file has the same name", "")
			continue
		}
		cat.binaries[name] = b
		order = append(order, located{b, f.Rel})
	}
	var err error
	if cat.functions, err = loadFunctions(functionsFile(tree, files[0]), r.tr, out); err != nil {
		return 0, err
	}

	// Aliases carry no examples: each is recorded on the binary it resolves
	// to (metadata "aliases") instead of being emitted as a copy.
	aliasesOf := map[string][]string{}
	resolved := 0
	for _, l := range order {
		if l.b.alias == "" {
			continue
		}
		target, chain, ok := cat.resolve(l.b.name)
		if !ok {
			out.Warn(l.rel, l.b.line, l.b.name, "alias "+strings.Join(chain, " → ")+" does not lead to a binary with examples; skipped", "")
			continue
		}
		aliasesOf[target] = append(aliasesOf[target], l.b.name)
		resolved++
		sdk.Logger(ctx).Debug("alias resolved", "alias", l.b.name, "target", target)
	}

	unknown := map[string]bool{}
	for _, l := range order {
		if l.b.alias != "" {
			continue
		}
		for _, f := range l.b.functions {
			if _, ok := cat.functions[f.name]; !ok && !unknown[f.name] {
				unknown[f.name] = true
				out.Warn(l.rel, f.line, l.b.name, "function "+f.name+" is not in functions.yml; its examples carry no techniques", "")
			}
		}
		aliases := aliasesOf[l.b.name]
		slices.Sort(aliases)
		for _, it := range cat.templates(l.b, aliases) {
			if err := r.emit(it.rec, l.rel, it.line); err != nil {
				return 0, err
			}
		}
	}
	return resolved, nil
}

// functionsFile is _data/functions.yml beside the _gtfobins folder of the
// first binary file.
func functionsFile(tree *source.Tree, first source.File) source.File {
	dir := path.Dir(first.Rel) // …/_gtfobins
	switch {
	case tree.File() != "", dir == ".":
		// A single binary file, or the source is the _gtfobins folder itself:
		// its sibling _data.
		return source.File{Path: filepath.Join(filepath.Dir(tree.Root()), "_data", "functions.yml"), Rel: "../_data/functions.yml"}
	default:
		rel := path.Join(path.Dir(dir), "_data", "functions.yml")
		return source.File{Path: tree.Path(rel), Rel: rel}
	}
}

func fileExists(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular()
}

// loadFunctions reads functions.yml (functionsFile), or falls back to the
// built-in table with a warning.
func loadFunctions(f source.File, tr *source.Tracker, out *sdk.Emitter) (map[string]function, error) {
	rel := f.Rel
	data, err := tr.ReadFile(f)
	var fns map[string]function
	if err == nil {
		var ps problems
		fns, ps = parseFunctions(data)
		for _, pr := range ps {
			out.Warn(rel, pr.line, pr.id, pr.summary, pr.detail)
		}
	} else if errors.Is(err, os.ErrNotExist) {
		out.Warn(rel, 0, "", "functions.yml not found; using the built-in technique table", "")
	} else {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	if fns == nil {
		fns = map[string]function{}
		for name, ts := range builtinFunctions {
			fns[name] = function{label: name, techniques: ts}
		}
	}
	return fns, nil
}
