package detection

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core/events"
)

func ev(kv ...string) *events.Event {
	e := events.New("e", len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		e.Set(kv[i], kv[i+1])
	}
	return e
}

func compileOne(t *testing.T, detection string, opts Options) *Engine {
	t.Helper()
	text := "title: t\nid: 00000000-0000-4000-8000-000000000001\nlogsource: {product: windows}\ndetection:\n" + detection
	e, err := Compile([]Source{{Key: "r", Text: []byte(text)}}, opts)
	if err != nil {
		t.Fatalf("%s\n%v", detection, err)
	}
	if u := e.Unsupported(); len(u) > 0 {
		t.Fatalf("%s\nunsupported: %+v", detection, u)
	}
	return e
}

func matches(e *Engine, x *events.Event) (bool, []string) {
	var hit bool
	var searches []string
	e.Evaluate(x, func(m Match) { hit, searches = true, m.Searches })
	return hit, searches
}

// Every construct and modifier, each with events that must match and must not.
func TestConstructsAndModifiers(t *testing.T) {
	cases := []struct {
		name      string
		detection string
		match     []*events.Event
		noMatch   []*events.Event
	}{
		{"map is AND, default match is exact and case-insensitive",
			"  sel:\n    Image: 'C:\\Windows\\cmd.exe'\n    User: admin\n  condition: sel\n",
			[]*events.Event{ev("Image", `c:\windows\CMD.EXE`, "User", "Admin")},
			[]*events.Event{ev("Image", `c:\windows\cmd.exe`), ev("Image", `c:\windows\cmd.exe2`, "User", "admin")}},
		{"list of values is OR",
			"  sel:\n    Image: [a.exe, b.exe]\n  condition: sel\n",
			[]*events.Event{ev("Image", "a.exe"), ev("Image", "B.EXE")},
			[]*events.Event{ev("Image", "c.exe"), ev("Other", "a.exe")}},
		{"list of maps is OR of ANDs",
			"  sel:\n    - {a: 1, b: 2}\n    - {c: 3}\n  condition: sel\n",
			[]*events.Event{ev("a", "1", "b", "2"), ev("c", "3")},
			[]*events.Event{ev("a", "1"), ev("b", "2", "c", "4")}},
		{"keywords match inside any field",
			"  keywords:\n    - 'mimikatz'\n    - 'sekurlsa'\n  condition: keywords\n",
			[]*events.Event{ev("CommandLine", "run MimiKatz.exe"), ev("x", "a sekurlsa::logonpasswords")},
			[]*events.Event{ev("CommandLine", "notepad")}},
		{"keywords with all",
			"  kw:\n    '|all':\n      - 'foo'\n      - 'bar'\n  condition: kw\n",
			[]*events.Event{ev("a", "foo", "b", "xbarx")},
			[]*events.Event{ev("a", "foo")}},
		{"wildcards * and ?",
			// A backslash before a wildcard is written doubled: "\\*" is a backslash and "*".
			"  sel:\n    Image: '" + `C:\Users\\*\AppData\\?emp\\*.exe` + "'\n  condition: sel\n",
			[]*events.Event{ev("Image", `C:\Users\bob\AppData\Temp\x.exe`), ev("Image", `c:\users\a\b\appdata\temp\.exe`)},
			[]*events.Event{ev("Image", `C:\Users\bob\AppData\Temp\x.dll`), ev("Image", `C:\Users\bob\AppData\emp\x.exe`)}},
		{"escaped wildcards are literal",
			"  sel:\n    f: 'a\\*b\\?c'\n  condition: sel\n",
			[]*events.Event{ev("f", "a*b?c")},
			[]*events.Event{ev("f", "axxbyc"), ev("f", "a*bxc")}},
		{"null: the field is absent or empty",
			"  sel:\n    a: x\n    b: null\n  condition: sel\n",
			[]*events.Event{ev("a", "x"), ev("a", "x", "b", "")},
			[]*events.Event{ev("a", "x", "b", "y")}},
		{"empty string matches only empty",
			"  sel:\n    b: ''\n  condition: sel\n",
			[]*events.Event{ev("b", "")},
			[]*events.Event{ev("b", "y"), ev("a", "x")}},
		{"numbers match as numbers or text",
			"  sel:\n    EventID: 4688\n  condition: sel\n",
			[]*events.Event{ev("EventID", "4688"), ev("EventID", "4688.0")},
			[]*events.Event{ev("EventID", "46880"), ev("EventID", "4689")}},
		{"booleans",
			"  sel:\n    Enabled: true\n  condition: sel\n",
			[]*events.Event{ev("Enabled", "true"), ev("Enabled", "True")},
			[]*events.Event{ev("Enabled", "false")}},
		{"field names are case-insensitive",
			"  sel:\n    commandline: x\n  condition: sel\n",
			[]*events.Event{ev("CommandLine", "x")},
			[]*events.Event{ev("CommandLine2", "x")}},
		{"contains",
			"  sel:\n    CommandLine|contains: ' -enc '\n  condition: sel\n",
			[]*events.Event{ev("CommandLine", "powershell -ENC abc")},
			[]*events.Event{ev("CommandLine", "powershell -encodedcommand")}},
		{"startswith",
			"  sel:\n    Image|startswith: 'C:\\Temp\\'\n  condition: sel\n",
			[]*events.Event{ev("Image", `c:\temp\x.exe`)},
			[]*events.Event{ev("Image", `d:\c:\temp\x.exe`)}},
		{"endswith",
			"  sel:\n    Image|endswith: '\\rundll32.exe'\n  condition: sel\n",
			[]*events.Event{ev("Image", `C:\Windows\System32\RUNDLL32.EXE`)},
			[]*events.Event{ev("Image", `C:\Windows\System32\rundll32.exe.bak`)}},
		{"contains|all",
			"  sel:\n    CommandLine|contains|all: [' /c ', 'whoami']\n  condition: sel\n",
			[]*events.Event{ev("CommandLine", "cmd /c whoami /all")},
			[]*events.Event{ev("CommandLine", "cmd /c dir"), ev("CommandLine", "whoami")}},
		{"re (case-sensitive by default)",
			"  sel:\n    CommandLine|re: '^cmd\\.exe /[cC] .*del'\n  condition: sel\n",
			[]*events.Event{ev("CommandLine", "cmd.exe /C del x")},
			[]*events.Event{ev("CommandLine", "CMD.EXE /c del x"), ev("CommandLine", "x cmd.exe /c del")}},
		{"re|i",
			"  sel:\n    CommandLine|re|i: '^cmd\\.exe'\n  condition: sel\n",
			[]*events.Event{ev("CommandLine", "CMD.EXE /c")},
			[]*events.Event{ev("CommandLine", "xcmd.exe")}},
		{"re|m",
			"  sel:\n    f|re|m: '^second$'\n  condition: sel\n",
			[]*events.Event{ev("f", "first\nsecond\nthird")},
			[]*events.Event{ev("f", "first second")}},
		{"re|s",
			"  sel:\n    f|re|s: 'a.b'\n  condition: sel\n",
			[]*events.Event{ev("f", "a\nb")},
			[]*events.Event{ev("f", "ab")}},
		{"cidr",
			"  sel:\n    DestinationIp|cidr: ['10.0.0.0/8', 'fd00::/8']\n  condition: sel\n",
			[]*events.Event{ev("DestinationIp", "10.1.2.3"), ev("DestinationIp", "fd12::1"), ev("DestinationIp", "::ffff:10.0.0.1")},
			[]*events.Event{ev("DestinationIp", "11.0.0.1"), ev("DestinationIp", "not an ip"), ev("Other", "10.0.0.1")}},
		{"base64",
			"  sel:\n    f|base64: 'http://'\n  condition: sel\n",
			[]*events.Event{ev("f", "aHR0cDovLw==")},
			[]*events.Event{ev("f", "xaHR0cDovLw==")}},
		{"base64offset|contains: every offset",
			"  sel:\n    CommandLine|base64offset|contains: 'http://'\n  condition: sel\n",
			// "http://x", " http://x", "  http://x" base64-encoded.
			[]*events.Event{ev("CommandLine", "-e aHR0cDovL3g="), ev("CommandLine", "IGh0dHA6Ly94"), ev("CommandLine", "ICBodHRwOi8veA==")},
			[]*events.Event{ev("CommandLine", "aHR0cHM6Ly94")}},
		{"utf16le / wide with base64offset",
			"  sel:\n    CommandLine|wide|base64offset|contains: 'ping'\n  condition: sel\n",
			// "ping x" in UTF-16LE, base64-encoded (as powershell -enc carries it).
			[]*events.Event{ev("CommandLine", "powershell -enc cABpAG4AZwAgAHgA")},
			[]*events.Event{ev("CommandLine", "powershell -enc cGluZyB4")}},
		{"utf16le alias",
			"  sel:\n    f|utf16le|base64: 'ab'\n  condition: sel\n",
			[]*events.Event{ev("f", "YQBiAA==")},
			[]*events.Event{ev("f", "YWI=")}},
		{"utf16be",
			"  sel:\n    f|utf16be|base64: 'ab'\n  condition: sel\n",
			[]*events.Event{ev("f", "AGEAYg==")},
			[]*events.Event{ev("f", "YQBiAA==")}},
		{"utf16 (with byte order mark)",
			"  sel:\n    f|utf16|base64: 'ab'\n  condition: sel\n",
			[]*events.Event{ev("f", "//5hAGIA")},
			[]*events.Event{ev("f", "YQBiAA==")}},
		{"windash",
			"  sel:\n    CommandLine|windash|contains: ' -exec bypass'\n  condition: sel\n",
			[]*events.Event{ev("CommandLine", "ps -exec bypass"), ev("CommandLine", "ps /exec bypass"), ev("CommandLine", "ps \u2013exec bypass"),
				ev("CommandLine", "ps \u2014exec bypass"), ev("CommandLine", "ps \u2015exec bypass")},
			[]*events.Event{ev("CommandLine", "ps +exec bypass"), ev("CommandLine", "ps exec bypass")}},
		{"exists: true",
			"  sel:\n    a|exists: true\n  condition: sel\n",
			[]*events.Event{ev("a", ""), ev("a", "x")},
			[]*events.Event{ev("b", "x")}},
		{"exists: false",
			"  sel:\n    a|exists: false\n  condition: sel\n",
			[]*events.Event{ev("b", "x")},
			[]*events.Event{ev("a", "x")}},
		{"cased",
			"  sel:\n    f|cased: 'Evil'\n  condition: sel\n",
			[]*events.Event{ev("f", "Evil")},
			[]*events.Event{ev("f", "evil"), ev("f", "EVIL")}},
		{"cased|contains",
			"  sel:\n    f|cased|contains: 'Evil'\n  condition: sel\n",
			[]*events.Event{ev("f", "xEvilx")},
			[]*events.Event{ev("f", "xevilx")}},
		{"gt", "  sel:\n    n|gt: 10\n  condition: sel\n",
			[]*events.Event{ev("n", "11"), ev("n", "10.5")}, []*events.Event{ev("n", "10"), ev("n", "x"), ev("m", "20")}},
		{"gte", "  sel:\n    n|gte: 10\n  condition: sel\n",
			[]*events.Event{ev("n", "10"), ev("n", "11")}, []*events.Event{ev("n", "9")}},
		{"lt", "  sel:\n    n|lt: 10\n  condition: sel\n",
			[]*events.Event{ev("n", "9"), ev("n", "-1")}, []*events.Event{ev("n", "10")}},
		{"lte", "  sel:\n    n|lte: 10\n  condition: sel\n",
			[]*events.Event{ev("n", "10")}, []*events.Event{ev("n", "10.1")}},
		{"fieldref",
			"  sel:\n    SourceUser|fieldref: TargetUser\n  condition: sel\n",
			[]*events.Event{ev("SourceUser", "bob", "TargetUser", "BOB")},
			[]*events.Event{ev("SourceUser", "bob", "TargetUser", "alice"), ev("SourceUser", "bob")}},
		{"fieldref|endswith",
			"  sel:\n    Image|fieldref|endswith: OriginalFileName\n  condition: sel\n",
			[]*events.Event{ev("Image", `C:\x\cmd.exe`, "OriginalFileName", "Cmd.Exe")},
			[]*events.Event{ev("Image", `C:\x\renamed.exe`, "OriginalFileName", "cmd.exe")}},
		{"expand with placeholders",
			"  sel:\n    Image|expand: '%programs%\\evil.exe'\n  condition: sel\n",
			[]*events.Event{ev("Image", `C:\Program Files\evil.exe`), ev("Image", `C:\Program Files (x86)\evil.exe`)},
			[]*events.Event{ev("Image", `C:\Temp\evil.exe`)}},
		{"and / or / not / parentheses",
			"  a:\n    x: 1\n  b:\n    y: 1\n  c:\n    z: 1\n  condition: a and not (b or c)\n",
			[]*events.Event{ev("x", "1")},
			[]*events.Event{ev("x", "1", "y", "1"), ev("x", "1", "z", "1"), ev("y", "1")}},
		{"not binds tighter than and, and than or",
			"  a:\n    x: 1\n  b:\n    y: 1\n  c:\n    z: 1\n  condition: not a and b or c\n",
			[]*events.Event{ev("y", "1"), ev("z", "1"), ev("x", "1", "z", "1")},
			[]*events.Event{ev("x", "1", "y", "1"), ev("w", "1")}},
		{"1 of pattern",
			"  sel_a:\n    x: 1\n  sel_b:\n    y: 1\n  other:\n    z: 1\n  condition: 1 of sel_*\n",
			[]*events.Event{ev("x", "1"), ev("y", "1")},
			[]*events.Event{ev("z", "1")}},
		{"all of pattern",
			"  sel_a:\n    x: 1\n  sel_b:\n    y: 1\n  condition: all of sel_*\n",
			[]*events.Event{ev("x", "1", "y", "1")},
			[]*events.Event{ev("x", "1"), ev("y", "1")}},
		{"1 of them",
			"  a:\n    x: 1\n  b:\n    y: 1\n  condition: 1 of them\n",
			[]*events.Event{ev("x", "1"), ev("y", "1")},
			[]*events.Event{ev("z", "1")}},
		{"all of them (leaving out _ searches)",
			"  a:\n    x: 1\n  b:\n    y: 1\n  _c:\n    z: 1\n  condition: all of them\n",
			[]*events.Event{ev("x", "1", "y", "1")},
			[]*events.Event{ev("x", "1")}},
		{"not 1 of filter_*",
			"  sel:\n    x: 1\n  filter_a:\n    y: 1\n  filter_b:\n    z: 1\n  condition: sel and not 1 of filter_*\n",
			[]*events.Event{ev("x", "1")},
			[]*events.Event{ev("x", "1", "z", "1"), ev("x", "1", "y", "1")}},
		{"list of conditions is OR",
			"  a:\n    x: 1\n  b:\n    y: 1\n  condition:\n    - a\n    - b\n",
			[]*events.Event{ev("x", "1"), ev("y", "1")},
			[]*events.Event{ev("z", "1")}},
	}
	opts := Options{Placeholders: map[string][]string{"programs": {`C:\Program Files`, `C:\Program Files (x86)`}}}
	for _, c := range cases {
		e := compileOne(t, c.detection, opts)
		for i, x := range c.match {
			if ok, _ := matches(e, x); !ok {
				t.Errorf("%s: event %d %v must match", c.name, i, x.Map())
			}
		}
		for i, x := range c.noMatch {
			if ok, _ := matches(e, x); ok {
				t.Errorf("%s: event %d %v must not match", c.name, i, x.Map())
			}
		}
	}
}

