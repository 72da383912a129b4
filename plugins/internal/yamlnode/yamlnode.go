// Package yamlnode reads yaml.v3 nodes leniently, for the importers of YAML catalogs
// (Atomic, CALDERA, LOLBAS, GTFOBins): one field of an unexpected type costs that field,
// not the whole item, and every item keeps its line number.
package yamlnode

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
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// ErrEmpty means the file holds no YAML document at all.
var ErrEmpty = errors.New("empty file")

// FirstDocument parses the first YAML document in data and returns its root.
// Later documents are not parsed: front matter may be followed by Markdown.
func FirstDocument(data []byte) (root *yaml.Node, err error) {
	// yaml.v3 has panicked on some malformed inputs in the past; one bad
	// file must become a warning, not a failed run.
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("YAML parser failed: %v", r)
		}
	}()
	if err := CheckUTF8(data); err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, ErrEmpty
		}
		return nil, err
	}
	n := Deref(&doc)
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil, ErrEmpty
	}
	return n, nil
}

// CheckUTF8 names the line and column of the first byte in data that is not UTF-8.
// YAML must be UTF-8 (or UTF-16 with a byte order mark), and yaml.v3 says only
// "invalid trailing UTF-8 octet", with no line, of a file saved as Latin-1 or
// Windows-1252, so the user could not find the offending character.
func CheckUTF8(data []byte) error {
	if utf8.Valid(data) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		return nil
	}
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return fmt.Errorf("yaml: line %d: byte 0x%02X at column %d is not UTF-8 (Latin-1 or Windows-1252?): save the file as UTF-8", line, data[i], col)
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return nil
}

// MaxAliasHops bounds alias chains, which a hostile file could make cyclic.
const MaxAliasHops = 32

// Deref follows document wrappers and aliases to the node that holds a value.
func Deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && i < MaxAliasHops; i++ {
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

// IsMap reports whether n is a mapping.
func IsMap(n *yaml.Node) bool {
	n = Deref(n)
	return n != nil && n.Kind == yaml.MappingNode
}

// IsNull reports whether n is absent or an explicit null.
func IsNull(n *yaml.Node) bool {
	n = Deref(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// Pairs returns the key/value pairs of a mapping, with "<<" merge keys
// expanded after the mapping's own keys so that own keys win.
func Pairs(n *yaml.Node) [][2]*yaml.Node {
	return PairsDepth(n, 0)
}

func PairsDepth(n *yaml.Node, depth int) [][2]*yaml.Node {
	n = Deref(n)
	if n == nil || n.Kind != yaml.MappingNode || depth > MaxAliasHops {
		return nil
	}
	var own, merged [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := Deref(n.Content[i]), n.Content[i+1]
		if k != nil && k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag == "!!merge" {
			src := Deref(v)
			if src != nil && src.Kind == yaml.SequenceNode {
				for _, s := range src.Content {
					merged = append(merged, PairsDepth(s, depth+1)...)
				}
			} else {
				merged = append(merged, PairsDepth(src, depth+1)...)
			}
			continue
		}
		own = append(own, [2]*yaml.Node{k, v})
	}
	return append(own, merged...)
}

// Get returns the value of key in mapping n: an exact match first, then a
// case-insensitive one, since hand-edited catalogs drift in capitalisation.
func Get(n *yaml.Node, key string) *yaml.Node {
	var fold *yaml.Node
	for _, p := range Pairs(n) {
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

// Has reports whether mapping n has key.
func Has(n *yaml.Node, key string) bool { return Get(n, key) != nil }

// Str returns a scalar's text ("" for null, mappings and sequences).
func Str(n *yaml.Node) string {
	n = Deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

// Text is str with surrounding whitespace removed.
func Text(n *yaml.Node) string { return strings.TrimSpace(Str(n)) }

// Items returns the elements of a sequence, or the node itself when a
// single value was written where a list was meant.
func Items(n *yaml.Node) []*yaml.Node {
	n = Deref(n)
	switch {
	case n == nil || IsNull(n):
		return nil
	case n.Kind == yaml.SequenceNode:
		return n.Content
	}
	return []*yaml.Node{n}
}

// Strs returns the non-empty, trimmed scalars of a sequence (or of a single
// scalar).
func Strs(n *yaml.Node) []string {
	var out []string
	for _, it := range Items(n) {
		if s := Text(it); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Boolean reads true/false and the usual spellings of them; ok is false
// when the value is absent or not a boolean.
func Boolean(n *yaml.Node) (value, ok bool) {
	switch strings.ToLower(Text(n)) {
	case "true", "yes", "y", "on", "1":
		return true, true
	case "false", "no", "n", "off", "0":
		return false, true
	}
	return false, false
}

// Line returns the line of a node, or fallback when the node is absent.
func Line(n *yaml.Node, fallback int) int {
	if n == nil || n.Line == 0 {
		return fallback
	}
	return n.Line
}

// KindName describes a node's kind for warnings.
func KindName(n *yaml.Node) string {
	n = Deref(n)
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
	return fmt.Sprintf("the scalar %q", Clip(n.Value, 40))
}

// Clip shortens s for messages.
func Clip(s string, n int) string {
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

// ToValue converts a node into plain JSON-encodable values (maps with string
// keys, slices, strings, bools, numbers) for metadata. Scalars keep their
// YAML types; keys are their text. ok is false when the node was too large
// or deep and was cut short.
func ToValue(n *yaml.Node) (v any, ok bool) {
	budget := maxValueNodes
	v = Convert(n, &budget, 0)
	return v, budget >= 0
}

func Convert(n *yaml.Node, budget *int, depth int) any {
	n = Deref(n)
	*budget--
	if n == nil || *budget < 0 || depth > 64 {
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for _, p := range Pairs(n) {
			if p[0] == nil {
				continue
			}
			m[p[0].Value] = Convert(p[1], budget, depth+1)
		}
		return m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			s = append(s, Convert(c, budget, depth+1))
		}
		return s
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil
		case "!!bool":
			if b, ok := Boolean(n); ok {
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
