package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// domainFixture is one ATT&CK domain of a small hand-made release: a tactic, two
// techniques, and the group, campaign and mitigation that all three domains share
// (same STIX ids, as in the real bundles), each linked to this domain's techniques.
type domainFixture struct {
	domain, killChain, tacticID, tacticShort, name string
	techniques                                     []string
}

var fixtureDomains = []domainFixture{
	{"enterprise-attack", "mitre-attack", "TA0002", "execution", "Enterprise ATT&CK", []string{"T1059", "T1106"}},
	{"mobile-attack", "mitre-mobile-attack", "TA0041", "execution", "Mobile ATT&CK", []string{"T1623", "T1575"}},
	{"ics-attack", "mitre-ics-attack", "TA0104", "execution-ics", "ATT&CK for ICS", []string{"T0807", "T0871"}},
}

// stixID makes a stable STIX id from a name.
func stixID(typ, name string) string {
	var n uint32 = 2166136261
	for _, c := range []byte(name) {
		n = (n ^ uint32(c)) * 16777619
	}
	return fmt.Sprintf("%s--%08x-0000-4000-8000-%012x", typ, n, n)
}

const fixtureTime = "2025-11-01T00:00:00.000Z"

// writeDomainBundles writes one STIX 2.1 bundle per domain into dir and returns
// their paths, by domain.
func writeDomainBundles(t *testing.T, dir string) map[string]string {
	t.Helper()
	group, campaign, mitigation := stixID("intrusion-set", "G9001"), stixID("campaign", "C9001"), stixID("course-of-action", "M9001")
	allDomains := []string{"enterprise-attack", "mobile-attack", "ics-attack"}
	out := map[string]string{}
	for _, d := range fixtureDomains {
		ref := func(id string) []map[string]any {
			return []map[string]any{{"source_name": "mitre-attack", "external_id": id, "url": "https://attack.mitre.org/" + id}}
		}
		base := func(typ, id string) map[string]any {
			return map[string]any{"type": typ, "id": id, "spec_version": "2.1", "created": fixtureTime, "modified": fixtureTime}
		}
		tactic := base("x-mitre-tactic", stixID("x-mitre-tactic", d.tacticID))
		tactic["name"], tactic["x_mitre_shortname"], tactic["external_references"] = "Execution", d.tacticShort, ref(d.tacticID)
		tactic["x_mitre_domains"] = []string{d.domain}
		matrix := base("x-mitre-matrix", stixID("x-mitre-matrix", d.domain))
		matrix["name"], matrix["tactic_refs"] = d.name, []string{tactic["id"].(string)}
		matrix["external_references"] = []map[string]any{{"source_name": "mitre-attack", "external_id": d.domain}}
		collection := base("x-mitre-collection", stixID("x-mitre-collection", d.domain))
		collection["name"], collection["x_mitre_version"] = d.name, "18.1"
		objs := []map[string]any{collection, matrix, tactic}
		g := base("intrusion-set", group)
		g["name"], g["aliases"], g["external_references"], g["x_mitre_domains"] = "Shared Group", []string{"Shared Group", "SG-" + d.domain}, ref("G9001"), allDomains
		g["description"] = "A group every domain lists."
		c := base("campaign", campaign)
		c["name"], c["external_references"], c["x_mitre_domains"] = "Shared Campaign", ref("C9001"), allDomains
		m := base("course-of-action", mitigation)
		m["name"], m["external_references"], m["x_mitre_domains"] = "Shared Mitigation", ref("M9001"), allDomains
		objs = append(objs, g, c, m)
		rel := func(src, typ, dst, desc string) map[string]any {
			r := base("relationship", stixID("relationship", src+typ+dst))
			r["source_ref"], r["relationship_type"], r["target_ref"], r["description"] = src, typ, dst, desc
			return r
		}
		objs = append(objs, rel(campaign, "attributed-to", group, ""))
		for _, te := range d.techniques {
			ap := base("attack-pattern", stixID("attack-pattern", te))
			ap["name"], ap["external_references"], ap["x_mitre_domains"] = "Technique "+te, ref(te), []string{d.domain}
			ap["kill_chain_phases"] = []map[string]any{{"kill_chain_name": d.killChain, "phase_name": d.tacticShort}}
			ap["x_mitre_platforms"], ap["x_mitre_version"] = []string{"Linux"}, "1.0"
			objs = append(objs, ap,
				rel(group, "uses", ap["id"].(string), "The group uses "+te+"."),
				rel(campaign, "uses", ap["id"].(string), ""),
				rel(mitigation, "mitigates", ap["id"].(string), "Mitigates "+te+"."))
		}
		data, err := json.MarshalIndent(map[string]any{"type": "bundle", "id": stixID("bundle", d.domain), "objects": objs}, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, d.domain+"-18.1.json")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out[d.domain] = p
	}
	return out
}

