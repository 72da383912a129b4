package main

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/aegis-sec/aegis/sdk"
)

// problem is something the parser skipped or worked around; it becomes a
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

// ability is one parsed ability and the line of its entry.
type ability struct {
	rec  *sdk.TestTemplate
	line int
}

// ref is an ability id named by an adversary, with the line that names it.
type ref struct {
	id   string
	line int
}

// adversary is one parsed adversary profile. Its abilities are resolved
// once every file has been read, because packs and abilities may come later.
type adversary struct {
	id, name, description string
	line                  int
	abilities             []ref
	packs                 []ref
}

var techniqueRe = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)

// normTechnique trims (a few stockpile files have " T1564.001") and
// upper-cases an ATT&CK id; ok is false when it is not one.
func normTechnique(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	return s, techniqueRe.MatchString(s)
}

// normTactic turns "Defense Evasion" or "defense_evasion" into the ATT&CK
// shortname form "defense-evasion".
func normTactic(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.NewReplacer(" ", "-", "_", "-").Replace(s)
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "-")
	}
	return s
}

// splitList splits comma-joined keys such as "linux,darwin" or "psh,pwsh".
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.ToLower(strings.TrimSpace(part)); part != "" && !slices.Contains(out, part) {
			out = append(out, part)
		}
	}
	return out
}

// stem is a file's base name without its extension; stockpile names each
// ability and adversary file after its id.
func stem(rel string) string {
	b := path.Base(rel)
	return strings.TrimSuffix(b, path.Ext(b))
}

// textBlock reads a command or cleanup: text, or a list of commands joined by
// newlines (the newer shape writes cleanup as a list).
func textBlock(n *yaml.Node) (string, bool) {
	d := deref(n)
	switch {
	case isNull(n):
		return "", true
	case d.Kind == yaml.ScalarNode:
		return d.Value, true
	case d.Kind == yaml.SequenceNode:
		var lines []string
		for _, it := range d.Content {
			if s := str(it); strings.TrimSpace(s) != "" {
				lines = append(lines, s)
			}
		}
		return strings.Join(lines, "\n"), true
	}
	return "", false
}

// parseAbilityFile parses one abilities/<tactic>/<id>.yml file: a list of
// abilities (one, in stockpile), or a single ability mapping.
func parseAbilityFile(rel string, data []byte) ([]ability, problems) {
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
	var entries []*yaml.Node
	switch root.Kind {
	case yaml.SequenceNode:
		entries = root.Content
	case yaml.MappingNode:
		entries = []*yaml.Node{root}
	default:
		ps.warn(line(root, 1), "", "skipped file: not a list of abilities", "the document is "+kindName(root))
		return nil, ps
	}
	var out []ability
	for i, n := range entries {
		fallbackID := ""
		if len(entries) == 1 {
			fallbackID = stem(rel)
		}
		if a := parseAbility(n, i+1, fallbackID, &ps); a != nil {
			out = append(out, ability{rec: a, line: line(n, 0)})
		}
	}
	slices.SortStableFunc(ps, func(a, b problem) int { return a.line - b.line })
	return out, ps
}

