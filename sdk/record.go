package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Record is one typed item an importer produces or an exporter consumes.
// The concrete types are the pointer types in this package (*Technique,
// *DetectionRule, ...); DecodeRecord always returns those.
type Record interface {
	// Kind names the record type, e.g. "technique".
	Kind() string
	// ID is the record's external id, unique per kind within one source.
	ID() string
	// Validate checks required fields and formats; the error names the field.
	Validate() error
}

// Record kinds. These strings are part of protocol v1 and never change.
const (
	KindTactic              = "tactic"
	KindTechnique           = "technique"
	KindMitigation          = "mitigation"
	KindThreatActor         = "threat_actor"
	KindTestTemplate        = "test_template"
	KindDetectionRule       = "detection_rule"
	KindDefensiveTechnique  = "defensive_technique"
	KindComplianceFramework = "compliance_framework"
	KindComplianceControl   = "compliance_control"
	KindIntelItem           = "intel_item"
	KindCampaign            = "campaign"
	KindTechniqueCoverage   = "technique_coverage"
)

// recordFactories maps every kind to a constructor for its zero value, so the
// core can decode whatever kind arrives without a type switch of its own.
var recordFactories = map[string]func() Record{
	KindTactic:              func() Record { return new(Tactic) },
	KindTechnique:           func() Record { return new(Technique) },
	KindMitigation:          func() Record { return new(Mitigation) },
	KindThreatActor:         func() Record { return new(ThreatActor) },
	KindTestTemplate:        func() Record { return new(TestTemplate) },
	KindDetectionRule:       func() Record { return new(DetectionRule) },
	KindDefensiveTechnique:  func() Record { return new(DefensiveTechnique) },
	KindComplianceFramework: func() Record { return new(ComplianceFramework) },
	KindComplianceControl:   func() Record { return new(ComplianceControl) },
	KindIntelItem:           func() Record { return new(IntelItem) },
	KindCampaign:            func() Record { return new(Campaign) },
	KindTechniqueCoverage:   func() Record { return new(TechniqueCoverage) },
}

// RecordKinds returns every record kind this SDK knows, sorted.
func RecordKinds() []string {
	kinds := make([]string, 0, len(recordFactories))
	for k := range recordFactories {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

// KnownRecordKind reports whether kind is one of RecordKinds.
func KnownRecordKind(kind string) bool {
	_, ok := recordFactories[kind]
	return ok
}

// NewRecord returns a zero record of the given kind.
func NewRecord(kind string) (Record, error) {
	f, ok := recordFactories[kind]
	if !ok {
		return nil, fmt.Errorf("unknown record kind %q (known: %s)", kind, strings.Join(RecordKinds(), ", "))
	}
	return f(), nil
}

// EncodeRecord returns the record's kind, external id and JSON encoding, the
// form in which it travels between plugin and host. It does not validate.
func EncodeRecord(r Record) (kind, id string, data []byte, err error) {
	if r == nil {
		return "", "", nil, fmt.Errorf("encode record: nil record")
	}
	kind, id = r.Kind(), r.ID()
	data, err = json.Marshal(r)
	if err != nil {
		return kind, id, nil, fmt.Errorf("encode %s %q: %w", kind, id, err)
	}
	return kind, id, data, nil
}

// DecodeRecord decodes the JSON encoding of a record of the given kind and
// validates it. An unknown kind, malformed JSON or a failed validation is an
// error naming the kind (and, for validation, the field: see
// *ValidationError). Unknown JSON fields are ignored so that a plugin built
// with a newer SDK can talk to an older host.
func DecodeRecord(kind string, data []byte) (Record, error) {
	r, err := NewRecord(kind)
	if err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(r); err != nil {
		return nil, fmt.Errorf("decode %s: malformed JSON: %w", kind, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("decode %s: malformed JSON: trailing data after the record", kind)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind, err)
	}
	return r, nil
}

// ValidationError lists what is wrong with one record. Field names are the
// record's JSON names (e.g. "technique_ids[2]").
type ValidationError struct {
	Kind     string
	ID       string
	Problems []FieldProblem
}

// FieldProblem is one invalid field.
type FieldProblem struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid ")
	b.WriteString(e.Kind)
	if e.ID != "" {
		fmt.Fprintf(&b, " %q", e.ID)
	}
	b.WriteString(": ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.Field)
		b.WriteString(": ")
		b.WriteString(p.Message)
	}
	return b.String()
}

// checker accumulates field problems for one record.
type checker struct {
	err ValidationError
}

func newChecker(r Record) *checker {
	return &checker{err: ValidationError{Kind: r.Kind(), ID: r.ID()}}
}

func (c *checker) add(field, format string, args ...any) {
	c.err.Problems = append(c.err.Problems, FieldProblem{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (c *checker) required(field, value string) {
	if strings.TrimSpace(value) == "" {
		c.add(field, "required")
	}
}

func (c *checker) match(field, value string, re *regexp.Regexp, example string) {
	if value != "" && !re.MatchString(value) {
		c.add(field, "%q is not a valid id (want e.g. %s)", value, example)
	}
}

func (c *checker) oneOf(field, value string, allowed ...string) {
	if value != "" && !slices.Contains(allowed, value) {
		c.add(field, "%q is not one of %s", value, strings.Join(allowed, ", "))
	}
}

func (c *checker) techniqueIDs(field string, ids []string) {
	for i, id := range ids {
		c.techniqueID(fmt.Sprintf("%s[%d]", field, i), id)
	}
}

func (c *checker) techniqueID(field, id string) {
	if id == "" {
		c.add(field, "required")
		return
	}
	c.match(field, id, techniqueIDRe, "T1059 or T1059.001")
}

func (c *checker) nonEmpty(field string, values []string) {
	for i, v := range values {
		if strings.TrimSpace(v) == "" {
			c.add(fmt.Sprintf("%s[%d]", field, i), "empty value")
		}
	}
}

func (c *checker) result() error {
	if len(c.err.Problems) == 0 {
		return nil
	}
	e := c.err
	return &e
}

var (
	techniqueIDRe = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)
	tacticIDRe    = regexp.MustCompile(`^TA\d{4}$`)
	shortnameRe   = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
)

// ATT&CK domains.
const (
	DomainEnterprise = "enterprise-attack"
	DomainMobile     = "mobile-attack"
	DomainICS        = "ics-attack"
)

var attackDomains = []string{DomainEnterprise, DomainMobile, DomainICS}

func itoa(i int) string { return fmt.Sprint(i) }
