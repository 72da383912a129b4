package main

import (
	"errors"
	"fmt"
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
	for _, s := range strs(n) {
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
	for _, it := range items(n) {
		if !isMap(it) {
			if s := text(it); s != "" {
				out = append(out, [2]string{"", s})
			}
			continue
		}
		for _, p := range pairs(it) {
			if v := text(p[1]); v != "" {
				out = append(out, [2]string{text(p[0]), v})
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
	root, err := firstDocument(data)
	if errors.Is(err, errEmpty) {
		ps.warn(0, "", "skipped empty file", "")
		return nil, ps
	}
	if err != nil {
		ps.warn(yamlErrLine(err), "", "skipped unreadable file", err.Error())
		return nil, ps
	}
	if !isMap(root) {
		ps.warn(line(root, 1), "", "skipped file: not a LOLBAS entry", "the document is "+kindName(root)+", not a mapping with Name and Commands")
		return nil, ps
	}
	ln := line(root, 1)
	base := path.Base(rel)
	stem := strings.TrimSuffix(base, path.Ext(base))
	name := text(get(root, "Name"))
	if name == "" {
		if stem == "" {
			ps.warn(ln, "", "skipped file: the entry has no Name", "")
			return nil, ps
		}
		name = stem
		ps.warn(ln, "", "entry has no Name; using the file name "+name, "")
	}
	cmds := deref(get(root, "Commands"))
	if cmds == nil || cmds.Kind != yaml.SequenceNode {
		ps.warn(line(get(root, "Commands"), ln), "", "skipped entry "+name+": Commands is not a list", "Commands is "+kindName(get(root, "Commands")))
		return nil, ps
	}

	// What every command of the entry shares.
	folder := path.Base(path.Dir(rel))
	shared := map[string]any{"binary": name}
	if folder != "." && folder != "/" {
		shared["category"] = folder
	}
	if d := strings.TrimSpace(str(get(root, "Description"))); d != "" {
		shared["binary_description"] = d
	}
	if c := text(get(root, "Created")); c != "" {
		shared["created"] = c
	}
	var paths, samples, aliases []string
	for _, p := range pairList(get(root, "Full_Path")) {
		paths = append(paths, p[1])
	}
	for _, p := range pairList(get(root, "Code_Sample")) {
		samples = append(samples, p[1])
	}
	for _, p := range pairList(get(root, "Aliases")) {
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
	for _, p := range pairList(get(root, "Detection")) {
		detections = append(detections, map[string]string{"type": p[0], "value": p[1]})
		if isURL(p[1]) {
			refs = append(refs, sdk.Reference{Source: p[0], URL: p[1], Description: "detection"})
		}
	}
	if len(detections) > 0 {
		shared["detection"] = detections
	}
	for _, p := range pairList(get(root, "Resources")) {
		if isURL(p[1]) {
			refs = append(refs, sdk.Reference{Source: "resource", URL: p[1]})
		}
	}
	author := strings.TrimSpace(str(get(root, "Author")))

	var out []item
	for i, cn := range cmds.Content {
		number := i + 1
		id := lolbasID(name, number)
		cl := line(cn, ln)
		if !isMap(cn) {
			ps.warn(cl, id, fmt.Sprintf("skipped command %d: not a mapping", number), "it is "+kindName(cn))
			continue
		}
		command := strings.TrimSpace(str(get(cn, "Command")))
		if command == "" {
			ps.warn(cl, id, fmt.Sprintf("skipped command %d: it has no Command", number), "")
			continue
		}
		usecase := strings.TrimSpace(str(get(cn, "Usecase")))
		desc := strings.TrimSpace(str(get(cn, "Description")))
		title := usecase
		if title == "" {
			title = desc
		}
		if title == "" {
			title = fmt.Sprintf("command %d", number)
		}
		privileges := text(get(cn, "Privileges"))
		t := &sdk.TestTemplate{
			ExternalID:   id,
			Name:         name + ": " + clip(title, 200),
			Description:  desc,
			TemplateType: sdk.TemplateLOLBAS,
			Platforms:    []string{"windows"},
			Executor:     sdk.Executor{Name: "command_prompt", Command: command, ElevationRequired: elevated(privileges)},
			References:   refs,
			Author:       author,
			Metadata:     map[string]any{"command_number": number},
		}
		var bad []string
		t.TechniqueIDs, bad = techniqueList(get(cn, "MitreID"))
		if len(bad) > 0 {
			ps.warn(line(get(cn, "MitreID"), cl), id, fmt.Sprintf("MitreID %q ignored: not an ATT&CK technique id", clip(strings.Join(bad, ", "), 60)), "")
		}
		for k, v := range shared {
			t.Metadata[k] = v
		}
		for key, field := range map[string]string{"Usecase": "usecase", "Category": "command_category", "Privileges": "privileges", "OperatingSystem": "operating_system"} {
			if v := strings.TrimSpace(str(get(cn, key))); v != "" {
				t.Metadata[field] = v
			}
		}
		var tags []string
		for _, p := range pairList(get(cn, "Tags")) {
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
