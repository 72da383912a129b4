// Package sigma parses Sigma rules (https://sigmahq.io, specification 2.x) into a typed
// syntax tree: log source, named searches with their field items, modifiers and values,
// and the condition as an expression tree. It is shared by everything in Aegis that reads
// Sigma: the detection evaluator in the core and the query converters among the plugins.
// It depends only on the standard library and gopkg.in/yaml.v3, so that both sides of
// the plugin boundary may import it.
//
// The tree keeps what the rule says, not what a backend makes of it: values keep their
// wildcards as parts, modifiers stay in the order written, and [Item.MatchValues] applies
// the value-changing modifiers (wide, base64, base64offset, windash, contains, ...) the
// same way for every consumer.
package sigma

import "time"

// Kind says what a rule document is.
type Kind int

const (
	// KindDetection is a plain rule: a log source and a detection block.
	KindDetection Kind = iota
	// KindCorrelation is a correlation rule over other rules' matches.
	KindCorrelation
	// KindFilter is a meta filter: a detection block that excludes events from other rules.
	KindFilter
)

func (k Kind) String() string {
	switch k {
	case KindCorrelation:
		return "correlation"
	case KindFilter:
		return "filter"
	}
	return "detection"
}

// Rule is one Sigma rule document.
type Rule struct {
	// File and Line say where the document starts (File is whatever name the caller gave).
	File string
	Line int

	Kind        Kind
	ID          string // as written (lower-cased when it is a UUID)
	Name        string // the optional "name" used by correlation rules to refer to rules
	Title       string
	Status      string
	Level       string
	Description string
	Author      string
	Date        string
	Modified    string
	References  []string
	Tags        []string
	Fields      []string
	// FalsePositives are the free-text false positive notes.
	FalsePositives []string
	Related        []Related

	LogSource LogSource
	// Detection is the detection block of a plain rule, or the selection and condition
	// of a filter; nil for a correlation rule.
	Detection *Detection
	// Correlation is set for KindCorrelation.
	Correlation *Correlation
	// Filter is set for KindFilter: the rules it applies to (the search and condition
	// are in Detection).
	Filter *Filter
}

// Related is an entry of "related".
type Related struct {
	ID   string
	Type string
}

// LogSource names the events a rule applies to. Empty fields match any event source.
type LogSource struct {
	Product    string
	Category   string
	Service    string
	Definition string
	Line       int
}

// Detection is a detection block: named searches and the condition over them.
type Detection struct {
	// Searches in document order.
	Searches []*Search
	// Conditions are OR-ed together; Sigma allows a list, most rules have one.
	Conditions []*Condition
	// Timeframe is the legacy "timeframe" of aggregation conditions, as written.
	Timeframe string
	Line      int
}

