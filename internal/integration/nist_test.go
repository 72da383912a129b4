package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
)

const (
	nistMapexFile    = "mappings/nist_800_53/attack-16.1/nist_800_53-rev5/enterprise/nist_800_53-rev5_attack-16.1-enterprise.json"
	nistStixControls = "frameworks/attack_12_1/nist800_53_r5/stix/nist800-53-r5-controls.json"
	nistStixMappings = "frameworks/attack_12_1/nist800_53_r5/stix/nist800-53-r5-mappings.json"
)

var nistIDRe = regexp.MustCompile(`^([A-Z]{2})-0*(\d+)(?:\(0*(\d+)\))?$`)

// nistNorm drops zero padding: "AC-02(01)" → "AC-2(1)".
func nistNorm(t *testing.T, id string) string {
	t.Helper()
	m := nistIDRe.FindStringSubmatch(strings.TrimSpace(id))
	if m == nil {
		t.Fatalf("control id %q", id)
	}
	n, _ := strconv.Atoi(m[2])
	out := m[1] + "-" + strconv.Itoa(n)
	if m[3] != "" {
		e, _ := strconv.Atoi(m[3])
		out += "(" + strconv.Itoa(e) + ")"
	}
	return out
}

func nistJSON(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// countMapex: distinct controls and (control, technique, type) mappings of the
// rows that are not non_mappable.
func countMapex(t *testing.T, file string) (controls map[string]bool, mappings map[[3]string]bool, rows int) {
	var doc struct {
		Objects []struct {
			Control     *string `json:"capability_id"`
			Technique   string  `json:"attack_object_id"`
			MappingType *string `json:"mapping_type"`
			Status      string  `json:"status"`
		} `json:"mapping_objects"`
	}
	nistJSON(t, file, &doc)
	controls, mappings = map[string]bool{}, map[[3]string]bool{}
	for _, o := range doc.Objects {
		if o.Status == "non_mappable" {
			continue
		}
		rows++
		c := nistNorm(t, *o.Control)
		mt := "mitigates"
		if o.MappingType != nil {
			mt = *o.MappingType
		}
		controls[c] = true
		mappings[[3]string{c, o.Technique, mt}] = true
	}
	return controls, mappings, rows
}

// countNISTStix: controls, enhancements and (control, technique) pairs of the
// STIX bundles, attack-patterns resolved through the mitre/cti folder.
func countNISTStix(t *testing.T, dir, attackDir string) (controls, enhancements int, mappings map[[2]string]bool, ids map[string]bool) {
	type object struct {
		Type    string `json:"type"`
		ID      string `json:"id"`
		RelType string `json:"relationship_type"`
		Source  string `json:"source_ref"`
		Target  string `json:"target_ref"`
		Refs    []struct {
			Source string `json:"source_name"`
			ID     string `json:"external_id"`
		} `json:"external_references"`
	}
	var cb, mb struct{ Objects []object }
	nistJSON(t, filepath.Join(dir, nistStixControls), &cb)
	nistJSON(t, filepath.Join(dir, nistStixMappings), &mb)
	byRef := map[string]string{}
	ids = map[string]bool{}
	for _, o := range cb.Objects {
		if o.Type == "course-of-action" && len(o.Refs) > 0 && o.Refs[0].Source == "NIST 800-53 Revision 5" {
			controls++
			if strings.Contains(o.Refs[0].ID, "(") {
				enhancements++
			}
			byRef[o.ID] = o.Refs[0].ID
			ids[o.Refs[0].ID] = true
		}
	}
	techniques := map[string]string{}
	for _, f := range walkFiles(t, filepath.Join(attackDir, "attack-pattern"), ".json") {
		var b struct{ Objects []object }
		nistJSON(t, f, &b)
		for _, o := range b.Objects {
			for _, r := range o.Refs {
				if r.Source == "mitre-attack" {
					techniques[o.ID] = r.ID
				}
			}
		}
	}
	mappings = map[[2]string]bool{}
	for _, o := range mb.Objects {
		if o.Type == "relationship" && o.RelType == "mitigates" && byRef[o.Source] != "" && techniques[o.Target] != "" {
			mappings[[2]string{byRef[o.Source], techniques[o.Target]}] = true
		}
	}
	return controls, enhancements, mappings, ids
}

func nistCount(t *testing.T, e *env, where string) int {
	return e.Count(t, `SELECT COUNT(*) FROM compliance_controls c JOIN compliance_frameworks f ON f.id = c.framework_id
		WHERE f.external_id = 'nist-800-53-rev5'`+where)
}

func TestNISTMappingsExplorerUpstream(t *testing.T) {
	dir := upstream(t, "mappings-explorer")
	controls, mappings, rows := countMapex(t, filepath.Join(dir, nistMapexFile))
	t.Logf("raw file: %d mappable rows, %d controls, %d distinct mappings", rows, len(controls), len(mappings))
	if len(controls) == 0 || len(mappings) == 0 {
		t.Fatal("nothing counted in the raw file")
	}
	e := newEnv(t, map[string]string{"nist": ""})
	start := time.Now()
	run := e.Import(t, "nist", dir)
	t.Logf("first import: %s (%d ms in the run), %d added, %d warnings", time.Since(start), run.DurationMS, run.Added, run.WarningCount)
	for _, w := range Warnings(run) {
		t.Logf("warning: %s:%d %s %s", w.File, w.Line, w.ExternalID, w.Summary)
	}
	// Every file of the source is imported or named: the format's JSON schema is named.
	if ws := otherWarnings(run); run.Added != len(controls)+1 || len(ws) != 1 || ws[0].File != "schema/mapex-unified-data-schema.json" {
		t.Errorf("run added %d with warnings %+v, want %d controls and the framework, and the schema file named", run.Added, ws, len(controls))
	}
	if n := nistCount(t, e, ""); n != len(controls) {
		t.Errorf("%d controls stored, want %d", n, len(controls))
	}
	if n := nistCount(t, e, ` AND (c.external_id LIKE '%-0%' OR c.parent_external_id <> '')`); n != 0 {
		t.Errorf("%d zero-padded ids or enhancements stored from a file that has only base controls", n)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM compliance_control_mappings`); n != len(mappings) {
		t.Errorf("%d mappings stored, want %d", n, len(mappings))
	}
	// "AC-02" in the file is AC-2 in the store.
	if !mappings[[3]string{"AC-2", "T1078", "mitigates"}] {
		t.Fatal("the raw file no longer maps AC-02 to T1078")
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM compliance_control_mappings m JOIN compliance_controls c ON c.id = m.control_id
		JOIN techniques te ON te.id = m.technique_id WHERE c.external_id = 'AC-2' AND te.external_id = 'T1078'`); n != 1 {
		t.Errorf("AC-2 → T1078: %d rows, want 1", n)
	}

	again := e.Import(t, "nist", dir)
	if again.Added+again.Updated+again.Deprecated != 0 || again.Unchanged != len(controls)+1 {
		t.Errorf("re-import: added %d updated %d deprecated %d unchanged %d", again.Added, again.Updated, again.Deprecated, again.Unchanged)
	}
}

func TestNISTStixUpstream(t *testing.T) {
	dir := upstream(t, "attack-control-framework-mappings")
	attack := filepath.Join(upstream(t, "mitre-cti"), "enterprise-attack")
	controls, enhancements, mappings, _ := countNISTStix(t, dir, attack)
	t.Logf("raw files: %d controls (%d enhancements), %d resolvable mappings", controls, enhancements, len(mappings))
	if controls == 0 || enhancements == 0 || len(mappings) == 0 {
		t.Fatal("nothing counted in the raw files")
	}
	e := newEnv(t, map[string]string{"nist": `{"attack_source": "` + attack + `"}`})
	start := time.Now()
	run := e.Import(t, "nist", dir)
	t.Logf("first import: %s (%d ms in the run), %d added, %d warnings", time.Since(start), run.DurationMS, run.Added, run.WarningCount)
	for _, w := range Warnings(run) {
		t.Logf("warning: %s:%d %s %s", w.File, w.Line, w.ExternalID, w.Summary)
	}
	if run.Added != controls+1 || len(otherWarnings(run)) != 0 {
		t.Errorf("run added %d with %d warnings, want %d controls and the framework, no warnings", run.Added, len(otherWarnings(run)), controls)
	}
	if n := nistCount(t, e, ""); n != controls {
		t.Errorf("%d controls stored, want %d", n, controls)
	}
	if n := nistCount(t, e, ` AND c.parent_external_id <> '' AND c.external_id LIKE c.parent_external_id || '(%)'`); n != enhancements {
		t.Errorf("%d enhancements with their parent stored, want %d", n, enhancements)
	}
	if n := nistCount(t, e, ` AND c.family = ''`); n != 0 {
		t.Errorf("%d controls without a family", n)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM compliance_control_mappings`); n != len(mappings) {
		t.Errorf("%d mappings stored, want %d", n, len(mappings))
	}

	again := e.Import(t, "nist", dir)
	if again.Added+again.Updated+again.Deprecated != 0 || again.Unchanged != controls+1 {
		t.Errorf("re-import: added %d updated %d deprecated %d unchanged %d", again.Added, again.Updated, again.Deprecated, again.Unchanged)
	}
}

// TestNISTChangedFile: both formats in one source; a change in one file
// changes exactly the control it is about.
func TestNISTChangedFile(t *testing.T) {
	mapex := upstream(t, "mappings-explorer")
	stix := upstream(t, "attack-control-framework-mappings")
	attack := filepath.Join(upstream(t, "mitre-cti"), "enterprise-attack")
	src := t.TempDir()
	d3fendCopy(t, filepath.Join(mapex, nistMapexFile), filepath.Join(src, "mapex.json"))
	d3fendCopy(t, filepath.Join(stix, nistStixControls), filepath.Join(src, "stix", "controls.json"))
	d3fendCopy(t, filepath.Join(stix, nistStixMappings), filepath.Join(src, "stix", "mappings.json"))
	// Mappings Explorer (2025) also maps IA-13, which came with SP 800-53
	// release 5.2 and is not in the older catalog: the union is imported.
	_, _, _, ids := countNISTStix(t, stix, attack)
	mapexControls, _, _ := countMapex(t, filepath.Join(src, "mapex.json"))
	for id := range mapexControls {
		ids[id] = true
	}
	controls := len(ids)

	e := newEnv(t, map[string]string{"nist": `{"attack_source": "` + attack + `"}`})
	if run := e.Import(t, "nist", src); run.Added != controls+1 {
		t.Fatalf("added %d, want %d controls and the framework", run.Added, controls)
	}

	// The catalog file: one control's description.
	var bundle map[string]any
	nistJSON(t, filepath.Join(src, "stix", "controls.json"), &bundle)
	edited := 0
	for _, o := range bundle["objects"].([]any) {
		obj := o.(map[string]any)
		if refs, ok := obj["external_references"].([]any); ok && refs[0].(map[string]any)["external_id"] == "AC-2" {
			obj["description"] = "edited by the test"
			edited++
		}
	}
	nistWrite(t, filepath.Join(src, "stix", "controls.json"), bundle, edited)
	run := e.Import(t, "nist", src)
	if run.Updated != 1 || run.Added+run.Deprecated != 0 {
		t.Errorf("after editing AC-2 in the catalog: added %d updated %d deprecated %d", run.Added, run.Updated, run.Deprecated)
	}

	// The Mappings Explorer file: the comments of one control's rows.
	var doc map[string]any
	nistJSON(t, filepath.Join(src, "mapex.json"), &doc)
	edited = 0
	for _, o := range doc["mapping_objects"].([]any) {
		if obj := o.(map[string]any); obj["capability_id"] == "SI-04" {
			obj["comments"] = "edited by the test"
			edited++
		}
	}
	nistWrite(t, filepath.Join(src, "mapex.json"), doc, edited)
	run = e.Import(t, "nist", src)
	if run.Updated != 1 || run.Added+run.Deprecated != 0 || run.Unchanged != controls {
		t.Errorf("after editing SI-4's rows (%d): added %d updated %d deprecated %d unchanged %d", edited, run.Added, run.Updated, run.Deprecated, run.Unchanged)
	}
}

func nistWrite(t *testing.T, path string, v any, edited int) {
	t.Helper()
	if edited == 0 {
		t.Fatalf("%s: nothing to edit", path)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Mappings Explorer files of the cloud frameworks land as compliance frameworks of
// their own beside NIST 800-53, with their controls and mappings.
func TestOtherFrameworksThroughThePipeline(t *testing.T) {
	e := newEnv(t, map[string]string{"nist": ""})
	src, _ := filepath.Abs(filepath.Join("..", "..", "plugins", "nist", "testdata", "frameworks"))
	run := e.Import(t, "nist", src)
	if run.Outcome != core.RunSucceeded {
		t.Fatalf("run: %+v", run)
	}
	for q, want := range map[string]int{
		`SELECT COUNT(*) FROM compliance_frameworks`: 3,
		`SELECT COUNT(*) FROM compliance_controls c JOIN compliance_frameworks f ON f.id = c.framework_id WHERE f.external_id = 'aws-12-12-2024'`:  2,
		`SELECT COUNT(*) FROM compliance_controls c JOIN compliance_frameworks f ON f.id = c.framework_id WHERE f.external_id = 'm365-07-18-2025'`: 1,
		`SELECT COUNT(*) FROM compliance_control_mappings WHERE mapping_type = 'protect'`:                                                          3,
		`SELECT COUNT(*) FROM compliance_control_mappings WHERE mapping_type = 'detect'`:                                                           2,
	} {
		if got := e.Count(t, q); got != want {
			t.Errorf("%s: %d, want %d", q, got, want)
		}
	}
}
