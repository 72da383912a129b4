package detection

// automaton finds every literal of a set that occurs in a text, in one pass
// (Aho-Corasick). It is written here rather than taken from a module: the one
// Aho-Corasick module the proxy serves (coregx/ahocorasick v0.3.1) missed
// overlapping matches ("cmd" in "cmd.exe" next to "md.e") and allocates per
// search; this one reports every occurrence through a callback, allocating nothing.
//
// It is a full DFA: every state has a dense row of transitions, so each byte of the
// text costs one table load and no failure links are followed while searching. Rows
// are indexed by byte class, not byte (the bytes no literal contains share class 0),
// which keeps a row as wide as the literals' alphabet, typically 30 to 70 entries
// instead of 256.
type automaton struct {
	class  [256]uint8
	stride int32
	// t16 or t32 holds, per state and class, the next state shifted left once, with
	// the low bit set when that state has output, so the search loop needs no second
	// load for the common state without output. 16-bit entries when the states fit
	// (every SigmaHQ automaton does): the tables are searched at random, and half
	// the bytes is half the cache misses.
	t16 []uint16
	t32 []uint32
	// outOff[s] .. outOff[s+1] delimit, in outIDs, the ids of the literals that end at
	// state s, its failure chain's included.
	outOff []int32
	outIDs []int32
}

// newAutomaton builds the automaton of lits; literal i is reported as id i. Empty
// literals are never reported.
func newAutomaton(lits []string) *automaton {
	a := &automaton{}
	// Byte classes: each byte some literal contains gets a class of its own.
	var used [256]bool
	for _, l := range lits {
		for i := 0; i < len(l); i++ {
			used[l[i]] = true
		}
	}
	a.stride = 1
	for b := range used {
		if used[b] {
			a.class[b] = uint8(a.stride)
			a.stride++
		}
	}
	stride := int(a.stride)
	// The trie, with a dense row per state from the start: child == 0 means none
	// (the root is never a child).
	rows := make([]int32, stride)
	own := [][]int32{nil}
	for id, lit := range lits {
		if lit == "" {
			continue
		}
		s := 0
		for i := 0; i < len(lit); i++ {
			c := int(a.class[lit[i]])
			next := int(rows[s*stride+c])
			if next == 0 {
				next = len(own)
				own = append(own, nil)
				rows = append(rows, make([]int32, stride)...)
				rows[s*stride+c] = int32(next)
			}
			s = next
		}
		own[s] = append(own[s], int32(id))
	}
	n := len(own)
	// Breadth first: a state's failure (and so its full row) is complete before its
	// children's are computed. A missing transition becomes the failure's transition.
	fail := make([]int32, n)
	out := make([][]int32, n)
	queue := make([]int32, 0, n)
	for c := 0; c < stride; c++ {
		if t := rows[c]; t != 0 {
			queue = append(queue, t)
		}
	}
	for qi := 0; qi < len(queue); qi++ {
		s := int(queue[qi])
		f := int(fail[s])
		out[s] = append(append([]int32(nil), own[s]...), out[f]...)
		for c := 0; c < stride; c++ {
			t := rows[s*stride+c]
			if t == 0 {
				rows[s*stride+c] = rows[f*stride+c]
				continue
			}
			fail[t] = rows[f*stride+c]
			queue = append(queue, t)
		}
	}
	a.outOff = make([]int32, n+1)
	for s := 0; s < n; s++ {
		a.outIDs = append(a.outIDs, out[s]...)
		a.outOff[s+1] = int32(len(a.outIDs))
	}
	if n < 1<<15 {
		a.t16 = table[uint16](rows, out)
	} else {
		a.t32 = table[uint32](rows, out)
	}
	return a
}

func table[T uint16 | uint32](rows []int32, out [][]int32) []T {
	t := make([]T, len(rows))
	for i, next := range rows {
		v := T(next) << 1
		if len(out[next]) > 0 {
			v |= 1
		}
		t[i] = v
	}
	return t
}

// size is the automaton's table size in bytes (for tests and size reports).
func (a *automaton) size() int {
	return 2*len(a.t16) + 4*len(a.t32) + 4*len(a.outOff) + 4*len(a.outIDs)
}

// states is the number of states (for tests and size reports).
func (a *automaton) states() int { return len(a.outOff) - 1 }

// each calls fn with the id of every literal that occurs in text (an id once per
// occurrence).
func (a *automaton) each(text string, fn func(id int32)) {
	if a.t16 != nil {
		scan(a, a.t16, text, fn)
	} else {
		scan(a, a.t32, text, fn)
	}
}

func scan[T uint16 | uint32](a *automaton, trans []T, text string, fn func(id int32)) {
	class, stride := &a.class, uint32(a.stride)
	row := uint32(0)
	for i := 0; i < len(text); i++ {
		v := trans[row+uint32(class[text[i]])]
		s := uint32(v >> 1)
		row = s * stride
		if v&1 != 0 {
			for _, id := range a.outIDs[a.outOff[s]:a.outOff[s+1]] {
				fn(id)
			}
		}
	}
}
