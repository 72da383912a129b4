package sigmaquery

import (
	"fmt"
	"strings"
)

// CheckSyntax checks that a query a backend printed is well formed in its language:
// strings and regular expressions closed, parentheses balanced, no boolean operator
// without operands, pipeline parts that are commands the backend uses, and (Lucene) no
// reserved character left unescaped. It guards the converters against printing
// something the target would reject.
func (b *Backend) CheckSyntax(q string) error {
	switch b.Name {
	case "splunk":
		parts := strings.Split(q, "\n| ")
		for _, p := range parts[1:] {
			if !strings.HasPrefix(p, "regex ") && !strings.HasPrefix(p, "where ") {
				return fmt.Errorf("pipeline part %q is not a regex or where command", p)
			}
		}
		main, _, _ := strings.Cut(parts[0], " | table ")
		return checkBoolean(main, []string{"OR", "NOT"}, false)
	case "lucene":
		return checkBoolean(q, []string{"AND", "OR", "NOT"}, true)
	case "kql":
		return checkBoolean(q, []string{"and", "or"}, false)
	}
	return fmt.Errorf("no syntax check for %s", b.Name)
}

// checkBoolean scans q: strings in double quotes (backslash escapes), /regex/ for
// Lucene, parentheses, and the operator words, which must stand between operands.
func checkBoolean(q string, ops []string, lucene bool) error {
	if strings.TrimSpace(q) == "" {
		return fmt.Errorf("empty query")
	}
	depth := 0
	var words []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			words = append(words, cur.String())
			cur.Reset()
		}
	}
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\\':
			if i+1 >= len(q) {
				return fmt.Errorf("dangling backslash at the end")
			}
			cur.WriteByte(c)
			cur.WriteByte(q[i+1])
			i++
		case c == '"':
			j := i + 1
			for ; j < len(q) && q[j] != '"'; j++ {
				if q[j] == '\\' {
					j++
				}
			}
			if j >= len(q) {
				return fmt.Errorf("unterminated string starting at %d", i)
			}
			cur.WriteString(q[i : j+1])
			i = j
		case lucene && c == '/' && (i > 0 && q[i-1] == ':'):
			j := i + 1
			for ; j < len(q) && q[j] != '/'; j++ {
				if q[j] == '\\' {
					j++
				}
			}
			if j >= len(q) {
				return fmt.Errorf("unterminated regular expression starting at %d", i)
			}
			cur.WriteString(q[i : j+1])
			i = j
		case c == '(':
			flush()
			words = append(words, "(")
			depth++
		case c == ')':
			flush()
			words = append(words, ")")
			depth--
			if depth < 0 {
				return fmt.Errorf("unbalanced ')' at %d", i)
			}
		case c == ' ' || c == '\n' || c == '\t':
			flush()
		default:
			// '+' and '-' are operators only where a term starts (field names such as
			// c-uri hold them).
			if lucene && strings.IndexByte(`+-=&|!{}[]^"~/`, c) >= 0 && !((c == '-' || c == '+') && cur.Len() > 0) {
				if !(c == '=' && i > 0 && (q[i-1] == '>' || q[i-1] == '<')) {
					return fmt.Errorf("unescaped %q at %d", c, i)
				}
			}
			cur.WriteByte(c)
		}
	}
	flush()
	if depth != 0 {
		return fmt.Errorf("%d unclosed '('", depth)
	}
	isOp := func(w string) bool {
		for _, o := range ops {
			if w == o {
				return true
			}
		}
		return false
	}
	for i, w := range words {
		if !isOp(w) || w == "NOT" {
			if w == "NOT" && (i == len(words)-1 || isOp(words[i+1]) && words[i+1] != "NOT" || words[i+1] == ")") {
				return fmt.Errorf("NOT without an operand")
			}
			continue
		}
		if i == 0 || i == len(words)-1 || words[i-1] == "(" || words[i+1] == ")" || (isOp(words[i-1]) && words[i-1] != "NOT") || (isOp(words[i+1]) && words[i+1] != "NOT") {
			return fmt.Errorf("operator %s without operands (word %d)", w, i)
		}
	}
	return nil
}
