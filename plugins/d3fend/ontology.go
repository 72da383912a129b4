package main

import (
	"errors"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/aegis-sec/aegis/sdk"
)

const (
	keyType       = "@type"
	keySubClassOf = "rdfs:subClassOf"
	keyLabel      = "rdfs:label"
	keyDeprecated = "owl:deprecated"
	keyD3FENDID   = "d3f:d3fend-id"
	keyAttackID   = "d3f:attack-id"
	keyDefinition = "d3f:definition"
	keyEnables    = "d3f:enables"

	classDefensiveTechnique = "d3f:DefensiveTechnique"
	classDigitalArtifact    = "d3f:DigitalArtifact"

	techniqueBaseURL = "https://d3fend.mitre.org/technique/"

	// mitigationKey prefixes the relation of a mapping that comes from an
	// ATT&CK mitigation: "mitigation:M1018".
	mitigationKey = "mitigation:"
)

var (
	errNoGraph   = errors.New("no @graph array: not a JSON-LD ontology")
	attackIDRe   = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)
	mitigationRe = regexp.MustCompile(`^M\d{4}$`)
)

// ontology is what the importer needs from the D3FEND graph.
type ontology struct {
	g *graph
	// isA caches subClassOf* answers per (node, class).
	isA map[[2]string]bool
	// ancestors caches the transitive rdfs:subClassOf closure of a node, itself included.
	ancestors map[string][]string
}

func newOntology(g *graph) *ontology {
	return &ontology{g: g, isA: map[[2]string]bool{}, ancestors: map[string][]string{}}
}

func (o *ontology) parents(id string) []string {
	n := o.g.nodes[id]
	if n == nil {
		return nil
	}
	ps := n.refs(o.g.c, keySubClassOf)
	sort.Strings(ps)
	return ps
}

// closure is the node and every class above it through rdfs:subClassOf,
// sorted. Cycles (which OWL allows for equivalent classes) end the walk.
func (o *ontology) closure(id string) []string {
	if c, ok := o.ancestors[id]; ok {
		return c
	}
	seen := map[string]bool{id: true}
	queue := []string{id}
	for i := 0; i < len(queue); i++ {
		for _, p := range o.parents(queue[i]) {
			if !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
		}
	}
	sort.Strings(queue)
	o.ancestors[id] = queue
	return queue
}

func (o *ontology) is(id, class string) bool {
	k := [2]string{id, class}
	if v, ok := o.isA[k]; ok {
		return v
	}
	_, found := slices.BinarySearch(o.closure(id), class)
	o.isA[k] = found
	return found
}

// artifactLink is one "technique <property> artifact" statement.
type artifactLink struct {
	Property string // compact, e.g. d3f:analyzes
	Artifact string // compact, e.g. d3f:File
}

