package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// attackObject is what these tests read of a STIX object, with their own
// decoding rather than the plugin's.
type attackObject struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	Name        string `json:"name"`
	Revoked     bool   `json:"revoked"`
	Deprecated  bool   `json:"x_mitre_deprecated"`
	Shortname   string `json:"x_mitre_shortname"`
	TacticRefs  []string
	RelType     string `json:"relationship_type"`
	SourceRef   string `json:"source_ref"`
	TargetRef   string `json:"target_ref"`
	ExternalRef []struct {
		SourceName string `json:"source_name"`
		ExternalID string `json:"external_id"`
	} `json:"external_references"`
	KillChain []struct {
		Name  string `json:"kill_chain_name"`
		Phase string `json:"phase_name"`
	} `json:"kill_chain_phases"`
	Version string `json:"x_mitre_version"`
}

func (o *attackObject) UnmarshalJSON(b []byte) error {
	type plain attackObject
	var aux struct {
		plain
		TacticRefs []string `json:"tactic_refs"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*o = attackObject(aux.plain)
	o.TacticRefs = aux.TacticRefs
	return nil
}

// ext returns the ATT&CK id (any ATT&CK source name: deprecated ICS objects
// use mitre-ics-attack).
func (o *attackObject) ext() string {
	for _, r := range o.ExternalRef {
		if strings.HasPrefix(r.SourceName, "mitre-") && strings.HasSuffix(r.SourceName, "attack") && r.ExternalID != "" {
			return r.ExternalID
		}
	}
	return ""
}

// attackObjects reads every object of a bundle file or a folder of bundles.
func attackObjects(t *testing.T, path string) map[string]*attackObject {
	t.Helper()
	files := []string{path}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		files = walkFiles(t, path, ".json")
	}
	out := map[string]*attackObject{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			Objects []*attackObject `json:"objects"`
		}
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, o := range b.Objects {
			out[o.ID] = o
		}
	}
	return out
}

// attackExpect are the counts a test expects, computed from the raw files.
type attackExpect struct {
	active, revoked, deprecated, revokedWithReplacement int
	tactics, mitigations, liveMitigations               int
	mitigates, techniqueTactics                         int
	order                                               map[string]int // tactic id → matrix column
	release                                             string
}

func countAttack(t *testing.T, objs map[string]*attackObject) attackExpect {
	t.Helper()
	var e attackExpect
	e.order = map[string]int{}
	revokedBy := map[string]bool{}
	pairs := map[string]bool{}
	for _, o := range objs {
		switch {
		case o.Type == "relationship" && o.RelType == "revoked-by":
			revokedBy[o.SourceRef] = true
		case o.Type == "relationship" && o.RelType == "mitigates" && !o.Revoked && !o.Deprecated:
			src, dst := objs[o.SourceRef], objs[o.TargetRef]
			if src != nil && dst != nil && src.ext() != "" && dst.Type == "attack-pattern" && dst.ext() != "" {
				pairs[src.ext()+"/"+dst.ext()] = true
			}
		case o.Type == "x-mitre-matrix":
			for i, ref := range o.TacticRefs {
				if ta := objs[ref]; ta != nil {
					e.order[ta.ext()] = i + 1
				}
			}
		case o.Type == "x-mitre-collection":
			e.release = o.Version
		}
	}
	for _, o := range objs {
		if o.ext() == "" {
			continue
		}
		switch o.Type {
		case "attack-pattern":
			switch {
			case o.Revoked:
				e.revoked++
				if revokedBy[o.ID] {
					e.revokedWithReplacement++
				}
			case o.Deprecated:
				e.deprecated++
			default:
				e.active++
			}
			phases := map[string]bool{}
			for _, k := range o.KillChain {
				phases[k.Phase] = true
			}
			e.techniqueTactics += len(phases)
		case "x-mitre-tactic":
			e.tactics++
		case "course-of-action":
			e.mitigations++
			if !o.Revoked && !o.Deprecated {
				e.liveMitigations++
			}
		}
	}
	e.mitigates = len(pairs)
	return e
}

// checkAttackStore compares the store with the raw counts.
func checkAttackStore(t *testing.T, e *env, want attackExpect, release string) {
	t.Helper()
	for q, n := range map[string]int{
		`SELECT COUNT(*) FROM techniques WHERE source = 'attack' AND NOT revoked AND NOT deprecated`: want.active,
		`SELECT COUNT(*) FROM techniques WHERE source = 'attack' AND revoked`:                        want.revoked,
		`SELECT COUNT(*) FROM techniques WHERE source = 'attack' AND deprecated AND NOT revoked`:     want.deprecated,
		`SELECT COUNT(*) FROM techniques WHERE source = 'attack' AND revoked_by <> ''`:               want.revokedWithReplacement,
		`SELECT COUNT(*) FROM tactics WHERE source = 'attack'`:                                       want.tactics,
		`SELECT COUNT(*) FROM mitigations WHERE source = 'attack'`:                                   want.mitigations,
		`SELECT COUNT(*) FROM mitigations WHERE source = 'attack' AND NOT deprecated`:                want.liveMitigations,
		`SELECT COUNT(*) FROM technique_mitigations`:                                                 want.mitigates,
		`SELECT COUNT(*) FROM technique_tactics`:                                                     want.techniqueTactics,
		// Every replacement is a technique of the same release that is not revoked itself.
		`SELECT COUNT(*) FROM techniques r JOIN techniques n ON n.external_id = r.revoked_by
		   WHERE r.source = 'attack' AND n.source = 'attack'`: want.revokedWithReplacement,
		`SELECT COUNT(*) FROM techniques WHERE source = 'attack' AND last_seen_release = ?`: want.active + want.revoked + want.deprecated,
		// Sub-techniques hang under the technique their id names.
		`SELECT COUNT(*) FROM techniques c JOIN techniques p ON p.id = c.parent_id
		   WHERE c.source = 'attack' AND p.external_id || '.' || substr(c.external_id, 7) <> c.external_id`: 0,
		`SELECT COUNT(*) FROM techniques WHERE source = 'attack' AND external_id LIKE '%.%' AND parent_id IS NULL`: 0,
	} {
		var got int
		if strings.Contains(q, "last_seen_release = ?") {
			got = e.Count(t, q, release)
		} else {
			got = e.Count(t, q)
		}
		if got != n {
			t.Errorf("%s\n  = %d, want %d", strings.Join(strings.Fields(q), " "), got, n)
		}
	}
	for id, order := range want.order {
		if got := e.Count(t, `SELECT matrix_order FROM tactics WHERE external_id = ?`, id); got != order {
			t.Errorf("tactic %s in column %d, want %d", id, got, order)
		}
	}
}

func TestAttackEnterpriseV181(t *testing.T) {
	dir := upstream(t, "mitre-cti")
	objs := attackObjects(t, filepath.Join(dir, "enterprise-attack"))
	want := countAttack(t, objs)
	t.Logf("v18.1 from the files: %d active techniques, %d revoked (%d with a replacement), %d deprecated, %d tactics, %d mitigations (%d live), %d mitigates links",
		want.active, want.revoked, want.revokedWithReplacement, want.deprecated, want.tactics, want.mitigations, want.liveMitigations, want.mitigates)

	e := newEnv(t, map[string]string{"attack": `{"release_version":"18.1"}`})
	start := time.Now()
	run := e.Import(t, "attack", dir)
	t.Logf("import of mitre-cti (v18.1): %s, run %+v", time.Since(start), run)
	if want.active != 691 || want.revoked != 132 {
		t.Errorf("the upstream data changed: %d active, %d revoked techniques", want.active, want.revoked)
	}
	if ws := otherWarnings(run); len(ws) != 0 {
		t.Errorf("warnings: %+v", ws)
	}
	checkAttackStore(t, e, want, "18.1")

	// Known facts.
	if n := e.Count(t, `SELECT COUNT(*) FROM techniques c JOIN techniques p ON p.id = c.parent_id
		WHERE c.external_id = 'T1059.001' AND p.external_id = 'T1059' AND c.name = 'PowerShell' AND c.domains LIKE '%enterprise-attack%'`); n != 1 {
		t.Error("T1059.001 is not a sub-technique of T1059")
	}
	// T1086 (PowerShell) was revoked when sub-techniques came, in favour of T1059.001.
	if objs := attackByExt(objs, "T1086"); objs == nil || !objs.Revoked {
		t.Fatal("T1086 is not revoked in the files")
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM techniques r JOIN techniques n ON n.external_id = r.revoked_by
		WHERE r.external_id = 'T1086' AND r.revoked AND n.external_id = 'T1059.001' AND NOT n.revoked`); n != 1 {
		t.Error("T1086 is not recorded as revoked by T1059.001")
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM techniques WHERE external_id = 'T1059.001' AND data_sources LIKE '%Process Creation%' AND detection LIKE 'Detection strategy DET%'`); n != 1 {
		t.Error("T1059.001 lacks its v18 data components or detection strategy")
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM tactics WHERE external_id = 'TA0002' AND shortname = 'execution' AND domain = 'enterprise-attack'`); n != 1 {
		t.Error("TA0002 execution is missing")
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM technique_mitigations l JOIN mitigations m ON m.id = l.mitigation_id
		JOIN techniques te ON te.id = l.technique_id WHERE m.external_id = 'M1038' AND te.external_id = 'T1059.001'`); n != 1 {
		t.Error("M1038 does not mitigate T1059.001")
	}

	start = time.Now()
	again := e.Import(t, "attack", dir)
	if again.Added+again.Updated+again.Deprecated != 0 || again.Unchanged != run.Added {
		t.Errorf("re-import changed something: %+v", again)
	}
	t.Logf("re-import: %s", time.Since(start))
}

func attackByExt(objs map[string]*attackObject, ext string) *attackObject {
	for _, o := range objs {
		if o.Type == "attack-pattern" && o.ext() == ext {
			return o
		}
	}
	return nil
}

func TestAttackICSBundle(t *testing.T) {
	bundle := filepath.Join(upstream(t, "attack-stix-data"), "ics-attack", "ics-attack-18.1.json")
	want := countAttack(t, attackObjects(t, bundle))
	e := newEnv(t, map[string]string{"attack": ""})
	start := time.Now()
	run := e.Import(t, "attack", bundle)
	t.Logf("import of the ICS 18.1 bundle: %s; from the files: %+v", time.Since(start), want)
	if want.release != "18.1" || want.active != 83 || want.deprecated != 12 {
		t.Errorf("the upstream data changed: %+v", want)
	}
	if run.WarningCount != 0 {
		t.Errorf("warnings: %+v", Warnings(run))
	}
	checkAttackStore(t, e, want, want.release)
	// T0895 has no platforms at all; deprecated ICS techniques are named by mitre-ics-attack.
	if n := e.Count(t, `SELECT COUNT(*) FROM techniques WHERE external_id = 'T0895' AND platforms = '[]' AND domains = '["ics-attack"]'`); n != 1 {
		t.Error("T0895 (no platforms) is missing")
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM techniques WHERE external_id = 'T0850' AND deprecated`); n != 1 {
		t.Error("deprecated T0850 is missing")
	}
	if again := e.Import(t, "attack", bundle); again.Added+again.Updated+again.Deprecated != 0 {
		t.Errorf("re-import changed something: %+v", again)
	}
}