// links lists every technique link of the ATT&CK records, as text.
func (e *env) links(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT 'actor ' || a.external_id || ' ' || te.external_id || ' ' || l.procedure FROM threat_actor_techniques l
			JOIN threat_actors a ON a.id = l.threat_actor_id JOIN techniques te ON te.id = l.technique_id`,
		`SELECT 'mitigation ' || m.external_id || ' ' || te.external_id || ' ' || l.description FROM technique_mitigations l
			JOIN mitigations m ON m.id = l.mitigation_id JOIN techniques te ON te.id = l.technique_id`,
		`SELECT 'campaign ' || external_id || ' ' || CAST(technique_ids AS TEXT) || ' ' || CAST(actor_ids AS TEXT) FROM campaign_profiles`,
		`SELECT 'tactic ' || te.external_id || ' ' || ta.domain || '/' || ta.shortname FROM technique_tactics l
			JOIN techniques te ON te.id = l.technique_id JOIN tactics ta ON ta.id = l.tactic_id`,
		`SELECT 'state ' || kind || ' ' || external_id || ' ' || CAST(deprecated AS TEXT) FROM (
			SELECT 'actor' AS kind, external_id, deprecated FROM threat_actors UNION ALL
			SELECT 'mitigation', external_id, deprecated FROM mitigations UNION ALL
			SELECT 'technique', external_id, deprecated FROM techniques) x`,
	} {
		var rows []string
		if err := e.Store.DB().Select(&rows, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out = append(out, rows...)
	}
	sort.Strings(out)
	return out
}

func permutations(xs []string) [][]string {
	if len(xs) <= 1 {
		return [][]string{append([]string(nil), xs...)}
	}
	var out [][]string
	for i := range xs {
		rest := append(append([]string(nil), xs[:i]...), xs[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]string{xs[i]}, p...))
		}
	}
	return out
}

// Importing Enterprise, Mobile and ICS one run each, in every order, gives the links of
// one combined run: a group, campaign or mitigation that several domains list keeps
// what each domain brings.
func TestDomainsImportedSeparatelyMerge(t *testing.T) {
	dir := t.TempDir()
	bundles := writeDomainBundles(t, dir)
	plugins := map[string]string{"attack": "", "cti": ""}

	combined := newEnv(t, plugins)
	combined.Import(t, "attack", dir)
	combined.Import(t, "cti", dir)
	want := combined.links(t)
	for _, l := range []string{"actor G9001 T0807 The group uses T0807.", "actor G9001 T1059 The group uses T1059.",
		"actor G9001 T1623 The group uses T1623.", "mitigation M9001 T0871 Mitigates T0871.", "mitigation M9001 T1575 Mitigates T1575."} {
		if !hasPrefix(want, l) {
			t.Fatalf("the combined run lacks %q:\n%s", l, strings.Join(want, "\n"))
		}
	}

	for _, order := range permutations([]string{"enterprise-attack", "mobile-attack", "ics-attack"}) {
		e := newEnv(t, plugins)
		for _, d := range order {
			e.Import(t, "attack", bundles[d])
			e.Import(t, "cti", bundles[d])
		}
		if got := e.links(t); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("order %v: links differ from one combined run\n got: %s\nwant: %s", order,
				strings.Join(got, "\n      "), strings.Join(want, "\n      "))
		}
		// Re-importing one domain changes nothing, and deprecates nothing of the others.
		for _, plugin := range []string{"attack", "cti"} {
			if again := e.Import(t, plugin, bundles[order[0]]); again.Added+again.Updated+again.Deprecated != 0 {
				t.Errorf("order %v: re-import of %s by %s changed %+v", order, order[0], plugin, again)
			}
		}
	}
}

// A domain's newer release replaces what that domain brought (a link it dropped goes),
// and leaves the other domains' links alone.
func TestDomainReleaseReplacesOnlyItsOwnLinks(t *testing.T) {
	dir := t.TempDir()
	bundles := writeDomainBundles(t, dir)
	e := newEnv(t, map[string]string{"cti": ""})
	for _, d := range []string{"enterprise-attack", "ics-attack"} {
		e.Import(t, "cti", bundles[d])
	}
	// A newer ICS release, from another path, drops the group's use of T0871.
	raw, err := os.ReadFile(bundles["ics-attack"])
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Type    string           `json:"type"`
		ID      string           `json:"id"`
		Objects []map[string]any `json:"objects"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	dropped := stixID("relationship", stixID("intrusion-set", "G9001")+"uses"+stixID("attack-pattern", "T0871"))
	var objs []map[string]any
	for _, o := range b.Objects {
		if o["id"] != dropped {
			objs = append(objs, o)
		}
	}
	b.Objects = objs
	newer := filepath.Join(t.TempDir(), "ics-attack-18.2.json")
	data, _ := json.Marshal(b)
	if err := os.WriteFile(newer, data, 0o644); err != nil {
		t.Fatal(err)
	}
	e.Import(t, "cti", newer)
	got := strings.Join(e.links(t), "\n")
	if strings.Contains(got, "actor G9001 T0871 The group") {
		t.Errorf("the link the newer ICS release dropped is still there:\n%s", got)
	}
	for _, l := range []string{"actor G9001 T0807 The group uses T0807.", "actor G9001 T1059 The group uses T1059.", "actor G9001 T1106 The group uses T1106."} {
		if !strings.Contains(got, l) {
			t.Errorf("%q is gone after the ICS upgrade:\n%s", l, got)
		}
	}
}

