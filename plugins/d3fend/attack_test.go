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
	am, skipped, err := loadAttack(context.Background(), dir, source.NewTracker(nil, nil), nil)
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

// parseSTIX decodes a bundle in one pass, and object by object when one of its
// objects does not decode, so that the odd one does not hide the rest.
func TestParseSTIXKeepsTheObjectsAroundAnOddOne(t *testing.T) {
	good := `{"type":"relationship","id":"relationship--1","relationship_type":"mitigates","source_ref":"course-of-action--1","target_ref":"attack-pattern--1"}`
	odd := `{"type":"attack-pattern","id":"attack-pattern--2","revoked":"yes"}`
	for _, c := range []struct {
		body string
		ids  []string
	}{
		{`{"type":"bundle","objects":[` + good + `]}`, []string{"relationship--1"}},
		{`{"type":"bundle","objects":[` + odd + `,` + good + `]}`, []string{"relationship--1"}},
		{good, []string{"relationship--1"}},
	} {
		objs, err := parseSTIX([]byte(c.body))
		if err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		var ids []string
		for _, o := range objs {
			ids = append(ids, o.ID)
		}
		if !reflect.DeepEqual(ids, c.ids) {
			t.Errorf("%s: objects %v, want %v", c.body, ids, c.ids)
		}
		if objs[0].RelationshipType != "mitigates" || objs[0].SourceRef != "course-of-action--1" || objs[0].TargetRef != "attack-pattern--1" {
			t.Errorf("%s: decoded %+v", c.body, objs[0])
		}
	}
	if _, err := parseSTIX([]byte(odd)); err == nil {
		t.Error("a lone object that does not decode: no error")
	}
}
