package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/aegis-sec/aegis/sdk/sdktest"
)

// FuzzParseFile feeds arbitrary YAML to the rule parser: it must never
// panic, every rule it returns must pass Validate and encode to JSON, and
// the same input must give the same output.
func FuzzParseFile(f *testing.F) {
	sdktest.SeedFiles(f, "testdata/*/*.yml", "testdata/collection/*/*/*.y*ml", "testdata/collection/*/*/*/*.yml")
	f.Add([]byte("action: global\ntitle: t\nid: 5a1b2c3d-0003-4000-8000-000000000003\n---\nlogsource: {product: x}\ndetection: {a: &x [*x]}\n"))
	f.Add([]byte("title: t\nid: 5a1b2c3d-0003-4000-8000-000000000003\nlogsource: {product: x}\ndetection: {s: {1: .nan, ~: .inf, true: !!binary aGk=}, condition: s}\n"))
	// Alias cycles on both sides of a global merge: without a budget the
	// deep merge doubles at every level.
	f.Add([]byte("action: global\nx: &a {a: *a, b: *a, c: *a}\n---\ntitle: t\nid: 5a1b2c3d-0003-4000-8000-000000000003\nlogsource: {p: x}\ndetection: {s: {a: 1}, condition: s}\nx: &b {a: *b, b: *b, c: *b}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a := parseFile(data)
		b := parseFile(data)
		if len(a.rules) != len(b.rules) || len(a.problems) != len(b.problems) {
			t.Fatal("parse is not deterministic")
		}
		for i, pr := range a.rules {
			if err := pr.rule.Validate(); err != nil {
				t.Fatalf("rule %d fails validation: %v", i, err)
			}
			ja, err := json.Marshal(pr.rule)
			if err != nil {
				t.Fatalf("rule %d does not encode: %v", i, err)
			}
			jb, _ := json.Marshal(b.rules[i].rule)
			if !bytes.Equal(ja, jb) {
				t.Fatalf("rule %d differs between parses:\n%s\n%s", i, ja, jb)
			}
			if pr.line < 1 {
				t.Fatalf("rule %d has no line", i)
			}
		}
	})
}
