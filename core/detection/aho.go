package detection

import "sort"

// automaton finds every literal of a set that occurs in a text, in one pass
// (Aho-Corasick). It is written here rather than taken from a module: the one
// Aho-Corasick module the proxy serves (coregx/ahocorasick v0.3.1) missed
// overlapping matches ("cmd" in "cmd.exe" next to "md.e") and allocates per
// search; this one reports every occurrence through a callback, allocating nothing.
//
// The root has a dense transition table (most bytes of a text restart there);
// other states keep sorted edges and follow failure links.
type automaton struct {
	root  [256]int32
	edges [][]edge // per state, sorted by byte
	fail  []int32
	// out are the literal ids that end at a state; next is the nearest state on the
	// failure chain that has some (-1: none), so reporting walks only states with output.
	out  [][]int32
	next []int32
}

type edge struct {
	b  byte
	to int32
}

func (a *automaton) step(s int32, b byte) int32 {
	for {
		if s == 0 {
			return a.root[b]
		}
		// Edges are few past the root: a scan of the sorted list beats a search.
		for _, e := range a.edges[s] {
			if e.b >= b {
				if e.b == b {
					return e.to
				}
				break
			}
		}
		s = a.fail[s]
	}
}

// newAutomaton builds the automaton of lits; literal i is reported as id i. Empty
// literals are never reported.
func newAutomaton(lits []string) *automaton {
	a := &automaton{edges: [][]edge{nil}, fail: []int32{0}, out: [][]int32{nil}}
	child := func(s int32, b byte) int32 {
		es := a.edges[s]
		for _, e := range es {
			if e.b == b {
				return e.to
			}
		}
		n := int32(len(a.edges))
		a.edges = append(a.edges, nil)
		a.fail = append(a.fail, 0)
		a.out = append(a.out, nil)
		a.edges[s] = append(a.edges[s], edge{b, n})
		return n
	}
	for id, lit := range lits {
		if lit == "" {
			continue
		}
		s := int32(0)
		for i := 0; i < len(lit); i++ {
			s = child(s, lit[i])
		}
		a.out[s] = append(a.out[s], int32(id))
	}
	for s := range a.edges {
		sort.Slice(a.edges[s], func(i, j int) bool { return a.edges[s][i].b < a.edges[s][j].b })
	}
	// Breadth first: a state's failure is known before its children's.
	for _, e := range a.edges[0] {
		a.root[e.b] = e.to
	}
	queue := make([]int32, 0, len(a.edges))
	for _, e := range a.edges[0] {
		queue = append(queue, e.to)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, e := range a.edges[s] {
			a.fail[e.to] = a.step(a.fail[s], e.b)
			queue = append(queue, e.to)
		}
	}
	a.next = make([]int32, len(a.edges))
	order := []int32{0}
	for i := 0; i < len(order); i++ {
		for _, e := range a.edges[order[i]] {
			order = append(order, e.to)
		}
	}
	a.next[0] = -1
	for _, s := range order[1:] {
		f := a.fail[s]
		if len(a.out[f]) > 0 {
			a.next[s] = f
		} else {
			a.next[s] = a.next[f]
		}
	}
	return a
}

// each calls fn with the id of every literal that occurs in text (an id once per
// occurrence).
func (a *automaton) each(text string, fn func(id int32)) {
	s := int32(0)
	for i := 0; i < len(text); i++ {
		s = a.step(s, text[i])
		for o := s; o > 0; o = a.next[o] {
			for _, id := range a.out[o] {
				fn(id)
			}
		}
	}
}
