package main

// Small helpers over yaml.v3 nodes. The importer reads nodes rather than
// decoding into structs so that one field of an unexpected type (a number
// where a string was meant, a single value where a list was meant) costs that
// field, not the whole test, and so that every item keeps its line number.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"gopkg.in/yaml.v3"
)

// errEmpty means the file holds no YAML document at all.
var errEmpty = errors.New("empty file")

// firstDocument parses the first YAML document in data and returns its root.
// Later documents are not parsed: front matter may be followed by Markdown.
func firstDocument(data []byte) (root *yaml.Node, err error) {
	// yaml.v3 has panicked on some malformed inputs in the past; one bad
	// file must become a warning, not a failed run.
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("YAML parser failed: %v", r)
		}
	}()
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errEmpty
		}
		return nil, err
	}
	n := deref(&doc)
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil, errEmpty
	}
	return n, nil
}

// maxAliasHops bounds alias chains, which a hostile file could make cyclic.
const maxAliasHops = 32

// deref follows document wrappers and aliases to the node that holds a value.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && i < maxAliasHops; i++ {
		switch n.Kind {
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		case yaml.AliasNode:
			n = n.Alias
		default:
			return n
		}
	}
	return nil
}

// isMap reports whether n is a mapping.
func isMap(n *yaml.Node) bool {
	n = deref(n)
	return n != nil && n.Kind == yaml.MappingNode
}

// isNull reports whether n is absent or an explicit null.
func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// pairs returns the key/value pairs of a mapping, with "<<" merge keys
// expanded after the mapping's own keys so that own keys win.
func pairs(n *yaml.Node) [][2]*yaml.Node {
	return pairsDepth(n, 0)
}

func pairsDepth(n *yaml.Node, depth int) [][2]*yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode || depth > maxAliasHops {
		return nil
	}
	var own, merged [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k != nil && k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag == "!!merge" {
			src := deref(v)
			if src != nil && src.Kind == yaml.SequenceNode {
				for _, s := range src.Content {
					merged = append(merged, pairsDepth(s, depth+1)...)
				}
			} else {
				merged = append(merged, pairsDepth(src, depth+1)...)
			}
			continue
		}
		own = append(own, [2]*yaml.Node{k, v})
	}
	return append(own, merged...)
}

// get returns the value of key in mapping n: an exact match first, then a
// case-insensitive one, since hand-edited catalogs drift in capitalisation.
func get(n *yaml.Node, key string) *yaml.Node {
	var fold *yaml.Node
	for _, p := range pairs(n) {
		if p[0] == nil || p[0].Kind != yaml.ScalarNode {
			continue
		}
		if p[0].Value == key {
			return p[1]
		}
		if fold == nil && strings.EqualFold(p[0].Value, key) {
			fold = p[1]
		}
	}
	return fold
}

// has reports whether mapping n has key.
func has(n *yaml.Node, key string) bool { return get(n, key) != nil }

// str returns a scalar's text ("" for null, mappings and sequences).
func str(n *yaml.Node) string {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

// text is str with surrounding whitespace removed.
func text(n *yaml.Node) string { return strings.TrimSpace(str(n)) }

// items returns the elements of a sequence, or the node itself when a
// single value was written where a list was meant.
func items(n *yaml.Node) []*yaml.Node {
	n = deref(n)
	switch {
	case n == nil || isNull(n):
		return nil
	case n.Kind == yaml.SequenceNode:
		return n.Content
	}
	return []*yaml.Node{n}
}

// strs returns the non-empty, trimmed scalars of a sequence (or of a single
// scalar).
func strs(n *yaml.Node) []string {
	var out []string
	for _, it := range items(n) {
		if s := text(it); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// boolean reads true/false and the usual spellings of them; ok is false
// when the value is absent or not a boolean.
func boolean(n *yaml.Node) (value, ok bool) {
	switch strings.ToLower(text(n)) {
	case "true", "yes", "y", "on", "1":
		return true, true
	case "false", "no", "n", "off", "0":
		return false, true
	}
	return false, false
}

// line returns the line of a node, or fallback when the node is absent.
func line(n *yaml.Node, fallback int) int {
	if n == nil || n.Line == 0 {
		return fallback
	}
	return n.Line
}

// kindName describes a node's kind for warnings.
func kindName(n *yaml.Node) string {
	n = deref(n)
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Tag == "!!null":
		return "null"
	}
	return fmt.Sprintf("the scalar %q", clip(n.Value, 40))
}

// clip shortens s for messages.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// maxValueNodes bounds how much of a document toValue converts, so that
// aliases nested into an exponential tree ("billion laughs") cannot exhaust
// memory.
const maxValueNodes = 10000

// toValue converts a node into plain JSON-encodable values (maps with string
// keys, slices, strings, bools, numbers) for metadata. Scalars keep their
// YAML types; keys are their text. ok is false when the node was too large
// or deep and was cut short.
func toValue(n *yaml.Node) (v any, ok bool) {
	budget := maxValueNodes
	v = convert(n, &budget, 0)
	return v, budget >= 0
}

func convert(n *yaml.Node, budget *int, depth int) any {
	n = deref(n)
	*budget--
	if n == nil || *budget < 0 || depth > 64 {
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for _, p := range pairs(n) {
			if p[0] == nil {
				continue
			}
			m[p[0].Value] = convert(p[1], budget, depth+1)
		}
		return m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			s = append(s, convert(c, budget, depth+1))
		}
		return s
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil
		case "!!bool":
			if b, ok := boolean(n); ok {
				return b
			}
		case "!!int":
			var i int64
			if _, err := fmt.Sscan(n.Value, &i); err == nil {
				return i
			}
		case "!!float":
			var f float64
			if _, err := fmt.Sscan(n.Value, &f); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f
			}
		}
		return n.Value
	}
	return nil
}
