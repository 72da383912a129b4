package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// keyLineUncached is keyLine as it was before issue 11: both expressions compiled on
// every call.
func keyLineUncached(src, dotted string, def int) int {
	parts := strings.Split(dotted, ".")
	last := parts[len(parts)-1]
	if i := strings.IndexByte(last, '['); i >= 0 {
		last = last[:i]
	}
	q := regexp.QuoteMeta(last)
	for _, re := range []string{`(?m)^[ \t]*["']?` + q + `["']?[ \t]*=`, `(?m)^[ \t]*\[\[?[^\]\n]*\b` + q + `["']?[ \t]*\]`} {
		if loc := regexp.MustCompile(re).FindStringIndex(src); loc != nil {
			return strings.Count(src[:loc[0]], "\n") + 1
		}
	}
	return def
}

// TestKeyLineCachedMatchesUncached: the cached expressions find the same lines.
func TestKeyLineCachedMatchesUncached(t *testing.T) {
	src := "[metadata]\ncreation_date = \"2020/01/01\"\n\n[rule]\nrule_id = 'x'\n[[rule.threat]]\nframework = \"MITRE ATT&CK\"\n[rule.threat.tactic]\nid = \"TA0002\"\n"
	for _, k := range []string{"metadata.creation_date", "rule.rule_id", "rule.threat[0].tactic.id", "rule.threat[0].tactic", "rule.threat", "nothing.here", "a.b+c"} {
		for range 2 {
			if got, want := keyLine(src, k, 99), keyLineUncached(src, k, 99); got != want {
				t.Errorf("%s: line %d, want %d", k, got, want)
			}
		}
	}
}

// BenchmarkParseRules parses the detection-rules TOML files of AEGIS_UPSTREAM_DIR
// in process; "uncompiled" is with keyLine compiling its expressions on every call,
// as before issue 11 (parseRule calls it through keyLineFunc).
func BenchmarkParseRules(b *testing.B) {
	root := os.Getenv("AEGIS_UPSTREAM_DIR")
	if root == "" {
		b.Skip("AEGIS_UPSTREAM_DIR not set")
	}
	var files [][]byte
	_ = filepath.WalkDir(filepath.Join(root, "detection-rules"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".toml") && !strings.Contains(p, "/tests/") {
			data, _ := os.ReadFile(p)
			files = append(files, data)
		}
		return nil
	})
	if len(files) == 0 {
		b.Skip("no detection-rules files")
	}
	for _, c := range []struct {
		name string
		fn   func(string, string, int) int
	}{{"uncompiled", keyLineUncached}, {"compiled-once", keyLine}} {
		b.Run(c.name, func(b *testing.B) {
			keyLineFunc = c.fn
			defer func() { keyLineFunc = keyLine }()
			for range b.N {
				for _, f := range files {
					parseRule(f)
				}
			}
			b.ReportMetric(float64(len(files)), "files")
		})
	}
}
