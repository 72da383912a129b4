// Package layerspec checks ATT&CK Navigator layer files against the rules of layer
// format 4.5 (mitre-attack/attack-navigator layers/spec/v4.5/layerformat.md). It reads
// the JSON generically, not through the exporter's types, so the tests that use it do
// not share the exporter's mistakes.
package layerspec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Release is what a layer must agree with: the ATT&CK release's tactic shortnames and
// platform names (either may be empty to skip the check).
type Release struct {
	Tactics   []string
	Platforms []string
}

var (
	techniqueID = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)
	hexColor    = regexp.MustCompile(`^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$`)
	version     = regexp.MustCompile(`^\d+(\.\d+){0,2}$`)
	domains     = []string{"enterprise-attack", "mobile-attack", "ics-attack"}
)

// topKeys are the layer fields of format 4.5; anything else is a mistake.
var topKeys = []string{"name", "versions", "domain", "description", "filters", "sorting", "layout", "hideDisabled",
	"techniques", "gradient", "legendItems", "metadata", "links", "showTacticRowBackground", "tacticRowBackground",
	"selectTechniquesAcrossTactics", "selectSubtechniquesWithParent", "selectVisibleTechniques", "customDataURL"}

var techniqueKeys = []string{"techniqueID", "tactic", "comment", "enabled", "metadata", "links", "showSubtechniques", "score", "color"}

// Validate checks a layer file: one layer object or, since 4.5, an array of them. It
// returns every problem found, each naming the layer and the field.
func Validate(data []byte, rel Release) error {
	data = bytes.TrimSpace(data)
	var layers []map[string]any
	if len(data) > 0 && data[0] == '[' {
		if err := strictDecode(data, &layers); err != nil {
			return fmt.Errorf("layer file: %w", err)
		}
		if len(layers) == 0 {
			return fmt.Errorf("layer file: an empty array")
		}
	} else {
		var one map[string]any
		if err := strictDecode(data, &one); err != nil {
			return fmt.Errorf("layer file: %w", err)
		}
		layers = []map[string]any{one}
	}
	var probs []string
	for i, l := range layers {
		v := &checker{at: fmt.Sprintf("layer[%d]", i)}
		v.layer(l, rel)
		probs = append(probs, v.probs...)
	}
	if len(probs) > 0 {
		return fmt.Errorf("%d problem(s): %s", len(probs), strings.Join(probs, "; "))
	}
	return nil
}

func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

type checker struct {
	at    string
	probs []string
}

func (c *checker) bad(field, format string, args ...any) {
	c.probs = append(c.probs, c.at+"."+field+": "+fmt.Sprintf(format, args...))
}

func (c *checker) str(m map[string]any, key string, required bool) (string, bool) {
	v, ok := m[key]
	if !ok {
		if required {
			c.bad(key, "required")
		}
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		c.bad(key, "must be a string, not %T", v)
	}
	return s, ok
}

func (c *checker) boolean(m map[string]any, key string) {
	if v, ok := m[key]; ok {
		if _, ok := v.(bool); !ok {
			c.bad(key, "must be a boolean, not %T", v)
		}
	}
}

func (c *checker) number(m map[string]any, key string, required bool) (float64, bool) {
	v, ok := m[key]
	if !ok {
		if required {
			c.bad(key, "required")
		}
		return 0, false
	}
	n, ok := v.(json.Number)
	if !ok {
		c.bad(key, "must be a number, not %T", v)
		return 0, false
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		c.bad(key, "%s is not a finite number", n)
		return 0, false
	}
	return f, true
}

func (c *checker) object(m map[string]any, key string, required bool) map[string]any {
	v, ok := m[key]
	if !ok {
		if required {
			c.bad(key, "required")
		}
		return nil
	}
	o, ok := v.(map[string]any)
	if !ok {
		c.bad(key, "must be an object, not %T", v)
	}
	return o
}

func (c *checker) array(m map[string]any, key string) []any {
	v, ok := m[key]
	if !ok {
		return nil
	}
	a, ok := v.([]any)
	if !ok {
		c.bad(key, "must be an array, not %T", v)
	}
	return a
}

