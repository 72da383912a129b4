// Package stix reads MITRE ATT&CK's STIX data in every shape MITRE publishes
// it: a STIX 2.1 bundle (attack-stix-data), the STIX 2.0 one-object-per-file
// folders of the mitre/cti repository, a collection index (index.json) that
// points at per-release bundles, and a TAXII 2.1 server. Whatever the shape,
// Load returns one Dataset: the objects by STIX id, where each was read, and
// the relationships between them, so that the attack and cti plugins share one
// reader and see the same data.
//
// Decoding is deliberately tolerant: a field of the wrong JSON type is
// dropped with a warning instead of discarding the object, because one odd
// field in a 50 MB release must not cost the user a technique.
package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ExternalReference is one entry of external_references.
type ExternalReference struct {
	SourceName  string
	ExternalID  string
	URL         string
	Description string
}

// KillChainPhase is one entry of kill_chain_phases.
type KillChainPhase struct {
	KillChainName string
	PhaseName     string
}

// LogSourceRef is one entry of an analytic's x_mitre_log_source_references.
type LogSourceRef struct {
	DataComponentRef string
	Name             string
	Channel          string
}

// Position says where an object was read: a path relative to the source
// (or a URL) and the line its JSON object starts on (0 when unknown).
type Position struct {
	File string
	Line int
}

// Object holds the fields of a STIX object that Aegis reads. Fields absent
// from an object are zero.
type Object struct {
	Type        string
	ID          string
	SpecVersion string
	Name        string
	Description string
	Created     time.Time
	Modified    time.Time
	Revoked     bool
	// Deprecated is x_mitre_deprecated.
	Deprecated         bool
	ExternalReferences []ExternalReference
	KillChainPhases    []KillChainPhase
	Aliases            []string
	// Domains is x_mitre_domains as written; see Dataset.Domains for the
	// domains inferred when it is absent.
	Domains   []string
	Platforms []string
	// Version is x_mitre_version: the object's own version, or the release
	// for an x-mitre-collection.
	Version        string
	IsSubtechnique bool
	// DataSources is x_mitre_data_sources (ATT&CK before v18).
	DataSources []string
	// Detection is x_mitre_detection (free text, empty since v18).
	Detection string
	// Shortname is an x-mitre-tactic's x_mitre_shortname.
	Shortname string
	// TacticRefs is an x-mitre-matrix's tactic_refs, in column order.
	TacticRefs []string
	// AnalyticRefs is an x-mitre-detection-strategy's x_mitre_analytic_refs.
	AnalyticRefs []string
	// LogSources is an x-mitre-analytic's x_mitre_log_source_references.
	LogSources []LogSourceRef
	// DataSourceRef is an x-mitre-data-component's x_mitre_data_source_ref.
	DataSourceRef string

	RelationshipType string
	SourceRef        string
	TargetRef        string

	FirstSeen            time.Time
	LastSeen             time.Time
	PrimaryMotivation    string
	SecondaryMotivations []string
	// Country is a location's country, or a country some producers put on
	// the intrusion set itself.
	Country string

	// Pos is where the object was read (the first place, when it was read
	// from several).
	Pos Position
	// containers are the domains and releases of the bundles the object was
	// found in; a multi-domain import sees one object several times.
	containers []container
}

// container is the context an object was read in.
type container struct {
	Domain  string
	Release string
}

// ATT&CK's external_references source names, per domain; deprecated ICS
// objects use mitre-ics-attack.
var attackSourceNames = []string{"mitre-attack", "mitre-mobile-attack", "mitre-ics-attack"}

// AttackRef returns the object's ATT&CK reference (external id and URL), or
// false when it has none.
func (o *Object) AttackRef() (ExternalReference, bool) {
	for _, name := range attackSourceNames {
		for _, r := range o.ExternalReferences {
			if r.SourceName == name && strings.TrimSpace(r.ExternalID) != "" {
				r.ExternalID = strings.ToUpper(strings.TrimSpace(r.ExternalID))
				return r, true
			}
		}
	}
	return ExternalReference{}, false
}

// ExternalID returns the ATT&CK id (T1059.001, TA0002, M1036, G0016, S0002,
// C0024) or "" when the object has none.
func (o *Object) ExternalID() string {
	r, _ := o.AttackRef()
	return r.ExternalID
}

// Citations returns the external references other than the ATT&CK one, in
// source order.
func (o *Object) Citations() []ExternalReference {
	var out []ExternalReference
	for _, r := range o.ExternalReferences {
		if isAttackSource(r.SourceName) && r.ExternalID != "" {
			continue
		}
		out = append(out, r)
	}
	return out
}