func TestMatchedSearchesAreReported(t *testing.T) {
	e := compileOne(t, "  sel_img:\n    Image|endswith: x.exe\n  sel_cli:\n    CommandLine|contains: evil\n  filter:\n    User: system\n  condition: 1 of sel_* and not filter\n", Options{})
	ok, searches := matches(e, ev("Image", "a\\x.exe", "CommandLine", "good"))
	if !ok || !reflect.DeepEqual(searches, []string{"sel_img"}) {
		t.Fatalf("%v %v", ok, searches)
	}
	ok, searches = matches(e, ev("Image", "a\\x.exe", "CommandLine", "evil"))
	if !ok || !reflect.DeepEqual(searches, []string{"sel_img", "sel_cli"}) {
		t.Fatalf("%v %v", ok, searches)
	}
}

func TestUnsupportedIsReportedPerRule(t *testing.T) {
	srcs := []Source{
		{Key: "ok", Text: []byte("title: ok\nlogsource: {product: windows}\ndetection:\n  s: {a: 1}\n  condition: s\n")},
		{Key: "corr", Text: []byte("title: c\ncorrelation: {type: event_count, rules: [ok], timespan: 5m, group-by: [a], condition: {gte: 3}}\n")},
		{Key: "agg", Text: []byte("title: g\nlogsource: {product: windows}\ndetection:\n  s: {a: 1}\n  condition: s | count() by b > 3\n")},
		{Key: "pcre", Text: []byte("title: p\nlogsource: {product: windows}\ndetection:\n  s:\n    a|re: '(?<=x)y'\n  condition: s\n")},
		{Key: "expand", Text: []byte("title: x\nlogsource: {product: windows}\ndetection:\n  s:\n    a|expand: '%nope%'\n  condition: s\n")},
		{Key: "invalid", File: "bad.yml", Text: []byte("title: b\nlogsource: {product: windows}\ndetection:\n  s:\n    a|nomod: 1\n  condition: s\n")},
	}
	e, err := Compile(srcs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Rules()) != 1 || e.Rules()[0].Key != "ok" {
		t.Fatalf("compiled %d rules", len(e.Rules()))
	}
	reasons := map[string]string{}
	for _, u := range e.Unsupported() {
		reasons[u.Key] = u.Reason
	}
	want := map[string]string{"corr": "correlation", "agg": "aggregation", "pcre": "RE2", "expand": "%nope%", "invalid": "bad.yml:5"}
	for k, w := range want {
		if !strings.Contains(reasons[k], w) {
			t.Errorf("%s: reason %q does not mention %q", k, reasons[k], w)
		}
	}
	if len(reasons) != len(want) {
		t.Errorf("unsupported: %v", reasons)
	}
}

