// Package events reads captured telemetry (Windows EVTX, the JSON form of SigmaHQ's
// regression data, NDJSON and JSON arrays of flat or nested events) into flat events
// the Sigma evaluator can match: field names as Sigma rules write them, values as text,
// the log source inferred from provider, channel and EventID, and an optional field
// mapping (Sysmon names ↔ ECS names) applied on the way in.
package events

import (
	"strings"
)

// LogSource is what kind of events an event is, in Sigma's terms. An empty field is
// unknown: rules that name it are still evaluated (a missed detection costs more than
// evaluating a rule that cannot match).
type LogSource struct {
	Product  string `json:"product,omitempty"`
	Category string `json:"category,omitempty"`
	Service  string `json:"service,omitempty"`
	// Inferred says the fields were read from the event itself: an empty Category then
	// means the event has none, and rules for a category do not apply.
	Inferred bool `json:"-"`
}

// Event is one flat event. Field names are matched case-insensitively, as Windows and
// most SIEMs do; values are text (numbers as written, booleans as true/false).
type Event struct {
	// ID names the event in results: the EVTX EventRecordID, a configured id field, or
	// the event's position in its file ("#12").
	ID        string
	LogSource LogSource
	fields    []Field
	index     map[string]int32
}

// Field is one field of an event. Lower is Value in lower case, computed once because
// Sigma matches case-insensitively by default.
type Field struct {
	Name  string
	Value string
	Lower string
	// Key is Name as fields are matched: lower case.
	Key string
}

// New returns an empty event with room for n fields.
func New(id string, n int) *Event {
	return &Event{ID: id, fields: make([]Field, 0, n), index: make(map[string]int32, n)}
}

// Set adds or replaces a field.
func (e *Event) Set(name, value string) {
	key := lowerASCII(name)
	f := Field{Name: name, Value: value, Lower: strings.ToLower(value), Key: key}
	if i, ok := e.index[key]; ok {
		e.fields[i] = f
		return
	}
	if e.index == nil {
		e.index = map[string]int32{}
	}
	e.index[key] = int32(len(e.fields))
	e.fields = append(e.fields, f)
}

// Delete removes a field (used by field mappings that rename).
func (e *Event) Delete(name string) {
	key := lowerASCII(name)
	i, ok := e.index[key]
	if !ok {
		return
	}
	delete(e.index, key)
	last := int32(len(e.fields) - 1)
	if i != last {
		e.fields[i] = e.fields[last]
		e.index[e.fields[i].Key] = i
	}
	e.fields = e.fields[:last]
}

// Get returns the field named name (any case).
func (e *Event) Get(name string) (*Field, bool) {
	return e.GetLower(lowerASCII(name))
}

// GetLower is Get for a name already in lower case (the evaluator lowers names once,
// when it compiles a rule).
func (e *Event) GetLower(lowerName string) (*Field, bool) {
	i, ok := e.index[lowerName]
	if !ok {
		return nil, false
	}
	return &e.fields[i], true
}

// Fields returns the event's fields in the order they were set.
func (e *Event) Fields() []Field { return e.fields }

// Map returns the fields as a map (for output).
func (e *Event) Map() map[string]string {
	m := make(map[string]string, len(e.fields))
	for _, f := range e.fields {
		m[f.Name] = f.Value
	}
	return m
}

// Clone returns a copy that can be changed without touching e.
func (e *Event) Clone() *Event {
	c := &Event{ID: e.ID, LogSource: e.LogSource, fields: append([]Field(nil), e.fields...), index: make(map[string]int32, len(e.index))}
	for k, v := range e.index {
		c.index[k] = v
	}
	return c
}

// lowerASCII lowers a field name without allocating when it is already lower case.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}

// LowerName is the form field names are matched in.
func LowerName(s string) string { return lowerASCII(s) }