func isAttackSource(name string) bool {
	for _, n := range attackSourceNames {
		if n == name {
			return true
		}
	}
	return false
}

// Dead reports whether the object is revoked or deprecated.
func (o *Object) Dead() bool { return o.Revoked || o.Deprecated }

// Label names the object in messages: its ATT&CK id when it has one, else
// its STIX id.
func (o *Object) Label() string {
	if id := o.ExternalID(); id != "" {
		return id
	}
	return o.ID
}

// DecodeObject decodes one STIX object. It fails only when data is not a
// JSON object or lacks a type or id; fields of an unexpected JSON type are
// left zero and described in problems, for the caller to warn about.
func DecodeObject(data []byte) (o *Object, problems []string, err error) {
	if !fieldByField {
		if o, ok := decodeTyped(data); ok {
			return o, nil, nil
		}
	}
	return decodeTolerant(data)
}

// fieldByField makes DecodeObject skip the one-pass decoder (benchmarks compare).
var fieldByField bool

// typedObject is the shape of a well-formed STIX object: decoding into it reads the
// object once. Reference lists hold pointers so that a null element shows.
type typedObject struct {
	Type                 *string              `json:"type"`
	ID                   *string              `json:"id"`
	SpecVersion          string               `json:"spec_version"`
	Name                 string               `json:"name"`
	Description          string               `json:"description"`
	Created              string               `json:"created"`
	Modified             string               `json:"modified"`
	Revoked              bool                 `json:"revoked"`
	Deprecated           bool                 `json:"x_mitre_deprecated"`
	ExternalReferences   []*typedExternalRef  `json:"external_references"`
	KillChainPhases      []*typedKillChain    `json:"kill_chain_phases"`
	Aliases              []string             `json:"aliases"`
	Domains              []string             `json:"x_mitre_domains"`
	Platforms            []string             `json:"x_mitre_platforms"`
	Version              string               `json:"x_mitre_version"`
	IsSubtechnique       bool                 `json:"x_mitre_is_subtechnique"`
	DataSources          []string             `json:"x_mitre_data_sources"`
	Detection            string               `json:"x_mitre_detection"`
	Shortname            string               `json:"x_mitre_shortname"`
	TacticRefs           []string             `json:"tactic_refs"`
	AnalyticRefs         []string             `json:"x_mitre_analytic_refs"`
	LogSources           []*typedLogSourceRef `json:"x_mitre_log_source_references"`
	DataSourceRef        string               `json:"x_mitre_data_source_ref"`
	RelationshipType     string               `json:"relationship_type"`
	SourceRef            string               `json:"source_ref"`
	TargetRef            string               `json:"target_ref"`
	FirstSeen            string               `json:"first_seen"`
	LastSeen             string               `json:"last_seen"`
	PrimaryMotivation    string               `json:"primary_motivation"`
	SecondaryMotivations []string             `json:"secondary_motivations"`
	Country              string               `json:"country"`
}

type typedExternalRef struct {
	SourceName  string `json:"source_name"`
	ExternalID  string `json:"external_id"`
	URL         string `json:"url"`
	Description string `json:"description"`
}

type typedKillChain struct {
	KillChainName string `json:"kill_chain_name"`
	PhaseName     string `json:"phase_name"`
}

type typedLogSourceRef struct {
	DataComponentRef string `json:"x_mitre_data_component_ref"`
	Name             string `json:"name"`
	Channel          string `json:"channel"`
}

