// Package detection evaluates Sigma rules over events. Rules are compiled once into
// matchers (lower-cased literals, prefix/suffix/contains tests, compiled regular
// expressions, parsed networks), shared between rules that test the same thing, and
// indexed by log source, so an event is tested only against the rules that can apply
// to it and each distinct test runs at most once per event.
package detection

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/aegis-sec/aegis/core/events"
	"github.com/aegis-sec/aegis/sigma"
)

// Rule is one compiled rule.
type Rule struct {
	// Key is what the caller named the rule by (a detection rule's id in the store, a
	// file path on the command line).
	Key       string
	ID        string
	Title     string
	Level     string
	LogSource sigma.LogSource
	Sigma     *sigma.Rule

	cond     node
	searches []*search
	// needs: sets of atoms, each of which has one atom every match holds (literals
	// by their last maxLit bytes); always: no need could be proved, the rule is
	// evaluated for every event of its log source.
	needs  []need
	always bool
	idx    int
}

// Unsupported is a rule the engine cannot evaluate, and why. Such rules are reported,
// never counted as "did not match".
type Unsupported struct {
	Key    string `json:"key"`
	ID     string `json:"id,omitempty"`
	Title  string `json:"title,omitempty"`
	Reason string `json:"reason"`
}

// Options tune compilation.
type Options struct {
	// Placeholders give the values of %name% placeholders for the expand modifier.
	Placeholders map[string][]string
	// noPrefilter evaluates every rule of an event's log source (tests compare).
	noPrefilter bool
}

type search struct {
	name   string
	groups [][]*matcher // OR of ANDs
}

// node is a compiled condition.
type node interface {
	eval(c *evalCtx) bool
}

type andNode []node
type orNode []node
type notNode struct{ x node }
type refNode struct{ s int } // index into the rule's searches
type ofNode struct {
	all bool
	s   []int
}

func (n andNode) eval(c *evalCtx) bool {
	for _, t := range n {
		if !t.eval(c) {
			return false
		}
	}
	return true
}

func (n orNode) eval(c *evalCtx) bool {
	for _, t := range n {
		if t.eval(c) {
			return true
		}
	}
	return false
}

func (n notNode) eval(c *evalCtx) bool { return !n.x.eval(c) }
func (n refNode) eval(c *evalCtx) bool { return c.search(n.s) }
func (n ofNode) eval(c *evalCtx) bool {
	for _, s := range n.s {
		if c.search(s) != n.all {
			return !n.all
		}
	}
	return n.all
}

// compiler builds rules and shares matchers between them.
type compiler struct {
	opts     Options
	matchers map[string]*matcher
	list     []*matcher
}

func newCompiler(opts Options) *compiler {
	return &compiler{opts: opts, matchers: map[string]*matcher{}}
}

// errUnsupported wraps the reasons a valid rule cannot be evaluated.
var errUnsupported = errors.New("unsupported")

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUnsupported, fmt.Sprintf(format, args...))
}

func (cp *compiler) rule(key string, r *sigma.Rule) (*Rule, error) {
	out := &Rule{Key: key, ID: r.ID, Title: r.Title, Level: r.Level, LogSource: r.LogSource, Sigma: r}
	switch r.Kind {
	case sigma.KindCorrelation:
		return nil, unsupported("correlation rules (type %s over %s) are evaluated over time windows of other rules' matches, which single-event evaluation does not do yet", r.Correlation.Type, strings.Join(r.Correlation.Rules, ", "))
	case sigma.KindFilter:
		return nil, unsupported("meta filter rules change other rules; they are not detections themselves")
	}
	d := r.Detection
	index := map[string]int{}
	for _, s := range d.Searches {
		cs := &search{name: s.Name}
		for gi, g := range s.Groups {
			var group []*matcher
			for _, it := range g.Items {
				m, err := cp.item(it)
				if err != nil {
					return nil, fmt.Errorf("search %s (line %d), group %d: %w", s.Name, it.Line, gi+1, err)
				}
				group = append(group, m)
			}
			cs.groups = append(cs.groups, group)
		}
		index[s.Name] = len(out.searches)
		out.searches = append(out.searches, cs)
	}
	var conds []node
	for _, c := range d.Conditions {
		if c.Aggregation != "" {
			return nil, unsupported("aggregation %q in condition (line %d) counts events over time", c.Aggregation, c.Line)
		}
		conds = append(conds, compileExpr(c.Expr, index))
	}
	if len(conds) == 1 {
		out.cond = conds[0]
	} else {
		out.cond = orNode(conds)
	}
	return out, nil
}

