package evtx

import (
	"strconv"
	"strings"
)

// render turns an element into evtx_dump's JSON shape: an element with neither
// attributes nor content is null; one with only a value is that value (numbers stay
// numbers); attributes go under "#attributes"; child elements by name, <Data Name="X">
// under X; text beside elements or attributes under "#text".
func render(e *element) any {
	var attrs map[string]any
	if len(e.attrs) > 0 {
		attrs = make(map[string]any, len(e.attrs))
		for _, a := range e.attrs {
			attrs[a.name] = scalar(a.value)
		}
	}
	var children []*element
	var text []item
	for _, it := range e.content {
		switch it.kind {
		case itElem:
			children = append(children, it.elem)
		case itText, itValue:
			text = append(text, it)
		}
	}
	if attrs == nil && len(children) == 0 {
		if len(text) == 0 {
			return nil
		}
		return scalar(text)
	}
	out := map[string]any{}
	if attrs != nil {
		out["#attributes"] = attrs
	}
	for _, c := range children {
		key, val := c.name, any(nil)
		if name, ok := dataName(c); ok {
			key = name
			cc := *c
			cc.attrs = nil
			for _, a := range c.attrs {
				if a.name != "Name" {
					cc.attrs = append(cc.attrs, a)
				}
			}
			val = render(&cc)
		} else {
			val = render(c)
		}
		if prev, dup := out[key]; dup {
			// Repeated elements (unnamed <Data>, <Binary>) become a list.
			if l, ok := prev.([]any); ok {
				out[key] = append(l, val)
			} else {
				out[key] = []any{prev, val}
			}
			continue
		}
		out[key] = val
	}
	if len(text) > 0 {
		out["#text"] = scalar(text)
	}
	return out
}

// dataName is X for <Data Name="X">.
func dataName(e *element) (string, bool) {
	if e.name != "Data" {
		return "", false
	}
	for _, a := range e.attrs {
		if a.name == "Name" {
			if s, ok := scalar(a.value).(string); ok && s != "" {
				return s, true
			}
		}
	}
	return "", false
}

// scalar is the value of content that holds no elements: a lone typed value as it is,
// anything else as text.
func scalar(items []item) any {
	if len(items) == 1 && items[0].kind == itValue {
		return items[0].value
	}
	var b strings.Builder
	for _, it := range items {
		switch it.kind {
		case itText:
			b.WriteString(it.text)
		case itValue:
			b.WriteString(valueText(it.value))
		}
	}
	return b.String()
}

func valueText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = valueText(e)
		}
		return strings.Join(parts, ",")
	}
	return ""
}
