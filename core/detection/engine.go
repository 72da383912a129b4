package detection

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/aegis-sec/aegis/core/events"
	"github.com/aegis-sec/aegis/sigma"
)

// Source is one rule to compile: the key results name it by and its Sigma text.
type Source struct {
	Key  string
	File string // for error messages; Key when empty
	Text []byte
}

// Engine holds compiled rules. It is safe for concurrent use: each Evaluate call uses
// its own scratch state.
type Engine struct {
	rules       []*Rule
	unsupported []Unsupported
	matchers    []*matcher
	noPre       bool // every candidate rule is evaluated (tests compare)

	mu      sync.Mutex
	byLog   map[events.LogSource]*logIndex
	scratch sync.Pool
}

// Compile parses and compiles every source. A source that is not valid Sigma, or uses
// something the engine cannot evaluate, is listed in Unsupported with its reason; the
// others are compiled. Compile fails only when no source yields a rule at all and
// some were given.
func Compile(srcs []Source, opts Options) (*Engine, error) {
	cp := newCompiler(opts)
	e := &Engine{byLog: map[events.LogSource]*logIndex{}}
	for _, s := range srcs {
		file := s.File
		if file == "" {
			file = s.Key
		}
		rules, err := sigma.ParseFile(file, s.Text)
		if err != nil {
			e.unsupported = append(e.unsupported, Unsupported{Key: s.Key, Reason: "invalid Sigma: " + err.Error()})
		} else if len(rules) == 0 {
			// An empty or comment-only file is named, not silently passed over.
			e.unsupported = append(e.unsupported, Unsupported{Key: s.Key, Reason: "no Sigma rule in " + file})
		}
		for i, r := range rules {
			key := s.Key
			if len(rules) > 1 {
				key = fmt.Sprintf("%s#%d", s.Key, i+1)
			}
			e.addRule(cp, key, r)
		}
	}
	e.matchers = cp.list
	e.index(opts)
	if len(e.rules) == 0 && len(srcs) > 0 {
		return e, fmt.Errorf("none of %d rules could be compiled (first problem: %s)", len(srcs), e.unsupported[0].Reason)
	}
	return e, nil
}

// CompileRules compiles rules parsed already.
func CompileRules(rules map[string]*sigma.Rule, opts Options) *Engine {
	cp := newCompiler(opts)
	e := &Engine{byLog: map[events.LogSource]*logIndex{}}
	keys := make([]string, 0, len(rules))
	for k := range rules {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e.addRule(cp, k, rules[k])
	}
	e.matchers = cp.list
	e.index(opts)
	return e
}

func (e *Engine) index(opts Options) {
	e.noPre = opts.noPrefilter
	setNeeds(e.rules)
}

func (e *Engine) addRule(cp *compiler, key string, r *sigma.Rule) {
	cr, err := cp.rule(key, r)
	if err != nil {
		reason := err.Error()
		if errors.Is(err, errUnsupported) {
			reason = strings.TrimPrefix(reason, errUnsupported.Error()+": ")
		}
		e.unsupported = append(e.unsupported, Unsupported{Key: key, ID: r.ID, Title: r.Title, Reason: reason})
		return
	}
	cr.idx = len(e.rules)
	e.rules = append(e.rules, cr)
}

// Rules returns the compiled rules.
func (e *Engine) Rules() []*Rule { return e.rules }

// Unsupported returns the rules that were not compiled and why.
func (e *Engine) Unsupported() []Unsupported { return e.unsupported }

// Match is one rule matching one event.
type Match struct {
	Rule  *Rule
	Event *events.Event
	// Searches are the search identifiers that matched the event (the selections and
	// filters true for it), in the rule's order.
	Searches []string
}

// applies reports whether a rule's log source can describe events of ls. An empty
// field on either side does not constrain.
func applies(r sigma.LogSource, ls events.LogSource) bool {
	eq := func(a, b string) bool { return a == "" || b == "" || strings.EqualFold(a, b) }
	if r.Category != "" && ls.Category == "" && ls.Inferred {
		return false
	}
	cat := r.Category == "" || ls.Category == "" || events.CategoryIncludes(r.Category, ls.Category)
	return eq(r.Product, ls.Product) && cat && eq(r.Service, ls.Service)
}

