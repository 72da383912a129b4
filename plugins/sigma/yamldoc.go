package main

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// chunk is one YAML document of a file, cut out of the text so that a syntax
// error in one document does not hide the others and each rule keeps its own
// raw text.
type chunk struct {
	text string // the document, its "---" line included
	line int    // file line of the first line of text
	sep  bool   // text starts with a "---" line
}

// raw is the document's own text, without the separator line.
func (c chunk) raw() string {
	if !c.sep {
		return c.text
	}
	if i := strings.IndexByte(c.text, '\n'); i >= 0 {
		return c.text[i+1:]
	}
	return ""
}

// splitDocuments cuts text at "---" and "..." marker lines. YAML forbids
// those markers at the start of a line inside any scalar, so cutting the text
// is the same as what a YAML stream parser does, but an error stays local.
func splitDocuments(text string) []chunk {
	var out []chunk
	cur := chunk{line: 1}
	var b strings.Builder
	flush := func() {
		cur.text = b.String()
		b.Reset()
		if hasContent(cur.raw()) {
			out = append(out, cur)
		}
	}
	lineNo := 0
	for len(text) > 0 {
		lineNo++
		var ln string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			ln, text = text[:i+1], text[i+1:]
		} else {
			ln, text = text, ""
		}
		switch {
		case isMarker(ln, "---"):
			flush()
			cur = chunk{line: lineNo, sep: true}
			b.WriteString(ln)
		case isMarker(ln, "..."):
			flush()
			cur = chunk{line: lineNo + 1}
		default:
			b.WriteString(ln)
		}
	}
	flush()
	return out
}

func isMarker(line, marker string) bool {
	if !strings.HasPrefix(line, marker) {
		return false
	}
	if len(line) == len(marker) {
		return true
	}
	switch line[len(marker)] {
	case ' ', '\t', '\r', '\n':
		return true
	}
	return false
}

// hasContent reports whether text holds more than blank lines, comments and
// directives. A directive-only chunk (before a "---") carries nothing a
// Sigma rule needs, and parsing it alone would be an error.
func hasContent(text string) bool {
	for ln := range strings.Lines(text) {
		s := strings.TrimSpace(ln)
		if s != "" && s[0] != '#' && s[0] != '%' {
			return true
		}
	}
	return false
}

var yamlLineRe = regexp.MustCompile(`line (\d+)`)

// yamlError turns a yaml.v3 error about a chunk into a file line and a
// message without the chunk-relative line.
func yamlError(err error, c chunk) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := c.line
	if m := yamlLineRe.FindStringSubmatchIndex(msg); m != nil {
		if n, convErr := strconv.Atoi(msg[m[2]:m[3]]); convErr == nil && n > 0 {
			line = c.line + n - 1
			msg = strings.TrimPrefix(msg[:m[0]]+msg[m[1]:], ": ")
		}
	}
	return line, msg
}

var idLineRe = regexp.MustCompile(`(?m)^id:[ \t]*['"]?([0-9A-Za-z-]+)`)

// idHint finds the id of a document that could not be parsed, so the warning
// names the rule.
func idHint(text string) string {
	if m := idLineRe.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}

// resolve follows document and alias nodes to the node holding the value.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && i < 8; i++ {
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
	return n
}

// field is one key of a mapping with its value.
type field struct {
	key   *yaml.Node
	value *yaml.Node
}

// mapping indexes a mapping node's scalar keys. A key given twice keeps its
// last value, as the Python YAML loader Sigma's own tools use does; the
// repeated keys are returned so the caller can warn.
func mapping(n *yaml.Node) (map[string]field, []string) {
	m := map[string]field{}
	var dups []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if k == nil || k.Kind != yaml.ScalarNode {
			continue
		}
		if _, dup := m[k.Value]; dup {
			dups = append(dups, k.Value)
		}
		m[k.Value] = field{key: k, value: n.Content[i+1]}
	}
	return m, dups
}

// without returns a copy of a mapping node lacking the given key.
func without(n *yaml.Node, key string) *yaml.Node {
	out := *n
	out.Content = nil
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := resolve(n.Content[i]); k != nil && k.Kind == yaml.ScalarNode && k.Value == key {
			continue
		}
		out.Content = append(out.Content, n.Content[i], n.Content[i+1])
	}
	return &out
}

