package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/aegis-sec/aegis/plugins/internal/yamlnode"
	"os"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/source"
)

// config is the plugin's `config { ... }` block from aegis.hcl.
type config struct {
	// Abilities and Adversaries are globs, relative to the source.
	Abilities   []string `json:"abilities"`
	Adversaries []string `json:"adversaries"`
}

var (
	defaultAbilities   = []string{"**/abilities/**/*.yml", "**/abilities/**/*.yaml"}
	defaultAdversaries = []string{"**/adversaries/**/*.yml", "**/adversaries/**/*.yaml"}
)

const configSchema = `{
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "abilities": {
      "type": "array", "items": {"type": "string", "minLength": 1},
      "description": "Globs (relative to the source, ** for any folders) naming ability files",
      "default": ["**/abilities/**/*.yml", "**/abilities/**/*.yaml"]
    },
    "adversaries": {
      "type": "array", "items": {"type": "string", "minLength": 1},
      "description": "Globs naming adversary profile files",
      "default": ["**/adversaries/**/*.yml", "**/adversaries/**/*.yaml"]
    }
  }
}`

func decodeConfig(raw json.RawMessage) (config, error) {
	c, err := sdk.DecodeConfig(raw, config{})
	if err != nil {
		return c, err
	}
	if c.Abilities == nil {
		c.Abilities = defaultAbilities
	}
	if c.Adversaries == nil {
		c.Adversaries = defaultAdversaries
	}
	return c, nil
}

type importer struct{}

func (*importer) Describe() sdk.Component {
	return sdk.Component{
		Description: "MITRE CALDERA abilities (data/abilities/<tactic>/<id>.yml, old platforms and new executors shapes) " +
			"as test templates, and adversary profiles (data/adversaries/*.yml) as ordered campaigns",
		RecordKinds:  []string{sdk.KindTestTemplate, sdk.KindCampaign},
		ConfigSchema: json.RawMessage(configSchema),
	}
}

func (*importer) ValidateConfig(_ context.Context, raw json.RawMessage) sdk.Diagnostics {
	var ds sdk.Diagnostics
	c, err := decodeConfig(raw)
	if err != nil {
		ds.AddError("invalid caldera config", err.Error(), sdk.ConfigKey(err))
		return ds
	}
	check := func(attr string, globs []string) {
		for i, g := range globs {
			if strings.TrimSpace(g) == "" {
				ds.AddError("empty glob", "", fmt.Sprintf("%s[%d]", attr, i))
			} else if _, err := path.Match(strings.ReplaceAll(g, "**", "*"), ""); err != nil {
				ds.AddError(fmt.Sprintf("bad glob %q", g), err.Error(), fmt.Sprintf("%s[%d]", attr, i))
			}
		}
	}
	check("abilities", c.Abilities)
	check("adversaries", c.Adversaries)
	if len(c.Abilities)+len(c.Adversaries) == 0 {
		ds.AddError("nothing to import", "abilities and adversaries are both empty", "")
	}
	return ds
}

