package sigma

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf16"
)

// MaxExpansion bounds how far one item's values may grow (windash and placeholders
// multiply them): beyond MaxExpansion plus 16 per value written, a rule is an error,
// not a stall.
const MaxExpansion = 4096

// windashRe finds the dashes and slashes that start a command-line flag: not preceded by
// a word character, followed by one (pySigma's reading of "windash").
var windashRe = regexp.MustCompile(`\B[-/]\b`)

// windashChars are what such a dash may be written as on Windows: hyphen, slash, en dash,
// em dash, horizontal bar.
var windashChars = []string{"-", "/", "\u2013", "\u2014", "\u2015"}

// MatchValues returns the values an event field is compared with, once the modifiers
// that change values are applied in the order written: expand (placeholders from
// placeholders; a missing one is an Unsupported error), wide/utf16le/utf16be/utf16,
// base64, base64offset, windash, and the position modifiers contains, startswith and
// endswith (which add "*" where the value does not already have one). Items whose
// values are not patterns (re, cidr, exists, gt/gte/lt/lte, fieldref) are returned as
// they are. Numbers become text when a string modifier applies to them.
func (it *Item) MatchValues(placeholders map[string][]string) ([]Value, error) {
	for _, m := range it.Modifiers {
		switch m {
		case ModRe, ModCIDR, ModExists, ModGT, ModGTE, ModLT, ModLTE:
			return it.Values, nil
		}
	}
	vals := make([]Value, len(it.Values))
	copy(vals, it.Values)
	stringy := false
	for _, m := range it.Modifiers {
		switch m {
		case ModAll, ModCased, ModFieldRef:
		default:
			stringy = true
		}
	}
	if stringy {
		for i, v := range vals {
			switch v.Kind {
			case NumberValue, BoolValue:
				vals[i].Kind, vals[i].Parts = StringValue, []Part{{Kind: Literal, Text: v.Raw}}
			}
		}
	}
	var err error
	for _, m := range it.Modifiers {
		switch m {
		case ModExpand:
			vals, err = expandPlaceholders(vals, placeholders)
		case ModWide, ModUTF16LE:
			vals = mapParts(vals, func(s string) string { return utf16Bytes(s, false) })
		case ModUTF16BE:
			vals = mapParts(vals, func(s string) string { return utf16Bytes(s, true) })
		case ModUTF16:
			vals = mapParts(vals, func(s string) string { return utf16Bytes(s, false) })
			for i := range vals {
				vals[i].Parts = append([]Part{{Kind: Literal, Text: "\xff\xfe"}}, vals[i].Parts...)
			}
		case ModBase64:
			for i, v := range vals {
				vals[i] = literal(v, base64.StdEncoding.EncodeToString([]byte(v.Text())))
			}
		case ModBase64Offset:
			vals = base64Offsets(vals)
		case ModWindash:
			vals, err = windash(vals)
		case ModContains:
			vals = wrap(vals, true, true)
		case ModStartsWith:
			vals = wrap(vals, false, true)
		case ModEndsWith:
			vals = wrap(vals, true, false)
		}
		if err != nil {
			return nil, err
		}
		if limit := MaxExpansion + 16*len(it.Values); len(vals) > limit {
			return nil, fmt.Errorf("%s: the modifiers expand %d values to more than %d", it.Field, len(it.Values), limit)
		}
	}
	return vals, nil
}

func literal(v Value, text string) Value {
	v.Kind, v.Parts = StringValue, []Part{{Kind: Literal, Text: text}}
	return v
}

func mapParts(vals []Value, f func(string) string) []Value {
	out := make([]Value, len(vals))
	for i, v := range vals {
		out[i] = v
		if v.Kind != StringValue {
			continue
		}
		parts := make([]Part, len(v.Parts))
		for j, p := range v.Parts {
			parts[j] = p
			if p.Kind == Literal {
				parts[j].Text = f(p.Text)
			}
		}
		out[i].Parts = parts
	}
	return out
}

func utf16Bytes(s string, bigEndian bool) string {
	units := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(units))
	for _, u := range units {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return string(b)
}

