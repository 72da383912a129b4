package detection

import (
	"fmt"
	"math/rand"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core/events"
)

// TestAutomatonFindsEveryOccurrence compares the automaton with strings.Index over
// random literals and texts from a small alphabet, where overlaps, shared prefixes
// and literals inside other literals are the rule rather than the exception.
func TestAutomatonFindsEveryOccurrence(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abc\\."[rng.Intn(5)]
		}
		return string(b)
	}
	for round := 0; round < 300; round++ {
		lits := make([]string, 1+rng.Intn(30))
		for i := range lits {
			lits[i] = word(1 + rng.Intn(5))
		}
		lits = append(lits, "") // never reported
		a := newAutomaton(lits)
		text := word(rng.Intn(60))
		got := map[int32]int{}
		a.each(text, func(id int32) { got[id]++ })
		for id, lit := range lits {
			want := 0
			for i := 0; lit != "" && i+len(lit) <= len(text); i++ {
				if text[i:i+len(lit)] == lit {
					want++
				}
			}
			// Duplicate literals share a state: each id reports every occurrence.
			if got[int32(id)] != want {
				t.Fatalf("text %q, literal %q (id %d): %d occurrences reported, want %d", text, lit, id, got[int32(id)], want)
			}
		}
	}
	// Past 32,767 states the tables hold 32-bit entries: the same answers.
	lits := make([]string, 6000)
	for i := range lits {
		lits[i] = word(12)
	}
	big := newAutomaton(lits)
	if big.t32 == nil {
		t.Fatalf("%d states in 16-bit tables", big.states())
	}
	found := 0
	for round := 0; round < 20; round++ {
		// Literals (and pieces of them) between noise, so that there is much to find.
		text := ""
		for len(text) < 2000 {
			lit := lits[rng.Intn(len(lits))]
			text += word(rng.Intn(4)) + lit[rng.Intn(3):]
		}
		got := map[int32]int{}
		big.each(text, func(id int32) { got[id]++ })
		for id, lit := range lits {
			want := 0
			for i := strings.Index(text, lit); i >= 0; i = nextIndex(text, lit, i) {
				want++
			}
			if got[int32(id)] != want {
				t.Fatalf("large automaton, literal %q: %d occurrences reported, want %d", lit, got[int32(id)], want)
			}
			found += want
		}
	}
	if found < 1000 {
		t.Fatalf("only %d occurrences in the large automaton's texts", found)
	}
	// The case that the Aho-Corasick module tried first gets wrong.
	a := newAutomaton([]string{"cmd", "md.e", "whoami"})
	var ids []int
	a.each(`c:\windows\system32\cmd.exe /c whoami`, func(id int32) { ids = append(ids, int(id)) })
	if fmt.Sprint(ids) != "[0 1 2]" {
		t.Fatalf("cmd.exe: %v", ids)
	}
}