// decodeTyped decodes a well-formed object in one pass. It gives up (false) on
// anything the tolerant decoder would treat specially or warn about: a field of
// another JSON type, a null list element, a timestamp that does not parse, a key
// spelled in other letter case (encoding/json matches those to fields, the tolerant
// decoder does not), a missing type or id. Whatever it accepts, decodeTolerant
// decodes to the same Object without problems (TestTypedDecodeMatchesTolerant).
func decodeTyped(data []byte) (*Object, bool) {
	var t typedObject
	if json.Unmarshal(data, &t) != nil || t.Type == nil || t.ID == nil {
		return nil, false
	}
	o := &Object{Type: strings.TrimSpace(*t.Type), ID: strings.TrimSpace(*t.ID)}
	if o.Type == "" || o.ID == "" || caseVariantKeys(data) {
		return nil, false
	}
	var ok bool
	times := []struct {
		dst *time.Time
		s   string
	}{{&o.Created, t.Created}, {&o.Modified, t.Modified}, {&o.FirstSeen, t.FirstSeen}, {&o.LastSeen, t.LastSeen}}
	for _, x := range times {
		if x.s == "" {
			continue
		}
		if *x.dst, ok = parseTimeOK(x.s); !ok {
			return nil, false
		}
	}
	o.SpecVersion, o.Name, o.Description = t.SpecVersion, t.Name, t.Description
	o.Revoked, o.Deprecated = t.Revoked, t.Deprecated
	for _, r := range t.ExternalReferences {
		if r == nil {
			return nil, false
		}
		o.ExternalReferences = append(o.ExternalReferences, ExternalReference(*r))
	}
	for _, k := range t.KillChainPhases {
		if k == nil {
			return nil, false
		}
		o.KillChainPhases = append(o.KillChainPhases, KillChainPhase(*k))
	}
	for _, l := range t.LogSources {
		if l == nil {
			return nil, false
		}
		o.LogSources = append(o.LogSources, LogSourceRef(*l))
	}
	o.Aliases, o.Domains, o.Platforms = t.Aliases, t.Domains, t.Platforms
	o.Version, o.IsSubtechnique, o.DataSources = t.Version, t.IsSubtechnique, t.DataSources
	o.Detection, o.Shortname, o.TacticRefs, o.AnalyticRefs = t.Detection, t.Shortname, t.TacticRefs, t.AnalyticRefs
	o.DataSourceRef, o.RelationshipType, o.SourceRef, o.TargetRef = t.DataSourceRef, t.RelationshipType, t.SourceRef, t.TargetRef
	o.PrimaryMotivation, o.SecondaryMotivations, o.Country = t.PrimaryMotivation, t.SecondaryMotivations, t.Country
	return o, true
}

func parseTimeOK(s string) (time.Time, bool) {
	t, err := ParseTime(s)
	return t, err == nil
}

// caseVariantKeys reports whether the object might have a key that encoding/json
// matches to a field case-insensitively: any key with an upper-case ASCII letter
// (STIX keys are lower case). It looks at the raw bytes, so a string value with a
// quoted upper-case word followed by a colon also says yes, which only costs the
// slower path.
func caseVariantKeys(data []byte) bool {
	for i := 0; i < len(data); i++ {
		if data[i] != '"' {
			continue
		}
		j := i + 1
		upper := false
		for j < len(data) && data[j] != '"' {
			if data[j] == '\\' {
				j++
			} else if data[j] >= 'A' && data[j] <= 'Z' {
				upper = true
			}
			j++
		}
		if upper {
			k := j + 1
			for k < len(data) && (data[k] == ' ' || data[k] == '\t' || data[k] == '\n' || data[k] == '\r') {
				k++
			}
			if k < len(data) && data[k] == ':' {
				return true
			}
		}
		i = j
	}
	return false
}

// decodeTolerant reads the object field by field, keeping what it can.
func decodeTolerant(data []byte) (o *Object, problems []string, err error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return nil, nil, fmt.Errorf("not a JSON object but %s", ute.Value)
		}
		return nil, nil, fmt.Errorf("malformed JSON: %w", err)
	}
	if m == nil {
		return nil, nil, errors.New("not a JSON object but null")
	}
	d := fieldDecoder{m: m}
	o = &Object{Type: d.strict("type"), ID: d.strict("id")}
	if o.Type == "" {
		return nil, nil, errors.New("STIX object without a type")
	}
	if o.ID == "" {
		return nil, nil, errors.New("STIX object without an id")
	}
	o.SpecVersion = d.str("spec_version")
	o.Name = d.str("name")
	o.Description = d.str("description")
	o.Created = d.time("created")
	o.Modified = d.time("modified")
	o.Revoked = d.bool("revoked")
	o.Deprecated = d.bool("x_mitre_deprecated")
	o.ExternalReferences = d.externalRefs("external_references")
	o.KillChainPhases = d.killChain("kill_chain_phases")
	o.Aliases = d.strs("aliases")
	o.Domains = d.strs("x_mitre_domains")
	o.Platforms = d.strs("x_mitre_platforms")
	o.Version = d.str("x_mitre_version")
	o.IsSubtechnique = d.bool("x_mitre_is_subtechnique")
	o.DataSources = d.strs("x_mitre_data_sources")
	o.Detection = d.str("x_mitre_detection")
	o.Shortname = d.str("x_mitre_shortname")
	o.TacticRefs = d.strs("tactic_refs")
	o.AnalyticRefs = d.strs("x_mitre_analytic_refs")
	o.LogSources = d.logSources("x_mitre_log_source_references")
	o.DataSourceRef = d.str("x_mitre_data_source_ref")
	o.RelationshipType = d.str("relationship_type")
	o.SourceRef = d.str("source_ref")
	o.TargetRef = d.str("target_ref")
	o.FirstSeen = d.time("first_seen")
	o.LastSeen = d.time("last_seen")
	o.PrimaryMotivation = d.str("primary_motivation")
	o.SecondaryMotivations = d.strs("secondary_motivations")
	o.Country = d.str("country")
	sort.Strings(d.problems)
	return o, d.problems, nil
}