// logIndex returns the rules for events of ls and their literal index, built the
// first time an event of ls is evaluated.
func (e *Engine) logIndex(ls events.LogSource) *logIndex {
	e.mu.Lock()
	defer e.mu.Unlock()
	if li, ok := e.byLog[ls]; ok {
		return li
	}
	var rs []*Rule
	for _, r := range e.rules {
		if applies(r.LogSource, ls) {
			rs = append(rs, r)
		}
	}
	li := newLogIndex(rs, !e.noPre)
	e.byLog[ls] = li
	return li
}

// Evaluate tests one event against every rule that applies to its log source and
// calls fn for each match, in rule order.
func (e *Engine) Evaluate(ev *events.Event, fn func(Match)) {
	c := e.ctx()
	defer e.scratch.Put(c)
	c.reset(ev)
	li := e.logIndex(ev.LogSource)
	if !li.pre {
		for _, r := range li.rules {
			c.evalRule(r, fn)
		}
		return
	}
	c.hits, c.full = c.hits[:0], li.full
	li.mark(ev, c.markHit)
	slices.Sort(c.hits)
	// Merge the rules hit with those always evaluated, both in rule order.
	hits, always := c.hits, li.always
	for len(hits) > 0 || len(always) > 0 {
		var pos int32
		if len(always) == 0 || len(hits) > 0 && hits[0] < always[0] {
			pos, hits = hits[0], hits[1:]
		} else {
			pos, always = always[0], always[1:]
		}
		c.evalRule(li.rules[pos], fn)
	}
}

func (c *evalCtx) evalRule(r *Rule, fn func(Match)) {
	c.rule = r
	c.clearSearches(len(r.searches))
	if r.cond.eval(c) {
		fn(Match{Rule: r, Event: c.ev, Searches: c.matchedSearches(r)})
	}
}

func (e *Engine) ctx() *evalCtx {
	if c, ok := e.scratch.Get().(*evalCtx); ok {
		return c
	}
	c := &evalCtx{gen: make([]uint32, len(e.matchers)), res: make([]bool, len(e.matchers)), hit: make([]uint32, len(e.rules)), needs: make([]uint8, len(e.rules))}
	c.markHit = func(code int32) {
		pos, bit := code>>2, uint8(1)<<(code&3)
		if c.hit[pos] != c.cur {
			c.hit[pos], c.needs[pos] = c.cur, 0
		}
		if n := c.needs[pos]; n&bit == 0 {
			c.needs[pos] = n | bit
			if n|bit == c.full[pos] {
				c.hits = append(c.hits, pos)
			}
		}
	}
	return c
}

// evalCtx is the scratch state of one evaluation: matcher results are cached per event
// (generation-stamped, so nothing is cleared between events), search results per rule.
type evalCtx struct {
	ev    *events.Event
	cur   uint32
	gen   []uint32
	res   []bool
	rule  *Rule
	sdone []bool
	sres  []bool
	// hit stamps, per position in the log source's rules, the event whose needs[pos]
	// bits say which of the rule's needs it holds; hits lists the positions whose
	// needs are all held (full, from the log source's index). markHit is bound once
	// so marking allocates nothing.
	hit     []uint32
	needs   []uint8
	full    []uint8
	hits    []int32
	markHit func(pos int32)
}

func (c *evalCtx) reset(ev *events.Event) {
	c.ev = ev
	c.cur++
	if c.cur == 0 { // wrapped: stale stamps could collide
		for i := range c.gen {
			c.gen[i] = 0
		}
		for i := range c.hit {
			c.hit[i] = 0
		}
		c.cur = 1
	}
}

func (c *evalCtx) clearSearches(n int) {
	if cap(c.sdone) < n {
		c.sdone, c.sres = make([]bool, n), make([]bool, n)
	}
	c.sdone, c.sres = c.sdone[:n], c.sres[:n]
	for i := range c.sdone {
		c.sdone[i] = false
	}
}

func (c *evalCtx) search(i int) bool {
	if c.sdone[i] {
		return c.sres[i]
	}
	r := false
	for _, g := range c.rule.searches[i].groups {
		ok := true
		for _, m := range g {
			if !c.matcher(m) {
				ok = false
				break
			}
		}
		if ok {
			r = true
			break
		}
	}
	c.sdone[i], c.sres[i] = true, r
	return r
}

