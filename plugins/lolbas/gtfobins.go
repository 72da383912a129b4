package main

import (
	"errors"
	"fmt"
	"github.com/aegis-sec/aegis/plugins/internal/yamlnode"
	"slices"
	"strings"

	"github.com/aegis-sec/aegis/sdk"
)

// function is one GTFOBins function from _data/functions.yml.
type function struct {
	label, description string
	techniques         []string
}

// builtinFunctions are the ATT&CK techniques of _data/functions.yml at
// GTFOBins 7382261 (2026-04), used when a checkout lacks that file or a
// function in it has no mitre key (older GTFOBins releases had none).
var builtinFunctions = map[string][]string{
	"shell":                {"T1059"},
	"command":              {"T1059"},
	"reverse-shell":        {"T1059", "T1071"},
	"bind-shell":           {"T1059", "T1071"},
	"file-write":           {"T1565"},
	"file-read":            {"T1005"},
	"upload":               {"T1041"},
	"download":             {"T1105"},
	"library-load":         {"T1574"},
	"privilege-escalation": {"T1548"},
}

// parseFunctions parses _data/functions.yml.
func parseFunctions(data []byte) (map[string]function, problems) {
	var ps problems
	root, err := yamlnode.FirstDocument(data)
	if err != nil {
		ps.warn(yamlErrLine(err), "", "unreadable functions file; using the built-in technique table", err.Error())
		return nil, ps
	}
	if !yamlnode.IsMap(root) {
		ps.warn(yamlnode.Line(root, 1), "", "functions file is not a mapping; using the built-in technique table", "it is "+yamlnode.KindName(root))
		return nil, ps
	}
	out := map[string]function{}
	for _, p := range yamlnode.Pairs(root) {
		name := yamlnode.Text(p[0])
		if name == "" {
			continue
		}
		f := function{label: yamlnode.Text(yamlnode.Get(p[1], "label")), description: strings.TrimSpace(yamlnode.Str(yamlnode.Get(p[1], "description")))}
		if m := yamlnode.Get(p[1], "mitre"); m != nil {
			var bad []string
			f.techniques, bad = techniqueList(m)
			if len(bad) > 0 {
				ps.warn(yamlnode.Line(m, 0), "", fmt.Sprintf("function %s: technique %q ignored: not an ATT&CK technique id", name, yamlnode.Clip(strings.Join(bad, ", "), 60)), "")
			}
		} else {
			f.techniques = builtinFunctions[name]
		}
		slices.Sort(f.techniques)
		out[name] = f
	}
	return out, ps.sorted()
}

// gtfoExample is one example of one function of a binary.
type gtfoExample struct {
	line     int
	number   int // 1-based position under its function in the file, skipped entries included
	code     string
	comment  string
	contexts map[string]map[string]any // context → its own code, shell, list, comment
	from     string                    // inherit: the binary whose functions this one offers
	extra    map[string]any            // binary, blind, tty, version, listener, ...
}

type gtfoFunction struct {
	name     string
	line     int
	total    int // entries in the file, skipped ones included
	examples []gtfoExample
}

// gtfoBinary is one _gtfobins/<binary> file: functions, or an alias.
type gtfoBinary struct {
	name      string
	line      int
	comment   string
	alias     string
	functions []gtfoFunction
}

