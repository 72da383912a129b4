package stix

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// checkTyped decodes one object both ways: whatever the one-pass decoder accepts must
// be what the tolerant decoder gives, without problems.
func checkTyped(t *testing.T, where string, data []byte) bool {
	t.Helper()
	typed, ok := decodeTyped(data)
	if !ok {
		return false
	}
	tol, problems, err := decodeTolerant(data)
	if err != nil || len(problems) > 0 {
		t.Fatalf("%s: the typed decoder accepted what the tolerant one rejects (%v) or warns about (%v): %s", where, err, problems, data)
	}
	if !reflect.DeepEqual(typed, tol) {
		t.Fatalf("%s: typed %+v\ntolerant %+v", where, typed, tol)
	}
	return true
}

func TestTypedDecodeMatchesTolerant(t *testing.T) {
	for i, s := range []string{
		`{"type":"attack-pattern","id":" attack-pattern--1 ","external_references":[{"source_name":"mitre-attack","external_id":"T1059"}],"kill_chain_phases":[],"x_mitre_log_source_references":[{"name":"x"}],"aliases":[],"created":"2020-01-01T00:00:00.000Z","modified":"2021-01-01"}`,
		`{"type":"x","id":"x--1","x_mitre_version":1.0}`,
		`{"type":"x","id":"x--1","revoked":"true"}`,
		`{"type":"x","id":"x--1","aliases":"A"}`,
		`{"type":"x","id":"x--1","aliases":["A",null,"B"]}`,
		`{"type":"x","id":"x--1","aliases":["A",1]}`,
		`{"type":"x","id":"x--1","modified":"yesterday"}`,
		`{"type":"x","id":"x--1","external_references":[null]}`,
		`{"type":"x","id":"x--1","external_references":[{"url":5}]}`,
		`{"type":"x","id":"x--1","Name":"upper"}`,
		`{"type":"x","id":"x--1","name":null,"revoked":null,"aliases":null,"external_references":null}`,
		`{"type":"","id":"x--1"}`,
		`{"id":"x--1"}`,
		`null`,
		`[1]`,
	} {
		checkTyped(t, "case "+string(rune('a'+i)), []byte(s))
	}
	if _, ok := decodeTyped([]byte(`{"type":"x","id":"x--1","Name":"upper"}`)); ok {
		t.Error("a key in other letter case was decoded in one pass")
	}
	if _, ok := decodeTyped([]byte(`{"type":"x","id":"x--1","name":"n","modified":"2021-01-01T00:00:00Z"}`)); !ok {
		t.Error("a plain object was not decoded in one pass")
	}
	// Every object of the upstream releases, when present.
	root := os.Getenv("AEGIS_UPSTREAM_DIR")
	if root == "" {
		t.Log("AEGIS_UPSTREAM_DIR not set: checked the cases above only")
		return
	}
	accepted, total := 0, 0
	for _, dir := range []string{"mitre-cti/enterprise-attack", "mitre-cti-v6.3/enterprise-attack", "attack-stix-data/ics-attack"} {
		_ = filepath.WalkDir(filepath.Join(root, dir), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			pf, err := ParseFile(data)
			if err != nil {
				return nil
			}
			for _, o := range pf.Objects {
				total++
				if checkTyped(t, p, o.Data) {
					accepted++
				}
			}
			return nil
		})
	}
	t.Logf("%d of %d upstream objects decoded in one pass", accepted, total)
	if total > 0 && accepted < total*9/10 {
		t.Errorf("only %d of %d upstream objects decoded in one pass", accepted, total)
	}
}
