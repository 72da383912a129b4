package main

import (
	"errors"
	"fmt"
	"github.com/aegis-sec/aegis/plugins/internal/yamlnode"
	"path"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/aegis-sec/aegis/sdk"
)

// problem is something a parser skipped or worked around; it becomes a
// warning naming the file, line and object.
type problem struct {
	line    int
	id      string
	summary string
	detail  string
}

type problems []problem

func (p *problems) warn(line int, id, summary, detail string) {
	*p = append(*p, problem{line: line, id: id, summary: summary, detail: detail})
}

func (p problems) sorted() problems {
	slices.SortStableFunc(p, func(a, b problem) int { return a.line - b.line })
	return p
}

// item is one parsed template and the line of its entry.
type item struct {
	rec  *sdk.TestTemplate
	line int
}

var techniqueRe = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)

// techniqueList splits "T1218, T1127" (and lists) into upper-cased ids;
// bad holds what is not a technique id.
func techniqueList(n *yaml.Node) (ids, bad []string) {
	for _, s := range yamlnode.Strs(n) {
		for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
			id := strings.ToUpper(strings.TrimSpace(part))
			switch {
			case techniqueRe.MatchString(id):
				if !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			case id != "":
				bad = append(bad, part)
			}
		}
	}
	return ids, bad
}

// lolbasID is the external id of a LOLBAS command: LOLBAS gives commands no
// id, so the entry's name and the command's 1-based position stand in. A
// command inserted above others shifts their ids (they update in place); an
// edited command keeps its id.
func lolbasID(name string, number int) string {
	return fmt.Sprintf("lolbas:%s:%d", name, number)
}

// lolbasPages maps the yml/ folders to the website's sections.
var lolbasPages = map[string]string{
	"OSBinaries":  "Binaries",
	"OSLibraries": "Libraries",
	"OSScripts":   "Scripts",
}

// elevated reports whether a Privileges value asks for more than a user.
func elevated(privileges string) bool {
	p := strings.ToLower(strings.TrimSpace(privileges))
	if p == "" {
		return false
	}
	for _, low := range []string{"user", "any", "low"} {
		if strings.HasPrefix(p, low) {
			return false
		}
	}
	return true
}