// parseGTFOBinsFile parses the front matter of one _gtfobins/<binary> file.
func parseGTFOBinsFile(name string, data []byte) (*gtfoBinary, problems) {
	var ps problems
	root, err := yamlnode.FirstDocument(data)
	if errors.Is(err, yamlnode.ErrEmpty) {
		ps.warn(0, "", "skipped empty file", "")
		return nil, ps
	}
	if err != nil {
		ps.warn(yamlErrLine(err), "", "skipped unreadable file", err.Error())
		return nil, ps
	}
	if !yamlnode.IsMap(root) {
		ps.warn(yamlnode.Line(root, 1), "", "skipped file: no GTFOBins front matter", "the front matter is "+yamlnode.KindName(root)+", not a mapping with functions or alias")
		return nil, ps
	}
	b := &gtfoBinary{name: name, line: yamlnode.Line(root, 1), comment: strings.TrimSpace(yamlnode.Str(yamlnode.Get(root, "comment"))), alias: yamlnode.Text(yamlnode.Get(root, "alias"))}
	fn := yamlnode.Get(root, "functions")
	if yamlnode.IsNull(fn) {
		if b.alias == "" {
			ps.warn(b.line, name, "skipped file: neither functions nor alias", "")
			return nil, ps
		}
		return b, ps
	}
	if b.alias != "" {
		ps.warn(yamlnode.Line(yamlnode.Get(root, "alias"), b.line), name, "alias "+b.alias+" ignored: the file has functions of its own", "")
		b.alias = ""
	}
	if !yamlnode.IsMap(fn) {
		ps.warn(yamlnode.Line(fn, b.line), name, "skipped file: functions is not a mapping", "it is "+yamlnode.KindName(fn))
		return nil, ps
	}
	for _, p := range yamlnode.Pairs(fn) {
		f := gtfoFunction{name: yamlnode.Text(p[0]), line: yamlnode.Line(p[0], b.line)}
		if f.name == "" {
			continue
		}
		f.total = len(yamlnode.Items(p[1]))
		for i, en := range yamlnode.Items(p[1]) {
			exID := fmt.Sprintf("%s %s #%d", name, f.name, i+1)
			if !yamlnode.IsMap(en) {
				ps.warn(yamlnode.Line(en, f.line), name, "skipped example "+exID+": not a mapping", "it is "+yamlnode.KindName(en))
				continue
			}
			ex := gtfoExample{line: yamlnode.Line(en, f.line), number: i + 1, contexts: map[string]map[string]any{}, extra: map[string]any{}}
			codeNode := yamlnode.Get(en, "code")
			ex.code = yamlnode.Str(codeNode)
			if strings.TrimSpace(ex.code) == "" {
				ps.warn(ex.line, name, "skipped example "+exID+": it has no code", "")
				continue
			}
			ex.comment = strings.TrimSpace(yamlnode.Str(yamlnode.Get(en, "comment")))
			ex.from = yamlnode.Text(yamlnode.Get(en, "from"))
			ctx := yamlnode.Get(en, "contexts")
			if !yamlnode.IsNull(ctx) && !yamlnode.IsMap(ctx) {
				ps.warn(yamlnode.Line(ctx, ex.line), name, "contexts of example "+exID+" ignored: not a mapping", "it is "+yamlnode.KindName(ctx))
			}
			for _, cp := range yamlnode.Pairs(ctx) {
				cname := yamlnode.Text(cp[0])
				if cname == "" {
					continue
				}
				c := map[string]any{}
				if yamlnode.IsMap(cp[1]) {
					for _, kv := range yamlnode.Pairs(cp[1]) {
						if v, ok := yamlnode.ToValue(kv[1]); ok && v != nil {
							c[yamlnode.Text(kv[0])] = v
						}
					}
				} else if !yamlnode.IsNull(cp[1]) {
					ps.warn(yamlnode.Line(cp[1], ex.line), name, fmt.Sprintf("context %s of example %s: details ignored", cname, exID), "it is "+yamlnode.KindName(cp[1]))
				}
				ex.contexts[cname] = c
			}
			for _, kv := range yamlnode.Pairs(en) {
				k := yamlnode.Text(kv[0])
				switch k {
				case "code", "comment", "contexts", "from", "":
					continue
				case "binary":
					k = "binary_data" // "binary" names the executable in metadata
				}
				if v, ok := yamlnode.ToValue(kv[1]); ok && v != nil {
					ex.extra[k] = v
				}
			}
			f.examples = append(f.examples, ex)
		}
		if len(f.examples) > 0 {
			b.functions = append(b.functions, f)
		}
	}
	if len(b.functions) == 0 {
		ps.warn(b.line, name, "binary has no usable examples", "")
	}
	return b, ps.sorted()
}

