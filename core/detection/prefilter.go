package detection

import (
	"regexp"
	"regexp/syntax"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aegis-sec/aegis/core/events"
	"github.com/aegis-sec/aegis/sigma"
)

// The prefilter keeps an event away from rules it cannot match. For each rule it
// finds literals one of which must occur in the event for the rule to match (the
// rule's "need"): each selection of the rule's condition needs its items, an item
// "Image|endswith: '\whoami.exe'" needs '\whoami.exe' inside the Image field, an
// OR needs one of its sides, an AND either side. One pass of an Aho-Corasick
// automaton per field then finds every literal of every rule in the event, and only
// rules with a literal found (or with no need that could be proved: NOT, regular
// expressions, numbers, field references, null) are evaluated. A need is only ever
// implied by the rule, never a guess, so the prefilter cannot lose a match
// (TestPrefilterKeepsEveryMatch compares with evaluating every rule).

// atom is a literal that the lower-cased value of a field must contain; field ""
// means any field (keywords). A numeric atom (isNum) is an exact number instead: the
// lower-cased value is lit, or text that parses as num, as pattern.match decides.
type atom struct {
	field string
	lit   string
	num   float64
	isNum bool
}

// need is a set of atoms one of which holds for every event the rule matches; nil
// means no such set is known.
type need []atom

// better picks the more selective of two needs: longer shortest literal, then
// fewer atoms.
func better(a, b need) need {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	ma, mb := shortest(a), shortest(b)
	if ma != mb {
		if ma > mb {
			return a
		}
		return b
	}
	if len(b) < len(a) {
		return b
	}
	return a
}

func shortest(n need) int {
	m := -1
	for _, a := range n {
		if m < 0 || len(a.lit) < m {
			m = len(a.lit)
		}
	}
	return m
}

// union is the need of an OR: nil when one side has none.
func union(ns ...need) need {
	var out need
	for _, n := range ns {
		if n == nil {
			return nil
		}
		out = append(out, n...)
	}
	return out
}

// literal is the longest run of literal text every match of p contains, "" when
// there is none to rely on.
func (p *pattern) literal() string {
	if p.isNum {
		// 1 also equals "1.0" and "01"; a number's text proves nothing.
		return ""
	}
	switch p.op {
	case opExact, opPrefix, opSuffix, opContains:
		return p.lit
	case opGlob:
		best := ""
		for _, t := range p.glob {
			if t.kind == sigma.Literal && len(t.text) > len(best) {
				best = t.text
			}
		}
		return best
	}
	return ""
}

func (m *matcher) need() need {
	if m.nullMatch {
		return nil
	}
	field := m.field
	if m.keyword {
		field = ""
	}
	var ones []need
	switch m.kind {
	case kPattern:
		for i := range m.patterns {
			ones = append(ones, m.patternNeed(field, &m.patterns[i]))
		}
	case kRegexp:
		for _, re := range m.res {
			var n need
			if lit := regexpLiteral(re); lit != "" {
				n = need{{field: field, lit: lit}}
			}
			ones = append(ones, n)
		}
	}
	if len(ones) == 0 {
		return nil
	}
	if m.all {
		var best need
		for _, n := range ones {
			best = better(best, n)
		}
		return best
	}
	return union(ones...)
}

func (m *matcher) patternNeed(field string, p *pattern) need {
	if p.isNum && p.op == opExact && !m.cased && !m.keyword {
		// EventID: 16 matches "16", "16.0" and " 016 ": the prefilter compares
		// numbers, as the pattern does.
		return need{{field: field, lit: p.lit, num: p.num, isNum: true}}
	}
	lit := p.literal()
	if lit == "" || !utf8.ValidString(lit) {
		// Lower-casing turns invalid UTF-8 into U+FFFD in the value and the
		// literal alike only when both were lowered the same way: don't rely on it.
		return nil
	}
	// A cased pattern is tested on the value as written; its lower case is
	// still inside the lower-cased value.
	return need{{field: field, lit: strings.ToLower(lit)}}
}

// regexpLiteral is the longest text, lower-cased, that every match of re contains
// ("" when none is known). The expression is matched on the value as written; the
// value lower-cased then contains the literal lower-cased, because lower-casing maps
// rune by rune. A case-insensitive literal counts only where each of its runes'
// case variants lowers to the same rune: (?i)s also matches "ſ" (U+017F), which
// stays "ſ" in lower case, so an "s" breaks a case-insensitive literal in two.
func regexpLiteral(re *regexp.Regexp) string {
	parsed, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return ""
	}
	return strings.ToLower(requiredLiteral(parsed.Simplify()))
}