// artifactLinks lists the node's d3f: properties whose value is a digital
// artifact. Which properties count is decided by their value, not their name:
// the ontology keeps adding verbs (d3f:may-*, d3f:use-limits) and every one of
// them that points at an artifact says the technique acts on it.
func (o *ontology) artifactLinks(n *node) []artifactLink {
	var out []artifactLink
	for key := range n.props {
		if !strings.HasPrefix(key, "d3f:") || key == keyEnables {
			continue
		}
		for _, ref := range n.refs(o.g.c, key) {
			if o.is(ref, classDigitalArtifact) {
				out = append(out, artifactLink{Property: key, Artifact: ref})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Property != out[j].Property {
			return out[i].Property < out[j].Property
		}
		return out[i].Artifact < out[j].Artifact
	})
	return out
}

// defTechnique is a D3FEND technique read from the graph.
type defTechnique struct {
	rec   *sdk.DefensiveTechnique
	node  *node
	links []artifactLink
}

// problem is something skipped, with where it was.
type problem struct {
	Line    int
	ID      string
	Summary string
	Detail  string
}

// techniques returns the D3FEND techniques, sorted by D3FEND id: nodes with a
// d3f:d3fend-id whose rdfs:subClassOf chain reaches d3f:DefensiveTechnique.
// Deprecated techniques are left out, so the core marks them deprecated.
func (o *ontology) techniques() ([]*defTechnique, []problem) {
	var out []*defTechnique
	var problems []problem
	byID := map[string]*defTechnique{}
	byNode := map[string]*defTechnique{}
	for _, id := range o.g.order {
		n := o.g.nodes[id]
		d3id := n.literal(keyD3FENDID)
		if d3id == "" || id == classDefensiveTechnique || !o.is(id, classDefensiveTechnique) || n.flag(keyDeprecated) {
			continue
		}
		name := n.literal(keyLabel)
		if name == "" {
			problems = append(problems, problem{Line: n.Line, ID: d3id, Summary: "skipped D3FEND technique without rdfs:label", Detail: id})
			continue
		}
		if first, dup := byID[d3id]; dup {
			problems = append(problems, problem{Line: n.Line, ID: d3id, Summary: "skipped second technique with the same d3fend-id",
				Detail: id + " repeats the id of " + first.node.ID})
			continue
		}
		t := &defTechnique{node: n, links: o.artifactLinks(n), rec: &sdk.DefensiveTechnique{
			ExternalID: d3id,
			Name:       name,
			Definition: n.literal(keyDefinition),
			URI:        techniqueBaseURL + id + "/",
		}}
		byID[d3id], byNode[id] = t, t
		out = append(out, t)
	}
	for _, t := range out {
		t.rec.Tactic = o.tactic(t.node.ID)
		// The parent is the nearest class above that is itself a technique;
		// top-level techniques sit directly under DefensiveTechnique and have none.
		for _, p := range o.parents(t.node.ID) {
			if pt := byNode[p]; pt != nil && pt != t {
				t.rec.ParentID = pt.rec.ExternalID
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rec.ExternalID < out[j].rec.ExternalID })
	return out, problems
}

// tactic is the d3f:enables value of the nearest class up the subClassOf
// chain that has one: D3FEND states the tactic on the top-level technique
// only. Breadth first, so the nearest statement wins; among equals, the
// lowest id, for a stable answer.
func (o *ontology) tactic(id string) string {
	seen := map[string]bool{id: true}
	level := []string{id}
	for len(level) > 0 {
		var found []string
		var next []string
		for _, x := range level {
			if n := o.g.nodes[x]; n != nil {
				found = append(found, n.refs(o.g.c, keyEnables)...)
			}
			for _, p := range o.parents(x) {
				if !seen[p] {
					seen[p] = true
					next = append(next, p)
				}
			}
		}
		if len(found) > 0 {
			sort.Strings(found)
			return o.label(found[0])
		}
		sort.Strings(next)
		level = next
	}
	return ""
}

// label is a node's rdfs:label, or its local name.
func (o *ontology) label(id string) string {
	if n := o.g.nodes[id]; n != nil {
		if l := n.literal(keyLabel); l != "" {
			return l
		}
	}
	return localName(id)
}

func localName(id string) string {
	if _, local, ok := strings.Cut(id, ":"); ok {
		return local
	}
	return id
}

// attackTechnique is an ATT&CK technique node and the artifacts it touches.
type attackTechnique struct {
	ID    string // T1003.001
	links []artifactLink
}

// attackTechniques returns the ATT&CK techniques of the graph that are not
// deprecated, sorted by ATT&CK id. Several nodes with the same attack-id are
// merged.
func (o *ontology) attackTechniques() ([]*attackTechnique, []problem) {
	byID := map[string]*attackTechnique{}
	var problems []problem
	for _, id := range o.g.order {
		n := o.g.nodes[id]
		raw := n.literal(keyAttackID)
		if raw == "" || n.flag(keyDeprecated) {
			continue
		}
		tid := strings.ToUpper(raw)
		if !attackIDRe.MatchString(tid) {
			problems = append(problems, problem{Line: n.Line, ID: raw, Summary: "skipped ATT&CK node with an invalid attack-id", Detail: id})
			continue
		}
		t := byID[tid]
		if t == nil {
			t = &attackTechnique{ID: tid}
			byID[tid] = t
		}
		t.links = append(t.links, o.artifactLinks(n)...)
	}
	out := make([]*attackTechnique, 0, len(byID))
	for _, t := range byID {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, problems
}

// deriveMappings relates each D3FEND technique to the ATT&CK techniques that
// touch one of its artifacts or a sub-artifact of one (rule: README.md).
func (o *ontology) deriveMappings(defs []*defTechnique, attacks []*attackTechnique) {
	type use struct{ technique, property string }
	// touching[X] lists the ATT&CK techniques whose artifact is X or below X.
	touching := map[string][]use{}
	for _, a := range attacks {
		for _, l := range a.links {
			for _, up := range o.closure(l.Artifact) {
				touching[up] = append(touching[up], use{a.ID, l.Property})
			}
		}
	}
	for _, d := range defs {
		seen := map[sdk.DefensiveMapping]bool{}
		for _, l := range d.links {
			for _, u := range touching[l.Artifact] {
				m := sdk.DefensiveMapping{
					TechniqueID: u.technique,
					Relation:    localName(l.Property) + "/" + localName(u.property),
					Via:         localName(l.Artifact),
				}
				if !seen[m] {
					seen[m] = true
					d.rec.Mappings = append(d.rec.Mappings, m)
				}
			}
		}
	}
}

// sortMappings orders a technique's mappings by ATT&CK id, relation and artifact.
func sortMappings(ms []sdk.DefensiveMapping) {
	sort.Slice(ms, func(i, j int) bool {
		a, b := ms[i], ms[j]
		if a.TechniqueID != b.TechniqueID {
			return a.TechniqueID < b.TechniqueID
		}
		if a.Relation != b.Relation {
			return a.Relation < b.Relation
		}
		return a.Via < b.Via
	})
}