// nextIndex is the next occurrence of lit in text after the one at i, overlapping
// ones included; -1 when none.
func nextIndex(text, lit string, i int) int {
	j := strings.Index(text[i+1:], lit)
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// matchesOf evaluates events and lists "rule event searches" lines, sorted.
func matchesOf(e *Engine, evs []*events.Event) []string {
	var out []string
	for _, ev := range evs {
		e.Evaluate(ev, func(m Match) {
			out = append(out, m.Rule.Key+" "+ev.ID+" "+strings.Join(m.Searches, ","))
		})
	}
	sort.Strings(out)
	return out
}

func diffLines(a, b []string) string {
	in := map[string]int{}
	for _, x := range a {
		in[x]++
	}
	for _, x := range b {
		in[x]--
	}
	var d []string
	for x, n := range in {
		if n != 0 {
			d = append(d, fmt.Sprintf("%+d %s", n, x))
		}
	}
	sort.Strings(d)
	if len(d) > 20 {
		d = append(d[:20], fmt.Sprintf("... %d more", len(d)-20))
	}
	return strings.Join(d, "\n")
}

// TestPrefilterKeepsEveryMatch: for every construct whose need the prefilter
// derives (or must refuse to derive), the prefilter changes nothing about what
// matches.
func TestPrefilterKeepsEveryMatch(t *testing.T) {
	rules := map[string]string{
		"suffix":    "detection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel",
		"and-or":    "detection:\n  a:\n    Image|endswith: '\\cmd.exe'\n  b:\n    CommandLine|contains:\n      - ' /c '\n      - ' /k '\n  c:\n    User|startswith: 'CORP'\n  condition: a and (b or c)",
		"not":       "detection:\n  a:\n    EventID: 1\n  f:\n    Image|endswith: '\\explorer.exe'\n  condition: a and not f",
		"keyword":   "detection:\n  keywords:\n    - 'mimikatz'\n    - 'sekurlsa'\n  condition: keywords",
		"all-of":    "detection:\n  s1:\n    CommandLine|contains|all:\n      - 'reg'\n      - ' save '\n  s2:\n    CommandLine|contains: 'hklm\\sam'\n  condition: all of s*",
		"one-of":    "detection:\n  s1:\n    Image|endswith: '\\rundll32.exe'\n  s2:\n    ParentImage: '*\\winword.exe'\n  condition: 1 of s*",
		"regex":     "detection:\n  sel:\n    CommandLine|re: '(?i)-e(nc|ncodedcommand)? [a-z0-9+/=]{20,}'\n  condition: sel",
		"nullvalue": "detection:\n  sel:\n    Image|endswith: '\\cmd.exe'\n    ParentImage: null\n  condition: sel",
		"cased":     "detection:\n  sel:\n    CommandLine|contains|cased: 'WhoAmI'\n  condition: sel",
		"glob":      `detection:` + "\n" + `  sel:` + "\n" + `    CommandLine: '*\\system32\\*.exe*-nop*'` + "\n" + `  condition: sel`,
		"number":    "detection:\n  sel:\n    EventID: 4688\n  condition: sel",
		"wide":      "detection:\n  sel:\n    CommandLine|wide|base64offset|contains: 'ping'\n  condition: sel",
		"regex-or":  "detection:\n  sel:\n    CommandLine|re: 'whoami|mimikatz'\n  condition: sel",
		"regex-s":   "detection:\n  sel:\n    CommandLine|re: '(?i)s'\n  condition: sel",
		"regex-all": "detection:\n  sel:\n    CommandLine|re|all:\n      - '(?i)sekurlsa::'\n      - '.*'\n  condition: sel",
		"both":      "detection:\n  sel_img:\n    Image|endswith: '\\cmd.exe'\n  sel_user:\n    User|startswith: 'CORP\\'\n  condition: all of sel_*",
		"number-or": "detection:\n  sel:\n    EventID:\n      - 11\n      - 4688\n  cli:\n    CommandLine|contains: 'whoami'\n  condition: sel or cli",
	}
	var srcs []Source
	for k, body := range rules {
		srcs = append(srcs, Source{Key: k, Text: []byte("title: " + k + "\nlogsource:\n  product: windows\n" + body + "\n")})
	}
	with, err := Compile(srcs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if u := with.Unsupported(); len(u) > 0 {
		t.Fatalf("unsupported: %+v", u)
	}
	without, err := Compile(srcs, Options{noPrefilter: true})
	if err != nil {
		t.Fatal(err)
	}
	always := map[string]bool{}
	for _, r := range with.Rules() {
		always[r.Key] = r.always
	}
	// NOT and null prove nothing; a regular expression needs its longest required
	// literal where it has one, a number itself.
	for k, want := range map[string]bool{"suffix": false, "and-or": false, "not": false, "keyword": false, "all-of": false,
		"one-of": false, "regex": false, "nullvalue": false, "cased": false, "glob": false, "number": false,
		"regex-or": true, "regex-s": true, "regex-all": false, "number-or": false, "both": false} {
		if always[k] != want {
			t.Errorf("rule %s: always evaluated = %v, want %v", k, always[k], want)
		}
	}
	rng := rand.New(rand.NewSource(3))
	images := []string{`C:\Windows\System32\cmd.exe`, `C:\Windows\System32\WHOAMI.EXE`, `C:\Windows\explorer.exe`, `C:\Tools\rundll32.exe`, `C:\x\winword.exe`}
	cmds := []string{`cmd /c whoami`, `reg save hklm\sam out`, `powershell -nop -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA`,
		`x WhoAmI y`, `C:\Windows\System32\net.exe user -nop`, `mimikatz.exe sekurlsa::logonpasswords`,
		`powershell -enc cABpAG4AZwAgADEAMgA3AC4AMAAuADAALgAxAA==`, `cmd /k dir`, `ſekurlſa::x`, `SEKURLSA::Y`}
	var evs []*events.Event
	for i := 0; i < 3000; i++ {
		ev := events.New(fmt.Sprint(i), 5)
		ev.LogSource = events.LogSource{Product: "windows"}
		// Numbers as Windows writes them and as other sources might: the prefilter
		// must find 4688 in "4688.0" as the pattern does.
		ev.Set("EventID", []string{"1", "4688", "11", "4688.0", " 1", "011", "0x1"}[rng.Intn(7)])
		ev.Set("Image", images[rng.Intn(len(images))])
		if rng.Intn(4) > 0 {
			ev.Set("ParentImage", images[rng.Intn(len(images))])
		}
		ev.Set("CommandLine", cmds[rng.Intn(len(cmds))])
		ev.Set("User", []string{`CORP\alice`, `NT AUTHORITY\SYSTEM`}[rng.Intn(2)])
		evs = append(evs, ev)
	}
	a, b := matchesOf(with, evs), matchesOf(without, evs)
	if d := diffLines(a, b); d != "" {
		t.Fatalf("the prefilter changed the matches (+ with it, - without):\n%s", d)
	}
	seen := map[string]bool{}
	for _, m := range a {
		seen[strings.Fields(m)[0]] = true
	}
	if len(seen) < len(rules)-1 {
		t.Fatalf("only %d of %d rules matched some event: the events don't exercise the rules (%v)", len(seen), len(rules), seen)
	}
}

// TestPrefilterKeepsEveryMatchOnSigmaHQ does the same with every SigmaHQ rule over
// events built from the regression samples, varied and as they are.
func TestPrefilterKeepsEveryMatchOnSigmaHQ(t *testing.T) {
	with := sigmaHQ(t)
	without, err := Compile(sigmaHQSources, Options{noPrefilter: true})
	if err != nil {
		t.Fatal(err)
	}
	samples := sampleEvents(t)
	evs := append(varied(samples, 10_000), samples...)
	a, b := matchesOf(with, evs), matchesOf(without, evs)
	if d := diffLines(a, b); d != "" {
		t.Fatalf("the prefilter changed the matches (+ with it, - without):\n%s", d)
	}
	always := 0
	for _, r := range with.Rules() {
		if r.always {
			always++
		}
	}
	t.Logf("%d matches over %d events; %d of %d rules have no literal every match needs", len(a), len(evs), always, len(with.Rules()))
	if len(a) < len(samples) {
		t.Fatalf("%d matches over %d events: too few to compare", len(a), len(evs))
	}
}

// TestRegexpLiteral: the literal the prefilter requires of a regular expression.
func TestRegexpLiteral(t *testing.T) {
	for re, want := range map[string]string{
		`(?i)echo.*clip.*&&`:      "echo",
		`ipconfig\s+/all`:         "ipconfig",
		`(?i)werfaultsecure\.exe`: "ecure.exe", // "s" is not relied on under (?i): ſ
		`whoami|mimikatz`:         "",
		`(abc)+x`:                 "abc",
		`(?:abc)?def`:             "def",
		`x{0,3}yz`:                "yz",
		`x{2,3}yz`:                "xx", // xx(?:x)?yz: the first of the longest
		`\x{FFFD}abcd`:            "abcd",
		`(?i)MIMIKATZ`:            "mimikatz",
		`CamelCase[0-9]`:          "camelcase",
		`^\\Windows\\__1\d{9}`:    "\\windows\\__1",
	} {
		if got := regexpLiteral(regexp.MustCompile(re)); got != want {
			t.Errorf("%s: literal %q, want %q", re, got, want)
		}
	}
}

// TestRegexpLiteralIsRequired: over random expressions and texts from an alphabet
// with case variants that lower-casing does not unify (ſ, K), every match's
// lower-cased text contains the literal.
func TestRegexpLiteralIsRequired(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	atoms := []string{"s", "S", "ſ", "k", "K", "K", "a", "b", ".", "a*", "(s|k)", "[ab]", "b+", "(?:ab){1,2}", "\\."}
	alphabet := []string{"s", "S", "ſ", "k", "K", "K", "a", "b", ".", "x"}
	checked := 0
	for round := 0; round < 3000; round++ {
		expr := ""
		if rng.Intn(2) == 0 {
			expr = "(?i)"
		}
		for n := 1 + rng.Intn(5); n > 0; n-- {
			expr += atoms[rng.Intn(len(atoms))]
		}
		re := regexp.MustCompile(expr)
		lit := regexpLiteral(re)
		for i := 0; i < 30; i++ {
			text := ""
			for n := rng.Intn(8); n > 0; n-- {
				text += alphabet[rng.Intn(len(alphabet))]
			}
			if re.MatchString(text) {
				checked++
				if !strings.Contains(strings.ToLower(text), lit) {
					t.Fatalf("%s matches %q, whose lower case lacks the required literal %q", expr, text, lit)
				}
			}
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d matches checked", checked)
	}
}

// TestPrefilterNeedsEverySide: a rule whose condition is a conjunction is evaluated
// only for events that hold an atom of each side, not of the longer literal's side
// alone.
func TestPrefilterNeedsEverySide(t *testing.T) {
	src := "title: csi\nlogsource:\n  product: windows\ndetection:\n  selection_img:\n    - Image|endswith: '\\csi.exe'\n    - OriginalFileName: 'csi.exe'\n" +
		"  selection_cli:\n    Company: 'Microsoft Corporation'\n  condition: all of selection*\n"
	e, err := Compile([]Source{{Key: "csi", Text: []byte(src)}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.Rules()[0].needs); n != 2 {
		t.Fatalf("%d needs, want 2: %+v", n, e.Rules()[0].needs)
	}
	ls := events.LogSource{Product: "windows"}
	li := e.logIndex(ls)
	for _, tc := range []struct {
		fields map[string]string
		hit    bool
	}{
		{map[string]string{"Image": `C:\Windows\notepad.exe`, "Company": "Microsoft Corporation"}, false},
		{map[string]string{"Image": `C:\Tools\csi.exe`, "Company": "Someone"}, false},
		{map[string]string{"Image": `C:\Tools\csi.exe`, "Company": "Microsoft Corporation"}, true},
		{map[string]string{"OriginalFileName": "CSI.EXE", "Company": "MICROSOFT CORPORATION"}, true},
	} {
		ev := events.New("1", 2)
		ev.LogSource = ls
		for k, v := range tc.fields {
			ev.Set(k, v)
		}
		c := e.ctx()
		c.reset(ev)
		c.hits, c.full = c.hits[:0], li.full
		li.mark(ev, c.markHit)
		if got := len(c.hits) > 0; got != tc.hit {
			t.Errorf("%v: evaluated = %v, want %v", tc.fields, got, tc.hit)
		}
		matched := false
		e.Evaluate(ev, func(Match) { matched = true })
		if matched != tc.hit {
			t.Errorf("%v: matched = %v, want %v", tc.fields, matched, tc.hit)
		}
	}
}

// TestConcurrentEvaluation: goroutines evaluating events of several log sources at
// once, each source's index built by whichever comes first, find what one goroutine
// finds (run with -race).
func TestConcurrentEvaluation(t *testing.T) {
	var srcs []Source
	for i, cat := range []string{"process_creation", "file_event", "image_load", ""} {
		body := fmt.Sprintf("title: r%d\nlogsource:\n  product: windows\n", i)
		if cat != "" {
			body += "  category: " + cat + "\n"
		}
		body += "detection:\n  sel:\n    Image|endswith: '\\cmd.exe'\n  kw:\n    - 'whoami'\n  condition: sel or kw\n"
		srcs = append(srcs, Source{Key: fmt.Sprint("r", i), Text: []byte(body)})
	}
	e, err := Compile(srcs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var evs []*events.Event
	for i := 0; i < 400; i++ {
		ev := events.New(fmt.Sprint(i), 2)
		ev.LogSource = events.LogSource{Product: "windows", Category: []string{"process_creation", "file_event", "image_load", "registry_set"}[i%4], Inferred: true}
		ev.Set("Image", []string{`C:\x\cmd.exe`, `C:\x\notepad.exe`}[i/4%2])
		ev.Set("CommandLine", []string{"whoami /all", "dir"}[i/8%2])
		evs = append(evs, ev)
	}
	want := matchesOf(e, evs)
	if len(want) == 0 {
		t.Fatal("no matches to compare")
	}
	fresh, err := Compile(srcs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	results := make([][]string, 4)
	done := make(chan int)
	for g := range results {
		go func() {
			results[g] = matchesOf(fresh, evs)
			done <- g
		}()
	}
	for range results {
		<-done
	}
	for g, got := range results {
		if d := diffLines(got, want); d != "" {
			t.Fatalf("goroutine %d found other matches:\n%s", g, d)
		}
	}
}