func (c *evalCtx) matchedSearches(r *Rule) []string {
	var out []string
	for i, s := range r.searches {
		if c.search(i) {
			out = append(out, s.name)
		}
	}
	return out
}

func (c *evalCtx) matcher(m *matcher) bool {
	if c.gen[m.id] == c.cur {
		return c.res[m.id]
	}
	r := m.match(c.ev)
	c.gen[m.id], c.res[m.id] = c.cur, r
	return r
}

func (m *matcher) match(ev *events.Event) bool {
	if m.keyword {
		if m.all {
			for i := range m.patterns {
				if !anyField(ev, func(f *events.Field) bool { return m.one(i, f) }) {
					return false
				}
			}
			return len(m.patterns) > 0
		}
		return anyField(ev, func(f *events.Field) bool { return m.anyValue(f) })
	}
	f, ok := ev.GetLower(m.field)
	switch m.kind {
	case kExists:
		return ok == m.exists
	case kFieldRef:
		if !ok {
			return false
		}
		return m.fieldRef(ev, f)
	}
	if !ok || f.Value == "" {
		if m.nullMatch {
			return true
		}
		if !ok {
			return false
		}
	}
	if m.all {
		for i := range m.patterns {
			if !m.one(i, f) {
				return false
			}
		}
		switch m.kind {
		case kRegexp:
			for _, re := range m.res {
				if !re.MatchString(f.Value) {
					return false
				}
			}
		case kCIDR:
			for i := range m.nets {
				if !m.inNet(i, f.Value) {
					return false
				}
			}
		}
		return true
	}
	return m.anyValue(f)
}

func anyField(ev *events.Event, fn func(*events.Field) bool) bool {
	fs := ev.Fields()
	for i := range fs {
		if fn(&fs[i]) {
			return true
		}
	}
	return false
}

func (m *matcher) one(i int, f *events.Field) bool {
	p := &m.patterns[i]
	if m.cased {
		return p.match(f.Value)
	}
	return p.match(f.Lower)
}

func (m *matcher) anyValue(f *events.Field) bool {
	switch m.kind {
	case kPattern:
		s := f.Lower
		if m.cased {
			s = f.Value
		}
		for i := range m.patterns {
			if m.patterns[i].match(s) {
				return true
			}
		}
	case kRegexp:
		for _, re := range m.res {
			if re.MatchString(f.Value) {
				return true
			}
		}
	case kCIDR:
		for i := range m.nets {
			if m.inNet(i, f.Value) {
				return true
			}
		}
	case kCompare:
		x, err := strconv.ParseFloat(strings.TrimSpace(f.Value), 64)
		if err != nil {
			return false
		}
		for _, n := range m.numbers {
			switch m.cmpOp {
			case sigma.ModGT:
				if x > n {
					return true
				}
			case sigma.ModGTE:
				if x >= n {
					return true
				}
			case sigma.ModLT:
				if x < n {
					return true
				}
			case sigma.ModLTE:
				if x <= n {
					return true
				}
			}
		}
	}
	return false
}

func (m *matcher) inNet(i int, s string) bool {
	a, err := netip.ParseAddr(strings.Trim(strings.TrimSpace(s), "[]"))
	if err != nil {
		return false
	}
	return m.nets[i].Contains(a.Unmap())
}

func (m *matcher) fieldRef(ev *events.Event, f *events.Field) bool {
	test := func(ref string) bool {
		o, ok := ev.GetLower(ref)
		if !ok {
			return false
		}
		a, b := f.Lower, o.Lower
		if m.cased {
			a, b = f.Value, o.Value
		}
		switch m.refPos {
		case sigma.ModContains:
			return strings.Contains(a, b)
		case sigma.ModStartsWith:
			return strings.HasPrefix(a, b)
		case sigma.ModEndsWith:
			return strings.HasSuffix(a, b)
		}
		return a == b
	}
	for _, ref := range m.refs {
		if test(ref) != m.all {
			return !m.all
		}
	}
	return m.all
}

func decodeRune(s string) (rune, int) { return utf8.DecodeRuneInString(s) }