// file is one file to read and what it holds.
type file struct {
	source.File
	adversary bool
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

	var files []file
	if tree.File() != "" {
		f, err := classifySingle(tree)
		if err != nil {
			return err
		}
		files = append(files, f)
	} else {
		for _, kind := range []struct {
			globs     []string
			adversary bool
		}{{cfg.Abilities, false}, {cfg.Adversaries, true}} {
			if len(kind.globs) == 0 {
				continue
			}
			found, err := tree.Glob(kind.globs...)
			if err != nil {
				return err
			}
			for _, f := range found {
				files = append(files, file{File: f, adversary: kind.adversary})
			}
		}
		if len(files) == 0 {
			// A folder below abilities/ or adversaries/ (stockpile/data/abilities/discovery)
			// matches no pattern, which all name those folders: its YAML files are read
			// and told apart by content, as a single file is, and the run says so.
			found, err := tree.Glob("**/*.yml", "**/*.yaml")
			if err != nil {
				return err
			}
			for _, f := range found {
				c, err := classify(f)
				if err != nil {
					return fmt.Errorf("%s: %w", f.Rel, err)
				}
				files = append(files, c)
			}
			if len(files) > 0 {
				out.Warn("", 0, "", "no file matches the ability and adversary patterns; every .yml and .yaml file of the source is read, an adversary told from an ability by its content",
					"patterns: "+strings.Join(append(slices.Clone(cfg.Abilities), cfg.Adversaries...), ", ")+"; source: "+tree.Source())
			}
		}
	}
	if len(files) == 0 {
		return fmt.Errorf("no CALDERA ability or adversary files in %s (looked for %s)", tree.Source(),
			strings.Join(append(slices.Clone(cfg.Abilities), cfg.Adversaries...), ", "))
	}
	if tree.File() == "" {
		read := make([]source.File, len(files))
		for i, f := range files {
			read[i] = f.File
		}
		left, err := tree.LeftOut(read)
		if err != nil {
			return err
		}
		patterns := strings.Join(append(slices.Clone(cfg.Abilities), cfg.Adversaries...), ", ")
		source.WarnLeftOut(out, left, func(string) string { return "matches none of the ability and adversary patterns " + patterns })
	}

	// An adversary's record draws on the abilities of other files (and on other
	// adversaries through packs), and a duplicate id is decided by the first file:
	// the source is skipped whole when no file changed, or read whole.
	tr := source.NewTracker(req.PreviousFiles, out)
	srcFiles := make([]source.File, len(files))
	for i, f := range files {
		srcFiles[i] = f.File
	}
	if tr.AllUnchanged(srcFiles) {
		out.Progress(int64(len(files)), int64(len(files)), fmt.Sprintf("the source is unchanged since the previous import: %d files skipped", len(files)))
		return nil
	}

	// Read everything first: adversaries are checked against the abilities.
	type located[T any] struct {
		v    T
		rel  string
		line int
	}
	var abilities []located[*sdk.TestTemplate]
	var adversaries []located[*adversary]
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		out.Progress(int64(i), int64(len(files)), "reading "+f.Rel)
		data, err := tr.ReadFile(f.File)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Rel, err)
		}
		var ps problems
		if f.adversary {
			var a *adversary
			a, ps = parseAdversaryFile(f.Rel, data)
			if a != nil {
				adversaries = append(adversaries, located[*adversary]{a, f.Rel, a.line})
			}
		} else {
			var as []ability
			as, ps = parseAbilityFile(f.Rel, data)
			for _, a := range as {
				abilities = append(abilities, located[*sdk.TestTemplate]{a.rec, f.Rel, a.line})
			}
		}
		for _, p := range ps {
			out.Warn(f.Rel, p.line, p.id, p.summary, p.detail)
		}
	}

	known := map[string]*sdk.TestTemplate{}
	firstAt := map[string]string{}
	for _, a := range abilities {
		id := a.v.ExternalID
		if first, dup := firstAt[id]; dup {
			out.Warn(a.rel, a.line, id, "skipped ability with a duplicate id (first at "+first+")", "")
			continue
		}
		if err := emit(out, a.v, a.rel, a.line); err != nil {
			return err
		}
		known[id], firstAt[id] = a.v, fmt.Sprintf("%s:%d", a.rel, a.line)
	}
	nAbilities := out.Count()

	byID := map[string]*adversary{}
	for _, a := range adversaries {
		if _, dup := byID[a.v.id]; !dup {
			byID[a.v.id] = a.v
		}
	}
	advAt := map[string]string{}
	for _, a := range adversaries {
		adv := a.v
		if first, dup := advAt[adv.id]; dup {
			out.Warn(a.rel, a.line, adv.id, "skipped adversary with a duplicate id (first at "+first+")", "")
			continue
		}
		advAt[adv.id] = fmt.Sprintf("%s:%d", a.rel, a.line)
		order := expand(adv, byID, nil, func(r ref, summary string) { out.Warn(a.rel, r.line, adv.id, summary, "") })
		c := &sdk.Campaign{ExternalID: adv.id, Name: adv.name, Description: adv.description, CampaignKind: sdk.CampaignAdversaryProfile}
		for _, r := range order {
			c.TemplateIDs = append(c.TemplateIDs, r.id)
			t, ok := known[r.id]
			if !ok {
				// Not in this source: the core resolves it against the catalog (an
				// earlier import may hold it) and says so when nothing does.
				continue
			}
			for _, tid := range t.TechniqueIDs {
				if !slices.Contains(c.TechniqueIDs, tid) {
					c.TechniqueIDs = append(c.TechniqueIDs, tid)
				}
			}
		}
		slices.Sort(c.TechniqueIDs)
		if err := emit(out, c, a.rel, a.line); err != nil {
			return err
		}
	}
	out.Progress(int64(len(files)), int64(len(files)),
		fmt.Sprintf("%d abilities and %d adversary profiles from %d files", nAbilities, out.Count()-nAbilities, len(files)))
	return nil
}

// emit sends one record; an invalid record becomes a warning.
func emit(out *sdk.Emitter, r sdk.Record, rel string, line int) error {
	err := out.RecordAt(r, rel, line)
	var ve *sdk.ValidationError
	if errors.As(err, &ve) {
		out.Warn(rel, line, r.ID(), "skipped invalid "+r.Kind(), err.Error())
		return nil
	}
	return err
}

// expand returns an adversary's abilities in run order: the abilities of its
// packs (older stockpile profiles built from other profiles), in pack order,
// then its own. A missing pack, or a pack that leads back to the adversary,
// is reported through warn at the line of the adversary's own reference and
// left out; loops further down are reported when their own adversaries are
// expanded.
func expand(a *adversary, byID map[string]*adversary, visiting []string, warn func(ref, string)) []ref {
	visiting = append(slices.Clone(visiting), a.id)
	top := len(visiting) == 1
	var out []ref
	for _, p := range a.packs {
		pack, ok := byID[p.id]
		switch {
		case !ok:
			if top {
				warn(p, "adversary names pack "+p.id+", which this import does not have")
			}
		case slices.Contains(visiting, p.id):
			if p.id == visiting[0] {
				warn(p, "packs lead back to the adversary ("+strings.Join(append(visiting, p.id), " → ")+"); the loop is cut")
			}
		default:
			// Positions inside a pack point into the pack's own file; the
			// adversary's reference to the pack is what its file can show.
			at := p.line
			for _, r := range expand(pack, byID, visiting, func(_ ref, s string) { warn(ref{id: p.id, line: at}, s) }) {
				out = append(out, ref{id: r.id, line: at})
			}
		}
	}
	return append(out, a.abilities...)
}

// classifySingle decides what a single-file source holds from its shape: a
// list is abilities, a mapping with an ordering is an adversary.
func classifySingle(tree *source.Tree) (file, error) {
	p := tree.File()
	return classify(source.File{Path: p, Rel: path.Base(strings.ReplaceAll(p, "\\", "/"))})
}

// classify reads a YAML file to tell an adversary profile from an ability file.
func classify(sf source.File) (file, error) {
	f := file{File: sf}
	data, err := os.ReadFile(sf.Path)
	if err != nil {
		return f, err
	}
	root, err := yamlnode.FirstDocument(data)
	if err == nil && root.Kind == yaml.MappingNode {
		f.adversary = yamlnode.Has(root, "atomic_ordering") || yamlnode.Has(root, "phases") || yamlnode.Has(root, "packs")
	}
	return f, nil
}
