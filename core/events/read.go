package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/aegis-sec/aegis/evtx"
)

// Formats a reader understands. FormatAuto looks at the first bytes.
const (
	FormatAuto = ""
	FormatEVTX = "evtx"
	// FormatJSON is one JSON value per event (NDJSON, or objects one after another as
	// in SigmaHQ's regression samples) or a JSON array of events.
	FormatJSON = "json"
)

// Options say how to read a file.
type Options struct {
	Format string
	// Mapping renames fields on the way in (source name → the name rules use); the
	// source field is kept too. See Mappings for the built-in ones.
	Mapping map[string]string
	// IDField names the field that identifies an event; empty tries EventRecordID,
	// event.id, id and _id, then the event's position.
	IDField string
	// LogSource, when set, is every event's log source instead of the inferred one.
	LogSource LogSource
	// MaxEvents stops reading with an error past this many events (0: no limit).
	MaxEvents int
}

// ErrTooMany is returned when a file holds more events than Options.MaxEvents.
var ErrTooMany = errors.New("too many events")

// Read reads every event of data and calls fn for each; name is used in errors. A
// malformed event stops the read with an error naming the file and line (or, for
// EVTX, the chunk and record): events are evidence, and a silently skipped one could
// be the one that matters.
func Read(name string, data []byte, opts Options, fn func(*Event) error) error {
	format := opts.Format
	if format == FormatAuto {
		format = Detect(data)
	}
	count := 0
	emit := func(e *Event) error {
		count++
		if opts.MaxEvents > 0 && count > opts.MaxEvents {
			return fmt.Errorf("%s: %w (more than %d)", name, ErrTooMany, opts.MaxEvents)
		}
		if e.ID == "" {
			e.ID = "#" + strconv.Itoa(count)
		}
		applyMapping(e, opts.Mapping)
		if opts.LogSource != (LogSource{}) {
			e.LogSource = opts.LogSource
		} else {
			InferLogSource(e)
		}
		return fn(e)
	}
	switch format {
	case FormatEVTX:
		return evtx.Read(bytes.NewReader(data), func(r *evtx.Record) error {
			e, err := FromTree(r.Tree, opts.IDField)
			if err != nil {
				return fmt.Errorf("%s: record %d: %w", name, r.ID, err)
			}
			if e.ID == "" {
				e.ID = strconv.FormatUint(r.ID, 10)
			}
			return emit(e)
		})
	case FormatJSON:
		return readJSON(name, data, opts, emit)
	}
	return fmt.Errorf("%s: unknown event format %q (evtx, json)", name, format)
}

// Detect names the format of data from its first bytes.
func Detect(data []byte) string {
	if bytes.HasPrefix(data, []byte("ElfFile\x00")) {
		return FormatEVTX
	}
	return FormatJSON
}

func readJSON(name string, data []byte, opts Options, emit func(*Event) error) error {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	lineAt := func(off int64) int { return 1 + bytes.Count(data[:min(int(off), len(data))], []byte("\n")) }
	one := func(v any, off int64) error {
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s:%d: an event must be a JSON object, not %s", name, lineAt(off), kindOf(v))
		}
		e, err := FromTree(obj, opts.IDField)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", name, lineAt(off), err)
		}
		return emit(e)
	}
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("%s:%d: %w", name, lineAt(dec.InputOffset()), err)
		}
		for dec.More() {
			off := dec.InputOffset()
			var v any
			if err := dec.Decode(&v); err != nil {
				return fmt.Errorf("%s:%d: invalid JSON: %w", name, lineAt(dec.InputOffset()), err)
			}
			if err := one(v, off); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("%s:%d: the array is not closed: %w", name, lineAt(dec.InputOffset()), err)
		}
		if rest := bytes.TrimSpace(data[dec.InputOffset():]); len(rest) > 0 {
			return fmt.Errorf("%s:%d: data after the array", name, lineAt(dec.InputOffset()))
		}
		return nil
	}
	for {
		// InputOffset is where the last value ended; this one starts after the space.
		off := dec.InputOffset()
		start := off + int64(len(data[off:])-len(bytes.TrimLeft(data[off:], " \t\r\n")))
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s:%d: invalid JSON: %w", name, lineAt(start), err)
		}
		if err := one(v, start); err != nil {
			return err
		}
	}
}