// base64Offsets encodes each value at the three byte offsets it may have inside a longer
// base64-encoded text, keeping only the characters that do not depend on what surrounds
// it (pySigma's base64offset).
func base64Offsets(vals []Value) []Value {
	start := [3]int{0, 2, 3}
	endTrim := [3]int{0, 3, 2}
	var out []Value
	for _, v := range vals {
		raw := v.Text()
		for i := 0; i < 3; i++ {
			enc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat(" ", i) + raw))
			end := len(enc) - endTrim[(len(raw)+i)%3]
			if start[i] > end {
				continue
			}
			out = append(out, literal(v, enc[start[i]:end]))
		}
	}
	return out
}

func windash(vals []Value) ([]Value, error) {
	var out []Value
	for _, v := range vals {
		if v.Kind != StringValue {
			out = append(out, v)
			continue
		}
		// Alternatives per literal part; parts are combined as a cartesian product.
		variants := [][]Part{nil}
		for _, p := range v.Parts {
			if p.Kind != Literal || !windashRe.MatchString(p.Text) {
				for i := range variants {
					variants[i] = append(variants[i], p)
				}
				continue
			}
			locs := windashRe.FindAllStringIndex(p.Text, -1)
			texts := []string{""}
			last := 0
			for _, loc := range locs {
				var next []string
				for _, t := range texts {
					for _, c := range windashChars {
						next = append(next, t+p.Text[last:loc[0]]+c)
					}
				}
				texts, last = next, loc[1]
				if len(texts)*len(variants) > MaxExpansion {
					return nil, fmt.Errorf("windash expands %q to more than %d values", v.Raw, MaxExpansion)
				}
			}
			var next [][]Part
			for _, base := range variants {
				for _, t := range texts {
					parts := append(append([]Part(nil), base...), Part{Kind: Literal, Text: t + p.Text[last:]})
					next = append(next, parts)
				}
			}
			variants = next
		}
		for _, parts := range variants {
			nv := v
			nv.Parts = mergeLiterals(parts)
			out = append(out, nv)
		}
	}
	return out, nil
}

func mergeLiterals(parts []Part) []Part {
	var out []Part
	for _, p := range parts {
		if p.Kind == Literal && p.Text == "" {
			continue
		}
		if p.Kind == Literal && len(out) > 0 && out[len(out)-1].Kind == Literal {
			out[len(out)-1].Text += p.Text
			continue
		}
		out = append(out, p)
	}
	return out
}

func wrap(vals []Value, before, after bool) []Value {
	out := make([]Value, len(vals))
	for i, v := range vals {
		out[i] = v
		if v.Kind != StringValue {
			continue
		}
		parts := append([]Part(nil), v.Parts...)
		if before && (len(parts) == 0 || parts[0].Kind != AnyString) {
			parts = append([]Part{{Kind: AnyString}}, parts...)
		}
		if after && (len(parts) == 0 || parts[len(parts)-1].Kind != AnyString) {
			parts = append(parts, Part{Kind: AnyString})
		}
		out[i].Parts = parts
	}
	return out
}

var placeholderRe = regexp.MustCompile(`%([A-Za-z0-9_.-]+)%`)

// PlaceholderError is returned when an "expand" value names a placeholder without values.
type PlaceholderError struct{ Name string }

func (e *PlaceholderError) Error() string {
	return fmt.Sprintf("placeholder %%%s%% has no values (the expand modifier needs them from configuration)", e.Name)
}

func expandPlaceholders(vals []Value, placeholders map[string][]string) ([]Value, error) {
	var out []Value
	for _, v := range vals {
		if v.Kind != StringValue || !placeholderRe.MatchString(v.Raw) {
			out = append(out, v)
			continue
		}
		texts := []string{""}
		last := 0
		for _, loc := range placeholderRe.FindAllStringSubmatchIndex(v.Raw, -1) {
			name := v.Raw[loc[2]:loc[3]]
			alts, ok := placeholders[name]
			if !ok || len(alts) == 0 {
				return nil, &PlaceholderError{Name: name}
			}
			var next []string
			for _, t := range texts {
				for _, a := range alts {
					next = append(next, t+v.Raw[last:loc[0]]+a)
				}
			}
			if len(next) > MaxExpansion {
				return nil, fmt.Errorf("placeholders expand %q to more than %d values", v.Raw, MaxExpansion)
			}
			texts, last = next, loc[1]
		}
		for _, t := range texts {
			nv := v
			nv.Raw = t + v.Raw[last:]
			nv.Parts = ParsePattern(nv.Raw)
			out = append(out, nv)
		}
	}
	return out, nil
}