// Search returns the search named name, or nil.
func (d *Detection) Search(name string) *Search {
	for _, s := range d.Searches {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Search is one named search identifier of a detection block ("selection", "filter_x").
// It matches an event when any of its Groups matches.
type Search struct {
	Name   string
	Line   int
	Column int
	// Groups are alternatives: a mapping is one group, a list of mappings one group per
	// mapping, a list of plain values one group holding one keyword item.
	Groups []*Group
}

// Group is a set of items that must all match (a Sigma mapping).
type Group struct {
	Items []*Item
	Line  int
}

// Item is one "field|modifier|...: value(s)" entry, or a keyword item (Field empty)
// that matches anywhere in the event. Its values are alternatives unless the item
// carries the "all" modifier.
type Item struct {
	Field     string
	Modifiers []Modifier
	Values    []Value
	Line      int
	Column    int
}

// Has reports whether the item carries modifier m.
func (it *Item) Has(m Modifier) bool {
	for _, x := range it.Modifiers {
		if x == m {
			return true
		}
	}
	return false
}

// Keyword reports whether the item is a keyword item (no field).
func (it *Item) Keyword() bool { return it.Field == "" }

// Modifier is a Sigma value modifier, written after "|" in an item's key.
type Modifier string

// The modifiers of the Sigma specification.
const (
	ModContains     Modifier = "contains"
	ModStartsWith   Modifier = "startswith"
	ModEndsWith     Modifier = "endswith"
	ModAll          Modifier = "all"
	ModBase64       Modifier = "base64"
	ModBase64Offset Modifier = "base64offset"
	ModUTF16LE      Modifier = "utf16le"
	ModUTF16BE      Modifier = "utf16be"
	ModUTF16        Modifier = "utf16" // UTF-16 with a byte order mark (little endian)
	ModWide         Modifier = "wide"  // alias of utf16le
	ModWindash      Modifier = "windash"
	ModRe           Modifier = "re"
	ModReI          Modifier = "i" // re: case-insensitive
	ModReM          Modifier = "m" // re: multi-line
	ModReS          Modifier = "s" // re: dot matches new line
	ModCIDR         Modifier = "cidr"
	ModExists       Modifier = "exists"
	ModCased        Modifier = "cased"
	ModGT           Modifier = "gt"
	ModGTE          Modifier = "gte"
	ModLT           Modifier = "lt"
	ModLTE          Modifier = "lte"
	ModFieldRef     Modifier = "fieldref"
	ModExpand       Modifier = "expand"
)

// Modifiers lists every modifier this package understands.
var Modifiers = []Modifier{ModContains, ModStartsWith, ModEndsWith, ModAll, ModBase64, ModBase64Offset,
	ModUTF16LE, ModUTF16BE, ModUTF16, ModWide, ModWindash, ModRe, ModReI, ModReM, ModReS, ModCIDR,
	ModExists, ModCased, ModGT, ModGTE, ModLT, ModLTE, ModFieldRef, ModExpand}

// ValueKind is the YAML type of a value.
type ValueKind int

const (
	StringValue ValueKind = iota
	NumberValue
	BoolValue
	NullValue
)

func (k ValueKind) String() string {
	return [...]string{"string", "number", "bool", "null"}[k]
}

// Value is one value of an item.
type Value struct {
	Kind ValueKind
	// Raw is the scalar as written in YAML (for a string, before escapes are read).
	// Modifiers that take their value literally (re, cidr, fieldref, expand) use Raw.
	Raw string
	// Parts is a string value read as a Sigma pattern: literal text and the wildcards
	// "*" and "?", with "\*", "\?" and "\\" read as the literal characters.
	Parts []Part
	// Number is the value of a NumberValue; Bool that of a BoolValue.
	Number float64
	Bool   bool
	Line   int
	Column int
}

// PartKind says what a part of a pattern is.
type PartKind int

const (
	Literal PartKind = iota
	AnyString
	AnyChar
)

// Part is a piece of a pattern: literal text, "*" (any string) or "?" (one character).
type Part struct {
	Kind PartKind
	Text string // the text of a Literal
}

// HasWildcards reports whether the value holds an unescaped "*" or "?".
func (v Value) HasWildcards() bool {
	for _, p := range v.Parts {
		if p.Kind != Literal {
			return true
		}
	}
	return false
}

// Text is the value's literal text: for a string, its parts with wildcards written as
// "*" and "?" (unescaped); for other kinds, Raw.
func (v Value) Text() string {
	if v.Kind != StringValue {
		return v.Raw
	}
	n := 0
	for _, p := range v.Parts {
		n += len(p.Text) + 1
	}
	b := make([]byte, 0, n)
	for _, p := range v.Parts {
		switch p.Kind {
		case Literal:
			b = append(b, p.Text...)
		case AnyString:
			b = append(b, '*')
		case AnyChar:
			b = append(b, '?')
		}
	}
	return string(b)
}

// Condition is one condition of a detection block.
type Condition struct {
	Text string
	Expr Expr
	// Aggregation is the legacy aggregation after "|" ("count() by x > 5"), as written;
	// it is recognised but not part of the expression.
	Aggregation string
	Line        int
	Column      int
}

// Expr is a node of a condition expression: *AndExpr, *OrExpr, *NotExpr, *RefExpr or *OfExpr.
type Expr interface {
	// String writes the expression back in Sigma syntax, fully parenthesised.
	String() string
	expr()
}

// AndExpr matches when every term matches.
type AndExpr struct{ Terms []Expr }

// OrExpr matches when any term matches.
type OrExpr struct{ Terms []Expr }

// NotExpr negates X.
type NotExpr struct{ X Expr }

// RefExpr names one search.
type RefExpr struct{ Name string }

// OfExpr is "1 of PATTERN", "all of PATTERN", "1 of them" or "all of them". Names are
// the searches the pattern selects, resolved when the rule is parsed ("them" leaves
// out searches whose name starts with "_").
type OfExpr struct {
	All     bool
	Pattern string // "them" or a search name, possibly with "*" wildcards
	Names   []string
}

func (*AndExpr) expr() {}
func (*OrExpr) expr()  {}
func (*NotExpr) expr() {}
func (*RefExpr) expr() {}
func (*OfExpr) expr()  {}

func (e *AndExpr) String() string { return joinExprs(e.Terms, " and ") }
func (e *OrExpr) String() string  { return joinExprs(e.Terms, " or ") }
func (e *NotExpr) String() string { return "not " + e.X.String() }
func (e *RefExpr) String() string { return e.Name }
func (e *OfExpr) String() string {
	q := "1 of "
	if e.All {
		q = "all of "
	}
	return q + e.Pattern
}

func joinExprs(terms []Expr, sep string) string {
	s := "("
	for i, t := range terms {
		if i > 0 {
			s += sep
		}
		s += t.String()
	}
	return s + ")"
}

// Correlation is the correlation block of a correlation rule.
type Correlation struct {
	Type     string // event_count, value_count, temporal, temporal_ordered, value_sum, value_avg, value_percentile, value_median
	Rules    []string
	GroupBy  []string
	Timespan time.Duration
	// TimespanText is the timespan as written ("5m", "1h").
	TimespanText string
	Condition    *CorrelationCondition
	Generate     bool
	// Aliases maps an alias field to the field it stands for in each rule.
	Aliases map[string]map[string]string
	Line    int
}

// CorrelationCondition is the threshold of a counting correlation ("gte: 10", with the
// field for value_* types).
type CorrelationCondition struct {
	Op    string // gt, gte, lt, lte, eq, neq
	Value float64
	Field string
}

// CorrelationTypes lists the correlation types of the specification.
var CorrelationTypes = []string{"event_count", "value_count", "temporal", "temporal_ordered",
	"value_sum", "value_avg", "value_percentile", "value_median"}

// Filter is the target of a meta filter rule.
type Filter struct {
	Rules []string
	Line  int
}
