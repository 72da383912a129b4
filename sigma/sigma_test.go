package sigma

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const ruleText = `title: Suspicious Thing
id: 5F1A3B2C-0000-4000-8000-000000000001
status: test
level: high
description: a test rule
author: A, B
date: 2024-01-02
tags:
    - attack.execution
    - attack.t1059.001
references: https://example.org/x
logsource:
    product: windows
    category: process_creation
detection:
    selection_img:
        - Image|endswith: '\cmd.exe'
        - OriginalFileName: 'Cmd.Exe'
    selection_cli:
        CommandLine|contains|all:
            - ' /c '
            - 'whoami'
        ParentImage: null
    keywords:
        - 'evil*'
        - 42
    _helper:
        User|re|i: '^admin'
    condition: all of selection_* and not 1 of keywords or _helper
falsepositives:
    - admins
`

func TestParseRuleAST(t *testing.T) {
	r, err := ParseRule("rules/x.yml", []byte(ruleText))
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "5f1a3b2c-0000-4000-8000-000000000001" || r.Title != "Suspicious Thing" || r.Level != "high" || r.Kind != KindDetection {
		t.Fatalf("metadata: %+v", r)
	}
	if r.Author != "A, B" || len(r.Tags) != 2 || r.References[0] != "https://example.org/x" || r.FalsePositives[0] != "admins" {
		t.Fatalf("lists: %+v", r)
	}
	if r.LogSource.Product != "windows" || r.LogSource.Category != "process_creation" || r.LogSource.Line != 13 {
		t.Fatalf("logsource %+v", r.LogSource)
	}
	d := r.Detection
	names := []string{}
	for _, s := range d.Searches {
		names = append(names, s.Name)
	}
	if !reflect.DeepEqual(names, []string{"selection_img", "selection_cli", "keywords", "_helper"}) {
		t.Fatalf("searches %v", names)
	}
	img := d.Search("selection_img")
	if len(img.Groups) != 2 || img.Groups[0].Items[0].Field != "Image" || img.Groups[0].Items[0].Modifiers[0] != ModEndsWith {
		t.Fatalf("list of maps: %+v", img.Groups[0].Items[0])
	}
	if got := img.Groups[0].Items[0].Values[0]; got.Text() != `\cmd.exe` || got.HasWildcards() || got.Line != 17 {
		t.Fatalf("value %+v", got)
	}
	cli := d.Search("selection_cli")
	if len(cli.Groups) != 1 || len(cli.Groups[0].Items) != 2 {
		t.Fatalf("map search: %+v", cli.Groups)
	}
	it := cli.Groups[0].Items[0]
	if !it.Has(ModContains) || !it.Has(ModAll) || len(it.Values) != 2 || it.Line != 20 {
		t.Fatalf("item %+v", it)
	}
	if v := cli.Groups[0].Items[1].Values[0]; v.Kind != NullValue {
		t.Fatalf("null value %+v", v)
	}
	kw := d.Search("keywords")
	if len(kw.Groups) != 1 || !kw.Groups[0].Items[0].Keyword() || len(kw.Groups[0].Items[0].Values) != 2 {
		t.Fatalf("keywords %+v", kw.Groups)
	}
	if v := kw.Groups[0].Items[0].Values[1]; v.Kind != NumberValue || v.Number != 42 {
		t.Fatalf("number %+v", v)
	}
	if v := kw.Groups[0].Items[0].Values[0]; !v.HasWildcards() || v.Parts[1].Kind != AnyString {
		t.Fatalf("wildcard %+v", v)
	}
	if len(d.Conditions) != 1 {
		t.Fatal(d.Conditions)
	}
	// "them" and patterns are resolved; not binds tighter than and, and than or.
	want := "((all of selection_* and not 1 of keywords) or _helper)"
	if got := d.Conditions[0].Expr.String(); got != want {
		t.Fatalf("condition %s, want %s", got, want)
	}
	of := d.Conditions[0].Expr.(*OrExpr).Terms[0].(*AndExpr).Terms[0].(*OfExpr)
	if !of.All || !reflect.DeepEqual(of.Names, []string{"selection_img", "selection_cli"}) {
		t.Fatalf("of %+v", of)
	}
}