func requiredLiteral(re *syntax.Regexp) string {
	switch re.Op {
	case syntax.OpLiteral:
		return longest(literalRuns(re))
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiteral(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiteral(re.Sub[0])
		}
	case syntax.OpConcat:
		// Adjacent literals join into one run; anything else ends the run but may
		// hold a required literal of its own.
		var runs []string
		cur := ""
		for _, sub := range re.Sub {
			if sub.Op == syntax.OpLiteral {
				parts := literalRuns(sub)
				cur += parts[0]
				if len(parts) > 1 {
					runs = append(runs, cur)
					runs = append(runs, parts[1:len(parts)-1]...)
					cur = parts[len(parts)-1]
				}
				continue
			}
			runs = append(runs, cur, requiredLiteral(sub))
			cur = ""
		}
		return longest(append(runs, cur))
	}
	return ""
}

// literalRuns splits a literal where a case-insensitive rune cannot be relied on
// (see regexpLiteral), and where U+FFFD stands for invalid UTF-8 in the value.
func literalRuns(re *syntax.Regexp) []string {
	var runs []string
	var cur []rune
	for _, r := range re.Rune {
		if r == utf8.RuneError || re.Flags&syntax.FoldCase != 0 && !foldSafe(r) {
			runs = append(runs, string(cur))
			cur = cur[:0]
			continue
		}
		cur = append(cur, r)
	}
	return append(runs, string(cur))
}

// foldSafe: every rune that case-folds to r lowers to what r lowers to.
func foldSafe(r rune) bool {
	low := unicode.ToLower(r)
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if unicode.ToLower(f) != low {
			return false
		}
	}
	return true
}

func longest(ss []string) string {
	best := ""
	for _, s := range ss {
		if len(s) > len(best) {
			best = s
		}
	}
	return best
}

// cnf is a conjunction of needs: every one holds for every event the rule matches.
// An event is evaluated only when it holds an atom of each, so "Image ends with
// \\csi.exe and Company is Microsoft Corporation" is no longer evaluated for every
// Microsoft program (a single need had to pick one side, and picked the longer
// literal). Empty: nothing is known.
type cnf []need

// maxClauses bounds the needs kept per rule (the most selective), so a rule's
// progress fits the bits of a byte.
const maxClauses = 4

func (c cnf) best() need {
	var b need
	for _, n := range c {
		b = better(b, n)
	}
	return b
}

// or is the cnf of a disjunction: one need, the union of each side's best (nil
// when a side has none).
func or(cs []cnf) cnf {
	ns := make([]need, len(cs))
	for i, c := range cs {
		ns[i] = c.best()
	}
	if u := union(ns...); u != nil {
		return cnf{u}
	}
	return nil
}

func (s *search) cnf() cnf {
	if len(s.groups) == 1 {
		var out cnf
		for _, m := range s.groups[0] {
			if n := m.need(); n != nil {
				out = append(out, n)
			}
		}
		return out
	}
	cs := make([]cnf, len(s.groups))
	for i, g := range s.groups {
		for _, m := range g {
			if n := m.need(); n != nil {
				cs[i] = append(cs[i], n)
			}
		}
	}
	return or(cs)
}

func condCNF(n node, searches []cnf) cnf {
	switch n := n.(type) {
	case andNode:
		var out cnf
		for _, t := range n {
			out = append(out, condCNF(t, searches)...)
		}
		return out
	case orNode:
		cs := make([]cnf, len(n))
		for i, t := range n {
			cs[i] = condCNF(t, searches)
		}
		return or(cs)
	case refNode:
		return searches[n.s]
	case ofNode:
		if len(n.s) == 0 {
			return nil
		}
		cs := make([]cnf, len(n.s))
		for i, s := range n.s {
			cs[i] = searches[s]
		}
		if n.all {
			var out cnf
			for _, c := range cs {
				out = append(out, c...)
			}
			return out
		}
		return or(cs)
	}
	return nil // notNode, and anything new: no need can be proved
}

// maxLit bounds the literals the automata search for: a literal longer than that is
// searched by its last maxLit bytes, which occur wherever it occurs. Sigma rules carry
// thousands of 64-character hashes and long paths; whole, they made the automata
// hundreds of thousands of states (a Hashes automaton alone of 234,000), too big for
// dense rows. The last bytes keep the distinctive part of a path (its file name) and
// of a hash, so few events hold the tail without holding the literal.
const maxLit = 16

func (n need) searchable() need {
	out := make(need, len(n))
	for i, a := range n {
		if !a.isNum && len(a.lit) > maxLit {
			a.lit = a.lit[len(a.lit)-maxLit:]
		}
		out[i] = a
	}
	return out
}

