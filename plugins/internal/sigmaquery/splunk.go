package sigmaquery

import (
	"regexp"
	"strings"

	"github.com/aegis-sec/aegis/sigma"
)

// Splunk prints SPL search expressions the way pySigma's Splunk backend does: AND is a
// space, OR binds tighter than AND (as in SPL), values in double quotes, lists as IN,
// regular expressions, field references and case-sensitive matches as pipeline parts
// ("| regex", "| where") after the search, the rule's fields as "| table".
//
// Where pySigma would approximate, this one reports the rule unsupported: SPL search
// has no single-character wildcard, so "?" becomes a "| regex" part, and such parts
// cannot be OR-ed or negated inside a group.
var Splunk = &Backend{Name: "splunk", d: splunkDialect()}

var splunkPlainField = regexp.MustCompile(`^[\w.]+$`)

func splunkField(f string) string {
	if splunkPlainField.MatchString(f) {
		return f
	}
	return `"` + strings.ReplaceAll(f, `"`, `\"`) + `"`
}

// splunkValue quotes a pattern: "*" stays a wildcard, a literal '*', '"' or '\' is
// escaped with a backslash.
func splunkValue(v sigma.Value) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, p := range v.Parts {
		switch p.Kind {
		case sigma.AnyString:
			b.WriteByte('*')
		case sigma.Literal:
			for _, r := range p.Text {
				if r == '*' || r == '"' || r == '\\' {
					b.WriteByte('\\')
				}
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// splunkRegexQuote escapes a regular expression for a double-quoted SPL string.
func splunkRegexQuote(re string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(re) + `"`
}

func splunkDialect() *dialect {
	d := &dialect{name: "Splunk", and: " ", or: " OR ", orBindsTighter: true,
		group: func(s string) string { return "(" + s + ")" },
		not:   func(s string, _ bool) string { return "NOT " + s },
	}
	d.leaf = func(l *leaf, negate bool) (string, string, error) {
		neg := func(s string) string {
			if negate {
				return "NOT " + s
			}
			return s
		}
		regexOp := "="
		if negate {
			regexOp = "!="
		}
		f := splunkField(l.field)
		switch l.kind {
		case leafMatch, leafKeyword:
			v := l.value
			switch v.Kind {
			case sigma.NumberValue:
				if l.kind == leafKeyword {
					return neg(numberText(v)), "", nil
				}
				return neg(f + "=" + numberText(v)), "", nil
			case sigma.BoolValue:
				return neg(f + `="` + v.Raw + `"`), "", nil
			}
			if l.cased || hasPart(v, sigma.AnyChar) {
				if l.kind == leafKeyword {
					return "", "", unsupported("Splunk: a keyword with a single-character wildcard or cased cannot be expressed")
				}
				re := wildcardRegex(v)
				return "", "regex " + f + regexOp + splunkRegexQuote(re), nil
			}
			if l.kind == leafKeyword {
				return neg(splunkValue(v)), "", nil
			}
			return neg(f + "=" + splunkValue(v)), "", nil
		case leafNull:
			if negate {
				return f + "=*", "", nil
			}
			return "NOT " + f + "=*", "", nil
		case leafExists:
			if l.want != negate {
				return f + "=*", "", nil
			}
			return "NOT " + f + "=*", "", nil
		case leafRegex:
			re := l.text
			if l.flags != "" {
				re = "(?" + l.flags + ")" + re
			}
			return "", "regex " + f + regexOp + splunkRegexQuote(re), nil
		case leafCIDR:
			return neg(f + `="` + l.text + `"`), "", nil
		case leafCompare:
			return neg(f + map[string]string{"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[l.op] + numberText(l.value)), "", nil
		case leafFieldRef:
			op := "="
			if negate {
				op = "!="
			}
			if !l.cased {
				return "", "where lower('" + l.field + "')" + op + "lower('" + l.text + "')", nil
			}
			return "", "where '" + l.field + "'" + op + "'" + l.text + "'", nil
		}
		return "", "", unsupported("Splunk: unknown condition")
	}
	d.in = func(field string, vals []*leaf) (string, bool, error) {
		var items []string
		for _, l := range vals {
			switch {
			case l.value.Kind == sigma.NumberValue:
				items = append(items, numberText(l.value))
			case hasPart(l.value, sigma.AnyChar):
				return "", false, nil
			default:
				items = append(items, splunkValue(l.value))
			}
		}
		return splunkField(field) + " IN (" + strings.Join(items, ", ") + ")", true, nil
	}
	d.finish = func(main string, deferred []string, r *sigma.Rule) string {
		q := main
		if len(deferred) > 0 {
			if q == "" {
				q = "*"
			}
			q += "\n| " + strings.Join(deferred, "\n| ")
		}
		if len(r.Fields) > 0 {
			q += " | table " + strings.Join(r.Fields, ",")
		}
		return q
	}
	return d
}