// gtfoCatalog resolves aliases and inherited functions across all binaries.
type gtfoCatalog struct {
	binaries  map[string]*gtfoBinary
	functions map[string]function
}

// resolve follows an alias chain (rview → view → vim) to a binary with
// functions; ok is false when the chain ends nowhere or loops.
func (c *gtfoCatalog) resolve(name string) (target string, chain []string, ok bool) {
	chain = []string{name}
	for range yamlnode.MaxAliasHops {
		b := c.binaries[name]
		if b == nil {
			return name, chain, false
		}
		if b.alias == "" {
			return name, chain, true
		}
		name = b.alias
		if slices.Contains(chain, name) {
			return name, append(chain, name), false
		}
		chain = append(chain, name)
	}
	return name, chain, false
}

// techniquesOf returns the techniques of every function a binary offers,
// including those it inherits (examples with from:), each binary visited once.
func (c *gtfoCatalog) techniquesOf(name string, seen map[string]bool) []string {
	target, _, ok := c.resolve(name)
	if !ok || seen[target] {
		return nil
	}
	seen[target] = true
	var out []string
	for _, f := range c.binaries[target].functions {
		out = append(out, c.functions[f.name].techniques...)
		for _, ex := range f.examples {
			if ex.from != "" {
				out = append(out, c.techniquesOf(ex.from, seen)...)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// gtfoID is the external id of one example: binary, function and the
// example's 1-based position under that function.
func gtfoID(binary, fn string, number int) string {
	return fmt.Sprintf("gtfobins:%s:%s:%d", binary, fn, number)
}

// templates turns one binary into one template per (function, example).
// aliases are the alias names that resolve to this binary.
func (c *gtfoCatalog) templates(b *gtfoBinary, aliases []string) []item {
	var out []item
	for _, f := range b.functions {
		info := c.functions[f.name]
		label := info.label
		if label == "" {
			label = f.name
		}
		for _, ex := range f.examples {
			// The position in the file, not among the usable examples, so
			// that fixing a broken example does not renumber the others.
			number := ex.number
			title := b.name + ": " + label
			if f.total > 1 {
				title += fmt.Sprintf(" (%d)", number)
			}
			desc := info.description
			if ex.comment != "" {
				desc = strings.TrimSpace(desc + "\n\n" + ex.comment)
			}
			techniques := slices.Clone(info.techniques)
			meta := map[string]any{"binary": b.name, "function": f.name, "function_label": label, "example_number": number}
			if ex.from != "" {
				// An inherit example reaches every function of the binary it
				// hands over to, so it carries those techniques.
				meta["inherits_from"] = ex.from
				techniques = append(techniques, c.techniquesOf(ex.from, map[string]bool{b.name: true})...)
				slices.Sort(techniques)
				techniques = slices.Compact(techniques)
			}
			var names []string
			for name := range ex.contexts {
				names = append(names, name)
			}
			slices.Sort(names)
			if len(names) > 0 {
				meta["contexts"] = ex.contexts
				meta["context_names"] = names
			}
			for k, v := range ex.extra {
				meta[k] = v
			}
			if b.comment != "" {
				meta["binary_comment"] = b.comment
			}
			if len(aliases) > 0 {
				meta["aliases"] = aliases
			}
			_, unprivileged := ex.contexts["unprivileged"]
			out = append(out, item{line: ex.line, rec: &sdk.TestTemplate{
				ExternalID:   gtfoID(b.name, f.name, number),
				Name:         title,
				Description:  desc,
				TemplateType: sdk.TemplateGTFOBins,
				TechniqueIDs: techniques,
				Platforms:    []string{"linux"},
				// Without an unprivileged context the example only works
				// through sudo, SUID or capabilities.
				Executor:   sdk.Executor{Name: "sh", Command: ex.code, ElevationRequired: len(names) > 0 && !unprivileged},
				References: []sdk.Reference{{Source: "gtfobins", URL: "https://gtfobins.github.io/gtfobins/" + b.name + "/#" + f.name}},
				Metadata:   meta,
			}})
		}
	}
	return out
}
