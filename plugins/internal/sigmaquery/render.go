package sigmaquery

import (
	"fmt"
	"strings"

	"github.com/aegis-sec/aegis/sigma"
)

// dialect is what differs between query languages. The tree walk (grouping, IN lists,
// deferred pipeline parts) is shared.
type dialect struct {
	name  string
	and   string // joins AND terms, with its spaces
	or    string // joins OR terms
	group func(s string) string
	// not negates an already rendered expression; grouped says it is an and/or.
	not func(s string, grouped bool) string
	// parenthesize groups every and/or/not below an and/or (pySigma's parenthesize);
	// otherwise grouping follows precedence, with orBindsTighter for SPL.
	parenthesize   bool
	orBindsTighter bool
	// leaf renders one condition. A non-empty deferred part goes after the query as a
	// pipeline command (SPL's "| regex"), negated when negate is set.
	leaf func(l *leaf, negate bool) (expr string, deferred string, err error)
	// in renders an OR of plain matches on one field as a list, when the language has
	// one; ok false falls back to OR.
	in func(field string, vals []*leaf) (expr string, ok bool, err error)
	// finish assembles the query from the main expression and deferred parts.
	finish func(main string, deferred []string, r *sigma.Rule) string
}

// walk state: whether an OR or a negated group lies above the current node, which
// decides whether a deferred part may be used.
type walkCtx struct {
	underOr      bool
	underNotTree bool
}

type rendered struct {
	expr     string // "" when the node became deferred parts only
	deferred []string
	isGroup  bool // and/or rendered (for negation and grouping)
	kind     int  // 0 leaf, 1 and, 2 or, 3 not
}

const (
	kLeaf = iota
	kAnd
	kOr
	kNot
)

func (d *dialect) convert(r *sigma.Rule, o Options) (string, error) {
	n, err := ruleTree(r, o)
	if err != nil {
		return "", err
	}
	out, err := d.render(n, walkCtx{}, false)
	if err != nil {
		return "", err
	}
	return d.finish(out.expr, out.deferred, r), nil
}

func (d *dialect) render(n node, c walkCtx, negate bool) (rendered, error) {
	switch n := n.(type) {
	case *leaf:
		expr, def, err := d.leaf(n, negate)
		if err != nil {
			return rendered{}, err
		}
		if def != "" {
			if c.underOr {
				return rendered{}, unsupported("%s: %s cannot be OR-ed with other conditions in %s", d.name, describe(n), d.name)
			}
			if c.underNotTree {
				return rendered{}, unsupported("%s: %s cannot stand inside a negated group in %s", d.name, describe(n), d.name)
			}
			return rendered{deferred: []string{def}, kind: kLeaf}, nil
		}
		kind := kLeaf
		if strings.HasPrefix(expr, "NOT ") || strings.HasPrefix(expr, "not(") {
			kind = kNot
		}
		return rendered{expr: expr, kind: kind}, nil
	case *notNode:
		if l, ok := n.x.(*leaf); ok {
			// A leaf negates itself, so deferred parts and special forms (Lucene's
			// _exists_) can negate properly.
			out, err := d.render(l, c, !negate)
			if err != nil {
				return rendered{}, err
			}
			return out, nil
		}
		inner := c
		inner.underNotTree = true
		x, err := d.render(n.x, inner, false)
		if err != nil {
			return rendered{}, err
		}
		return rendered{expr: d.not(d.group(x.expr), true), kind: kNot}, nil
	case *orNode:
		if ex, ok, err := d.tryIn(n); err != nil {
			return rendered{}, err
		} else if ok {
			return rendered{expr: ex, kind: kOr, isGroup: true}, nil
		}
		inner := c
		inner.underOr = true
		return d.join(n.terms, inner, d.or, kOr)
	case *andNode:
		return d.join(n.terms, c, d.and, kAnd)
	}
	return rendered{}, fmt.Errorf("unknown node %T", n)
}

func (d *dialect) join(terms []node, c walkCtx, sep string, kind int) (rendered, error) {
	var deferred []string
	var kids []rendered
	for _, t := range terms {
		r, err := d.render(t, c, false)
		if err != nil {
			return rendered{}, err
		}
		deferred = append(deferred, r.deferred...)
		if r.expr != "" {
			kids = append(kids, r)
		}
	}
	if len(kids) == 1 {
		// The other terms became pipeline parts: the one left stands alone.
		kids[0].deferred = deferred
		return kids[0], nil
	}
	parts := make([]string, len(kids))
	for i, k := range kids {
		parts[i] = k.expr
		if d.needsGroup(kind, k.kind) {
			parts[i] = d.group(k.expr)
		}
	}
	return rendered{expr: strings.Join(parts, sep), deferred: deferred, kind: kind, isGroup: true}, nil
}

// needsGroup says whether a child of kind child printed inside parent needs parentheses.
func (d *dialect) needsGroup(parent, child int) bool {
	if child == kLeaf {
		return false
	}
	if d.parenthesize {
		return true
	}
	if child == kNot || child == parent {
		return false
	}
	if d.orBindsTighter {
		return child == kAnd // AND inside OR
	}
	return child == kOr // OR inside AND
}

// tryIn renders an OR of plain matches on one field as the language's list form.
func (d *dialect) tryIn(n *orNode) (string, bool, error) {
	if d.in == nil || len(n.terms) < 2 {
		return "", false, nil
	}
	var vals []*leaf
	field := ""
	for i, t := range n.terms {
		l, ok := t.(*leaf)
		if !ok || l.kind != leafMatch || l.cased || (l.value.Kind != sigma.StringValue && l.value.Kind != sigma.NumberValue) {
			return "", false, nil
		}
		if i == 0 {
			field = l.field
		} else if l.field != field {
			return "", false, nil
		}
		vals = append(vals, l)
	}
	return d.in(field, vals)
}

func describe(l *leaf) string {
	switch l.kind {
	case leafRegex:
		return "a regular expression on " + l.field
	case leafFieldRef:
		return "a field reference " + l.field + " = " + l.text
	case leafMatch:
		if l.cased {
			return "a case-sensitive match on " + l.field
		}
		return "a single-character wildcard on " + l.field
	case leafCIDR:
		return "a CIDR match on " + l.field
	}
	return "a condition on " + l.field
}

// wildcardRegex turns a Sigma pattern into an anchored regular expression.
func wildcardRegex(v sigma.Value) string {
	var b strings.Builder
	b.WriteString("^")
	for _, p := range v.Parts {
		switch p.Kind {
		case sigma.Literal:
			b.WriteString(quoteMeta(p.Text))
		case sigma.AnyString:
			b.WriteString(".*")
		case sigma.AnyChar:
			b.WriteString(".")
		}
	}
	b.WriteString("$")
	return b.String()
}

// quoteMeta escapes regular expression metacharacters (PCRE and RE2 agree on these).
func quoteMeta(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$/`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// hasPart reports whether v holds a part of kind k.
func hasPart(v sigma.Value, k sigma.PartKind) bool {
	for _, p := range v.Parts {
		if p.Kind == k {
			return true
		}
	}
	return false
}

func numberText(v sigma.Value) string {
	if v.Raw != "" {
		return v.Raw
	}
	return fmt.Sprint(v.Number)
}
