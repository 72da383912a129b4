package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/sdk/source"
)

// loadAttack decodes only the files that can matter (techniques, mitigations,
// "mitigates" relationships), and still reports a malformed file of any kind.
func TestLoadAttackReadsWhatMatters(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"attack-pattern/a.json": `{"type":"bundle","objects":[{"type":"attack-pattern","id":"attack-pattern--1",
			"external_references":[{"source_name":"mitre-attack","external_id":"T1003"}]}]}`,
		"attack-pattern/b.json": `{"type":"bundle","objects":[{"type":"attack-pattern","id":"attack-pattern--2","revoked":true,
			"external_references":[{"source_name":"mitre-attack","external_id":"T1004"}]}]}`,
		"course-of-action/m.json": `{"type":"bundle","objects":[{"type":"course-of-action","id":"course-of-action--1",
			"external_references":[{"source_name":"mitre-attack","external_id":"M1018"}]}]}`,
		"relationship/1.json": `{"type":"bundle","objects":[{"type":"relationship","relationship_type":"mitigates",
			"source_ref":"course-of-action--1","target_ref":"attack-pattern--1"}]}`,
		"relationship/2.json": `{"type":"bundle","objects":[{"type":"relationship","relationship_type":"mitigates",
			"source_ref":"course-of-action--1","target_ref":"attack-pattern--2"}]}`,
		"relationship/3.json": `{"type":"bundle","objects":[{"type":"relationship","relationship_type":"uses",
			"description":"says \"mitigates\" in its text","source_ref":"course-of-action--1","target_ref":"attack-pattern--1"}]}`,
		"relationship/4.json": `{"type":"bundle","objects":[{"type":"relationship",`,
	}
	for name, body := range files {
		p := filepath.Join(dir, "enterprise-attack", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	am, skipped, err := loadAttack(context.Background(), dir, source.NewTracker(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string][]string{"M1018": {"T1003"}}; !reflect.DeepEqual(am.techniques, want) {
		t.Errorf("mitigations %v, want %v", am.techniques, want)
	}
	if len(skipped) != 1 || !strings.HasPrefix(skipped[0], "enterprise-attack/relationship/4.json: ") {
		t.Errorf("skipped %q, want the malformed relationship", skipped)
	}
	for _, body := range []string{files["relationship/3.json"], files["relationship/1.json"]} {
		if got, want := mayMatter([]byte(body)), strings.Contains(body, `"relationship_type":"mitigates"`); got != want {
			t.Errorf("mayMatter(%s) = %v", body, got)
		}
	}
}
