package sdktest

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/sdk"
)

// MustRun is Run that stops the test when the import fails.
func (r *Runner) MustRun(t testing.TB, source, config string) *ImportResult {
	t.Helper()
	res := r.Run(t, source, config)
	if res.Err != nil {
		t.Fatalf("import %s: %v", source, res.Err)
	}
	return res
}

// WantFailure runs an import that must fail before sending anything: its
// error is the ERROR diagnostics (sdk.Diagnostics), one of which mentions want
// in its text (file, line, summary and id, as Diagnostic.String writes them),
// its detail or its attribute; and no record was sent. It is the shape of a
// table of bad sources and configs:
//
//	for _, tc := range cases {
//		t.Run(tc.name, func(t *testing.T) { runner.WantFailure(t, tc.src, tc.cfg, tc.want) })
//	}
func (r *Runner) WantFailure(t testing.TB, source, config, want string) *ImportResult {
	t.Helper()
	res := r.Run(t, source, config)
	var ds sdk.Diagnostics
	if !errors.As(res.Err, &ds) || !diagnosticsMention(ds, want) {
		t.Fatalf("err = %v, want an ERROR diagnostic containing %q", res.Err, want)
	}
	if len(res.Records) != 0 {
		t.Errorf("records sent before failing: %d", len(res.Records))
	}
	return res
}

func diagnosticsMention(ds sdk.Diagnostics, want string) bool {
	for _, d := range ds {
		if strings.Contains(d.String()+" "+d.Detail+" "+d.Attribute, want) {
			return true
		}
	}
	return false
}

// Deterministic imports source twice and fails the test unless both runs sent
// the same records, in the same order, with byte-identical JSON: the host
// hashes each record's JSON, so a re-import of unchanged data must be seen as
// unchanged. (Run's strict mode already compares the two runs ignoring order;
// this also holds the order.) It returns the first run's result.
func (r *Runner) Deterministic(t testing.TB, source, config string) *ImportResult {
	t.Helper()
	a, b := r.Run(t, source, config), r.Run(t, source, config)
	if len(a.Incoming) != len(b.Incoming) {
		t.Fatalf("record counts differ: %d, then %d", len(a.Incoming), len(b.Incoming))
	}
	for i := range a.Incoming {
		if !bytes.Equal(a.Incoming[i].JSON, b.Incoming[i].JSON) {
			t.Errorf("record %d (%s) differs between runs:\n%s\n%s", i, a.Incoming[i].ExternalID, a.Incoming[i].JSON, b.Incoming[i].JSON)
		}
	}
	return a
}

// ByKindID indexes the decoded records by "kind/id" (for example
// "detection_rule/5a1b…"), the key the host stores them under.
func (r *ImportResult) ByKindID() map[string]sdk.Record {
	m := make(map[string]sdk.Record, len(r.Records))
	for _, rec := range r.Records {
		m[rec.Kind()+"/"+rec.ID()] = rec
	}
	return m
}

// IDs returns the ids of the decoded records of one kind, in the order they
// were sent.
func (r *ImportResult) IDs(kind string) []string {
	var out []string
	for _, rec := range r.Records {
		if rec.Kind() == kind {
			out = append(out, rec.ID())
		}
	}
	return out
}

// SeedFile is one file read by Files.
type SeedFile struct {
	Path string // as matched: relative to the test's folder when the pattern is
	Data []byte
}

// Files reads the test data a fuzz test starts from. Each pattern is a file, a
// folder (every file below it, walked in lexical order) or a filepath.Glob
// pattern; a pattern that matches nothing fails the test, so a moved testdata
// folder does not silently leave a fuzz test without its seeds.
func Files(tb testing.TB, patterns ...string) []SeedFile {
	tb.Helper()
	var out []SeedFile
	for _, pat := range patterns {
		paths, err := filepath.Glob(pat)
		if err != nil {
			tb.Fatalf("sdktest: pattern %q: %v", pat, err)
		}
		n := len(out)
		for _, p := range paths {
			err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				out = append(out, SeedFile{Path: path, Data: b})
				return nil
			})
			if err != nil {
				tb.Fatalf("sdktest: %v", err)
			}
		}
		if len(out) == n {
			tb.Fatalf("sdktest: no file matches %q", pat)
		}
	}
	return out
}

// SeedFiles adds the content of each file Files finds as one []byte seed of
// the fuzz test:
//
//	func FuzzParse(f *testing.F) {
//		sdktest.SeedFiles(f, "testdata/ok", "testdata/malformed/*.yml")
//		f.Fuzz(func(t *testing.T, data []byte) { … })
//	}
func SeedFiles(f *testing.F, patterns ...string) {
	f.Helper()
	for _, sf := range Files(f, patterns...) {
		f.Add(sf.Data)
	}
}
