package main

import (
	"errors"
	"fmt"
	"github.com/aegis-sec/aegis/plugins/internal/yamlnode"
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
	d := yamlnode.Deref(n)
	switch {
	case yamlnode.IsNull(n):
		return "", true
	case d.Kind == yaml.ScalarNode:
		return d.Value, true
	case d.Kind == yaml.SequenceNode:
		var lines []string
		for _, it := range d.Content {
			if s := yamlnode.Str(it); strings.TrimSpace(s) != "" {
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
	root, err := yamlnode.FirstDocument(data)
	if errors.Is(err, yamlnode.ErrEmpty) {
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
		ps.warn(yamlnode.Line(root, 1), "", "skipped file: not a list of abilities", "the document is "+yamlnode.KindName(root))
		return nil, ps
	}
	var out []ability
	for i, n := range entries {
		fallbackID := ""
		if len(entries) == 1 {
			fallbackID = stem(rel)
		}
		if a := parseAbility(n, i+1, fallbackID, &ps); a != nil {
			out = append(out, ability{rec: a, line: yamlnode.Line(n, 0)})
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
	ln := yamlnode.Line(n, 0)
	if !yamlnode.IsMap(n) {
		ps.warn(ln, "", fmt.Sprintf("skipped ability %d: not a mapping", number), "the entry is "+yamlnode.KindName(n))
		return nil
	}
	id := yamlnode.Text(yamlnode.Get(n, "id"))
	if id == "" {
		if fallbackID == "" {
			ps.warn(ln, "", fmt.Sprintf("skipped ability %d: it has no id", number), "")
			return nil
		}
		id = fallbackID
		ps.warn(ln, id, "ability has no id; using the file name "+id, "")
	}
	name := strings.TrimSpace(yamlnode.Str(yamlnode.Get(n, "name")))
	if name == "" {
		ps.warn(ln, id, "skipped ability: it has no name", "")
		return nil
	}
	t := &sdk.TestTemplate{
		ExternalID:   id,
		Name:         name,
		Description:  strings.TrimSpace(yamlnode.Str(yamlnode.Get(n, "description"))),
		TemplateType: sdk.TemplateCaldera,
		Tactic:       normTactic(yamlnode.Str(yamlnode.Get(n, "tactic"))),
	}
	if t.Tactic != "" && !tacticRe.MatchString(t.Tactic) {
		ps.warn(yamlnode.Line(yamlnode.Get(n, "tactic"), ln), id, fmt.Sprintf("tactic %q ignored: not a tactic name", yamlnode.Clip(t.Tactic, 40)), "")
		t.Tactic = ""
	}

	meta := map[string]any{}
	techNode, techName := yamlnode.Get(n, "technique_id"), yamlnode.Get(n, "technique_name")
	if tn := yamlnode.Get(n, "technique"); tn != nil {
		if yamlnode.IsMap(tn) {
			techNode, techName = yamlnode.Get(tn, "attack_id"), yamlnode.Get(tn, "name")
		} else {
			techNode = tn
		}
	}
	if raw := yamlnode.Text(techNode); raw != "" {
		if tid, ok := normTechnique(raw); ok {
			t.TechniqueIDs = []string{tid}
		} else {
			ps.warn(yamlnode.Line(techNode, ln), id, fmt.Sprintf("technique %q ignored: not an ATT&CK technique id", yamlnode.Clip(raw, 40)), "")
		}
	}
	if s := strings.TrimSpace(yamlnode.Str(techName)); s != "" {
		meta["technique_name"] = s
	}

	elevated := strings.EqualFold(yamlnode.Text(yamlnode.Get(n, "privilege")), "elevated")
	type key struct{ platform, name string }
	seen := map[key]int{}
	add := func(platformKey, executorKey string, e *yaml.Node) {
		plats, names := splitList(platformKey), splitList(executorKey)
		if len(plats) == 0 || len(names) == 0 {
			ps.warn(yamlnode.Line(e, ln), id, "executor ignored: it names no platform or no executor", fmt.Sprintf("platform %q, executor %q", platformKey, executorKey))
			return
		}
		if !yamlnode.IsMap(e) {
			ps.warn(yamlnode.Line(e, ln), id, fmt.Sprintf("executor %s on %s ignored: not a mapping", executorKey, platformKey), "it is "+yamlnode.KindName(e))
			return
		}
		cmd, ok := textBlock(yamlnode.Get(e, "command"))
		if !ok {
			ps.warn(yamlnode.Line(yamlnode.Get(e, "command"), ln), id, "command ignored: it is "+yamlnode.KindName(yamlnode.Get(e, "command")), "")
		}
		cleanup, ok := textBlock(yamlnode.Get(e, "cleanup"))
		if !ok {
			ps.warn(yamlnode.Line(yamlnode.Get(e, "cleanup"), ln), id, "cleanup ignored: it is "+yamlnode.KindName(yamlnode.Get(e, "cleanup")), "")
		}
		timeout := 0
		if tv := yamlnode.Text(yamlnode.Get(e, "timeout")); tv != "" {
			if v, err := strconv.Atoi(tv); err == nil && v > 0 {
				timeout = v
			} else {
				ps.warn(yamlnode.Line(yamlnode.Get(e, "timeout"), ln), id, fmt.Sprintf("timeout %q ignored: not a positive number of seconds", yamlnode.Clip(tv, 20)), "")
			}
		}
		for _, pl := range plats {
			for _, nm := range names {
				k := key{pl, nm}
				if first, dup := seen[k]; dup {
					ps.warn(yamlnode.Line(e, ln), id, fmt.Sprintf("second %s executor for %s ignored (first on line %d)", nm, pl, first), "")
					continue
				}
				seen[k] = yamlnode.Line(e, ln)
				t.Executors = append(t.Executors, sdk.Executor{Name: nm, Platform: pl, Command: cmd, Cleanup: cleanup,
					ElevationRequired: elevated, Timeout: timeout})
			}
		}
		for _, p := range yamlnode.Strs(yamlnode.Get(e, "payloads")) {
			if !slices.Contains(t.Payloads, p) {
				t.Payloads = append(t.Payloads, p)
			}
		}
	}
	fromPlatforms := func() {
		pn := yamlnode.Get(n, "platforms")
		if yamlnode.IsNull(pn) {
			return
		}
		if !yamlnode.IsMap(pn) {
			ps.warn(yamlnode.Line(pn, ln), id, "platforms ignored: not a mapping of platform to executors", "it is "+yamlnode.KindName(pn))
		}
		for _, pp := range yamlnode.Pairs(pn) {
			if !yamlnode.IsMap(pp[1]) {
				ps.warn(yamlnode.Line(pp[1], ln), id, fmt.Sprintf("platform %s ignored: not a mapping of executors", yamlnode.Text(pp[0])), "it is "+yamlnode.KindName(pp[1]))
				continue
			}
			for _, ep := range yamlnode.Pairs(pp[1]) {
				add(yamlnode.Text(pp[0]), yamlnode.Text(ep[0]), ep[1])
			}
		}
	}
	fromExecutors := func() {
		for _, en := range yamlnode.Items(yamlnode.Get(n, "executors")) {
			if !yamlnode.IsMap(en) {
				ps.warn(yamlnode.Line(en, ln), id, "executor ignored: not a mapping", "it is "+yamlnode.KindName(en))
				continue
			}
			add(yamlnode.Text(yamlnode.Get(en, "platform")), yamlnode.Text(yamlnode.Get(en, "name")), en)
		}
	}
	// An ability with both shapes is read in file order, so that the first
	// executor written for a platform is the one kept.
	if ex, pl := yamlnode.Get(n, "executors"), yamlnode.Get(n, "platforms"); ex != nil && pl != nil && yamlnode.Line(ex, 0) < yamlnode.Line(pl, 0) {
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

	if p := yamlnode.Text(yamlnode.Get(n, "privilege")); p != "" {
		meta["privilege"] = p
	}
	for _, k := range []string{"singleton", "repeatable", "delete_payload"} {
		if b, ok := yamlnode.Boolean(yamlnode.Get(n, k)); ok {
			meta[k] = b
		}
	}
	if b := yamlnode.Strs(yamlnode.Get(n, "buckets")); len(b) > 0 {
		meta["buckets"] = b
	}
	if p := yamlnode.Text(yamlnode.Get(n, "plugin")); p != "" {
		meta["plugin"] = p
	}
	for _, k := range []string{"requirements", "additional_info", "access"} {
		v := yamlnode.Get(n, k)
		if yamlnode.IsNull(v) || (yamlnode.Deref(v).Kind != yaml.ScalarNode && len(yamlnode.Deref(v).Content) == 0) {
			continue
		}
		if val, ok := yamlnode.ToValue(v); ok {
			meta[k] = val
		} else {
			ps.warn(yamlnode.Line(v, ln), id, k+" left out: it is too large", "")
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
		ps.warn(yamlnode.Line(root, 1), "", "skipped file: not an adversary profile", "the document is "+yamlnode.KindName(root)+", not a mapping")
		return nil, ps
	}
	ln := yamlnode.Line(root, 1)
	a := &adversary{line: ln}
	a.id = yamlnode.Text(yamlnode.Get(root, "id"))
	if a.id == "" {
		a.id = yamlnode.Text(yamlnode.Get(root, "adversary_id"))
	}
	if a.id == "" {
		a.id = stem(rel)
		ps.warn(ln, a.id, "adversary has no id; using the file name "+a.id, "")
	}
	a.name = strings.TrimSpace(yamlnode.Str(yamlnode.Get(root, "name")))
	if a.name == "" {
		ps.warn(ln, a.id, "skipped adversary: it has no name", "")
		return nil, ps
	}
	a.description = strings.TrimSpace(yamlnode.Str(yamlnode.Get(root, "description")))

	refsOf := func(n *yaml.Node, what string) []ref {
		var out []ref
		for _, it := range yamlnode.Items(n) {
			id := yamlnode.Text(it)
			if yamlnode.IsMap(it) { // {id: ...} or {ability_id: ...}
				id = yamlnode.Text(yamlnode.Get(it, "ability_id"))
				if id == "" {
					id = yamlnode.Text(yamlnode.Get(it, "id"))
				}
			}
			if id == "" {
				ps.warn(yamlnode.Line(it, ln), a.id, what+" entry ignored: it names no id", "it is "+yamlnode.KindName(it))
				continue
			}
			out = append(out, ref{id: id, line: yamlnode.Line(it, ln)})
		}
		return out
	}
	// atomic_ordering is the current shape; phases{1: [...], 2: [...]} the
	// older one, run in phase order.
	if ao := yamlnode.Get(root, "atomic_ordering"); ao != nil {
		a.abilities = refsOf(ao, "atomic_ordering")
	} else if ph := yamlnode.Get(root, "phases"); !yamlnode.IsNull(ph) {
		if !yamlnode.IsMap(ph) {
			ps.warn(yamlnode.Line(ph, ln), a.id, "phases ignored: not a mapping of phase number to abilities", "it is "+yamlnode.KindName(ph))
		}
		type phase struct {
			key  string
			num  int
			node *yaml.Node
		}
		var phs []phase
		for _, p := range yamlnode.Pairs(ph) {
			k := yamlnode.Text(p[0])
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
	a.packs = refsOf(yamlnode.Get(root, "packs"), "packs")
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