func TestLogSourceIndex(t *testing.T) {
	srcs := []Source{
		{Key: "proc", Text: []byte("title: p\nlogsource: {product: windows, category: process_creation}\ndetection:\n  s: {Image: x}\n  condition: s\n")},
		{Key: "sec", Text: []byte("title: s\nlogsource: {product: windows, service: security}\ndetection:\n  s: {Image: x}\n  condition: s\n")},
		{Key: "reg", Text: []byte("title: r\nlogsource: {product: windows, category: registry_event}\ndetection:\n  s: {Image: x}\n  condition: s\n")},
		{Key: "linux", Text: []byte("title: l\nlogsource: {product: linux}\ndetection:\n  s: {Image: x}\n  condition: s\n")},
		{Key: "any", Text: []byte("title: a\nlogsource: {product: windows}\ndetection:\n  s: {Image: x}\n  condition: s\n")},
	}
	e, err := Compile(srcs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	hits := func(ls events.LogSource) []string {
		x := ev("Image", "x")
		x.LogSource = ls
		var keys []string
		e.Evaluate(x, func(m Match) { keys = append(keys, m.Rule.Key) })
		return keys
	}
	cases := []struct {
		ls   events.LogSource
		want []string
	}{
		{events.LogSource{Product: "windows", Category: "process_creation", Service: "sysmon", Inferred: true}, []string{"proc", "any"}},
		{events.LogSource{Product: "windows", Category: "registry_set", Service: "sysmon", Inferred: true}, []string{"reg", "any"}},
		{events.LogSource{Product: "windows", Service: "security", Inferred: true}, []string{"sec", "any"}},
		{events.LogSource{Product: "linux", Inferred: true}, []string{"linux"}},
		// Unknown log source: every rule is tried.
		{events.LogSource{}, []string{"proc", "sec", "reg", "linux", "any"}},
	}
	for _, c := range cases {
		if got := hits(c.ls); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%+v: %v, want %v", c.ls, got, c.want)
		}
	}
}