func kindOf(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "true/false"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// FromTree flattens one event given as a tree of JSON-like values. A Windows event in
// the XML-as-JSON form of evtx_dump and SigmaHQ's regression data ({"Event": {"System":
// ..., "EventData": ...}}) is flattened as Sigma's Windows rules name fields: System
// values by name, attributes as Name_Attribute (Provider_Name), EventData and
// UserData values by name. Anything else is flattened with dotted names
// ("process.command_line").
func FromTree(obj map[string]any, idField string) (*Event, error) {
	if ev, ok := obj["Event"].(map[string]any); ok {
		if sys, ok := ev["System"].(map[string]any); ok {
			return fromWindows(ev, sys, idField), nil
		}
	}
	e := New("", 32)
	flatten(e, "", obj, 0)
	setID(e, idField)
	return e, nil
}

func setID(e *Event, idField string) {
	names := []string{"EventRecordID", "event.id", "id", "_id"}
	if idField != "" {
		names = []string{idField}
	}
	for _, n := range names {
		if f, ok := e.Get(n); ok && f.Value != "" {
			e.ID = f.Value
			return
		}
	}
}

const maxDepth = 64

func flatten(e *Event, prefix string, v any, depth int) {
	if depth > maxDepth {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		keys := sortedKeys(x)
		for _, k := range keys {
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			flatten(e, name, x[k], depth+1)
		}
	case []any:
		if s, ok := scalarList(x); ok {
			e.Set(prefix, s)
			return
		}
		for i, it := range x {
			flatten(e, prefix+"."+strconv.Itoa(i), it, depth+1)
		}
	case nil:
		// A JSON null is an absent value: Sigma's "field: null" matches it.
	default:
		e.Set(prefix, scalarText(x))
	}
}

// scalarList joins a list of scalars with newlines, so that a keyword or a "contains"
// finds any of them.
func scalarList(xs []any) (string, bool) {
	parts := make([]string, 0, len(xs))
	for _, x := range xs {
		switch x.(type) {
		case map[string]any, []any:
			return "", false
		case nil:
			continue
		}
		parts = append(parts, scalarText(x))
	}
	return strings.Join(parts, "\n"), true
}

func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func fromWindows(ev, sys map[string]any, idField string) *Event {
	e := New("", 48)
	for _, k := range sortedKeys(sys) {
		switch v := sys[k].(type) {
		case map[string]any:
			if t, ok := v["#text"]; ok && t != nil {
				e.Set(k, scalarText(t))
			}
			if attrs, ok := v["#attributes"].(map[string]any); ok {
				for _, a := range sortedKeys(attrs) {
					if attrs[a] != nil {
						e.Set(k+"_"+a, scalarText(attrs[a]))
					}
				}
			}
		case nil:
		case []any:
			if s, ok := scalarList(v); ok {
				e.Set(k, s)
			}
		default:
			e.Set(k, scalarText(v))
		}
	}
	data := func(m map[string]any) {
		for _, k := range sortedKeys(m) {
			if k == "#attributes" {
				continue
			}
			switch v := m[k].(type) {
			case map[string]any:
				if t, ok := v["#text"]; ok {
					if l, ok := t.([]any); ok {
						s, _ := scalarList(l)
						e.Set(k, s)
					} else if t != nil {
						e.Set(k, scalarText(t))
					}
					continue
				}
				flatten(e, k, v, 1)
			case []any:
				if s, ok := scalarList(v); ok {
					e.Set(k, s)
				} else {
					flatten(e, k, v, 1)
				}
			case nil:
			default:
				e.Set(k, scalarText(v))
			}
		}
	}
	if m, ok := ev["EventData"].(map[string]any); ok {
		data(m)
	}
	if ud, ok := ev["UserData"].(map[string]any); ok {
		// UserData holds one element named by the provider; its children are the data.
		for _, k := range sortedKeys(ud) {
			if m, ok := ud[k].(map[string]any); ok {
				data(m)
			}
		}
	}
	setID(e, idField)
	return e
}

// applyMapping adds each mapped field under its new name (the event keeps the old
// one, so rules written for either naming match).
func applyMapping(e *Event, mapping map[string]string) {
	if len(mapping) == 0 {
		return
	}
	for _, f := range append([]Field(nil), e.Fields()...) {
		if to, ok := mapping[f.Name]; ok {
			if _, exists := e.Get(to); !exists {
				e.Set(to, f.Value)
			}
		}
	}
}

// Mappings are the built-in field mappings, by name.
var Mappings = map[string]map[string]string{
	// ecs maps Elastic Common Schema names to the Sysmon names SigmaHQ's Windows rules use.
	"ecs": {
		"process.executable":             "Image",
		"process.command_line":           "CommandLine",
		"process.pid":                    "ProcessId",
		"process.entity_id":              "ProcessGuid",
		"process.working_directory":      "CurrentDirectory",
		"process.pe.original_file_name":  "OriginalFileName",
		"process.pe.description":         "Description",
		"process.pe.product":             "Product",
		"process.pe.company":             "Company",
		"process.parent.executable":      "ParentImage",
		"process.parent.command_line":    "ParentCommandLine",
		"process.parent.pid":             "ParentProcessId",
		"user.name":                      "User",
		"file.path":                      "TargetFilename",
		"registry.path":                  "TargetObject",
		"registry.data.strings":          "Details",
		"dns.question.name":              "QueryName",
		"source.ip":                      "SourceIp",
		"source.port":                    "SourcePort",
		"destination.ip":                 "DestinationIp",
		"destination.port":               "DestinationPort",
		"destination.domain":             "DestinationHostname",
		"network.transport":              "Protocol",
		"dll.path":                       "ImageLoaded",
		"host.name":                      "Computer",
		"winlog.channel":                 "Channel",
		"winlog.event_id":                "EventID",
		"winlog.provider_name":           "Provider_Name",
		"winlog.record_id":               "EventRecordID",
		"winlog.event_data.CommandLine":  "CommandLine",
		"winlog.event_data.Image":        "Image",
		"winlog.event_data.ParentImage":  "ParentImage",
		"winlog.event_data.TargetObject": "TargetObject",
	},
}

// ParseMapping reads a field mapping: a built-in name ("ecs"), or a JSON object of
// source name → rule name.
func ParseMapping(spec []byte) (map[string]string, error) {
	s := strings.TrimSpace(string(spec))
	if m, ok := Mappings[s]; ok {
		return m, nil
	}
	var m map[string]string
	if err := json.Unmarshal(spec, &m); err != nil {
		return nil, fmt.Errorf("field mapping: neither a built-in mapping (ecs) nor a JSON object of names: %w", err)
	}
	for k, v := range m {
		if k == "" || v == "" {
			return nil, fmt.Errorf("field mapping: %q → %q: names may not be empty", k, v)
		}
	}
	return m, nil
}
