package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var ctiTechniqueID = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)

// ctiExpect are the counts a cti import must store, computed from the raw
// files with the documented rule: an actor's techniques are its direct uses,
// the uses of the live software it uses, and the uses of the live campaigns
// attributed to it.
type ctiExpect struct {
	actors, deprecatedActors, revokedActors, campaigns int
	direct, all, viaOnly                               int
}

func countCTI(t *testing.T, objs map[string]*attackObject) ctiExpect {
	t.Helper()
	var e ctiExpect
	live := func(o *attackObject) bool { return o != nil && !o.Revoked && !o.Deprecated }
	uses := map[string][]string{}       // source id → used object ids
	attributed := map[string][]string{} // actor id → campaign ids
	for _, o := range objs {
		if o.Type != "relationship" || !live(o) {
			continue
		}
		switch o.RelType {
		case "uses":
			uses[o.SourceRef] = append(uses[o.SourceRef], o.TargetRef)
		case "attributed-to":
			attributed[o.TargetRef] = append(attributed[o.TargetRef], o.SourceRef)
		}
	}
	techniquesOf := func(id string) map[string]bool {
		out := map[string]bool{}
		for _, tgt := range uses[id] {
			if ap := objs[tgt]; ap != nil && ap.Type == "attack-pattern" && ctiTechniqueID.MatchString(ap.ext()) {
				out[ap.ext()] = true
			}
		}
		return out
	}
	for _, o := range objs {
		switch o.Type {
		case "campaign":
			if !o.Revoked {
				e.campaigns++
			}
		case "intrusion-set":
			if o.Revoked {
				e.revokedActors++
				continue
			}
			e.actors++
			if o.Deprecated {
				e.deprecatedActors++
			}
			direct := techniquesOf(o.ID)
			all := map[string]bool{}
			for tid := range direct {
				all[tid] = true
			}
			for _, sw := range uses[o.ID] {
				if s := objs[sw]; live(s) && (s.Type == "malware" || s.Type == "tool") {
					for tid := range techniquesOf(sw) {
						all[tid] = true
					}
				}
			}
			for _, c := range attributed[o.ID] {
				if live(objs[c]) && objs[c].Type == "campaign" {
					for tid := range techniquesOf(c) {
						all[tid] = true
					}
				}
			}
			e.direct += len(direct)
			e.all += len(all)
			e.viaOnly += len(all) - len(direct)
		}
	}
	return e
}

func checkCTIStore(t *testing.T, e *env, want ctiExpect, direct bool) {
	t.Helper()
	links := want.all
	if direct {
		links = want.direct
	}
	for q, n := range map[string]int{
		`SELECT COUNT(*) FROM threat_actors WHERE source = 'cti'`:                                                                want.actors,
		`SELECT COUNT(*) FROM threat_actors WHERE source = 'cti' AND deprecated`:                                                 want.deprecatedActors,
		`SELECT COUNT(*) FROM threat_actors WHERE source = 'cti' AND revoked`:                                                    0,
		`SELECT COUNT(*) FROM campaign_profiles WHERE source = 'cti' AND kind = 'attack_campaign'`:                               want.campaigns,
		`SELECT COUNT(*) FROM threat_actor_techniques l JOIN threat_actors a ON a.id = l.threat_actor_id WHERE a.source = 'cti'`: links,
		// Techniques an actor does not use directly are marked so in the procedure.
		`SELECT COUNT(*) FROM threat_actor_techniques WHERE procedure LIKE 'Via software:%' OR procedure LIKE 'Via campaign:%'`: links - want.direct,
	} {
		if got := e.Count(t, q); got != n {
			t.Errorf("%s\n  = %d, want %d", q, got, n)
		}
	}
}

