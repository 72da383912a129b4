package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/aegis-sec/aegis/sdk/sdktest"
)

// FuzzParseRule feeds arbitrary TOML to the rule parser: it must never
// panic, a rule it returns must pass Validate and encode to JSON, and the
// same input must give the same output.
func FuzzParseRule(f *testing.F) {
	sdktest.SeedFiles(f, "testdata/*/*.toml", "testdata/*/*/*.toml", "testdata/*/*/*/*.toml", "testdata/*/*/*/*/*.toml")
	f.Add([]byte("[rule]\nrule_id = 'x'\nname = 'n'\nrisk_score = nan\n[rule.threshold]\nvalue = inf\nwhen = 1979-05-27\nat = 07:32:00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, b := parseRule(data), parseRule(data)
		if (a.rule == nil) != (b.rule == nil) || len(a.problems) != len(b.problems) {
			t.Fatal("parse is not deterministic")
		}
		if a.rule == nil {
			return
		}
		if err := a.rule.Validate(); err != nil {
			t.Fatalf("rule fails validation: %v", err)
		}
		ja, err := json.Marshal(a.rule)
		if err != nil {
			t.Fatalf("rule does not encode: %v", err)
		}
		jb, _ := json.Marshal(b.rule)
		if !bytes.Equal(ja, jb) {
			t.Fatalf("rule differs between parses:\n%s\n%s", ja, jb)
		}
	})
}
