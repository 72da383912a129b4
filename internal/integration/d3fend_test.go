package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// d3fendExpect is computed from the raw ontology with a deliberately plain
// implementation of the rule in plugins/d3fend/README.md.
type d3fendExpect struct {
	techniques int
	nodeToID   map[string]string // node @id → D3- id
	pairs      map[[2]string]bool
	mappings   map[[4]string]bool // D3 id, T id, relation, via
}

func d3fendRefs(v any) []string {
	var out []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			out = append(out, d3fendRefs(e)...)
		}
	case map[string]any:
		if id, ok := x["@id"].(string); ok && !strings.HasPrefix(id, "_:") {
			out = append(out, id)
		}
	}
	return out
}

func d3fendString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		if len(x) > 0 {
			return d3fendString(x[0])
		}
	}
	return ""
}

func d3fendGraph(t *testing.T, path string) []map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Graph []map[string]any `json:"@graph"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return doc.Graph
}

func countD3FEND(t *testing.T, ontology string) d3fendExpect {
	t.Helper()
	nodes := d3fendGraph(t, ontology)
	parents := map[string][]string{}
	for _, n := range nodes {
		id, _ := n["@id"].(string)
		parents[id] = append(parents[id], d3fendRefs(n["rdfs:subClassOf"])...)
	}
	var below func(x, class string, seen map[string]bool) bool
	below = func(x, class string, seen map[string]bool) bool {
		if x == class {
			return true
		}
		if seen[x] {
			return false
		}
		seen[x] = true
		for _, p := range parents[x] {
			if below(p, class, seen) {
				return true
			}
		}
		return false
	}
	artifacts := func(n map[string]any) [][2]string {
		var out [][2]string
		for k, v := range n {
			if !strings.HasPrefix(k, "d3f:") || k == "d3f:enables" {
				continue
			}
			for _, r := range d3fendRefs(v) {
				if below(r, "d3f:DigitalArtifact", map[string]bool{}) {
					out = append(out, [2]string{strings.TrimPrefix(k, "d3f:"), r})
				}
			}
		}
		return out
	}
	e := d3fendExpect{nodeToID: map[string]string{}, pairs: map[[2]string]bool{}, mappings: map[[4]string]bool{}}
	type side struct {
		id    string
		links [][2]string
	}
	var defs, attacks []side
	tRe := regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)
	for _, n := range nodes {
		id, _ := n["@id"].(string)
		if n["owl:deprecated"] == true {
			continue
		}
		if d3 := d3fendString(n["d3f:d3fend-id"]); d3 != "" && id != "d3f:DefensiveTechnique" && below(id, "d3f:DefensiveTechnique", map[string]bool{}) {
			e.techniques++
			e.nodeToID[id] = d3
			defs = append(defs, side{d3, artifacts(n)})
		}
		if a := d3fendString(n["d3f:attack-id"]); tRe.MatchString(a) {
			attacks = append(attacks, side{a, artifacts(n)})
		}
	}
	for _, d := range defs {
		for _, dl := range d.links {
			for _, a := range attacks {
				for _, al := range a.links {
					if below(al[1], dl[1], map[string]bool{}) {
						e.pairs[[2]string{d.id, a.id}] = true
						e.mappings[[4]string{d.id, a.id, dl[0] + "/" + al[0], strings.TrimPrefix(dl[1], "d3f:")}] = true
					}
				}
			}
		}
	}
	return e
}

// countMitigationMappings: (D3 id, technique, mitigation) triples from
// attack-mitigations.json and the live ATT&CK mitigates relationships.
func countMitigationMappings(t *testing.T, mitigationsFile, attackDir string, nodeToID map[string]string) map[[3]string]bool {
	t.Helper()
	read := func(folder string) []map[string]any {
		var out []map[string]any
		for _, f := range walkFiles(t, filepath.Join(attackDir, folder), ".json") {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var b struct{ Objects []map[string]any }
			if err := json.Unmarshal(raw, &b); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out = append(out, b.Objects...)
		}
		return out
	}
	live := func(o map[string]any) bool { return o["revoked"] != true && o["x_mitre_deprecated"] != true }
	extID := func(o map[string]any) string {
		refs, _ := o["external_references"].([]any)
		for _, r := range refs {
			m, _ := r.(map[string]any)
			if m["source_name"] == "mitre-attack" {
				s, _ := m["external_id"].(string)
				return s
			}
		}
		return ""
	}
	tech, mit := map[string]string{}, map[string]string{}
	for _, o := range read("attack-pattern") {
		if live(o) {
			tech[o["id"].(string)] = extID(o)
		}
	}
	for _, o := range read("course-of-action") {
		if id := extID(o); live(o) && strings.HasPrefix(id, "M") {
			mit[o["id"].(string)] = id
		}
	}
	mitigates := map[string][]string{}
	for _, o := range read("relationship") {
		if o["relationship_type"] == "mitigates" && live(o) {
			m, tt := mit[o["source_ref"].(string)], tech[o["target_ref"].(string)]
			if m != "" && tt != "" {
				mitigates[m] = append(mitigates[m], tt)
			}
		}
	}
	out := map[[3]string]bool{}
	for _, n := range d3fendGraph(t, mitigationsFile) {
		id, _ := n["@id"].(string)
		m := strings.TrimPrefix(id, "d3f:")
		for _, r := range d3fendRefs(n["d3f:related"]) {
			if d3 := nodeToID[r]; d3 != "" {
				for _, tt := range mitigates[m] {
					out[[3]string{d3, tt, m}] = true
				}
			}
		}
	}
	return out
}

func TestD3FENDUpstream(t *testing.T) {
	dir := upstream(t, "d3fend")
	attack := filepath.Join(upstream(t, "mitre-cti"), "enterprise-attack")
	want := countD3FEND(t, filepath.Join(dir, "ontologies", "d3fend.json"))
	wantMit := countMitigationMappings(t, filepath.Join(dir, "api", "mappings", "attack-mitigations.json"), attack, want.nodeToID)
	t.Logf("raw files: %d techniques, %d D3FEND-ATT&CK pairs, %d artifact mappings, %d mitigation mappings",
		want.techniques, len(want.pairs), len(want.mappings), len(wantMit))
	if want.techniques == 0 || len(want.pairs) == 0 || len(wantMit) == 0 {
		t.Fatal("nothing counted in the raw files")
	}

	e := newEnv(t, map[string]string{"d3fend": `{"attack_source": "` + attack + `"}`})
	start := time.Now()
	run := e.Import(t, "d3fend", dir)
	t.Logf("first import: %s (%d ms in the run), %d added, %d warnings", time.Since(start), run.DurationMS, run.Added, run.WarningCount)
	for _, w := range Warnings(run) {
		t.Logf("warning: %s:%d %s %s", w.File, w.Line, w.ExternalID, w.Summary)
	}
	if run.Added != want.techniques || len(otherWarnings(run)) != 0 {
		t.Errorf("run added %d with %d warnings, want %d techniques and no warnings", run.Added, len(otherWarnings(run)), want.techniques)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM defensive_techniques WHERE source = 'd3fend'`); n != want.techniques {
		t.Errorf("%d defensive techniques stored, want %d", n, want.techniques)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM defensive_techniques WHERE tactic = ''`); n != 0 {
		t.Errorf("%d techniques without a tactic", n)
	}
	if n := e.Count(t, `SELECT COUNT(DISTINCT m.defensive_technique_id || '|' || m.technique_id) FROM defensive_technique_mappings m
		WHERE m.relation NOT LIKE 'mitigation:%'`); n != len(want.pairs) {
		t.Errorf("%d related D3FEND-ATT&CK pairs stored, want %d", n, len(want.pairs))
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM defensive_technique_mappings WHERE relation NOT LIKE 'mitigation:%'`); n != len(want.mappings) {
		t.Errorf("%d artifact mappings stored, want %d", n, len(want.mappings))
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM defensive_technique_mappings WHERE relation LIKE 'mitigation:M%' AND via = ''`); n != len(wantMit) {
		t.Errorf("%d mitigation mappings stored, want %d", n, len(wantMit))
	}
	// One mapping checked end to end: D3-FA analyzes File; T1204.002 executes an
	// ExecutableFile, which is a File.
	key := [4]string{"D3-FA", "T1204.002", "analyzes/executes", "File"}
	if !want.mappings[key] {
		t.Fatalf("the raw files no longer relate %v", key)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM defensive_technique_mappings m JOIN defensive_techniques d ON d.id = m.defensive_technique_id
		JOIN techniques te ON te.id = m.technique_id WHERE d.external_id = ? AND te.external_id = ? AND m.relation = ? AND m.via = ?`,
		key[0], key[1], key[2], key[3]); n != 1 {
		t.Errorf("%v: %d rows, want 1", key, n)
	}

	again := e.Import(t, "d3fend", dir)
	if again.Added+again.Updated+again.Deprecated != 0 || again.Unchanged != want.techniques {
		t.Errorf("re-import: added %d updated %d deprecated %d unchanged %d, want all %d unchanged",
			again.Added, again.Updated, again.Deprecated, again.Unchanged, want.techniques)
	}
}