func TestAttackV63(t *testing.T) {
	dir := filepath.Join(upstream(t, "mitre-cti-v6.3"), "enterprise-attack")
	want := countAttack(t, attackObjects(t, dir))
	e := newEnv(t, map[string]string{"attack": `{"release_version":"6.3"}`})
	start := time.Now()
	run := e.Import(t, "attack", dir)
	t.Logf("import of v6.3: %s; from the files: %+v", time.Since(start), want)
	if want.active != 266 || want.revoked != 0 {
		t.Errorf("the upstream data changed: %+v", want)
	}
	if run.WarningCount != 0 {
		t.Errorf("warnings: %+v", Warnings(run))
	}
	checkAttackStore(t, e, want, "6.3")
	// No sub-techniques yet; data sources were plain strings.
	if n := e.Count(t, `SELECT COUNT(*) FROM techniques WHERE source = 'attack' AND external_id LIKE '%.%'`); n != 0 {
		t.Errorf("%d sub-techniques in v6.3", n)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM techniques WHERE external_id = 'T1086' AND NOT revoked AND data_sources LIKE '%PowerShell logs%'`); n != 1 {
		t.Error("v6.3 T1086 PowerShell is not live with its data sources")
	}
	if again := e.Import(t, "attack", dir); again.Added+again.Updated+again.Deprecated != 0 {
		t.Errorf("re-import changed something: %+v", again)
	}
}

// attackTAXII serves one collection's objects over TAXII 2.1, in pages.
func attackTAXII(t *testing.T, title, id string, objects []json.RawMessage, page int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/taxii+json;version=2.1" {
			http.Error(w, "not acceptable", http.StatusNotAcceptable)
			return
		}
		w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
		var v any
		switch r.URL.Path {
		case "/taxii2/":
			v = map[string]any{"title": "test", "default": "api/v21", "api_roots": []string{"api/v21"}}
		case "/api/v21/":
			v = map[string]any{"title": "test", "versions": []string{"application/taxii+json;version=2.1"}}
		case "/api/v21/collections/":
			v = map[string]any{"collections": []map[string]any{{"id": id, "title": title, "can_read": true}}}
		case "/api/v21/collections/" + id + "/objects/":
			start, _ := strconv.Atoi(r.URL.Query().Get("next"))
			end := min(start+page, len(objects))
			env := map[string]any{"more": end < len(objects), "objects": objects[start:end]}
			if end < len(objects) {
				env["next"] = strconv.Itoa(end)
			}
			v = env
		default:
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(v)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// hashes lists kind/external id/content hash of everything the attack plugin stored.
func (e *env) attackHashes(t *testing.T) []string {
	t.Helper()
	var rows []string
	for _, table := range []string{"tactics", "techniques", "mitigations"} {
		var part []struct {
			ExternalID  string `db:"external_id"`
			ContentHash string `db:"content_hash"`
		}
		if err := e.Store.DB().Select(&part, `SELECT external_id, content_hash FROM `+table+` WHERE source = 'attack'`); err != nil {
			t.Fatal(err)
		}
		for _, p := range part {
			rows = append(rows, table+"/"+p.ExternalID+"/"+p.ContentHash)
		}
	}
	sort.Strings(rows)
	return rows
}

// The ICS collection served by a TAXII server in pages gives exactly the
// records of the bundle it came from.
func TestAttackTAXII(t *testing.T) {
	bundle := filepath.Join(upstream(t, "attack-stix-data"), "ics-attack", "ics-attack-18.1.json")
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	srv := attackTAXII(t, "ICS ATT&CK", "x-mitre-collection--90c00720-636b-4485-b342-8751d232bf09", b.Objects, 250)
	viaTAXII := newEnv(t, map[string]string{"attack": fmt.Sprintf(`{"taxii":{"url":%q,"collection":"ics-attack","page_size":250}}`, srv.URL+"/taxii2/")})
	start := time.Now()
	run := viaTAXII.Import(t, "attack", srv.URL+"/taxii2/")
	t.Logf("TAXII import of %d objects in pages of 250: %s", len(b.Objects), time.Since(start))
	if run.WarningCount != 0 {
		t.Errorf("warnings: %+v", Warnings(run))
	}
	fromFile := newEnv(t, map[string]string{"attack": ""})
	fromFile.Import(t, "attack", bundle)
	got, want := viaTAXII.attackHashes(t), fromFile.attackHashes(t)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("TAXII stored %d records, the bundle %d, or their contents differ", len(got), len(want))
	}
	if len(want) != 12+95+52 {
		t.Errorf("%d records from the bundle", len(want))
	}
}

// A changed file changes exactly its records: a few mitre/cti files are
// copied, imported, one technique file is edited and imported again.
func TestAttackChangedFile(t *testing.T) {
	src := filepath.Join(upstream(t, "mitre-cti"), "enterprise-attack")
	objs := attackObjects(t, src)
	keep := map[string]bool{}
	for _, ext := range []string{"T1059", "T1059.001", "T1059.003", "T1086"} {
		keep[attackByExt(objs, ext).ID] = true
	}
	for _, o := range objs {
		if o.Type == "x-mitre-matrix" || (o.Type == "x-mitre-tactic" && o.Shortname == "execution") {
			keep[o.ID] = true
		}
	}
	for _, o := range objs { // relationships among them, and the mitigations of them
		if o.Type == "relationship" && keep[o.SourceRef] && keep[o.TargetRef] {
			keep[o.ID] = true
		}
		if o.Type == "relationship" && o.RelType == "mitigates" && keep[o.TargetRef] {
			keep[o.ID], keep[o.SourceRef] = true, true
		}
	}
	dir := filepath.Join(t.TempDir(), "enterprise-attack")
	var edited string
	for id := range keep {
		typ, _, _ := strings.Cut(id, "--")
		from := filepath.Join(src, typ, id+".json")
		to := filepath.Join(dir, typ, id+".json")
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if id == attackByExt(objs, "T1059.003").ID {
			edited = to
		}
	}
	e := newEnv(t, map[string]string{"attack": `{"release_version":"18.1"}`})
	first := e.Import(t, "attack", dir)
	if first.Added < 8 || first.WarningCount != 0 {
		t.Fatalf("first import: %+v %v", first, Warnings(first))
	}
	data, err := os.ReadFile(edited)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(edited, []byte(strings.Replace(string(data), `"name": "Windows Command Shell"`, `"name": "Windows Command Shell (edited)"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	second := e.Import(t, "attack", dir)
	if second.Updated != 1 || second.Added != 0 || second.Deprecated != 0 || second.Unchanged != first.Added-1 {
		t.Errorf("after editing one technique file: %+v (first run added %d)", second, first.Added)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM techniques WHERE external_id = 'T1059.003' AND name = 'Windows Command Shell (edited)'`); n != 1 {
		t.Error("the edit did not arrive")
	}
}
