// Package sigmaquery converts Sigma rules (parsed by the shared sigma package) into the
// query languages of SIEMs: Splunk SPL, Elasticsearch query strings (Lucene) and Kusto
// (KQL, Microsoft Sentinel and Defender). A rule first becomes a small boolean tree whose
// leaves are field conditions, shaped the way pySigma shapes it (a search is the OR of
// its mappings, a mapping the AND of its items, an item the OR of its values, or their
// AND with "all"), so the backends can print the same text pySigma's backends print for
// the same rule. Where a backend cannot express a construct the rule is reported
// unsupported with the reason: a construct is never dropped or approximated.
package sigmaquery

import (
	"fmt"
	"strings"

	"github.com/aegis-sec/aegis/sigma"
)

// Unsupported is the error for a rule a backend cannot express; Reason says why.
type Unsupported struct{ Reason string }

func (e *Unsupported) Error() string { return e.Reason }

func unsupported(format string, args ...any) error {
	return &Unsupported{Reason: fmt.Sprintf(format, args...)}
}

// node is a boolean tree: and, or, not, or a leaf.
type node interface{ isNode() }

type andNode struct{ terms []node }
type orNode struct{ terms []node }
type notNode struct{ x node }

// leaf is one condition on one field (or, for keywords, on the whole event).
type leaf struct {
	field string
	kind  leafKind
	value sigma.Value // match, keyword: the pattern; compare: the number
	cased bool
	op    string // compare: gt, gte, lt, lte
	text  string // regex: pattern; cidr: network; fieldref: other field
	flags string // regex flags: any of "i", "m", "s"
	want  bool   // exists: true or false
}

type leafKind int

const (
	leafMatch leafKind = iota
	leafKeyword
	leafNull
	leafExists
	leafRegex
	leafCIDR
	leafCompare
	leafFieldRef
)

func (*andNode) isNode() {}
func (*orNode) isNode()  {}
func (*notNode) isNode() {}
func (*leaf) isNode()    {}

// Options change how rules are read before any backend sees them.
type Options struct {
	// Fields maps Sigma field names to the names of the target's events.
	Fields map[string]string
	// Placeholders are the values of %name% placeholders for the expand modifier.
	Placeholders map[string][]string
}

func (o Options) field(f string) string {
	if m, ok := o.Fields[f]; ok && m != "" {
		return m
	}
	return f
}

// ruleTree builds the tree of a detection rule's condition(s).
func ruleTree(r *sigma.Rule, o Options) (node, error) {
	switch r.Kind {
	case sigma.KindCorrelation:
		return nil, unsupported("correlation rules are not converted (they need the backend's aggregation over other rules' results)")
	case sigma.KindFilter:
		return nil, unsupported("filter rules are applied to other rules, not converted on their own")
	}
	d := r.Detection
	if d == nil || len(d.Conditions) == 0 {
		return nil, unsupported("the rule has no detection condition")
	}
	var terms []node
	for _, c := range d.Conditions {
		if c.Aggregation != "" {
			return nil, unsupported("the condition %q uses an aggregation (%s), which is not converted", c.Text, c.Aggregation)
		}
		n, err := exprTree(c.Expr, d, o)
		if err != nil {
			return nil, err
		}
		terms = append(terms, n)
	}
	return or(terms), nil
}

func or(terms []node) node {
	if len(terms) == 1 {
		return terms[0]
	}
	return &orNode{terms: terms}
}

func and(terms []node) node {
	if len(terms) == 1 {
		return terms[0]
	}
	return &andNode{terms: terms}
}

func exprTree(e sigma.Expr, d *sigma.Detection, o Options) (node, error) {
	switch e := e.(type) {
	case *sigma.AndExpr, *sigma.OrExpr:
		var src []sigma.Expr
		if a, ok := e.(*sigma.AndExpr); ok {
			src = a.Terms
		} else {
			src = e.(*sigma.OrExpr).Terms
		}
		terms := make([]node, 0, len(src))
		for _, t := range src {
			n, err := exprTree(t, d, o)
			if err != nil {
				return nil, err
			}
			terms = append(terms, n)
		}
		if _, ok := e.(*sigma.AndExpr); ok {
			return and(terms), nil
		}
		return or(terms), nil
	case *sigma.NotExpr:
		x, err := exprTree(e.X, d, o)
		if err != nil {
			return nil, err
		}
		return &notNode{x: x}, nil
	case *sigma.RefExpr:
		s := d.Search(e.Name)
		if s == nil {
			return nil, fmt.Errorf("condition names %q, which the detection does not define", e.Name)
		}
		return searchTree(s, o)
	case *sigma.OfExpr:
		if len(e.Names) == 0 {
			return nil, fmt.Errorf("%q selects no search", e.String())
		}
		terms := make([]node, 0, len(e.Names))
		for _, name := range e.Names {
			s := d.Search(name)
			if s == nil {
				return nil, fmt.Errorf("%q selects %q, which the detection does not define", e.String(), name)
			}
			n, err := searchTree(s, o)
			if err != nil {
				return nil, err
			}
			terms = append(terms, n)
		}
		if e.All {
			return and(terms), nil
		}
		return or(terms), nil
	}
	return nil, fmt.Errorf("unknown condition node %T", e)
}

