package detection

import (
	"testing"

	"github.com/aegis-sec/aegis/core/events"
)

// FuzzCompile feeds arbitrary rule text and event JSON to the compiler and the engine.
// Rules come from outside (imported rule sets, in-house repositories) and events from
// evidence, so compiling and evaluating must answer every input without a panic or a
// hang. It is also a differential test: the literal prefilter may only skip rules that
// cannot match, so the engine with it finds exactly the matches of the engine without.
func FuzzCompile(f *testing.F) {
	for _, r := range []string{
		"detection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel",
		"detection:\n  a:\n    Image|endswith: '\\cmd.exe'\n  b:\n    CommandLine|contains:\n      - ' /c '\n      - ' /k '\n  condition: a and not b",
		"detection:\n  keywords:\n    - 'mimikatz'\n    - 'sek*rlsa'\n  condition: keywords",
		"detection:\n  s1:\n    CommandLine|contains|all:\n      - 'reg'\n      - ' save '\n  s2:\n    CommandLine|re: '(?i)hklm\\\\s[a]m'\n  condition: all of s*",
		"detection:\n  s1:\n    CommandLine|wide|base64offset|contains: 'ping'\n  s2:\n    EventID:\n      - 1\n      - 4688\n  condition: 1 of them",
		"detection:\n  sel:\n    SourceIp|cidr: '10.0.0.0/8'\n    DestinationPort|gte: 1024\n    User|exists: true\n  condition: sel",
		"detection:\n  sel:\n    ParentImage|fieldref: Image\n    CommandLine|windash|contains: '-enc'\n  condition: sel",
	} {
		f.Add([]byte("title: seed\nlogsource:\n  product: windows\n"+r+"\n"),
			[]byte(`[{"EventID":4688,"Image":"C:\\Windows\\System32\\cmd.exe","ParentImage":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd /c reg save HKLM\\SAM out -enc cABpAG4AZwA= mimikatz","User":"CORP\\alice","SourceIp":"10.1.2.3","DestinationPort":"4444"}]`))
	}
	f.Fuzz(func(t *testing.T, rule, data []byte) {
		srcs := []Source{{Key: "fuzz", Text: rule}}
		with, err := Compile(srcs, Options{})
		if err != nil && len(with.Unsupported()) == 0 {
			t.Fatalf("compile failed (%v) without saying which rule and why", err)
		}
		for _, u := range with.Unsupported() {
			if u.Reason == "" {
				t.Fatalf("unsupported rule %q without a reason", u.Key)
			}
		}
		without, _ := Compile(srcs, Options{noPrefilter: true})
		if len(with.Rules()) != len(without.Rules()) {
			t.Fatalf("%d rules compiled with the prefilter, %d without", len(with.Rules()), len(without.Rules()))
		}
		var evs []*events.Event
		opts := events.Options{Format: events.FormatAuto, MaxEvents: 64}
		if err := events.Read("fuzz.json", data, opts, func(e *events.Event) error { evs = append(evs, e); return nil }); err != nil {
			return
		}
		if d := diffLines(matchesOf(with, evs), matchesOf(without, evs)); d != "" {
			t.Fatalf("the prefilter changed the matches (+ with it, - without):\n%s", d)
		}
	})
}

// An empty rule file (found by FuzzCompile: it panicked Compile) is named among the
// unsupported, and the other files still compile.
func TestEmptyRuleFileIsNamed(t *testing.T) {
	e, err := Compile([]Source{{Key: "empty", File: "rules/empty.yml", Text: []byte("# nothing yet\n")},
		{Key: "ok", Text: []byte("title: t\nlogsource: {product: windows}\ndetection:\n  sel: {EventID: 1}\n  condition: sel\n")}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Rules()) != 1 || len(e.Unsupported()) != 1 || e.Unsupported()[0].Key != "empty" ||
		e.Unsupported()[0].Reason != "no Sigma rule in rules/empty.yml" {
		t.Fatalf("rules %d, unsupported %+v", len(e.Rules()), e.Unsupported())
	}
	if _, err := Compile([]Source{{Key: "empty", Text: []byte(" ")}}, Options{}); err == nil {
		t.Fatal("compiling only an empty file succeeded")
	}
}
