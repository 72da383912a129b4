package sigmaquery

import (
	"net/netip"
	"regexp"
	"strings"

	"github.com/aegis-sec/aegis/sigma"
)

// Lucene prints Elasticsearch query strings the way pySigma's Lucene backend does:
// "field:value" with query-string special characters escaped instead of quoting,
// AND/OR/NOT with every nested group parenthesised, lists as field:(a OR b), regular
// expressions as /re/, null as NOT _exists_:field.
//
// Query strings have no field-to-field comparison, no case-sensitive switch and no
// regular expression flags for case or multi-line: such rules are unsupported.
var Lucene = &Backend{Name: "lucene", d: luceneDialect()}

// luceneSpecial are the query string's reserved characters, escaped in values.
const luceneSpecial = `+-=&|!(){}[]<>^"~*?:\/ `

var luceneFieldEscape = regexp.MustCompile(`[\s*]`)

func luceneField(f string) string {
	return luceneFieldEscape.ReplaceAllStringFunc(f, func(s string) string { return `\` + s })
}

func luceneValue(v sigma.Value) string {
	if v.Kind != sigma.StringValue {
		return v.Raw
	}
	var b strings.Builder
	for _, p := range v.Parts {
		switch p.Kind {
		case sigma.AnyString:
			b.WriteByte('*')
		case sigma.AnyChar:
			b.WriteByte('?')
		case sigma.Literal:
			for _, r := range p.Text {
				if strings.ContainsRune(luceneSpecial, r) {
					b.WriteByte('\\')
				}
				b.WriteRune(r)
			}
		}
	}
	if b.Len() == 0 {
		return `""`
	}
	return b.String()
}

func luceneDialect() *dialect {
	d := &dialect{name: "Lucene", and: " AND ", or: " OR ", parenthesize: true,
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
		f := luceneField(l.field)
		if l.cased {
			return "", "", unsupported("Lucene: query strings cannot force a case-sensitive match (cased on %s)", l.field)
		}
		switch l.kind {
		case leafMatch:
			if l.value.Kind == sigma.BoolValue {
				return neg(f + ":" + strings.ToLower(l.value.Raw)), "", nil
			}
			return neg(f + ":" + luceneValue(l.value)), "", nil
		case leafKeyword:
			if l.value.Kind != sigma.StringValue {
				return neg(l.value.Raw), "", nil
			}
			return neg("*" + luceneValue(l.value) + "*"), "", nil
		case leafNull:
			if negate {
				return "_exists_:" + f, "", nil
			}
			return "NOT _exists_:" + f, "", nil
		case leafExists:
			if l.want != negate {
				return "_exists_:" + f, "", nil
			}
			return "NOT _exists_:" + f, "", nil
		case leafRegex:
			if strings.ContainsAny(l.flags, "im") {
				return "", "", unsupported("Lucene: regular expressions have no case-insensitive or multi-line flag (re|%s on %s)", l.flags, l.field)
			}
			return neg(f + ":/" + escapeSlashes(l.text) + "/"), "", nil
		case leafCIDR:
			p, err := netip.ParsePrefix(l.text)
			if err != nil {
				return "", "", unsupported("Lucene: %q is not a CIDR network", l.text)
			}
			net, bits, _ := strings.Cut(l.text, "/")
			if p.Addr().Is6() {
				net = strings.ReplaceAll(net, ":", `\:`)
			}
			return neg(f + ":" + net + `\/` + bits), "", nil
		case leafCompare:
			return neg(f + ":" + map[string]string{"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[l.op] + numberText(l.value)), "", nil
		case leafFieldRef:
			return "", "", unsupported("Lucene: query strings cannot compare two fields (fieldref %s = %s)", l.field, l.text)
		}
		return "", "", unsupported("Lucene: unknown condition")
	}
	d.in = func(field string, vals []*leaf) (string, bool, error) {
		items := make([]string, len(vals))
		for i, l := range vals {
			items[i] = luceneValue(l.value)
		}
		return luceneField(field) + ":(" + strings.Join(items, " OR ") + ")", true, nil
	}
	d.finish = func(main string, deferred []string, _ *sigma.Rule) string { return main }
	return d
}

// escapeSlashes escapes the '/' that would end a /regex/, leaving those the rule
// already escaped as they are.
func escapeSlashes(re string) string {
	var b strings.Builder
	for i := 0; i < len(re); i++ {
		switch re[i] {
		case '\\':
			b.WriteByte('\\')
			if i+1 < len(re) {
				i++
				b.WriteByte(re[i])
			}
		case '/':
			b.WriteString(`\/`)
		default:
			b.WriteByte(re[i])
		}
	}
	return b.String()
}