// parseAbility reads one ability in either shape:
//
//	old: technique{attack_id,name}, platforms{<os>[,<os>]: {<executor>[,<executor>]: {command, cleanup, payloads, timeout}}}
//	new: technique_id, technique_name, executors[]{name, platform, command, cleanup, payloads, timeout}
func parseAbility(n *yaml.Node, number int, fallbackID string, ps *problems) *sdk.TestTemplate {
	ln := line(n, 0)
	if !isMap(n) {
		ps.warn(ln, "", fmt.Sprintf("skipped ability %d: not a mapping", number), "the entry is "+kindName(n))
		return nil
	}
	id := text(get(n, "id"))
	if id == "" {
		if fallbackID == "" {
			ps.warn(ln, "", fmt.Sprintf("skipped ability %d: it has no id", number), "")
			return nil
		}
		id = fallbackID
		ps.warn(ln, id, "ability has no id; using the file name "+id, "")
	}
	name := strings.TrimSpace(str(get(n, "name")))
	if name == "" {
		ps.warn(ln, id, "skipped ability: it has no name", "")
		return nil
	}
	t := &sdk.TestTemplate{
		ExternalID:   id,
		Name:         name,
		Description:  strings.TrimSpace(str(get(n, "description"))),
		TemplateType: sdk.TemplateCaldera,
		Tactic:       normTactic(str(get(n, "tactic"))),
	}
	if t.Tactic != "" && !tacticRe.MatchString(t.Tactic) {
		ps.warn(line(get(n, "tactic"), ln), id, fmt.Sprintf("tactic %q ignored: not a tactic name", clip(t.Tactic, 40)), "")
		t.Tactic = ""
	}

	meta := map[string]any{}
	techNode, techName := get(n, "technique_id"), get(n, "technique_name")
	if tn := get(n, "technique"); tn != nil {
		if isMap(tn) {
			techNode, techName = get(tn, "attack_id"), get(tn, "name")
		} else {
			techNode = tn
		}
	}
	if raw := text(techNode); raw != "" {
		if tid, ok := normTechnique(raw); ok {
			t.TechniqueIDs = []string{tid}
		} else {
			ps.warn(line(techNode, ln), id, fmt.Sprintf("technique %q ignored: not an ATT&CK technique id", clip(raw, 40)), "")
		}
	}
	if s := strings.TrimSpace(str(techName)); s != "" {
		meta["technique_name"] = s
	}

	elevated := strings.EqualFold(text(get(n, "privilege")), "elevated")
	type key struct{ platform, name string }
	seen := map[key]int{}
	add := func(platformKey, executorKey string, e *yaml.Node) {
		plats, names := splitList(platformKey), splitList(executorKey)
		if len(plats) == 0 || len(names) == 0 {
			ps.warn(line(e, ln), id, "executor ignored: it names no platform or no executor", fmt.Sprintf("platform %q, executor %q", platformKey, executorKey))
			return
		}
		if !isMap(e) {
			ps.warn(line(e, ln), id, fmt.Sprintf("executor %s on %s ignored: not a mapping", executorKey, platformKey), "it is "+kindName(e))
			return
		}
		cmd, ok := textBlock(get(e, "command"))
		if !ok {
			ps.warn(line(get(e, "command"), ln), id, "command ignored: it is "+kindName(get(e, "command")), "")
		}
		cleanup, ok := textBlock(get(e, "cleanup"))
		if !ok {
			ps.warn(line(get(e, "cleanup"), ln), id, "cleanup ignored: it is "+kindName(get(e, "cleanup")), "")
		}
		timeout := 0
		if tv := text(get(e, "timeout")); tv != "" {
			if v, err := strconv.Atoi(tv); err == nil && v > 0 {
				timeout = v
			} else {
				ps.warn(line(get(e, "timeout"), ln), id, fmt.Sprintf("timeout %q ignored: not a positive number of seconds", clip(tv, 20)), "")
			}
		}
		for _, pl := range plats {
			for _, nm := range names {
				k := key{pl, nm}
				if first, dup := seen[k]; dup {
					ps.warn(line(e, ln), id, fmt.Sprintf("second %s executor for %s ignored (first on line %d)", nm, pl, first), "")
					continue
				}
				seen[k] = line(e, ln)
				t.Executors = append(t.Executors, sdk.Executor{Name: nm, Platform: pl, Command: cmd, Cleanup: cleanup,
					ElevationRequired: elevated, Timeout: timeout})
			}
		}
		for _, p := range strs(get(e, "payloads")) {
			if !slices.Contains(t.Payloads, p) {
				t.Payloads = append(t.Payloads, p)
			}
		}
	}
	fromPlatforms := func() {
		pn := get(n, "platforms")
		if isNull(pn) {
			return
		}
		if !isMap(pn) {
			ps.warn(line(pn, ln), id, "platforms ignored: not a mapping of platform to executors", "it is "+kindName(pn))
		}
		for _, pp := range pairs(pn) {
			if !isMap(pp[1]) {
				ps.warn(line(pp[1], ln), id, fmt.Sprintf("platform %s ignored: not a mapping of executors", text(pp[0])), "it is "+kindName(pp[1]))
				continue
			}
			for _, ep := range pairs(pp[1]) {
				add(text(pp[0]), text(ep[0]), ep[1])
			}
		}
	}
	fromExecutors := func() {
		for _, en := range items(get(n, "executors")) {
			if !isMap(en) {
				ps.warn(line(en, ln), id, "executor ignored: not a mapping", "it is "+kindName(en))
				continue
			}
			add(text(get(en, "platform")), text(get(en, "name")), en)
		}
	}
	// An ability with both shapes is read in file order, so that the first
	// executor written for a platform is the one kept.
	if ex, pl := get(n, "executors"), get(n, "platforms"); ex != nil && pl != nil && line(ex, 0) < line(pl, 0) {
		fromExecutors()
		fromPlatforms()
	} else {
		fromPlatforms()
		fromExecutors()
	}
	if len(t.Executors) == 0 {
		ps.warn(ln, id, "ability has no executors", "neither a platforms mapping nor an executors list with a platform and a name")
	}
	// Map order carries no meaning; sort so that re-imports are byte-identical.
	slices.SortFunc(t.Executors, func(a, b sdk.Executor) int {
		if c := strings.Compare(a.Platform, b.Platform); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	for _, e := range t.Executors {
		if !slices.Contains(t.Platforms, e.Platform) {
			t.Platforms = append(t.Platforms, e.Platform)
		}
	}
	slices.Sort(t.Platforms)
	slices.Sort(t.Payloads)

	if p := text(get(n, "privilege")); p != "" {
		meta["privilege"] = p
	}
	for _, k := range []string{"singleton", "repeatable", "delete_payload"} {
		if b, ok := boolean(get(n, k)); ok {
			meta[k] = b
		}
	}
	if b := strs(get(n, "buckets")); len(b) > 0 {
		meta["buckets"] = b
	}
	if p := text(get(n, "plugin")); p != "" {
		meta["plugin"] = p
	}
	for _, k := range []string{"requirements", "additional_info", "access"} {
		v := get(n, k)
		if isNull(v) || (deref(v).Kind != yaml.ScalarNode && len(deref(v).Content) == 0) {
			continue
		}
		if val, ok := toValue(v); ok {
			meta[k] = val
		} else {
			ps.warn(line(v, ln), id, k+" left out: it is too large", "")
		}
	}
	if len(meta) > 0 {
		t.Metadata = meta
	}
	return t
}

var tacticRe = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// parseAdversaryFile parses one adversaries/<id>.yml profile.
func parseAdversaryFile(rel string, data []byte) (*adversary, problems) {
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
		ps.warn(line(root, 1), "", "skipped file: not an adversary profile", "the document is "+kindName(root)+", not a mapping")
		return nil, ps
	}
	ln := line(root, 1)
	a := &adversary{line: ln}
	a.id = text(get(root, "id"))
	if a.id == "" {
		a.id = text(get(root, "adversary_id"))
	}
	if a.id == "" {
		a.id = stem(rel)
		ps.warn(ln, a.id, "adversary has no id; using the file name "+a.id, "")
	}
	a.name = strings.TrimSpace(str(get(root, "name")))
	if a.name == "" {
		ps.warn(ln, a.id, "skipped adversary: it has no name", "")
		return nil, ps
	}
	a.description = strings.TrimSpace(str(get(root, "description")))

	refsOf := func(n *yaml.Node, what string) []ref {
		var out []ref
		for _, it := range items(n) {
			id := text(it)
			if isMap(it) { // {id: ...} or {ability_id: ...}
				id = text(get(it, "ability_id"))
				if id == "" {
					id = text(get(it, "id"))
				}
			}
			if id == "" {
				ps.warn(line(it, ln), a.id, what+" entry ignored: it names no id", "it is "+kindName(it))
				continue
			}
			out = append(out, ref{id: id, line: line(it, ln)})
		}
		return out
	}
	// atomic_ordering is the current shape; phases{1: [...], 2: [...]} the
	// older one, run in phase order.
	if ao := get(root, "atomic_ordering"); ao != nil {
		a.abilities = refsOf(ao, "atomic_ordering")
	} else if ph := get(root, "phases"); !isNull(ph) {
		if !isMap(ph) {
			ps.warn(line(ph, ln), a.id, "phases ignored: not a mapping of phase number to abilities", "it is "+kindName(ph))
		}
		type phase struct {
			key  string
			num  int
			node *yaml.Node
		}
		var phs []phase
		for _, p := range pairs(ph) {
			k := text(p[0])
			num, err := strconv.Atoi(k)
			if err != nil {
				num = 1 << 30 // named phases after numbered ones
			}
			phs = append(phs, phase{k, num, p[1]})
		}
		slices.SortStableFunc(phs, func(x, y phase) int {
			if x.num != y.num {
				return x.num - y.num
			}
			return strings.Compare(x.key, y.key)
		})
		for _, p := range phs {
			a.abilities = append(a.abilities, refsOf(p.node, "phase "+p.key)...)
		}
	}
	a.packs = refsOf(get(root, "packs"), "packs")
	if len(a.abilities) == 0 && len(a.packs) == 0 {
		ps.warn(ln, a.id, "adversary names no abilities", "expected atomic_ordering, phases or packs")
	}
	slices.SortStableFunc(ps, func(x, y problem) int { return x.line - y.line })
	return a, ps
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
