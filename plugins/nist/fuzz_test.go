package main

import (
	"bytes"
	"testing"

	"github.com/aegis-sec/aegis/sdk/sdktest"
)

// FuzzParseFile: any bytes, no panic; every mapping that comes out names a
// valid control and a valid technique (or an attack-pattern to resolve).
func FuzzParseFile(f *testing.F) {
	sdktest.SeedFiles(f, "testdata/*/*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := parseFile(data)
		if err != nil {
			return
		}
		lines := bytes.Count(data, []byte{'\n'}) + 1
		for _, m := range res.Mappings {
			if m.ControlRef == "" && (!techniqueIDRe.MatchString(m.TechniqueID) || m.Control.Number == 0) {
				t.Fatalf("bad mapping %+v", m)
			}
			if m.Line < 1 || m.Line > lines {
				t.Fatalf("line %d of %d", m.Line, lines)
			}
		}
		for _, c := range res.Controls {
			if _, ok := parseControlID(c.ID.String()); !ok {
				t.Fatalf("control id %q does not parse back", c.ID)
			}
		}
	})
}

// FuzzControlID: whatever parses, its canonical form parses to itself.
func FuzzControlID(f *testing.F) {
	for _, s := range []string{"AC-2", "AC-02(01)", "ac-2.1", " SI - 004 ", "AC-2(0)", "ZZ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := parseControlID(s)
		if !ok {
			return
		}
		again, ok := parseControlID(id.String())
		if !ok || again != id {
			t.Fatalf("%q → %q → %+v %v", s, id, again, ok)
		}
		if id.Enhancement > 0 {
			if p, ok := parseControlID(id.Parent()); !ok || p.Enhancement != 0 || p.Number != id.Number {
				t.Fatalf("parent of %q = %q", id, id.Parent())
			}
		}
	})
}

func FuzzAttackTechniques(f *testing.F) {
	sdktest.SeedFiles(f, "testdata/*/*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		ids := map[string]string{}
		if addTechniqueIDs(data, ids) != nil {
			return
		}
		for _, tid := range ids {
			if !techniqueIDRe.MatchString(tid) {
				t.Fatalf("technique id %q", tid)
			}
		}
	})
}
