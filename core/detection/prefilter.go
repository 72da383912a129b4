package detection

import (
	"strings"
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
// means any field (keywords).
type atom struct {
	field string
	lit   string
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
	if m.kind != kPattern || m.nullMatch || len(m.patterns) == 0 {
		return nil
	}
	field := m.field
	if m.keyword {
		field = ""
	}
	one := func(p *pattern) need {
		lit := p.literal()
		if lit == "" || !utf8.ValidString(lit) {
			// Lower-casing turns invalid UTF-8 into U+FFFD in the value and the
			// literal alike only when both were lowered the same way: don't rely on it.
			return nil
		}
		// A cased pattern is tested on the value as written; its lower case is
		// still inside the lower-cased value.
		return need{{field, strings.ToLower(lit)}}
	}
	if m.all {
		var best need
		for i := range m.patterns {
			best = better(best, one(&m.patterns[i]))
		}
		return best
	}
	var out need
	for i := range m.patterns {
		n := one(&m.patterns[i])
		if n == nil {
			return nil
		}
		out = append(out, n...)
	}
	return out
}

func (s *search) need() need {
	var groups []need
	for _, g := range s.groups {
		var best need
		for _, m := range g {
			best = better(best, m.need())
		}
		groups = append(groups, best)
	}
	if len(groups) == 0 {
		return nil
	}
	return union(groups...)
}

func condNeed(n node, searches []need) need {
	switch n := n.(type) {
	case andNode:
		var best need
		for _, t := range n {
			best = better(best, condNeed(t, searches))
		}
		return best
	case orNode:
		ns := make([]need, len(n))
		for i, t := range n {
			ns[i] = condNeed(t, searches)
		}
		return union(ns...)
	case refNode:
		return searches[n.s]
	case ofNode:
		if len(n.s) == 0 {
			return nil
		}
		ns := make([]need, len(n.s))
		for i, s := range n.s {
			ns[i] = searches[s]
		}
		if n.all {
			var best need
			for _, x := range ns {
				best = better(best, x)
			}
			return best
		}
		return union(ns...)
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
		if len(a.lit) > maxLit {
			a.lit = a.lit[len(a.lit)-maxLit:]
		}
		out[i] = a
	}
	return out
}

// setNeeds derives every rule's need; rules without one are always evaluated.
func setNeeds(rules []*Rule) {
	for _, r := range rules {
		sn := make([]need, len(r.searches))
		for i, s := range r.searches {
			sn[i] = s.need()
		}
		r.need = condNeed(r.cond, sn)
		r.always = r.need == nil
		if !r.always {
			r.need = r.need.searchable()
		}
	}
}

// logIndex is what evaluating events of one log source needs: the rules that apply
// to it and, unless the prefilter is off, automata over the literals of those rules
// only, so an event's fields are searched for nothing that could not matter (most
// log sources have no keyword rule at all, and their events skip the search of every
// field for keywords).
type logIndex struct {
	rules []*Rule // in rule order
	// pre: the prefilter is on; always lists the positions in rules of those without
	// a need, in order.
	pre    bool
	always []int32
	fields map[string]*litIndex // lower-cased field name → its literals
	any    *litIndex            // keyword literals, searched in every field
}

// litIndex is an automaton and, per literal id, the positions in logIndex.rules of
// the rules that need the literal.
type litIndex struct {
	a     *automaton
	rules [][]int32
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
	}
	byField := map[string]*lits{}
	for pos, r := range rules {
		if r.always {
			li.always = append(li.always, int32(pos))
			continue
		}
		for _, a := range r.need {
			l := byField[a.field]
			if l == nil {
				l = &lits{ids: map[string]int32{}}
				byField[a.field] = l
			}
			id, ok := l.ids[a.lit]
			if !ok {
				id = int32(len(l.list))
				l.ids[a.lit] = id
				l.list = append(l.list, a.lit)
				l.rules = append(l.rules, nil)
			}
			if rs := l.rules[id]; len(rs) == 0 || rs[len(rs)-1] != int32(pos) {
				l.rules[id] = append(rs, int32(pos))
			}
		}
	}
	li.fields = map[string]*litIndex{}
	for field, l := range byField {
		x := &litIndex{a: newAutomaton(l.list), rules: l.rules}
		if field == "" {
			li.any = x
			continue
		}
		li.fields[field] = x
	}
	return li
}

// mark calls hit with the position of every rule one of whose literals is in ev (a
// position once per occurrence).
func (li *logIndex) mark(ev *events.Event, hit func(pos int32)) {
	fs := ev.Fields()
	for i := range fs {
		f := &fs[i]
		if x := li.fields[f.Key]; x != nil {
			x.a.each(f.Lower, func(id int32) {
				for _, r := range x.rules[id] {
					hit(r)
				}
			})
		}
		if li.any != nil {
			li.any.a.each(f.Lower, func(id int32) {
				for _, r := range li.any.rules[id] {
					hit(r)
				}
			})
		}
	}
}
