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

// item is one test template parsed from a file, with the line of its entry.
type item struct {
	rec  *sdk.TestTemplate
	line int
}

// problem is something the parser skipped or worked around; it becomes a
// warning naming the file, line and test.
type problem struct {
	line    int
	id      string
	summary string
	detail  string
}

var (
	techniqueRe = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)
	// fileTechniqueRe matches the atomics/T1003.001/T1003.001.yaml file names.
	fileTechniqueRe = regexp.MustCompile(`^(?i)(T\d{4}(\.\d{3})?)\.ya?ml$`)
)

// normTechnique upper-cases and trims an ATT&CK id; ok is false when the
// result is not a technique id.
func normTechnique(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	return s, techniqueRe.MatchString(s)
}

// derivedID is the external id of a test that has no auto_generated_guid:
// the technique and the test's 1-based position in the file, the same
// number Invoke-AtomicTest's -TestNumbers uses. It is stable as long as
// tests are not reordered; once upstream assigns the GUID, the test moves to
// its GUID and the derived record is deprecated.
func derivedID(technique string, number int) string {
	return fmt.Sprintf("atomic:%s:%d", technique, number)
}

// fileParser collects the problems of one file.
type fileParser struct {
	problems []problem
}

func (p *fileParser) warn(line int, id, summary, detail string) {
	p.problems = append(p.problems, problem{line: line, id: id, summary: summary, detail: detail})
}

// scalarField reads an optional string field; a list is joined with
// newlines (some forks write commands as lists), anything else is reported
// and ignored.
func (p *fileParser) scalarField(m *yaml.Node, key string, id string) string {
	v := yamlnode.Get(m, key)
	if yamlnode.IsNull(v) {
		return ""
	}
	switch d := yamlnode.Deref(v); d.Kind {
	case yaml.ScalarNode:
		return d.Value
	case yaml.SequenceNode:
		var lines []string
		for _, it := range d.Content {
			if s := yamlnode.Str(it); s != "" {
				lines = append(lines, s)
			}
		}
		return strings.Join(lines, "\n")
	}
	p.warn(yamlnode.Line(v, 0), id, fmt.Sprintf("field %s ignored: it is %s, not text", key, yamlnode.KindName(v)), "")
	return ""
}

// parseFile parses one atomics/T*/T*.yaml file. rel names the file in
// messages and supplies the technique when the file does not.
func parseFile(rel string, data []byte) ([]item, []problem) {
	p := &fileParser{}
	root, err := yamlnode.FirstDocument(data)
	if errors.Is(err, yamlnode.ErrEmpty) {
		p.warn(0, "", "skipped empty file", "")
		return nil, p.problems
	}
	if err != nil {
		p.warn(yamlErrLine(err), "", "skipped unreadable file", err.Error())
		return nil, p.problems
	}
	if !yamlnode.IsMap(root) {
		p.warn(yamlnode.Line(root, 1), "", "skipped file: not an atomic technique file", "the document is "+yamlnode.KindName(root)+", not a mapping with atomic_tests")
		return nil, p.problems
	}

	technique := ""
	techNode := yamlnode.Get(root, "attack_technique")
	for _, s := range yamlnode.Strs(techNode) { // a few forks list several
		if id, ok := normTechnique(s); ok {
			technique = id
			break
		}
	}
	if technique == "" {
		fromName := ""
		if m := fileTechniqueRe.FindStringSubmatch(path.Base(rel)); m != nil {
			fromName, _ = normTechnique(m[1])
		}
		detail := fmt.Sprintf("attack_technique is %s", yamlnode.KindName(techNode))
		if fromName == "" {
			p.warn(yamlnode.Line(techNode, yamlnode.Line(root, 1)), "", "skipped file: no valid attack_technique", detail+" and the file name names no technique")
			return nil, p.problems
		}
		p.warn(yamlnode.Line(techNode, yamlnode.Line(root, 1)), "", "attack_technique missing or invalid; using "+fromName+" from the file name", detail)
		technique = fromName
	}
	displayName := strings.TrimSpace(yamlnode.Str(yamlnode.Get(root, "display_name")))

	testsNode := yamlnode.Get(root, "atomic_tests")
	tests := yamlnode.Deref(testsNode)
	if tests == nil || tests.Kind != yaml.SequenceNode {
		p.warn(yamlnode.Line(testsNode, yamlnode.Line(root, 1)), "", "skipped file: atomic_tests is not a list", "atomic_tests is "+yamlnode.KindName(testsNode))
		return nil, p.problems
	}
	var out []item
	for i, tn := range tests.Content {
		if t := p.parseTest(tn, technique, displayName, i+1); t != nil {
			out = append(out, item{rec: t, line: yamlnode.Line(tn, 0)})
		}
	}
	// Fields are read in a fixed order, not the file's; report in file order.
	slices.SortStableFunc(p.problems, func(a, b problem) int { return a.line - b.line })
	return out, p.problems
}