func TestConditionGrammar(t *testing.T) {
	det := `detection:
    a: {x: 1}
    b: {x: 2}
    c: {x: 3}
    _d: {x: 4}
    condition: COND
`
	cases := map[string]string{
		"a":                            "a",
		"a and b or c":                 "((a and b) or c)",
		"a or b and c":                 "(a or (b and c))",
		"not a and b":                  "(not a and b)",
		"not (a and b)":                "not (a and b)",
		"a and (b or c)":               "(a and (b or c))",
		"1 of them":                    "1 of them",
		"all of them and not _d":       "(all of them and not _d)",
		"a AND NOT b":                  "(a and not b)",
		"not not a":                    "not not a",
		"((a))":                        "a",
		"a or b or c":                  "(a or b or c)",
		"1 of a* | count() by x > 5":   "1 of a*",
		"all of [ab] ":                 "",
		"a and":                        "",
		"(a or b":                      "",
		"a b":                          "",
		"unknown":                      "",
		"1 of z*":                      "",
		"them":                         "",
		"a*":                           "",
		"2 of them":                    "",
		"a | ":                         "",
		"a && b":                       "",
		"all of them or 1 of _d":       "(all of them or 1 of _d)",
		"not 1 of them and all of _*":  "(not 1 of them and all of _*)",
		"(a and b) or (not c and _d)":  "((a and b) or (not c and _d))",
		"a or (b and (c or not _d))":   "(a or (b and (c or not _d)))",
		"1 of them and (a or not (b))": "(1 of them and (a or not b))",
	}
	for cond, want := range cases {
		text := "title: t\nlogsource: {product: p}\n" + strings.Replace(det, "COND", "'"+cond+"'", 1)
		r, err := ParseRule("c.yml", []byte(text))
		if want == "" {
			var se *Error
			if err == nil || !errors.As(err, &se) || se.Field != "detection.condition" || se.Line != 8 {
				t.Errorf("%q: want a condition error at line 8, got %v", cond, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", cond, err)
			continue
		}
		if got := r.Detection.Conditions[0].Expr.String(); got != want {
			t.Errorf("%q parsed as %s, want %s", cond, got, want)
		}
	}
	r, err := ParseRule("c.yml", []byte("title: t\nlogsource: {product: p}\n"+strings.Replace(det, "COND", "'1 of them | count() by x > 5'", 1)))
	if err != nil || r.Detection.Conditions[0].Aggregation != "count() by x > 5" {
		t.Fatalf("aggregation kept: %v %+v", err, r)
	}
	if got := r.Detection.Conditions[0].Expr.(*OfExpr).Names; !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Fatalf("them leaves out _d: %v", got)
	}
}

func TestParsePattern(t *testing.T) {
	lit := func(s string) Part { return Part{Kind: Literal, Text: s} }
	star, q := Part{Kind: AnyString}, Part{Kind: AnyChar}
	cases := map[string][]Part{
		`abc`:            {lit("abc")},
		`a*c`:            {lit("a"), star, lit("c")},
		`a?c`:            {lit("a"), q, lit("c")},
		`a\*c`:           {lit("a*c")},
		`a\?c`:           {lit("a?c")},
		`C:\Windows\`:    {lit(`C:\Windows\`)},
		`a\\*`:           {lit(`a\`), star},
		`a\\\*`:          {lit(`a\*`)},
		`\\server\share`: {lit(`\server\share`)},
		`*`:              {star},
		``:               nil,
	}
	for in, want := range cases {
		if got := ParsePattern(in); !reflect.DeepEqual(got, want) {
			t.Errorf("ParsePattern(%q) = %+v, want %+v", in, got, want)
		}
	}
}

func TestErrorsNameFileLineField(t *testing.T) {
	cases := []struct {
		name, text, field string
		line              int
		msg               string
	}{
		{"unknown modifier", "title: t\nlogsource: {product: p}\ndetection:\n  sel:\n    Image|endswit: x\n  condition: sel\n", "detection.sel.Image|endswit", 5, "unknown modifier"},
		{"no condition", "title: t\nlogsource: {product: p}\ndetection:\n  sel:\n    Image: x\n", "detection.condition", 4, "required"},
		{"duplicate key", "title: t\nlogsource: {product: p}\ndetection:\n  sel:\n    Image: x\n    Image: y\n  condition: sel\n", "detection.sel.Image", 6, "twice"},
		{"mapping value", "title: t\nlogsource: {product: p}\ndetection:\n  sel:\n    Image: {a: b}\n  condition: sel\n", "detection.sel.Image", 5, "mapping"},
		{"bad cidr", "title: t\nlogsource: {product: p}\ndetection:\n  sel:\n    Ip|cidr: 10.0.0.0/33\n  condition: sel\n", "detection.sel.Ip|cidr", 5, "CIDR"},
		{"gt needs number", "title: t\nlogsource: {product: p}\ndetection:\n  sel:\n    n|gt: abc\n  condition: sel\n", "detection.sel.n|gt", 5, "not a number"},
		{"exists needs bool", "title: t\nlogsource: {product: p}\ndetection:\n  sel:\n    n|exists: yes please\n  condition: sel\n", "detection.sel.n|exists", 5, "true or false"},
		{"re with contains", "title: t\nlogsource: {product: p}\ndetection:\n  sel:\n    n|re|contains: a\n  condition: sel\n", "detection.sel.n|re|contains", 5, "cannot be combined"},
		{"flag without re", "title: t\nlogsource: {product: p}\ndetection:\n  sel:\n    n|i: a\n  condition: sel\n", "detection.sel.n|i", 5, "needs it"},
		{"two positions", "title: t\nlogsource: {product: p}\ndetection:\n  sel:\n    n|contains|endswith: a\n  condition: sel\n", "detection.sel.n|contains|endswith", 5, "exclude"},
		{"base64offset alone", "title: t\nlogsource: {product: p}\ndetection:\n  sel:\n    n|base64offset: a\n  condition: sel\n", "detection.sel.n|base64offset", 5, "needs contains"},
		{"base64 wildcard", "title: t\nlogsource: {product: p}\ndetection:\n  sel:\n    n|base64: a*\n  condition: sel\n", "detection.sel.n|base64", 5, "wildcards"},
		{"empty list", "title: t\nlogsource: {product: p}\ndetection:\n  sel:\n    n: []\n  condition: sel\n", "detection.sel.n", 5, "empty list"},
		{"no logsource", "title: t\ndetection:\n  sel: x\n  condition: sel\n", "logsource", 1, "required"},
		{"no title", "logsource: {product: p}\ndetection:\n  sel: x\n  condition: sel\n", "title", 1, "required"},
		{"nested list", "title: t\nlogsource: {product: p}\ndetection:\n  sel:\n    - [a, b]\n  condition: sel\n", "detection.sel", 5, "not lists"},
		{"bad correlation type", "title: t\ncorrelation:\n  type: event_sum\n  rules: [a]\n  timespan: 5m\n", "correlation.type", 3, "not a correlation type"},
		{"bad timespan", "title: t\ncorrelation:\n  type: temporal\n  rules: [a]\n  timespan: 5 minutes\n", "correlation.timespan", 5, "not a timespan"},
		{"invalid yaml", "title: t\nlogsource: [product: p\n  ]]\n", "", 2, "invalid YAML"},
	}
	for _, c := range cases {
		_, err := ParseRule("dir/rule.yml", []byte(c.text))
		var e *Error
		if errors.As(err, &e) {
		} else if es, ok := err.(Errors); ok && len(es) == 1 {
			e = es[0]
		}
		if e == nil {
			t.Errorf("%s: want an error, got %v", c.name, err)
			continue
		}
		if e.File != "dir/rule.yml" || e.Field != c.field || e.Line != c.line || !strings.Contains(e.Msg, c.msg) {
			t.Errorf("%s: got %q (field %q line %d), want field %q line %d containing %q", c.name, e.Error(), e.Field, e.Line, c.field, c.line, c.msg)
		}
		if !strings.HasPrefix(e.Error(), "dir/rule.yml:") {
			t.Errorf("%s: message does not start with the file: %s", c.name, e.Error())
		}
	}
}

func TestCorrelationAndFilterRecognised(t *testing.T) {
	text := `title: Many failed logons
id: 0e95725d-7320-415d-80f7-004da920fc11
name: many_failed
correlation:
    type: event_count
    rules:
        - failed_logon
    group-by:
        - TargetUserName
    timespan: 10m
    condition:
        gte: 10
    generate: true
---
title: Not the backup host
logsource:
    product: windows
filter:
    rules: [a, b]
    selection:
        ComputerName: BACKUP01
    condition: not selection
`
	rules, err := ParseFile("c.yml", []byte(text))
	if err != nil || len(rules) != 2 {
		t.Fatalf("%v %d", err, len(rules))
	}
	c := rules[0]
	if c.Kind != KindCorrelation || c.Correlation.Type != "event_count" || c.Correlation.Timespan != 10*time.Minute ||
		c.Correlation.Condition.Op != "gte" || c.Correlation.Condition.Value != 10 || !c.Correlation.Generate ||
		c.Correlation.GroupBy[0] != "TargetUserName" || c.Name != "many_failed" || c.Detection != nil {
		t.Fatalf("correlation %+v %+v", c, c.Correlation)
	}
	f := rules[1]
	if f.Kind != KindFilter || !reflect.DeepEqual(f.Filter.Rules, []string{"a", "b"}) || f.Detection.Search("selection") == nil ||
		f.Detection.Conditions[0].Expr.String() != "not selection" {
		t.Fatalf("filter %+v", f)
	}
}

func TestLegacyCollections(t *testing.T) {
	text := `action: global
title: Shared
logsource:
    product: windows
detection:
    condition: sel
---
id: 11111111-1111-4111-8111-111111111111
detection:
    sel:
        EventID: 1
---
action: repeat
id: 22222222-2222-4222-8222-222222222222
detection:
    sel:
        EventID: 2
---
title: broken
---
action: reset
---
title: Own
logsource: {product: linux}
detection:
    sel: x
    condition: sel
`
	rules, err := ParseFile("coll.yml", []byte(text))
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Line != 6 || es[0].Field != "detection.condition" {
		t.Fatalf("want one error for the broken document (its merged condition, line 6), got %v", err)
	}
	if len(rules) != 3 {
		t.Fatalf("%d rules", len(rules))
	}
	if rules[0].Title != "Shared" || rules[0].Detection.Search("sel").Groups[0].Items[0].Values[0].Raw != "1" {
		t.Fatalf("global merge %+v", rules[0])
	}
	if rules[1].ID != "22222222-2222-4222-8222-222222222222" || rules[1].Detection.Search("sel").Groups[0].Items[0].Values[0].Raw != "2" {
		t.Fatalf("repeat %+v", rules[1])
	}
	if rules[2].Title != "Own" || rules[2].LogSource.Product != "linux" {
		t.Fatalf("reset %+v", rules[2])
	}
}

func texts(vals []Value) []string {
	var out []string
	for _, v := range vals {
		out = append(out, v.Text())
	}
	return out
}

func item(t *testing.T, key, value string) *Item {
	t.Helper()
	r, err := ParseRule("m.yml", []byte("title: t\nlogsource: {product: p}\ndetection:\n  sel:\n    '"+key+"': "+value+"\n  condition: sel\n"))
	if err != nil {
		t.Fatal(err)
	}
	return r.Detection.Searches[0].Groups[0].Items[0]
}

func TestMatchValues(t *testing.T) {
	cases := []struct {
		key, value string
		want       []string
	}{
		{"f|contains", "abc", []string{"*abc*"}},
		{"f|contains", "'*abc'", []string{"*abc*"}},
		{"f|startswith", "abc", []string{"abc*"}},
		{"f|endswith", "abc", []string{"*abc"}},
		{"f", "abc", []string{"abc"}},
		{"f|contains", "42", []string{"*42*"}},
		// The specification's example.
		{"f|base64offset|contains", "'http://'", []string{"*aHR0cDovL*", "*h0dHA6Ly*", "*odHRwOi8v*"}},
		{"f|base64", "'http://'", []string{"aHR0cDovLw=="}},
		{"f|wide|base64", "ping", []string{"cABpAG4AZwA="}},
		{"f|utf16be|base64", "ab", []string{"AGEAYg=="}},
		{"f|utf16|base64", "ab", []string{"//5hAGIA"}},
		{"f|windash|contains", "' -f '", []string{"* -f *", "* /f *", "* \u2013f *", "* \u2014f *", "* \u2015f *"}},
		{"f|windash", "'a-b'", []string{"a-b"}},
		{"f|expand", "'%dirs%\\x.exe'", []string{`C:\x.exe`, `D:\x.exe`}},
		{"f|re", "'^a.*b$'", []string{"^a.*b$"}},
	}
	ph := map[string][]string{"dirs": {`C:`, `D:`}}
	for _, c := range cases {
		got, err := item(t, c.key, c.value).MatchValues(ph)
		if err != nil {
			t.Errorf("%s: %v", c.key, err)
			continue
		}
		var gotText []string
		for _, v := range got {
			if v.Kind == StringValue && (len(v.Parts) == 0 || v.Raw == c.value) {
				gotText = append(gotText, v.Text())
			} else {
				gotText = append(gotText, v.Text())
			}
		}
		if c.key == "f|re" {
			gotText = []string{got[0].Raw}
		}
		if !reflect.DeepEqual(gotText, c.want) {
			t.Errorf("%s: %q gives %q, want %q", c.key, c.value, gotText, c.want)
		}
	}
	var pe *PlaceholderError
	if _, err := item(t, "f|expand", "'%nope%'").MatchValues(nil); !errors.As(err, &pe) || pe.Name != "nope" {
		t.Fatalf("missing placeholder: %v", err)
	}
	// Wildcards survive utf16: they stay wildcards around encoded text.
	vals, _ := item(t, "f|wide|contains", "ab").MatchValues(nil)
	if vals[0].Parts[1].Text != "a\x00b\x00" || vals[0].Parts[0].Kind != AnyString {
		t.Fatalf("wide: %+v", vals[0].Parts)
	}
}

// TestEverySigmaHQRuleParses reads the whole SigmaHQ rules/ tree: every rule there is
// valid Sigma, so every one must parse.
func TestEverySigmaHQRuleParses(t *testing.T) {
	dir := upstream(t, "sigma/rules")
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yml") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rules, err := ParseFile(p, data)
		if err != nil {
			t.Errorf("%v", err)
		}
		for _, r := range rules {
			if r.Kind == KindDetection && (len(r.Detection.Conditions) == 0 || len(r.Detection.Searches) == 0) {
				t.Errorf("%s: rule without searches or condition", p)
			}
		}
		n += len(rules)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 3000 {
		t.Fatalf("only %d rules under %s", n, dir)
	}
}

func upstream(t *testing.T, rel string) string {
	t.Helper()
	root := os.Getenv("AEGIS_UPSTREAM_DIR")
	if root == "" {
		root = "../../shared/upstream"
	}
	dir := filepath.Join(root, rel)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("upstream data not found at %s (set AEGIS_UPSTREAM_DIR)", dir)
	}
	return dir
}