func searchTree(s *sigma.Search, o Options) (node, error) {
	if len(s.Groups) == 0 {
		return nil, unsupported("search %q is empty", s.Name)
	}
	groups := make([]node, 0, len(s.Groups))
	for _, g := range s.Groups {
		if len(g.Items) == 0 {
			return nil, unsupported("search %q has an empty mapping", s.Name)
		}
		items := make([]node, 0, len(g.Items))
		for _, it := range g.Items {
			n, err := itemTree(it, o)
			if err != nil {
				return nil, fmt.Errorf("search %q: %w", s.Name, err)
			}
			items = append(items, n)
		}
		groups = append(groups, and(items))
	}
	return or(groups), nil
}

// itemTree turns one item into leaves: one per value (after the value modifiers), OR-ed
// unless the item says "all".
func itemTree(it *sigma.Item, o Options) (node, error) {
	field := o.field(it.Field)
	var leaves []node
	switch {
	case it.Has(sigma.ModExists):
		if len(it.Values) != 1 || it.Values[0].Kind != sigma.BoolValue {
			return nil, fmt.Errorf("%s|exists needs one boolean value", it.Field)
		}
		return &leaf{field: field, kind: leafExists, want: it.Values[0].Bool}, nil
	case it.Has(sigma.ModRe):
		flags := ""
		for _, m := range []sigma.Modifier{sigma.ModReI, sigma.ModReM, sigma.ModReS} {
			if it.Has(m) {
				flags += string(m)
			}
		}
		for _, v := range it.Values {
			leaves = append(leaves, &leaf{field: field, kind: leafRegex, text: v.Raw, flags: flags, cased: it.Has(sigma.ModCased)})
		}
	case it.Has(sigma.ModCIDR):
		for _, v := range it.Values {
			leaves = append(leaves, &leaf{field: field, kind: leafCIDR, text: v.Raw})
		}
	case it.Has(sigma.ModGT) || it.Has(sigma.ModGTE) || it.Has(sigma.ModLT) || it.Has(sigma.ModLTE):
		op := ""
		for _, m := range []sigma.Modifier{sigma.ModGT, sigma.ModGTE, sigma.ModLT, sigma.ModLTE} {
			if it.Has(m) {
				op = string(m)
			}
		}
		for _, v := range it.Values {
			if v.Kind != sigma.NumberValue {
				return nil, fmt.Errorf("%s|%s needs a number, got %q", it.Field, op, v.Raw)
			}
			leaves = append(leaves, &leaf{field: field, kind: leafCompare, op: op, value: v})
		}
	case it.Has(sigma.ModFieldRef):
		for _, m := range it.Modifiers {
			switch m {
			case sigma.ModFieldRef, sigma.ModAll, sigma.ModCased:
			default:
				return nil, unsupported("fieldref combined with %s is not converted", m)
			}
		}
		for _, v := range it.Values {
			leaves = append(leaves, &leaf{field: field, kind: leafFieldRef, text: o.field(v.Raw), cased: it.Has(sigma.ModCased)})
		}
	default:
		vals, err := it.MatchValues(o.Placeholders)
		if err != nil {
			if pe, ok := err.(*sigma.PlaceholderError); ok {
				return nil, unsupported("%s", pe.Error())
			}
			return nil, err
		}
		for _, v := range vals {
			switch {
			case v.Kind == sigma.NullValue:
				if it.Keyword() {
					return nil, unsupported("a keyword search for null is not converted")
				}
				leaves = append(leaves, &leaf{field: field, kind: leafNull})
			case it.Keyword():
				leaves = append(leaves, &leaf{kind: leafKeyword, value: v, cased: it.Has(sigma.ModCased)})
			default:
				if v.Kind == sigma.StringValue && strings.ContainsRune(v.Text(), 0) {
					return nil, unsupported("%s: the value holds NUL bytes (utf16/wide without base64), which a query string cannot carry", it.Field)
				}
				leaves = append(leaves, &leaf{field: field, kind: leafMatch, value: v, cased: it.Has(sigma.ModCased)})
			}
		}
	}
	if len(leaves) == 0 {
		return nil, unsupported("%s has no value", it.Field)
	}
	if it.Has(sigma.ModAll) {
		return and(leaves), nil
	}
	return or(leaves), nil
}