// pairList reads LOLBAS's lists of one-key mappings ([{Sigma: url}, {IOC: text}])
// into ordered key/value pairs.
func pairList(n *yaml.Node) [][2]string {
	var out [][2]string
	for _, it := range yamlnode.Items(n) {
		if !yamlnode.IsMap(it) {
			if s := yamlnode.Text(it); s != "" {
				out = append(out, [2]string{"", s})
			}
			continue
		}
		for _, p := range yamlnode.Pairs(it) {
			if v := yamlnode.Text(p[1]); v != "" {
				out = append(out, [2]string{yamlnode.Text(p[0]), v})
			}
		}
	}
	return out
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// parseLOLBASFile parses one yml/<Category>/<Name>.yml entry into one
// template per command.
func parseLOLBASFile(rel string, data []byte) ([]item, problems) {
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
		ps.warn(yamlnode.Line(root, 1), "", "skipped file: not a LOLBAS entry", "the document is "+yamlnode.KindName(root)+", not a mapping with Name and Commands")
		return nil, ps
	}
	ln := yamlnode.Line(root, 1)
	base := path.Base(rel)
	stem := strings.TrimSuffix(base, path.Ext(base))
	name := yamlnode.Text(yamlnode.Get(root, "Name"))
	if name == "" {
		if stem == "" {
			ps.warn(ln, "", "skipped file: the entry has no Name", "")
			return nil, ps
		}
		name = stem
		ps.warn(ln, "", "entry has no Name; using the file name "+name, "")
	}
	cmds := yamlnode.Deref(yamlnode.Get(root, "Commands"))
	if cmds == nil || cmds.Kind != yaml.SequenceNode {
		ps.warn(yamlnode.Line(yamlnode.Get(root, "Commands"), ln), "", "skipped entry "+name+": Commands is not a list", "Commands is "+yamlnode.KindName(yamlnode.Get(root, "Commands")))
		return nil, ps
	}

	// What every command of the entry shares.
	folder := path.Base(path.Dir(rel))
	shared := map[string]any{"binary": name}
	if folder != "." && folder != "/" {
		shared["category"] = folder
	}
	if d := strings.TrimSpace(yamlnode.Str(yamlnode.Get(root, "Description"))); d != "" {
		shared["binary_description"] = d
	}
	if c := yamlnode.Text(yamlnode.Get(root, "Created")); c != "" {
		shared["created"] = c
	}
	var paths, samples, aliases []string
	for _, p := range pairList(yamlnode.Get(root, "Full_Path")) {
		paths = append(paths, p[1])
	}
	for _, p := range pairList(yamlnode.Get(root, "Code_Sample")) {
		samples = append(samples, p[1])
	}
	for _, p := range pairList(yamlnode.Get(root, "Aliases")) {
		aliases = append(aliases, p[1])
	}
	setList(shared, "full_paths", paths)
	setList(shared, "code_samples", samples)
	setList(shared, "aliases", aliases)
	var refs []sdk.Reference
	if folder != "." && stem != "" {
		section := lolbasPages[folder]
		if section == "" {
			section = folder
		}
		refs = append(refs, sdk.Reference{Source: "lolbas", URL: "https://lolbas-project.github.io/lolbas/" + section + "/" + stem + "/"})
	}
	var detections []map[string]string
	for _, p := range pairList(yamlnode.Get(root, "Detection")) {
		detections = append(detections, map[string]string{"type": p[0], "value": p[1]})
		if isURL(p[1]) {
			refs = append(refs, sdk.Reference{Source: p[0], URL: p[1], Description: "detection"})
		}
	}
	if len(detections) > 0 {
		shared["detection"] = detections
	}
	for _, p := range pairList(yamlnode.Get(root, "Resources")) {
		if isURL(p[1]) {
			refs = append(refs, sdk.Reference{Source: "resource", URL: p[1]})
		}
	}
	author := strings.TrimSpace(yamlnode.Str(yamlnode.Get(root, "Author")))

	var out []item
	for i, cn := range cmds.Content {
		number := i + 1
		id := lolbasID(name, number)
		cl := yamlnode.Line(cn, ln)
		if !yamlnode.IsMap(cn) {
			ps.warn(cl, id, fmt.Sprintf("skipped command %d: not a mapping", number), "it is "+yamlnode.KindName(cn))
			continue
		}
		command := strings.TrimSpace(yamlnode.Str(yamlnode.Get(cn, "Command")))
		if command == "" {
			ps.warn(cl, id, fmt.Sprintf("skipped command %d: it has no Command", number), "")
			continue
		}
		usecase := strings.TrimSpace(yamlnode.Str(yamlnode.Get(cn, "Usecase")))
		desc := strings.TrimSpace(yamlnode.Str(yamlnode.Get(cn, "Description")))
		title := usecase
		if title == "" {
			title = desc
		}
		if title == "" {
			title = fmt.Sprintf("command %d", number)
		}
		privileges := yamlnode.Text(yamlnode.Get(cn, "Privileges"))
		t := &sdk.TestTemplate{
			ExternalID:   id,
			Name:         name + ": " + yamlnode.Clip(title, 200),
			Description:  desc,
			TemplateType: sdk.TemplateLOLBAS,
			Platforms:    []string{"windows"},
			Executor:     sdk.Executor{Name: "command_prompt", Command: command, ElevationRequired: elevated(privileges)},
			References:   refs,
			Author:       author,
			Metadata:     map[string]any{"command_number": number},
		}
		var bad []string
		t.TechniqueIDs, bad = techniqueList(yamlnode.Get(cn, "MitreID"))
		if len(bad) > 0 {
			ps.warn(yamlnode.Line(yamlnode.Get(cn, "MitreID"), cl), id, fmt.Sprintf("MitreID %q ignored: not an ATT&CK technique id", yamlnode.Clip(strings.Join(bad, ", "), 60)), "")
		}
		for k, v := range shared {
			t.Metadata[k] = v
		}
		for key, field := range map[string]string{"Usecase": "usecase", "Category": "command_category", "Privileges": "privileges", "OperatingSystem": "operating_system"} {
			if v := strings.TrimSpace(yamlnode.Str(yamlnode.Get(cn, key))); v != "" {
				t.Metadata[field] = v
			}
		}
		var tags []string
		for _, p := range pairList(yamlnode.Get(cn, "Tags")) {
			tags = append(tags, strings.TrimPrefix(p[0]+": "+p[1], ": "))
		}
		slices.Sort(tags)
		setList(t.Metadata, "tags", tags)
		out = append(out, item{rec: t, line: cl})
	}
	return out, ps.sorted()
}

func setList(m map[string]any, key string, v []string) {
	if len(v) > 0 {
		m[key] = v
	}
}

// yamlErrLine extracts the line from a yaml.v3 error ("yaml: line 7: ...").
func yamlErrLine(err error) int {
	var n int
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		fmt.Sscanf(msg[i+5:], "%d", &n)
	}
	return n
}