func (c *checker) onlyKeys(m map[string]any, prefix string, allowed []string) {
	for k := range m {
		if !slices.Contains(allowed, k) {
			c.bad(prefix+k, "is not a field of layer format 4.5")
		}
	}
}

func (c *checker) color(m map[string]any, key string, required bool) {
	if s, ok := c.str(m, key, required); ok && !hexColor.MatchString(s) {
		c.bad(key, "%q is not a #rrggbb or #rrggbbaa colour", s)
	}
}

func (c *checker) layer(l map[string]any, rel Release) {
	c.onlyKeys(l, "", topKeys)
	if s, ok := c.str(l, "name", true); ok && strings.TrimSpace(s) == "" {
		c.bad("name", "empty")
	}
	if d, ok := c.str(l, "domain", true); ok && !slices.Contains(domains, d) {
		c.bad("domain", "%q is not one of %s", d, strings.Join(domains, ", "))
	}
	c.str(l, "description", false)
	if v := c.object(l, "versions", true); v != nil {
		c.onlyKeys(v, "versions.", []string{"layer", "navigator", "attack"})
		if s, ok := c.str(v, "layer", true); ok && s != "4.5" {
			c.bad("versions.layer", "%q, want \"4.5\"", s)
		}
		if s, ok := c.str(v, "navigator", true); ok && (!version.MatchString(s) || versionLess(s, "4.9.0")) {
			c.bad("versions.navigator", "%q is not a Navigator version of 4.9.0 or later", s)
		}
		if s, ok := c.str(v, "attack", false); ok && !version.MatchString(s) {
			c.bad("versions.attack", "%q is not an ATT&CK version", s)
		}
	}
	if f := c.object(l, "filters", false); f != nil {
		c.onlyKeys(f, "filters.", []string{"platforms"})
		for i, p := range c.array(f, "platforms") {
			s, ok := p.(string)
			if !ok || (len(rel.Platforms) > 0 && !slices.Contains(rel.Platforms, s)) {
				c.bad(fmt.Sprintf("filters.platforms[%d]", i), "%v is not a platform of the release (%s)", p, strings.Join(rel.Platforms, ", "))
			}
		}
	}
	if n, ok := c.number(l, "sorting", false); ok && (n != math.Trunc(n) || n < 0 || n > 3) {
		c.bad("sorting", "%v is not 0, 1, 2 or 3", n)
	}
	for _, k := range []string{"hideDisabled", "showTacticRowBackground", "selectTechniquesAcrossTactics", "selectSubtechniquesWithParent", "selectVisibleTechniques"} {
		c.boolean(l, k)
	}
	c.color(l, "tacticRowBackground", false)
	if lay := c.object(l, "layout", false); lay != nil {
		c.onlyKeys(lay, "layout.", []string{"layout", "aggregateFunction", "showID", "showName", "showAggregateScores", "countUnscored", "expandedSubtechniques"})
		c.enum(lay, "layout.", "layout", "side", "flat", "mini")
		c.enum(lay, "layout.", "aggregateFunction", "average", "min", "max", "sum")
		c.enum(lay, "layout.", "expandedSubtechniques", "none", "all", "annotated")
		for _, k := range []string{"showID", "showName", "showAggregateScores", "countUnscored"} {
			c.boolean(lay, k)
		}
	}
	lo, hi := 0.0, 100.0
	if g := c.object(l, "gradient", false); g != nil {
		c.onlyKeys(g, "gradient.", []string{"colors", "minValue", "maxValue"})
		cols := c.array(g, "colors")
		if len(cols) < 2 {
			c.bad("gradient.colors", "needs at least two colours, has %d", len(cols))
		}
		for i, col := range cols {
			if s, ok := col.(string); !ok || !hexColor.MatchString(s) {
				c.bad(fmt.Sprintf("gradient.colors[%d]", i), "%v is not a colour", col)
			}
		}
		a, ok1 := c.number(g, "minValue", true)
		b, ok2 := c.number(g, "maxValue", true)
		if ok1 && ok2 {
			if a >= b {
				c.bad("gradient", "minValue %v is not below maxValue %v", a, b)
			}
			lo, hi = a, b
		}
	}
	for i, it := range c.array(l, "legendItems") {
		m, ok := it.(map[string]any)
		if !ok {
			c.bad(fmt.Sprintf("legendItems[%d]", i), "must be an object")
			continue
		}
		sub := &checker{at: fmt.Sprintf("%s.legendItems[%d]", c.at, i)}
		sub.onlyKeys(m, "", []string{"label", "color"})
		sub.str(m, "label", true)
		sub.color(m, "color", true)
		c.probs = append(c.probs, sub.probs...)
	}
	c.pairs(l, "metadata", "name", "value", nil)
	c.pairs(l, "links", "label", "url", checkURL)
	seen := map[string]bool{}
	tactics := rel.Tactics
	for i, it := range c.array(l, "techniques") {
		m, ok := it.(map[string]any)
		if !ok {
			c.bad(fmt.Sprintf("techniques[%d]", i), "must be an object")
			continue
		}
		t := &checker{at: fmt.Sprintf("%s.techniques[%d]", c.at, i)}
		t.onlyKeys(m, "", techniqueKeys)
		id, _ := t.str(m, "techniqueID", true)
		if !techniqueID.MatchString(id) {
			t.bad("techniqueID", "%q is not T#### or T####.###", id)
		}
		ta, hasTactic := t.str(m, "tactic", false)
		if hasTactic && len(tactics) > 0 && !slices.Contains(tactics, ta) {
			t.bad("tactic", "%q is not a tactic shortname of the release (%s)", ta, strings.Join(tactics, ", "))
		}
		key := id + "/" + ta
		if seen[key] || seen[id+"/"] && hasTactic || (!hasTactic && hasAnyTactic(seen, id)) {
			t.bad("techniqueID", "%s appears twice for the same tactic", id)
		}
		seen[key] = true
		if s, ok := t.number(m, "score", false); ok && (s < lo || s > hi) {
			t.bad("score", "%v is outside the gradient %v..%v", s, lo, hi)
		}
		t.color(m, "color", false)
		t.str(m, "comment", false)
		t.boolean(m, "enabled")
		t.boolean(m, "showSubtechniques")
		if v, ok := m["showSubtechniques"]; ok && v == true && strings.Contains(id, ".") {
			t.bad("showSubtechniques", "set on a sub-technique")
		}
		t.pairs(m, "metadata", "name", "value", nil)
		t.pairs(m, "links", "label", "url", checkURL)
		c.probs = append(c.probs, t.probs...)
	}
}

