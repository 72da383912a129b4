package main

import (
	"encoding/json"
	"github.com/aegis-sec/aegis/plugins/internal/jsonpos"
	"strings"
)

// Namespaces the ontology uses. Names are compared in their compact form
// ("d3f:File"); full IRIs and other prefixes bound to the same namespaces are
// compacted first, so an ontology serialised with another @context reads the same.
var namespaces = map[string]string{
	"d3f":  "http://d3fend.mitre.org/ontologies/d3fend.owl#",
	"rdfs": "http://www.w3.org/2000/01/rdf-schema#",
	"owl":  "http://www.w3.org/2002/07/owl#",
	"rdf":  "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
}

// compactor rewrites IRIs and compact IRIs to the prefixes in namespaces.
type compactor struct {
	prefixes map[string]string // prefix of the document → namespace IRI
}

func newCompactor(context json.RawMessage) *compactor {
	c := &compactor{prefixes: map[string]string{}}
	var ctx map[string]json.RawMessage
	if json.Unmarshal(context, &ctx) != nil {
		// A @context given as a list or a remote URL: fall back to the well-known prefixes.
		return c
	}
	for p, v := range ctx {
		var ns string
		if json.Unmarshal(v, &ns) == nil && ns != "" {
			c.prefixes[p] = ns
		}
	}
	return c
}

func (c *compactor) compact(iri string) string {
	iri = strings.TrimSpace(iri)
	if strings.HasPrefix(iri, "_:") {
		return iri
	}
	full := iri
	if p, local, ok := strings.Cut(iri, ":"); ok && !strings.HasPrefix(local, "//") {
		if ns, known := c.prefixes[p]; known {
			full = ns + local
		} else if _, std := namespaces[p]; std {
			return iri
		}
	}
	for p, ns := range namespaces {
		if local, ok := strings.CutPrefix(full, ns); ok {
			return p + ":" + local
		}
	}
	return iri
}

// node is one JSON-LD node object, its keys compacted. Several node objects
// with the same @id are merged, as JSON-LD allows a node to be described in
// pieces.
type node struct {
	ID    string
	Line  int
	props map[string][]json.RawMessage
}

func (n *node) add(key string, v json.RawMessage) {
	if n.props == nil {
		n.props = map[string][]json.RawMessage{}
	}
	n.props[key] = append(n.props[key], v)
}

// refs returns the node ids a property points to, blank nodes left out: in
// this ontology they are OWL restrictions that repeat the direct properties.
func (n *node) refs(c *compactor, key string) []string {
	var out []string
	for _, raw := range n.props[key] {
		for _, v := range values(raw) {
			var ref struct {
				ID *string `json:"@id"`
			}
			if json.Unmarshal(v, &ref) == nil && ref.ID != nil {
				if id := c.compact(*ref.ID); id != "" && !strings.HasPrefix(id, "_:") {
					out = append(out, id)
				}
			}
		}
	}
	return out
}

// literals returns a property's string values: plain strings and
// {"@value": ...} objects.
func (n *node) literals(key string) []string {
	var out []string
	for _, raw := range n.props[key] {
		for _, v := range values(raw) {
			var s string
			if json.Unmarshal(v, &s) == nil {
				out = append(out, s)
				continue
			}
			var obj struct {
				Value json.RawMessage `json:"@value"`
			}
			if json.Unmarshal(v, &obj) == nil && json.Unmarshal(obj.Value, &s) == nil {
				out = append(out, s)
			}
		}
	}
	return out
}

// literal is the first non-empty string value of a property, trimmed.
func (n *node) literal(key string) string {
	for _, s := range n.literals(key) {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// flag reports whether a property holds the boolean true, in any of the
// spellings JSON-LD serialisers use.
func (n *node) flag(key string) bool {
	for _, raw := range n.props[key] {
		for _, v := range values(raw) {
			var obj struct {
				Value json.RawMessage `json:"@value"`
			}
			if json.Unmarshal(v, &obj) == nil && obj.Value != nil {
				v = obj.Value
			}
			var b bool
			var s string
			if (json.Unmarshal(v, &b) == nil && b) || (json.Unmarshal(v, &s) == nil && strings.EqualFold(strings.TrimSpace(s), "true")) {
				return true
			}
		}
	}
	return false
}

// values flattens a JSON-LD value that may be a single value or a list.
func values(raw json.RawMessage) []json.RawMessage {
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var obj struct {
		List []json.RawMessage `json:"@list"`
		Set  []json.RawMessage `json:"@set"`
	}
	if json.Unmarshal(raw, &obj) == nil && (obj.List != nil || obj.Set != nil) {
		return append(obj.List, obj.Set...)
	}
	return []json.RawMessage{raw}
}

// graph is a JSON-LD document's nodes by compacted @id.
type graph struct {
	c     *compactor
	nodes map[string]*node
	order []string // ids in order of first appearance
}

// parseGraph reads a JSON-LD document: an object with @context and @graph,
// or a bare array of node objects.
func parseGraph(data []byte) (*graph, []problem, error) {
	doc, err := jsonpos.Scan(data, "@graph")
	if err != nil {
		return nil, nil, err
	}
	g := &graph{c: newCompactor(doc.Fields["@context"]), nodes: map[string]*node{}}
	els := doc.Arrays["@graph"]
	if doc.TopArray != nil {
		els = doc.TopArray
	}
	if els == nil {
		return nil, nil, errNoGraph
	}
	var problems []problem
	for _, el := range els {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(el.Raw, &obj); err != nil {
			problems = append(problems, problem{Line: el.Line, Summary: "skipped graph entry that is not a JSON object", Detail: err.Error()})
			continue
		}
		var id string
		if raw, ok := obj["@id"]; ok {
			if err := json.Unmarshal(raw, &id); err != nil {
				problems = append(problems, problem{Line: el.Line, Summary: "skipped graph entry whose @id is not a string", Detail: string(raw)})
				continue
			}
		}
		// Nodes without an id are anonymous and nothing can refer to them.
		if id = g.c.compact(id); id == "" {
			continue
		}
		n := g.nodes[id]
		if n == nil {
			n = &node{ID: id, Line: el.Line}
			g.nodes[id] = n
			g.order = append(g.order, id)
		}
		for k, v := range obj {
			if k != "@id" {
				n.add(g.c.compact(k), v)
			}
		}
	}
	return g, problems, nil
}
