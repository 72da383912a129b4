package sigma

import (
	"fmt"
	"path"
	"strings"
)

// parseCondition parses a condition against the searches of d. Precedence is the
// specification's: "not" binds tighter than "and", which binds tighter than "or";
// parentheses group. Every search name must exist, and a "1 of"/"all of" pattern must
// select at least one search.
func parseCondition(text string, d *Detection) (*Condition, error) {
	c := &Condition{Text: text}
	expr := text
	if i := strings.IndexByte(text, '|'); i >= 0 {
		expr, c.Aggregation = text[:i], strings.TrimSpace(text[i+1:])
		if c.Aggregation == "" {
			return nil, fmt.Errorf("nothing after \"|\"")
		}
	}
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty condition")
	}
	p := &condParser{toks: toks, d: d}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q at column %d", p.toks[p.i].text, p.toks[p.i].pos+1)
	}
	c.Expr = e
	return c, nil
}

type tokKind int

const (
	tIdent tokKind = iota
	tAnd
	tOr
	tNot
	tLParen
	tRParen
	tOne // "1" in "1 of"
	tAll // "all" in "all of"
	tOf
	tThem
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c == '*' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			out = append(out, token{tLParen, "(", i})
			i++
		case c == ')':
			out = append(out, token{tRParen, ")", i})
			i++
		case isIdentByte(c):
			j := i
			for j < len(s) && isIdentByte(s[j]) {
				j++
			}
			w := s[i:j]
			k := tIdent
			switch strings.ToLower(w) {
			case "and":
				k = tAnd
			case "or":
				k = tOr
			case "not":
				k = tNot
			case "1":
				k = tOne
			case "all":
				k = tAll
			case "of":
				k = tOf
			case "them":
				k = tThem
			}
			out = append(out, token{k, w, i})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q at column %d", c, i+1)
		}
	}
	return out, nil
}

type condParser struct {
	toks []token
	i    int
	d    *Detection
}

func (p *condParser) peek() *token {
	if p.i < len(p.toks) {
		return &p.toks[p.i]
	}
	return nil
}

func (p *condParser) or() (Expr, error) {
	first, err := p.and()
	if err != nil {
		return nil, err
	}
	terms := []Expr{first}
	for t := p.peek(); t != nil && t.kind == tOr; t = p.peek() {
		p.i++
		e, err := p.and()
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
	}
	if len(terms) == 1 {
		return first, nil
	}
	return &OrExpr{Terms: terms}, nil
}

func (p *condParser) and() (Expr, error) {
	first, err := p.unary()
	if err != nil {
		return nil, err
	}
	terms := []Expr{first}
	for t := p.peek(); t != nil && t.kind == tAnd; t = p.peek() {
		p.i++
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
	}
	if len(terms) == 1 {
		return first, nil
	}
	return &AndExpr{Terms: terms}, nil
}

func (p *condParser) unary() (Expr, error) {
	t := p.peek()
	if t != nil && t.kind == tNot {
		p.i++
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &NotExpr{X: x}, nil
	}
	return p.primary()
}

func (p *condParser) primary() (Expr, error) {
	t := p.peek()
	if t == nil {
		return nil, fmt.Errorf("condition ends where a search name, \"not\", \"1 of\", \"all of\" or \"(\" was expected")
	}
	p.i++
	switch t.kind {
	case tLParen:
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if r := p.peek(); r == nil || r.kind != tRParen {
			return nil, fmt.Errorf("\"(\" at column %d is not closed", t.pos+1)
		}
		p.i++
		return e, nil
	case tOne, tAll:
		of := p.peek()
		if of == nil || of.kind != tOf {
			return nil, fmt.Errorf("%q at column %d must be followed by \"of\"", t.text, t.pos+1)
		}
		p.i++
		target := p.peek()
		if target == nil || (target.kind != tIdent && target.kind != tThem) {
			return nil, fmt.Errorf("\"%s of\" at column %d needs \"them\" or a search name pattern", t.text, t.pos+1)
		}
		p.i++
		e := &OfExpr{All: t.kind == tAll}
		if target.kind == tThem {
			e.Pattern = "them"
			for _, s := range p.d.Searches {
				if !strings.HasPrefix(s.Name, "_") {
					e.Names = append(e.Names, s.Name)
				}
			}
		} else {
			e.Pattern = target.text
			for _, s := range p.d.Searches {
				if ok, _ := path.Match(target.text, s.Name); ok {
					e.Names = append(e.Names, s.Name)
				}
			}
		}
		if len(e.Names) == 0 {
			return nil, fmt.Errorf("%q selects no search", e.String())
		}
		return e, nil
	case tIdent:
		if strings.Contains(t.text, "*") {
			return nil, fmt.Errorf("%q at column %d: a pattern needs \"1 of\" or \"all of\"", t.text, t.pos+1)
		}
		if p.d.Search(t.text) == nil {
			return nil, fmt.Errorf("%q at column %d names no search of the detection", t.text, t.pos+1)
		}
		return &RefExpr{Name: t.text}, nil
	case tThem:
		return nil, fmt.Errorf("\"them\" at column %d needs \"1 of\" or \"all of\"", t.pos+1)
	}
	return nil, fmt.Errorf("unexpected %q at column %d", t.text, t.pos+1)
}