func TestCTIEnterpriseV181(t *testing.T) {
	dir := upstream(t, "mitre-cti")
	objs := attackObjects(t, filepath.Join(dir, "enterprise-attack"))
	want := countCTI(t, objs)
	t.Logf("v18.1 from the files: %+v", want)
	if want.actors != 181 || want.direct != 4362 {
		t.Errorf("the upstream data changed: %+v", want)
	}

	e := newEnv(t, map[string]string{"cti": ""})
	start := time.Now()
	run := e.Import(t, "cti", dir)
	t.Logf("cti import of mitre-cti (v18.1): %s, %d records", time.Since(start), run.Added)
	if ws := otherWarnings(run); len(ws) != 0 {
		t.Errorf("warnings: %+v", ws)
	}
	checkCTIStore(t, e, want, false)

	// APT29 (G0016) uses PowerShell, in the words of the relationship.
	var procedure string
	for _, o := range objs {
		if o.Type == "relationship" && o.RelType == "uses" && objs[o.SourceRef] != nil && objs[o.SourceRef].ext() == "G0016" &&
			objs[o.TargetRef] != nil && objs[o.TargetRef].ext() == "T1059.001" {
			procedure = relDescription(t, filepath.Join(dir, "enterprise-attack", "relationship", o.ID+".json"))
		}
	}
	if procedure == "" {
		t.Fatal("no G0016 uses T1059.001 relationship in the files")
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM threat_actor_techniques l JOIN threat_actors a ON a.id = l.threat_actor_id
		JOIN techniques te ON te.id = l.technique_id WHERE a.external_id = 'G0016' AND te.external_id = 'T1059.001' AND substr(l.procedure, 1, length(?)) = ?`, procedure, procedure); n != 1 {
		t.Error("G0016's use of T1059.001 lacks its procedure text")
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM threat_actors WHERE external_id = 'G0016' AND name = 'APT29' AND aliases LIKE '%"Cozy Bear"%'`); n != 1 {
		t.Error("APT29 or its alias Cozy Bear is missing")
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM campaign_profiles WHERE external_id = 'C0024' AND actor_ids LIKE '%"G0016"%' AND technique_ids LIKE '%"T1059.001"%'`); n != 1 {
		t.Error("C0024 (SolarWinds Compromise) is not attributed to G0016 with T1059.001")
	}
	if again := e.Import(t, "cti", dir); again.Added+again.Updated+again.Deprecated != 0 {
		t.Errorf("re-import changed something: %+v", again)
	}

	// Direct uses only: exactly the intrusion-set → attack-pattern relationships.
	d := newEnv(t, map[string]string{"cti": `{"via_software":false,"via_campaigns":false}`})
	d.Import(t, "cti", dir)
	checkCTIStore(t, d, want, true)
}

// relDescription reads a relationship's description straight from its file.
func relDescription(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Objects []struct {
			Description string `json:"description"`
		} `json:"objects"`
	}
	if err := json.Unmarshal(data, &b); err != nil || len(b.Objects) != 1 {
		t.Fatalf("%s: %v", path, err)
	}
	return b.Objects[0].Description
}

func TestCTIICSAndV63(t *testing.T) {
	ics := filepath.Join(upstream(t, "attack-stix-data"), "ics-attack", "ics-attack-18.1.json")
	v63 := filepath.Join(upstream(t, "mitre-cti-v6.3"), "enterprise-attack")
	for _, c := range []struct {
		src      string
		actors   int
		warnings int
	}{
		{ics, 14, 0},
		// v6.3 has one uses relationship to a malware object the release does not contain.
		{v63, 94, 1},
	} {
		want := countCTI(t, attackObjects(t, c.src))
		if want.actors != c.actors {
			t.Errorf("%s: the upstream data changed: %+v", c.src, want)
		}
		e := newEnv(t, map[string]string{"cti": ""})
		run := e.Import(t, "cti", c.src)
		t.Logf("%s: %+v", filepath.Base(c.src), want)
		if run.WarningCount != c.warnings {
			t.Errorf("%s: warnings %+v", c.src, Warnings(run))
		}
		checkCTIStore(t, e, want, false)
		if again := e.Import(t, "cti", c.src); again.Added+again.Updated+again.Deprecated != 0 {
			t.Errorf("%s: re-import changed something: %+v", c.src, again)
		}
	}
}

// A changed file changes exactly its records: an actor's file is edited.
func TestCTIChangedFile(t *testing.T) {
	src := filepath.Join(upstream(t, "mitre-cti"), "enterprise-attack")
	objs := attackObjects(t, src)
	keep := map[string]bool{}
	var actorFile string
	for _, o := range objs {
		if o.Type == "intrusion-set" && (o.ext() == "G0016" || o.ext() == "G0007") {
			keep[o.ID] = true
		}
	}
	for _, o := range objs {
		if o.Type == "relationship" && o.RelType == "uses" && keep[o.SourceRef] && strings.HasPrefix(o.TargetRef, "attack-pattern--") {
			keep[o.ID], keep[o.TargetRef] = true, true
		}
	}
	dir := filepath.Join(t.TempDir(), "enterprise-attack")
	for id := range keep {
		typ, _, _ := strings.Cut(id, "--")
		to := filepath.Join(dir, typ, id+".json")
		data, err := os.ReadFile(filepath.Join(src, typ, id+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if typ == "intrusion-set" && objs[id].ext() == "G0007" {
			actorFile = to
		}
	}
	e := newEnv(t, map[string]string{"cti": ""})
	first := e.Import(t, "cti", dir)
	if first.Added != 2 || first.WarningCount != 0 {
		t.Fatalf("first import: %+v %v", first, Warnings(first))
	}
	data, err := os.ReadFile(actorFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(actorFile, []byte(strings.Replace(string(data), `"name": "APT28"`, `"name": "APT28 (edited)"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	second := e.Import(t, "cti", dir)
	if second.Updated != 1 || second.Added != 0 || second.Deprecated != 0 || second.Unchanged != 1 {
		t.Errorf("after editing one actor file: %+v", second)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM threat_actors WHERE external_id = 'G0007' AND name = 'APT28 (edited)'`); n != 1 {
		t.Error("the edit did not arrive")
	}
}