func hasAnyTactic(seen map[string]bool, id string) bool {
	for k := range seen {
		if strings.HasPrefix(k, id+"/") {
			return true
		}
	}
	return false
}

func (c *checker) enum(m map[string]any, prefix, key string, allowed ...string) {
	if s, ok := c.str(m, key, false); ok && !slices.Contains(allowed, s) {
		c.bad(prefix+key, "%q is not one of %s", s, strings.Join(allowed, ", "))
	}
}

// pairs checks metadata or links: each {a, b} strings, or {"divider": true}.
func (c *checker) pairs(m map[string]any, key, a, b string, check func(string) error) {
	for i, it := range c.array(m, key) {
		o, ok := it.(map[string]any)
		at := fmt.Sprintf("%s[%d]", key, i)
		if !ok {
			c.bad(at, "must be an object")
			continue
		}
		if d, ok := o["divider"]; ok {
			if d != true || len(o) != 1 {
				c.bad(at, "a divider is {\"divider\": true} alone")
			}
			continue
		}
		sub := &checker{at: c.at + "." + at}
		sub.onlyKeys(o, "", []string{a, b})
		sub.str(o, a, true)
		if s, ok := sub.str(o, b, true); ok && check != nil {
			if err := check(s); err != nil {
				sub.bad(b, "%v", err)
			}
		}
		c.probs = append(c.probs, sub.probs...)
	}
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL with a scheme", s)
	}
	return nil
}

func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < 3; i++ {
		x, y := part(pa, i), part(pb, i)
		if x != y {
			return x < y
		}
	}
	return false
}

func part(p []string, i int) int {
	if i >= len(p) {
		return 0
	}
	n := 0
	fmt.Sscan(p[i], &n)
	return n
}