// fieldDecoder reads fields of one object, collecting type problems.
type fieldDecoder struct {
	m        map[string]json.RawMessage
	problems []string
}

func (d *fieldDecoder) bad(key, want string, raw json.RawMessage) {
	got := bytes.TrimSpace(raw)
	if len(got) > 40 {
		got = append(append([]byte{}, got[:40]...), "..."...)
	}
	d.problems = append(d.problems, fmt.Sprintf("%s: want %s, got %s (ignored)", key, want, got))
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// str reads a string; a number is taken as its text (x_mitre_version is
// sometimes written as 1.0 by hand-made bundles).
func (d *fieldDecoder) str(key string) string {
	raw, ok := d.m[key]
	if !ok || isNull(raw) {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&n); err == nil {
		return n.String()
	}
	d.bad(key, "a string", raw)
	return ""
}

// strict reads a string and nothing else, for type and id.
func (d *fieldDecoder) strict(key string) string {
	var s string
	if raw, ok := d.m[key]; ok && json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	return ""
}

func (d *fieldDecoder) bool(key string) bool {
	raw, ok := d.m[key]
	if !ok || isNull(raw) {
		return false
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return b
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			return true
		case "false", "":
			return false
		}
	}
	d.bad(key, "a boolean", raw)
	return false
}

// strs reads a list of strings; a single string is taken as a list of one,
// and non-string entries are dropped.
func (d *fieldDecoder) strs(key string) []string {
	raw, ok := d.m[key]
	if !ok || isNull(raw) {
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s == "" {
			return nil
		}
		return []string{s}
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		d.bad(key, "a list of strings", raw)
		return nil
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		var v string
		if err := json.Unmarshal(it, &v); err != nil {
			d.bad(fmt.Sprintf("%s[%d]", key, i), "a string", it)
			continue
		}
		out = append(out, v)
	}
	return out
}

func (d *fieldDecoder) time(key string) time.Time {
	s := d.str(key)
	if s == "" {
		return time.Time{}
	}
	t, err := ParseTime(s)
	if err != nil {
		d.problems = append(d.problems, fmt.Sprintf("%s: %q is not a timestamp (ignored)", key, s))
		return time.Time{}
	}
	return t
}

// ParseTime reads a STIX timestamp. STIX requires RFC 3339 in UTC; older
// hand-made bundles also carry dates without a time.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 timestamp", s)
}

// objects reads a list of JSON objects, each as a fieldDecoder.
func (d *fieldDecoder) objects(key string) []*fieldDecoder {
	raw, ok := d.m[key]
	if !ok || isNull(raw) {
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		d.bad(key, "a list of objects", raw)
		return nil
	}
	out := make([]*fieldDecoder, 0, len(items))
	for i, it := range items {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(it, &m); err != nil || m == nil {
			d.bad(fmt.Sprintf("%s[%d]", key, i), "an object", it)
			continue
		}
		out = append(out, &fieldDecoder{m: m})
	}
	return out
}

// sub folds an element decoder's problems into d, prefixed with the list's key.
func (d *fieldDecoder) sub(key string, i int, e *fieldDecoder) {
	for _, p := range e.problems {
		d.problems = append(d.problems, fmt.Sprintf("%s[%d].%s", key, i, p))
	}
}

func (d *fieldDecoder) externalRefs(key string) []ExternalReference {
	var out []ExternalReference
	for i, e := range d.objects(key) {
		out = append(out, ExternalReference{SourceName: e.str("source_name"), ExternalID: e.str("external_id"),
			URL: e.str("url"), Description: e.str("description")})
		d.sub(key, i, e)
	}
	return out
}

func (d *fieldDecoder) killChain(key string) []KillChainPhase {
	var out []KillChainPhase
	for i, e := range d.objects(key) {
		out = append(out, KillChainPhase{KillChainName: e.str("kill_chain_name"), PhaseName: e.str("phase_name")})
		d.sub(key, i, e)
	}
	return out
}

func (d *fieldDecoder) logSources(key string) []LogSourceRef {
	var out []LogSourceRef
	for i, e := range d.objects(key) {
		out = append(out, LogSourceRef{DataComponentRef: e.str("x_mitre_data_component_ref"), Name: e.str("name"), Channel: e.str("channel")})
		d.sub(key, i, e)
	}
	return out
}