// parseTest turns one atomic_tests entry into a template, or reports why not.
func (p *fileParser) parseTest(tn *yaml.Node, technique, displayName string, number int) *sdk.TestTemplate {
	ln := yamlnode.Line(tn, 0)
	if !yamlnode.IsMap(tn) {
		p.warn(ln, "", fmt.Sprintf("skipped test %d: not a mapping", number), "the entry is "+yamlnode.KindName(tn))
		return nil
	}
	id := strings.ToLower(yamlnode.Text(yamlnode.Get(tn, "auto_generated_guid")))
	derived := id == ""
	if derived {
		id = derivedID(technique, number)
		p.warn(ln, id, "test has no auto_generated_guid; using the derived id "+id,
			"derived ids are technique:position and change if tests are reordered")
	}
	name := strings.TrimSpace(p.scalarField(tn, "name", id))
	if name == "" {
		p.warn(ln, id, fmt.Sprintf("skipped test %d: it has no name", number), "")
		return nil
	}
	t := &sdk.TestTemplate{
		ExternalID:   id,
		Name:         name,
		Description:  strings.TrimSpace(p.scalarField(tn, "description", id)),
		TemplateType: sdk.TemplateAtomic,
		TechniqueIDs: []string{technique},
		Platforms:    platforms(yamlnode.Get(tn, "supported_platforms")),
		Metadata:     map[string]any{"test_number": number},
	}
	if displayName != "" {
		t.Metadata["display_name"] = displayName
	}
	if derived {
		t.Metadata["derived_id"] = true
	}

	exNode := yamlnode.Get(tn, "executor")
	if !yamlnode.IsMap(exNode) {
		p.warn(yamlnode.Line(exNode, ln), id, fmt.Sprintf("skipped test %d: it has no executor", number), "executor is "+yamlnode.KindName(exNode))
		return nil
	}
	ex := sdk.Executor{
		Name:    strings.ToLower(yamlnode.Text(yamlnode.Get(exNode, "name"))),
		Command: p.scalarField(exNode, "command", id),
		Cleanup: p.scalarField(exNode, "cleanup_command", id),
	}
	if ex.Name == "" {
		p.warn(yamlnode.Line(exNode, ln), id, fmt.Sprintf("skipped test %d: its executor has no name", number), "")
		return nil
	}
	if v := yamlnode.Get(exNode, "elevation_required"); !yamlnode.IsNull(v) {
		b, ok := yamlnode.Boolean(v)
		if !ok {
			p.warn(yamlnode.Line(v, ln), id, "elevation_required is not a boolean; treated as false", "it is "+yamlnode.KindName(v))
		}
		ex.ElevationRequired = b
	}
	t.ManualSteps = strings.TrimSpace(p.scalarField(exNode, "steps", id))
	if ex.Name == "manual" && t.ManualSteps == "" && ex.Command != "" {
		// Older manual tests put the steps in command.
		t.ManualSteps, ex.Command = strings.TrimSpace(ex.Command), ""
	}
	t.Executor = ex

	t.InputArguments = p.inputArguments(yamlnode.Get(tn, "input_arguments"), id)
	t.DependencyExecutor = strings.ToLower(yamlnode.Text(yamlnode.Get(tn, "dependency_executor_name")))
	for _, dn := range yamlnode.Items(yamlnode.Get(tn, "dependencies")) {
		if !yamlnode.IsMap(dn) {
			p.warn(yamlnode.Line(dn, ln), id, "dependency ignored: not a mapping", "it is "+yamlnode.KindName(dn))
			continue
		}
		d := sdk.Dependency{
			Description:      strings.TrimSpace(p.scalarField(dn, "description", id)),
			PrereqCommand:    p.scalarField(dn, "prereq_command", id),
			GetPrereqCommand: p.scalarField(dn, "get_prereq_command", id),
		}
		if d != (sdk.Dependency{}) {
			t.Dependencies = append(t.Dependencies, d)
		}
	}
	return t
}

// inputArguments reads the input_arguments mapping, sorted by name because a
// mapping's order carries no meaning.
func (p *fileParser) inputArguments(n *yaml.Node, id string) []sdk.InputArgument {
	if yamlnode.IsNull(n) {
		return nil
	}
	if !yamlnode.IsMap(n) {
		p.warn(yamlnode.Line(n, 0), id, "input_arguments ignored: not a mapping", "it is "+yamlnode.KindName(n))
		return nil
	}
	var out []sdk.InputArgument
	seen := map[string]bool{}
	for _, kv := range yamlnode.Pairs(n) {
		name := yamlnode.Text(kv[0])
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		a := sdk.InputArgument{Name: name}
		if yamlnode.IsMap(kv[1]) {
			a.Description = strings.TrimSpace(p.scalarField(kv[1], "description", id))
			a.Type = strings.ToLower(yamlnode.Text(yamlnode.Get(kv[1], "type")))
			if dv := yamlnode.Get(kv[1], "default"); !yamlnode.IsNull(dv) {
				if yamlnode.Deref(dv).Kind == yaml.ScalarNode {
					a.Default = yamlnode.Str(dv)
				} else {
					p.warn(yamlnode.Line(dv, 0), id, fmt.Sprintf("default of input argument %s ignored: it is %s", name, yamlnode.KindName(dv)), "")
				}
			}
		} else if !yamlnode.IsNull(kv[1]) {
			p.warn(yamlnode.Line(kv[1], 0), id, fmt.Sprintf("input argument %s has no description, type or default", name), "it is "+yamlnode.KindName(kv[1]))
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b sdk.InputArgument) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// platforms lower-cases, de-duplicates and sorts supported_platforms.
func platforms(n *yaml.Node) []string {
	var out []string
	for _, s := range yamlnode.Strs(n) {
		for _, part := range strings.Split(s, ",") {
			if part = strings.ToLower(strings.TrimSpace(part)); part != "" && !slices.Contains(out, part) {
				out = append(out, part)
			}
		}
	}
	slices.Sort(out)
	return out
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
