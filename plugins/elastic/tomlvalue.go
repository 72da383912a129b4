package main

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// The field types below implement toml.Unmarshaler so that a value of an
// unexpected type is not a decode error that costs the whole file: the value
// is noted as bad, the field is left out with a warning, and the rest of the
// rule is still imported. (toml marks every key under an Unmarshaler as
// decoded, so MetaData.Undecoded still names only keys no field claims.)

// text is a TOML string; a number or boolean written where text was meant
// is taken as its text.
type text struct {
	s   string
	bad string
}

func (t *text) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case string:
		t.s = x
	case int64, bool:
		t.s = fmt.Sprint(x)
	case float64:
		t.s = strconv.FormatFloat(x, 'g', -1, 64)
	case time.Time:
		t.s = formatTime(x)
	default:
		t.bad = "expected text, found " + tomlType(v)
	}
	return nil
}

// strList is an array of strings; a single string is a list of one, as
// older rule files wrote author = "Elastic".
type strList struct {
	items []string
	bad   string
}

func (l *strList) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case string:
		l.items = []string{x}
	case []any:
		for _, e := range x {
			var t text
			_ = t.UnmarshalTOML(e)
			if t.bad != "" {
				l.bad = "expected a list of text, found an item of type " + tomlType(e)
				continue
			}
			l.items = append(l.items, t.s)
		}
	default:
		l.bad = "expected a list of text, found " + tomlType(v)
	}
	return nil
}

// number is an integer; a float or a numeric string is accepted.
type number struct {
	n   int
	set bool
	bad string
}

func (n *number) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case int64:
		if x < math.MinInt32 || x > math.MaxInt32 {
			n.bad = fmt.Sprintf("number %d is out of range", x)
			return nil
		}
		n.n, n.set = int(x), true
	case float64:
		if math.IsNaN(x) || x < math.MinInt32 || x > math.MaxInt32 {
			n.bad = fmt.Sprintf("number %v is out of range", x)
			return nil
		}
		n.n, n.set = int(math.Round(x)), true
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			n.bad = fmt.Sprintf("expected a number, found text %q", x)
			return nil
		}
		n.n, n.set = i, true
	default:
		n.bad = "expected a number, found " + tomlType(v)
	}
	return nil
}

// rawValue keeps any value as it was decoded, for Metadata.
type rawValue struct {
	v   any
	set bool
}

func (r *rawValue) UnmarshalTOML(v any) error {
	r.v, r.set = jsonSafe(v), true
	return nil
}

// tomlType names a decoded TOML value's type for messages.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "text"
	case int64, float64:
		return "a number"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date"
	case []any, []map[string]any:
		return "a list"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}

// formatTime writes a TOML date or time the way TOML wrote it: the decoder
// marks local dates and times with zones of their own names.
func formatTime(t time.Time) string {
	switch t.Location().String() {
	case "date-local":
		return t.Format("2006-01-02")
	case "time-local":
		return t.Format("15:04:05.999999999")
	case "datetime-local":
		return t.Format("2006-01-02T15:04:05.999999999")
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// jsonSafe makes decoded TOML encodable by encoding/json: dates become text
// and floats JSON cannot hold (nan, inf) become their TOML spelling.
func jsonSafe(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = jsonSafe(e)
		}
		return m
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonSafe(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonSafe(e)
		}
		return out
	case float64:
		switch {
		case math.IsNaN(x):
			return "nan"
		case math.IsInf(x, 1):
			return "inf"
		case math.IsInf(x, -1):
			return "-inf"
		}
		return x
	case time.Time:
		return formatTime(x)
	}
	return v
}

var (
	textType     = reflect.TypeFor[text]()
	strListType  = reflect.TypeFor[strList]()
	numberType   = reflect.TypeFor[number]()
	rawValueType = reflect.TypeFor[rawValue]()
)

// badFields lists the fields of a decoded table (struct) whose value had
// the wrong type, as "rule.risk_score: expected a number, found a table".
func badFields(v reflect.Value, path string) []string {
	var out []string
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			out = append(out, badFields(v.Elem(), path)...)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			out = append(out, badFields(v.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
	case reflect.Struct:
		var bad string
		switch v.Type() {
		case textType:
			bad = v.Interface().(text).bad
		case strListType:
			bad = v.Interface().(strList).bad
		case numberType:
			bad = v.Interface().(number).bad
		case rawValueType:
		default:
			for i := 0; i < v.NumField(); i++ {
				f := v.Type().Field(i)
				if !f.IsExported() {
					continue
				}
				out = append(out, badFields(v.Field(i), join(path, tomlKey(f)))...)
			}
		}
		if bad != "" {
			out = append(out, path+": "+bad)
		}
	}
	return out
}

// passThrough collects a table's rawValue fields by their TOML keys.
func passThrough(v reflect.Value, into map[string]any) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if f.Type != rawValueType {
			continue
		}
		if r := v.Field(i).Interface().(rawValue); r.set {
			into[tomlKey(f)] = r.v
		}
	}
}

// rawPaths lists the dotted keys of a table's rawValue fields, under prefix.
func rawPaths(t reflect.Type, prefix string) []string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.Type == rawValueType {
			out = append(out, join(prefix, tomlKey(f)))
		}
	}
	return out
}

func tomlKey(f reflect.StructField) string {
	if tag, _, _ := strings.Cut(f.Tag.Get("toml"), ","); tag != "" {
		return tag
	}
	return f.Name
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