func hasPrefix(xs []string, prefix string) bool {
	for _, y := range xs {
		if strings.HasPrefix(y, prefix) {
			return true
		}
	}
	return false
}

// rewriteBundle rewrites a bundle's objects with edit (nil drops the object) into a
// new file.
func rewriteBundle(t *testing.T, from, to string, edit func(o map[string]any) map[string]any) {
	t.Helper()
	raw, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	var objs []any
	for _, o := range b["objects"].([]any) {
		if x := edit(o.(map[string]any)); x != nil {
			objs = append(objs, x)
		}
	}
	b["objects"] = objs
	data, _ := json.MarshalIndent(b, "", " ")
	writeFile(t, to, string(data))
}

// A source that does not say which ATT&CK release it is keeps the release stored on
// techniques and on open reviews instead of blanking it.
func TestUnknownReleaseKeepsTheStoredOne(t *testing.T) {
	bundles := writeDomainBundles(t, t.TempDir())
	e := newEnv(t, map[string]string{"attack": ""})
	e.Import(t, "attack", bundles["enterprise-attack"])
	e.testsOn(t, []string{"T1106"})
	// The same release without its collection object, under a name without a release
	// number; T1106 is now deprecated (so a review opens) and T1059 changed.
	plain := filepath.Join(t.TempDir(), "enterprise.json")
	rewriteBundle(t, bundles["enterprise-attack"], plain, func(o map[string]any) map[string]any {
		switch {
		case o["type"] == "x-mitre-collection":
			return nil
		case o["id"] == stixID("attack-pattern", "T1106"):
			o["x_mitre_deprecated"] = true
		case o["id"] == stixID("attack-pattern", "T1059"):
			o["description"] = "changed"
		}
		return o
	})
	run := e.Import(t, "attack", plain)
	if run.Updated < 2 {
		t.Fatalf("the second import did not update the techniques: %+v", run)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM techniques WHERE external_id IN ('T1059', 'T1106') AND last_seen_release = '18.1'`); n != 2 {
		var got []string
		e.Store.DB().Select(&got, `SELECT external_id || '=' || last_seen_release FROM techniques`)
		t.Errorf("last_seen_release after a release-less import: %v, want 18.1 kept", got)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM technique_reviews WHERE status = 'open' AND release = '18.1'`); n != 1 {
		var got []string
		e.Store.DB().Select(&got, `SELECT status || '=' || release FROM technique_reviews`)
		t.Errorf("reviews %v, want one open review of release 18.1", got)
	}
}