func compileExpr(e sigma.Expr, index map[string]int) node {
	switch e := e.(type) {
	case *sigma.AndExpr:
		n := make(andNode, len(e.Terms))
		for i, t := range e.Terms {
			n[i] = compileExpr(t, index)
		}
		return n
	case *sigma.OrExpr:
		n := make(orNode, len(e.Terms))
		for i, t := range e.Terms {
			n[i] = compileExpr(t, index)
		}
		return n
	case *sigma.NotExpr:
		return notNode{compileExpr(e.X, index)}
	case *sigma.RefExpr:
		return refNode{index[e.Name]}
	case *sigma.OfExpr:
		n := ofNode{all: e.All}
		for _, name := range e.Names {
			n.s = append(n.s, index[name])
		}
		return n
	}
	panic(fmt.Sprintf("detection: unknown expression %T", e))
}

// matcher is one item, compiled: a test of one field (or of every field, for keywords).
type matcher struct {
	id        int
	field     string // lower-cased; "" for keywords
	keyword   bool
	all       bool // every value must match (the "all" modifier)
	cased     bool
	kind      matchKind
	patterns  []pattern
	res       []*regexp.Regexp
	nets      []netip.Prefix
	exists    bool
	cmpOp     sigma.Modifier
	numbers   []float64
	nullMatch bool // a null among the values: the field is absent or empty
	refs      []string
	refPos    sigma.Modifier // fieldref with contains/startswith/endswith
}

type matchKind int

const (
	kPattern matchKind = iota
	kRegexp
	kCIDR
	kExists
	kCompare
	kFieldRef
)

// item compiles one item, reusing an identical matcher compiled before.
func (cp *compiler) item(it *sigma.Item) (*matcher, error) {
	key := itemKey(it)
	if m, ok := cp.matchers[key]; ok {
		return m, nil
	}
	m := &matcher{field: events.LowerName(it.Field), keyword: it.Keyword(), all: it.Has(sigma.ModAll), cased: it.Has(sigma.ModCased)}
	switch {
	case it.Has(sigma.ModRe):
		m.kind = kRegexp
		flags := ""
		if it.Has(sigma.ModReI) {
			flags += "i"
		}
		if it.Has(sigma.ModReM) {
			flags += "m"
		}
		if it.Has(sigma.ModReS) {
			flags += "s"
		}
		for _, v := range it.Values {
			expr := v.Raw
			if flags != "" {
				expr = "(?" + flags + ")" + expr
			}
			re, err := regexp.Compile(expr)
			if err != nil {
				return nil, unsupported("regular expression %q (line %d) is not RE2 syntax, which Go evaluates: %v", v.Raw, v.Line, err)
			}
			m.res = append(m.res, re)
		}
	case it.Has(sigma.ModCIDR):
		m.kind = kCIDR
		for _, v := range it.Values {
			p, err := netip.ParsePrefix(strings.TrimSpace(v.Raw))
			if err != nil {
				return nil, fmt.Errorf("line %d: %q is not a network: %w", v.Line, v.Raw, err)
			}
			m.nets = append(m.nets, p.Masked())
		}
	case it.Has(sigma.ModExists):
		m.kind, m.exists = kExists, it.Values[0].Bool
	case it.Has(sigma.ModGT) || it.Has(sigma.ModGTE) || it.Has(sigma.ModLT) || it.Has(sigma.ModLTE):
		m.kind = kCompare
		for _, op := range []sigma.Modifier{sigma.ModGT, sigma.ModGTE, sigma.ModLT, sigma.ModLTE} {
			if it.Has(op) {
				m.cmpOp = op
			}
		}
		for _, v := range it.Values {
			m.numbers = append(m.numbers, v.Number)
		}
	case it.Has(sigma.ModFieldRef):
		m.kind = kFieldRef
		for _, v := range it.Values {
			m.refs = append(m.refs, events.LowerName(v.Raw))
		}
		for _, p := range []sigma.Modifier{sigma.ModContains, sigma.ModStartsWith, sigma.ModEndsWith} {
			if it.Has(p) {
				m.refPos = p
			}
		}
	default:
		m.kind = kPattern
		vals, err := it.MatchValues(cp.opts.Placeholders)
		if err != nil {
			var pe *sigma.PlaceholderError
			if errors.As(err, &pe) {
				return nil, unsupported("%v", err)
			}
			return nil, err
		}
		for _, v := range vals {
			if v.Kind == sigma.NullValue {
				m.nullMatch = true
				continue
			}
			m.patterns = append(m.patterns, compilePattern(v, m.cased, m.keyword))
		}
	}
	m.id = len(cp.list)
	cp.list = append(cp.list, m)
	cp.matchers[key] = m
	return m, nil
}