// TestD3FENDChangedFile: a changed file changes exactly its records.
func TestD3FENDChangedFile(t *testing.T) {
	dir := upstream(t, "d3fend")
	attack := filepath.Join(upstream(t, "mitre-cti"), "enterprise-attack")
	src := t.TempDir()
	onto := filepath.Join(src, "ontologies", "d3fend.json")
	mitFile := filepath.Join(src, "api", "mappings", "attack-mitigations.json")
	d3fendCopy(t, filepath.Join(dir, "ontologies", "d3fend.json"), onto)
	d3fendCopy(t, filepath.Join(dir, "api", "mappings", "attack-mitigations.json"), mitFile)
	want := countD3FEND(t, onto)

	e := newEnv(t, map[string]string{"d3fend": `{"attack_source": "` + attack + `"}`})
	if run := e.Import(t, "d3fend", src); run.Added != want.techniques {
		t.Fatalf("added %d, want %d", run.Added, want.techniques)
	}

	// The mitigation file feeds exactly the techniques its mitigations name:
	// dropping M1018's links changes those techniques and nothing else.
	var m1018 []string
	for _, n := range d3fendGraph(t, mitFile) {
		if n["@id"] == "d3f:M1018" {
			m1018 = d3fendRefs(n["d3f:related"])
		}
	}
	if len(m1018) == 0 {
		t.Fatal("M1018 relates to no D3FEND technique in the raw file")
	}
	d3fendEdit(t, mitFile, `"@id":"d3f:M1018"`, `"@id":"d3f:M1018-edited"`)
	run := e.Import(t, "d3fend", src)
	if run.Updated != len(m1018) || run.Added != 0 || run.Deprecated != 0 || run.Unchanged != want.techniques-len(m1018) {
		t.Errorf("after editing M1018 (%d techniques): added %d updated %d deprecated %d unchanged %d",
			len(m1018), run.Added, run.Updated, run.Deprecated, run.Unchanged)
	}

	// A definition in the ontology is one technique's.
	d3fendEdit(t, onto, `"d3f:definition": "File Analysis is an analytic process`, `"d3f:definition": "EDITED File Analysis is an analytic process`)
	run = e.Import(t, "d3fend", src)
	if run.Updated != 1 || run.Added+run.Deprecated != 0 {
		t.Errorf("after editing D3-FA's definition: added %d updated %d deprecated %d", run.Added, run.Updated, run.Deprecated)
	}
}

// d3fendEdit replaces the one occurrence of old in a file.
func d3fendEdit(t *testing.T, path, old, repl string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(raw), old); n != 1 {
		t.Fatalf("%s: %q occurs %d times, want once", path, old, n)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(raw), old, repl, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func d3fendCopy(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