// setNeeds derives every rule's need; rules without one are always evaluated.
func setNeeds(rules []*Rule) {
	for _, r := range rules {
		sc := make([]cnf, len(r.searches))
		for i, s := range r.searches {
			sc[i] = s.cnf()
		}
		c := condCNF(r.cond, sc)
		// The most selective first; a need equal to one kept already adds nothing.
		sort.SliceStable(c, func(i, j int) bool {
			si, sj := shortest(c[i]), shortest(c[j])
			return si > sj || si == sj && len(c[i]) < len(c[j])
		})
		r.needs = nil
		for _, n := range c {
			if len(r.needs) == maxClauses {
				break
			}
			n = n.searchable()
			dup := false
			for _, k := range r.needs {
				dup = dup || sameNeed(k, n)
			}
			if !dup {
				r.needs = append(r.needs, n)
			}
		}
		r.always = len(r.needs) == 0
	}
}

func sameNeed(a, b need) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// logIndex is what evaluating events of one log source needs: the rules that apply
// to it and, unless the prefilter is off, automata over the literals of those rules
// only, so an event's fields are searched for nothing that could not matter (most
// log sources have no keyword rule at all).
type logIndex struct {
	rules []*Rule // in rule order
	// pre: the prefilter is on; always lists the positions in rules of those without
	// a need, in order; full has, per position, a bit for each of the rule's needs.
	pre    bool
	always []int32
	full   []uint8
	// fields: lower-cased field name → its index, whose automaton holds the keyword
	// literals too, so each field's text is searched once; any searches the fields
	// without an index of their own for keyword literals (nil: there are none).
	fields map[string]*fieldIndex
	any    *fieldIndex
}

// fieldIndex finds the needs one of whose atoms a field's value holds, each as its
// rule's position in logIndex.rules shifted left twice and the need's number: an automaton with the rules needing each literal id, and the
// numeric atoms by exact text and by number.
type fieldIndex struct {
	a     *automaton
	rules [][]int32
	exact map[string][]int32
	num   map[float64][]int32
}

func newLogIndex(rules []*Rule, pre bool) *logIndex {
	li := &logIndex{rules: rules, pre: pre}
	if !pre {
		return li
	}
	type lits struct {
		ids   map[string]int32
		list  []string
		rules [][]int32
		exact map[string][]int32
		num   map[float64][]int32
	}
	addPos := func(rs []int32, pos int32) []int32 {
		if len(rs) == 0 || rs[len(rs)-1] != pos {
			rs = append(rs, pos)
		}
		return rs
	}
	byField := map[string]*lits{}
	add := func(a atom, code int32) {
		l := byField[a.field]
		if l == nil {
			l = &lits{ids: map[string]int32{}, exact: map[string][]int32{}, num: map[float64][]int32{}}
			byField[a.field] = l
		}
		if a.isNum {
			l.exact[a.lit] = addPos(l.exact[a.lit], code)
			l.num[a.num] = addPos(l.num[a.num], code)
			return
		}
		id, ok := l.ids[a.lit]
		if !ok {
			id = int32(len(l.list))
			l.ids[a.lit] = id
			l.list = append(l.list, a.lit)
			l.rules = append(l.rules, nil)
		}
		l.rules[id] = addPos(l.rules[id], code)
	}
	li.full = make([]uint8, len(rules))
	for i, r := range rules {
		if r.always {
			li.always = append(li.always, int32(i))
			continue
		}
		li.full[i] = 1<<len(r.needs) - 1
		for k, n := range r.needs {
			for _, a := range n {
				add(a, int32(i)<<2|int32(k))
			}
		}
	}
	keywords := byField[""]
	delete(byField, "")
	index := func(l *lits) *fieldIndex {
		x := &fieldIndex{}
		list, rs := l.list, l.rules
		if keywords != nil && l != keywords {
			list = append(append([]string(nil), list...), keywords.list...)
			rs = append(append([][]int32(nil), rs...), keywords.rules...)
		}
		if len(list) > 0 {
			x.a, x.rules = newAutomaton(list), rs
		}
		if len(l.exact) > 0 {
			x.exact, x.num = l.exact, l.num
		}
		return x
	}
	li.fields = map[string]*fieldIndex{}
	for field, l := range byField {
		li.fields[field] = index(l)
	}
	if keywords != nil {
		li.any = index(keywords)
	}
	return li
}

// mark calls hit with the code (position<<2 | need) of every need one of whose atoms
// ev holds (a code once per occurrence or more).
func (li *logIndex) mark(ev *events.Event, hit func(pos int32)) {
	fs := ev.Fields()
	for i := range fs {
		f := &fs[i]
		x := li.fields[f.Key]
		if x == nil {
			if x = li.any; x == nil {
				continue
			}
		}
		if x.a != nil {
			x.a.each(f.Lower, func(id int32) {
				for _, r := range x.rules[id] {
					hit(r)
				}
			})
		}
		if x.exact != nil {
			for _, r := range x.exact[f.Lower] {
				hit(r)
			}
			if n, err := strconv.ParseFloat(strings.TrimSpace(f.Lower), 64); err == nil {
				for _, r := range x.num[n] {
					hit(r)
				}
			}
		}
	}
}