// A revocation chain keeps its steps: A revoked by B and B by C moves A's tests to C,
// stores B as what revoked A, and the audit says A → B → C.
func TestRevocationChainKeepsItsSteps(t *testing.T) {
	bundles := writeDomainBundles(t, t.TempDir())
	ap := func(ext string, revoked bool) map[string]any {
		o := map[string]any{"type": "attack-pattern", "id": stixID("attack-pattern", ext), "spec_version": "2.1",
			"created": fixtureTime, "modified": fixtureTime, "name": "Technique " + ext,
			"external_references": []map[string]any{{"source_name": "mitre-attack", "external_id": ext}},
			"kill_chain_phases":   []map[string]any{{"kill_chain_name": "mitre-attack", "phase_name": "execution"}},
			"x_mitre_domains":     []string{"enterprise-attack"}}
		if revoked {
			o["revoked"], o["modified"] = true, "2025-12-01T00:00:00.000Z"
		}
		return o
	}
	revokedBy := func(from, to string) map[string]any {
		return map[string]any{"type": "relationship", "id": stixID("relationship", from+"revoked-by"+to), "spec_version": "2.1",
			"created": fixtureTime, "modified": fixtureTime, "relationship_type": "revoked-by",
			"source_ref": stixID("attack-pattern", from), "target_ref": stixID("attack-pattern", to)}
	}
	release := func(name string, objs ...map[string]any) string {
		p := filepath.Join(t.TempDir(), name)
		added := false
		rewriteBundle(t, bundles["enterprise-attack"], p, func(o map[string]any) map[string]any { return o })
		raw, _ := os.ReadFile(p)
		var b map[string]any
		json.Unmarshal(raw, &b)
		for _, o := range objs {
			b["objects"] = append(b["objects"].([]any), o)
			added = true
		}
		if !added {
			t.Fatal("nothing added")
		}
		data, _ := json.Marshal(b)
		writeFile(t, p, string(data))
		return p
	}
	first := release("enterprise-attack-18.1.json", ap("T1001", false), ap("T1002", false), ap("T1003", false))
	second := release("enterprise-attack-18.2.json", ap("T1001", true), ap("T1002", true), ap("T1003", false),
		revokedBy("T1001", "T1002"), revokedBy("T1002", "T1003"))

	e := newEnv(t, map[string]string{"attack": ""})
	e.Import(t, "attack", first)
	tests := e.testsOn(t, []string{"T1001"})
	e.Import(t, "attack", second)
	for id := range tests {
		if got := e.techniqueOfTests(t)[id]; got != "T1003" {
			t.Errorf("the test on T1001 is on %s, want T1003", got)
		}
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM techniques WHERE external_id = 'T1001' AND revoked_by = 'T1002'`); n != 1 {
		var rb string
		e.Store.DB().Get(&rb, `SELECT revoked_by FROM techniques WHERE external_id = 'T1001'`)
		t.Errorf("T1001 revoked_by = %q, want T1002 (the step the release names)", rb)
	}
	var details []string
	e.Store.DB().Select(&details, `SELECT CAST(details AS TEXT) FROM audit_logs WHERE action IN ('attack.remap', 'attack.remap.test')`)
	if len(details) != 2 {
		t.Fatalf("remap audit entries: %q", details)
	}
	for _, d := range details {
		if !strings.Contains(d, "T1001 was revoked by T1002, T1002 by T1003") || !strings.Contains(d, `"chain":["T1001","T1002","T1003"]`) {
			t.Errorf("audit entry %s does not name every step", d)
		}
	}
}