// itemKey identifies an item by what it tests, so identical items of different rules
// (hundreds of rules test Image|endswith '\powershell.exe') share one matcher.
func itemKey(it *sigma.Item) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(it.Field))
	for _, m := range it.Modifiers {
		b.WriteByte('|')
		b.WriteString(string(m))
	}
	for _, v := range it.Values {
		b.WriteByte(0)
		b.WriteByte(byte('0' + v.Kind))
		b.WriteString(v.Raw)
	}
	return b.String()
}

// pattern is a compiled string value.
type pattern struct {
	op    patOp
	lit   string    // the literal of exact/prefix/suffix/contains, lower-cased unless cased
	glob  []globTok // the general case
	num   float64   // for numeric values: also equal when the field is the same number
	isNum bool
}

type patOp int

const (
	opExact patOp = iota
	opPrefix
	opSuffix
	opContains
	opAny // "*"
	opGlob
)

type globTok struct {
	kind sigma.PartKind
	text string
}

func compilePattern(v sigma.Value, cased, keyword bool) pattern {
	parts := v.Parts
	if v.Kind == sigma.BoolValue {
		parts = []sigma.Part{{Kind: sigma.Literal, Text: strconv.FormatBool(v.Bool)}}
	}
	if v.Kind == sigma.NumberValue {
		parts = []sigma.Part{{Kind: sigma.Literal, Text: v.Raw}}
	}
	// Keywords search the whole event: a keyword is found inside a field's text.
	if keyword {
		parts = append(append([]sigma.Part{{Kind: sigma.AnyString}}, parts...), sigma.Part{Kind: sigma.AnyString})
	}
	low := func(s string) string {
		if cased {
			return s
		}
		return strings.ToLower(s)
	}
	p := pattern{}
	if v.Kind == sigma.NumberValue && !math.IsNaN(v.Number) {
		p.num, p.isNum = v.Number, true
	}
	// Collapse runs of "*".
	var toks []globTok
	for _, pt := range parts {
		if pt.Kind == sigma.AnyString && len(toks) > 0 && toks[len(toks)-1].kind == sigma.AnyString {
			continue
		}
		toks = append(toks, globTok{kind: pt.Kind, text: low(pt.Text)})
	}
	isLit := func(t globTok) bool { return t.kind == sigma.Literal }
	isStar := func(t globTok) bool { return t.kind == sigma.AnyString }
	switch {
	case len(toks) == 0:
		p.op = opExact
	case len(toks) == 1 && isLit(toks[0]):
		p.op, p.lit = opExact, toks[0].text
	case len(toks) == 1 && isStar(toks[0]):
		p.op = opAny
	case len(toks) == 2 && isLit(toks[0]) && isStar(toks[1]):
		p.op, p.lit = opPrefix, toks[0].text
	case len(toks) == 2 && isStar(toks[0]) && isLit(toks[1]):
		p.op, p.lit = opSuffix, toks[1].text
	case len(toks) == 3 && isStar(toks[0]) && isLit(toks[1]) && isStar(toks[2]):
		p.op, p.lit = opContains, toks[1].text
	default:
		p.op, p.glob = opGlob, toks
	}
	return p
}

// match tests s (already lower-cased unless the pattern is cased).
func (p *pattern) match(s string) bool {
	switch p.op {
	case opExact:
		if s == p.lit {
			return true
		}
		if p.isNum {
			if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
				return f == p.num
			}
		}
		return false
	case opPrefix:
		return strings.HasPrefix(s, p.lit)
	case opSuffix:
		return strings.HasSuffix(s, p.lit)
	case opContains:
		return strings.Contains(s, p.lit)
	case opAny:
		return true
	}
	return globMatch(p.glob, s)
}

// globMatch matches "*" and "?" wildcards; "*" backtracks to the last star only, which
// keeps it linear in practice.
func globMatch(toks []globTok, s string) bool {
	ti, si := 0, 0
	starT, starS := -1, 0
	for {
		if ti < len(toks) {
			t := toks[ti]
			switch t.kind {
			case sigma.AnyString:
				starT, starS = ti, si
				ti++
				continue
			case sigma.AnyChar:
				if si < len(s) {
					_, size := decodeRune(s[si:])
					si += size
					ti++
					continue
				}
			case sigma.Literal:
				if strings.HasPrefix(s[si:], t.text) {
					si += len(t.text)
					ti++
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		if starT < 0 || starS >= len(s) {
			return false
		}
		_, size := decodeRune(s[starS:])
		starS += size
		ti, si = starT+1, starS
	}
}