// mergeBudget bounds the mappings mergeMaps builds for one document: with
// aliases, two small documents can describe mappings that are exponentially
// large (or cyclic) when expanded, and past the budget over's value simply
// replaces base's.
const (
	mergeBudget   = 1000
	maxMergeDepth = 32
)

// mergeMaps is the deep dictionary update older Sigma tooling applied to
// multi-document files: over's keys replace base's, except that two mappings
// under the same key are merged in turn. Neither input is modified.
func mergeMaps(base, over *yaml.Node) *yaml.Node {
	budget := mergeBudget
	return mergeInto(base, over, &budget, 0)
}

func mergeInto(base, over *yaml.Node, budget *int, depth int) *yaml.Node {
	if base == nil {
		return over
	}
	*budget--
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: over.Line, Column: over.Column}
	idx := map[string]int{}
	add := func(k, v *yaml.Node, deep bool) {
		rk := resolve(k)
		if rk == nil || rk.Kind != yaml.ScalarNode {
			out.Content = append(out.Content, k, v)
			return
		}
		j, ok := idx[rk.Value]
		if !ok {
			idx[rk.Value] = len(out.Content)
			out.Content = append(out.Content, k, v)
			return
		}
		old, nv := resolve(out.Content[j+1]), resolve(v)
		if deep && *budget > 0 && depth < maxMergeDepth && old != nil && nv != nil && old.Kind == yaml.MappingNode && nv.Kind == yaml.MappingNode {
			out.Content[j+1] = mergeInto(old, nv, budget, depth+1)
			return
		}
		out.Content[j+1] = v
	}
	for i := 0; i+1 < len(base.Content); i += 2 {
		add(base.Content[i], base.Content[i+1], false)
	}
	for i := 0; i+1 < len(over.Content); i += 2 {
		add(over.Content[i], over.Content[i+1], true)
	}
	return out
}

// scalar returns a scalar's text; null and non-scalars are absent.
func scalar(n *yaml.Node) (string, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return "", false
	}
	return n.Value, true
}

// stringList accepts a single scalar or a sequence of scalars, the two shapes
// Sigma collections use for lists. ok is false when an item is not a scalar.
func stringList(n *yaml.Node) (list []string, ok bool) {
	n = resolve(n)
	if n == nil {
		return nil, true
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if s, has := scalar(n); has && strings.TrimSpace(s) != "" {
			return []string{strings.TrimSpace(s)}, true
		}
		return nil, true
	case yaml.SequenceNode:
		ok = true
		for _, item := range n.Content {
			s, has := scalar(item)
			if !has {
				if r := resolve(item); r == nil || r.ShortTag() != "!!null" {
					ok = false
				}
				continue
			}
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		return list, ok
	}
	return nil, false
}

// decodeValue decodes a node into plain Go values that JSON can carry. The
// YAML decoder guards against alias bombs and self-containing anchors.
func decodeValue(n *yaml.Node) (any, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	return jsonSafe(v), nil
}

// jsonSafe rewrites decoded YAML so that encoding/json accepts it and
// encodes it the same way every time: mappings with non-string keys get
// string keys (the first of colliding keys, in a fixed order, wins) and
// floats JSON cannot hold (NaN, ±Inf) become their YAML text.
func jsonSafe(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = jsonSafe(e)
		}
		return m
	case map[any]any:
		type kv struct {
			key, typ string
			val      any
		}
		list := make([]kv, 0, len(x))
		for k, e := range x {
			list = append(list, kv{keyString(k), typeName(k), e})
		}
		sort.Slice(list, func(i, j int) bool {
			if list[i].key != list[j].key {
				return list[i].key < list[j].key
			}
			return list[i].typ < list[j].typ
		})
		m := make(map[string]any, len(list))
		for _, e := range list {
			if _, dup := m[e.key]; !dup {
				m[e.key] = jsonSafe(e.val)
			}
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonSafe(e)
		}
		return out
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
		return x
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return string(x)
	}
	return v
}

func keyString(k any) string {
	switch x := k.(type) {
	case nil:
		return "null"
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(k)
}

func typeName(k any) string {
	switch k.(type) {
	case nil:
		return "0nil"
	case bool:
		return "bool"
	case int, int64, uint64:
		return "int"
	case float64:
		return "float"
	case string:
		return "string"
	}
	return "other"
}
