package sigmaquery

import (
	"net/netip"
	"regexp"
	"strings"

	"github.com/aegis-sec/aegis/sigma"
)

// KQL prints Kusto where-clause expressions (Microsoft Sentinel, Defender XDR) the way
// pySigma's Kusto backend does: =~ for strings, == for numbers, contains / startswith /
// endswith for wildcards at the ends, in~ lists, "matches regex", not(...) and every
// nested group parenthesised.
//
// Where pySigma approximates, this one does not: a wildcard inside a value (or "?")
// becomes an anchored "matches regex", cased uses the _cs operators, and keywords are
// searched with "* contains".
var KQL = &Backend{Name: "kql", d: kqlDialect()}

var kqlPlainField = regexp.MustCompile(`^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$`)

func kqlField(f string) string {
	if kqlPlainField.MatchString(f) {
		return f
	}
	return "['" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(f) + "']"
}

func kqlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// literalText joins the literal parts of v (the caller checked there is no wildcard
// between them).
func literalText(parts []sigma.Part) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

// kqlMatch renders field against a pattern: the operator says where the wildcards are.
func kqlMatch(f string, v sigma.Value, cased bool) string {
	cs := ""
	eq := " =~ "
	if cased {
		cs, eq = "_cs", " == "
	}
	parts := v.Parts
	n := len(parts)
	inner := func(from, to int) bool {
		for _, p := range parts[from:to] {
			if p.Kind != sigma.Literal {
				return false
			}
		}
		return true
	}
	switch {
	case n == 0 || inner(0, n):
		return f + eq + kqlString(literalText(parts))
	case parts[n-1].Kind == sigma.AnyString && inner(0, n-1):
		return f + " startswith" + cs + " " + kqlString(literalText(parts[:n-1]))
	case parts[0].Kind == sigma.AnyString && inner(1, n):
		return f + " endswith" + cs + " " + kqlString(literalText(parts[1:]))
	case n >= 2 && parts[0].Kind == sigma.AnyString && parts[n-1].Kind == sigma.AnyString && inner(1, n-1):
		return f + " contains" + cs + " " + kqlString(literalText(parts[1:n-1]))
	}
	re := wildcardRegex(v)
	if !cased {
		re = "(?i)" + re
	}
	return f + " matches regex " + kqlString(re)
}

func kqlDialect() *dialect {
	d := &dialect{name: "KQL", and: " and ", or: " or ", parenthesize: true,
		group: func(s string) string { return "(" + s + ")" },
		not:   func(s string, _ bool) string { return "not(" + s + ")" },
	}
	d.leaf = func(l *leaf, negate bool) (string, string, error) {
		neg := func(s string) string {
			if negate {
				return "not(" + s + ")"
			}
			return s
		}
		f := kqlField(l.field)
		switch l.kind {
		case leafMatch:
			switch l.value.Kind {
			case sigma.NumberValue:
				return neg(f + " == " + numberText(l.value)), "", nil
			case sigma.BoolValue:
				return neg(f + " == " + strings.ToLower(l.value.Raw)), "", nil
			}
			return neg(kqlMatch(f, l.value, l.cased)), "", nil
		case leafKeyword:
			v := l.value
			if v.Kind != sigma.StringValue {
				return neg("* contains " + kqlString(v.Raw)), "", nil
			}
			parts := v.Parts
			for len(parts) > 0 && parts[0].Kind == sigma.AnyString {
				parts = parts[1:]
			}
			for len(parts) > 0 && parts[len(parts)-1].Kind == sigma.AnyString {
				parts = parts[:len(parts)-1]
			}
			for _, p := range parts {
				if p.Kind != sigma.Literal {
					return "", "", unsupported("KQL: a keyword with a wildcard inside (%s) cannot be searched across all columns", v.Raw)
				}
			}
			op := " contains "
			if l.cased {
				op = " contains_cs "
			}
			return neg("*" + op + kqlString(literalText(parts))), "", nil
		case leafNull:
			if negate {
				return "isnotnull(" + f + ")", "", nil
			}
			return "isnull(" + f + ")", "", nil
		case leafExists:
			if l.want != negate {
				return "isnotempty(" + f + ")", "", nil
			}
			return "isempty(" + f + ")", "", nil
		case leafRegex:
			re := l.text
			if l.flags != "" {
				re = "(?" + l.flags + ")" + re
			}
			return neg(f + " matches regex " + kqlString(re)), "", nil
		case leafCIDR:
			p, err := netip.ParsePrefix(l.text)
			if err != nil {
				return "", "", unsupported("KQL: %q is not a CIDR network", l.text)
			}
			fn := "ipv4_is_in_range"
			if p.Addr().Is6() {
				fn = "ipv6_is_in_range"
			}
			return neg(fn + "(" + f + ", " + kqlString(l.text) + ")"), "", nil
		case leafCompare:
			return neg(f + " " + map[string]string{"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[l.op] + " " + numberText(l.value)), "", nil
		case leafFieldRef:
			op := " =~ "
			if l.cased {
				op = " == "
			}
			return neg(f + op + kqlField(l.text)), "", nil
		}
		return "", "", unsupported("KQL: unknown condition")
	}
	// in prints plain values as an in~ list and the values with wildcards as their own
	// conditions OR-ed after it, as pySigma does.
	d.in = func(field string, vals []*leaf) (string, bool, error) {
		f := kqlField(field)
		var plain, rest []string
		for _, l := range vals {
			switch {
			case l.value.Kind == sigma.NumberValue:
				plain = append(plain, kqlString(numberText(l.value)))
			case l.value.HasWildcards():
				rest = append(rest, kqlMatch(f, l.value, false))
			default:
				plain = append(plain, kqlString(l.value.Text()))
			}
		}
		var out []string
		if nums := numbersOnly(vals); nums != nil {
			// in~ compares strings; a list of numbers is an in on a numeric column.
			out = append(out, f+" in ("+strings.Join(nums, ", ")+")")
			plain = nil
		}
		if len(plain) == 1 {
			out = append(out, f+" =~ "+plain[0])
		} else if len(plain) > 1 {
			out = append(out, f+" in~ ("+strings.Join(plain, ", ")+")")
		}
		out = append(out, rest...)
		return strings.Join(out, " or "), true, nil
	}
	d.finish = func(main string, deferred []string, _ *sigma.Rule) string { return main }
	return d
}

// numbersOnly returns the numbers of vals when every value is a number.
func numbersOnly(vals []*leaf) []string {
	var out []string
	for _, l := range vals {
		if l.value.Kind != sigma.NumberValue {
			return nil
		}
		out = append(out, numberText(l.value))
	}
	return out
}
