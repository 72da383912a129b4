package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/coverage"
)

// rawTechnique is what the upgrade tests read from ATT&CK files themselves, without the
// plugin's code.
type rawTechnique struct {
	STIXID, ExternalID  string
	Revoked, Deprecated bool
	Name                string
	Tactics             []string // kill-chain phase names of the mitre-attack chain
}

type rawRelease struct {
	byExt     map[string]*rawTechnique
	bySTIX    map[string]*rawTechnique
	revokedBy map[string][]string // stix id → stix ids of the replacements
}

// readRelease reads attack-pattern and revoked-by relationship objects from a mitre/cti
// folder (one bundle per file) or a single bundle file.
func readRelease(t *testing.T, path string) *rawRelease {
	t.Helper()
	r := &rawRelease{byExt: map[string]*rawTechnique{}, bySTIX: map[string]*rawTechnique{}, revokedBy: map[string][]string{}}
	var files []string
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		files = []string{path}
	} else {
		for _, sub := range []string{"attack-pattern", "relationship"} {
			files = append(files, walkFiles(t, filepath.Join(path, sub), ".json")...)
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			Objects []struct {
				Type, ID, Name   string
				Revoked          bool
				Deprecated       bool   `json:"x_mitre_deprecated"`
				RelationshipType string `json:"relationship_type"`
				KillChainPhases  []struct {
					KillChainName string `json:"kill_chain_name"`
					PhaseName     string `json:"phase_name"`
				} `json:"kill_chain_phases"`
				SourceRef          string `json:"source_ref"`
				Target             string `json:"target_ref"`
				ExternalReferences []struct {
					SourceName string `json:"source_name"`
					ExternalID string `json:"external_id"`
				} `json:"external_references"`
			}
		}
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, o := range b.Objects {
			switch o.Type {
			case "attack-pattern":
				for _, ref := range o.ExternalReferences {
					if ref.SourceName == "mitre-attack" {
						rt := &rawTechnique{STIXID: o.ID, ExternalID: ref.ExternalID, Revoked: o.Revoked, Deprecated: o.Deprecated, Name: o.Name}
						for _, k := range o.KillChainPhases {
							if k.KillChainName == "mitre-attack" {
								rt.Tactics = append(rt.Tactics, k.PhaseName)
							}
						}
						r.byExt[rt.ExternalID], r.bySTIX[o.ID] = rt, rt
					}
				}
			case "relationship":
				if o.RelationshipType == "revoked-by" {
					r.revokedBy[o.SourceRef] = append(r.revokedBy[o.SourceRef], o.Target)
				}
			}
		}
	}
	return r
}

// replacement follows revoked-by to a current technique; "" when there is none or more
// than one.
func (r *rawRelease) replacement(ext string) string {
	cur := r.byExt[ext]
	for hop := 0; cur != nil && hop < 5; hop++ {
		if !cur.Revoked {
			if cur.Deprecated {
				return ""
			}
			return cur.ExternalID
		}
		targets := r.revokedBy[cur.STIXID]
		if len(targets) != 1 {
			return ""
		}
		cur = r.bySTIX[targets[0]]
	}
	return ""
}

func (r *rawRelease) active(ext string) bool {
	t := r.byExt[ext]
	return t != nil && !t.Revoked && !t.Deprecated
}

// testsOn creates one test per technique (by ATT&CK id) and returns test id → ATT&CK id.
func (e *env) testsOn(t *testing.T, exts []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := e.Store.Update(ctx, func(tx core.Tx) error {
		for _, ext := range exts {
			te, err := tx.TechniqueByExternalID(ctx, ext)
			if err != nil {
				return err
			}
			test := &core.Test{Title: "test of " + ext, TechniqueID: te.ID, Procedure: "recorded before the upgrade"}
			if err := tx.CreateTest(ctx, test); err != nil {
				return err
			}
			out[test.ID] = ext
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// techniqueOfTests returns test id → ATT&CK id of its technique now.
func (e *env) techniqueOfTests(t *testing.T) map[string]string {
	t.Helper()
	var rows []struct {
		ID  string `db:"id"`
		Ext string `db:"external_id"`
	}
	if err := e.Store.DB().Select(&rows, `SELECT t.id, te.external_id FROM tests t JOIN techniques te ON te.id = t.technique_id`); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, r := range rows {
		m[r.ID] = r.Ext
	}
	return m
}

func (e *env) openReviews(t *testing.T) map[string]bool {
	t.Helper()
	var exts []string
	if err := e.Store.DB().Select(&exts, `SELECT te.external_id FROM technique_reviews r JOIN techniques te ON te.id = r.technique_id WHERE r.status = 'open'`); err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, x := range exts {
		m[x] = true
	}
	return m
}

// checkUpgrade imports an older and a newer release with tests on every technique the
// newer one retires (and on some it keeps), and checks that every test was moved to the
// replacement the files name, or queued for review, and none was lost.
// The mitre/cti folder layout carries no release number (the bundles' collection object
// does), so the releases are named in the plugin's config, as an admin would.
func checkUpgrade(t *testing.T, older, olderRelease, newer, newerRelease string, wantRetired int) (e *env, moved, queued int) {
	old, cur := readRelease(t, older), readRelease(t, newer)
	var retired, kept []string
	for ext, o := range old.byExt {
		if o.Revoked || o.Deprecated {
			continue
		}
		if !cur.active(ext) {
			if cur.byExt[ext] != nil {
				retired = append(retired, ext)
			}
		} else if len(kept) < 20 {
			kept = append(kept, ext)
		}
	}
	sort.Strings(retired)
	if wantRetired >= 0 && len(retired) != wantRetired {
		t.Fatalf("the files retire %d techniques that were current in the older release, want %d", len(retired), wantRetired)
	}

	e = newEnv(t, map[string]string{"attack": `{"release_version":"` + olderRelease + `"}`})
	e.Import(t, "attack", older)
	tests := e.testsOn(t, append(append([]string{}, retired...), kept...))
	e.Configure(t, map[string]string{"attack": `{"release_version":"` + newerRelease + `"}`})
	run := e.Import(t, "attack", newer)
	t.Logf("upgrade run: added %d updated %d unchanged %d deprecated %d", run.Added, run.Updated, run.Unchanged, run.Deprecated)

	now := e.techniqueOfTests(t)
	if len(now) != len(tests) {
		t.Fatalf("%d tests before the upgrade, %d after", len(tests), len(now))
	}
	reviews := e.openReviews(t)
	for id, was := range tests {
		got := now[id]
		want := was
		if !cur.active(was) {
			want = cur.replacement(was)
		}
		switch {
		case cur.active(was) && got != was:
			t.Errorf("test on %s, which the release keeps, moved to %s", was, got)
		case want != "" && want != was:
			if got != want {
				t.Errorf("test on %s: on %s, want %s (revoked-by in the files)", was, got, want)
			}
			moved++
		case !cur.active(was):
			if got != was || !reviews[was] {
				t.Errorf("test on %s (no unambiguous replacement): on %s, review queued: %v", was, got, reviews[was])
			}
			queued++
		}
	}
	var audited int
	e.Store.DB().Get(&audited, `SELECT COUNT(*) FROM audit_logs WHERE action = 'attack.remap.test'`)
	if audited != moved {
		t.Errorf("%d test moves audited, %d moved", audited, moved)
	}
	if moved+queued != len(retired) {
		t.Errorf("moved %d + queued %d != %d retired", moved, queued, len(retired))
	}
	t.Logf("%d retired techniques: %d tests moved to their replacement, %d queued for review", len(retired), moved, queued)
	return e, moved, queued
}

// v6.3 → v18.1 is the hardest real upgrade: 129 techniques revoked (most by new
// sub-techniques) and 11 deprecated, as the files say and MANIFEST.md reports.
func TestUpgradeV63ToV181(t *testing.T) {
	older, newer := filepath.Join(upstream(t, "mitre-cti-v6.3"), "enterprise-attack"), filepath.Join(upstream(t, "mitre-cti"), "enterprise-attack")
	e, moved, queued := checkUpgrade(t, older, "6.3", newer, "18.1", 140)
	if moved != 129 || queued != 11 {
		t.Errorf("moved %d, queued %d; want 129 and 11", moved, queued)
	}
	// The v6.3 matrix still shows v6.3, the techniques retired since marked as such.
	m, err := coverage.New(e.Store, nil).Matrix(ctx, coverage.MatrixQuery{Release: "6.3"})
	if err != nil {
		t.Fatal(err)
	}
	checkReleaseMatrix(t, "6.3", m, readRelease(t, older), readRelease(t, newer))
}

// v17.1 → v18.1 revokes nothing but rewrites the detection model: every test stays, and
// every technique now says it was last seen in 18.1.
func TestUpgradeV171ToV181(t *testing.T) {
	e, _, _ := checkUpgrade(t, filepath.Join(upstream(t, "mitre-cti-v17.1"), "enterprise-attack"), "17.1",
		filepath.Join(upstream(t, "mitre-cti"), "enterprise-attack"), "18.1", 0)
	if n := e.Count(t, `SELECT COUNT(*) FROM techniques WHERE known AND NOT revoked AND NOT deprecated AND last_seen_release <> '18.1'`); n != 0 {
		var seen []string
		e.Store.DB().Select(&seen, `SELECT DISTINCT last_seen_release FROM techniques WHERE known AND NOT revoked AND NOT deprecated`)
		t.Errorf("%d current techniques not marked as seen in 18.1 (releases seen: %q)", n, seen)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM technique_reviews`); n != 0 {
		t.Errorf("%d reviews queued by an upgrade that retires nothing", n)
	}
}

// The hand-written pair covers a tactic split and a re-ID like ATT&CK v19's, and a
// technique id that other sources used before the release had it.
func TestUpgradeTacticSplitAndReID(t *testing.T) {
	a, b := filepath.Join("testdata", "upgrade", "release-a.json"), filepath.Join("testdata", "upgrade", "release-b.json")
	e := newEnv(t, map[string]string{"attack": ""})
	e.Import(t, "attack", a)
	// A rule already tagged with the v19 id: kept as unknown to the release in use.
	err := e.Store.Update(ctx, func(tx core.Tx) error {
		return tx.UpsertDetectionRule(ctx, &core.DetectionRule{Source: "sigma", ExternalID: "r1", Title: "tamper", Query: "x",
			TechniqueIDs: []string{"T1685.001"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM techniques WHERE external_id = 'T1685.001' AND known = FALSE`); n != 1 {
		t.Fatalf("T1685.001 before release B: %d unknown rows", n)
	}
	tests := e.testsOn(t, []string{"T1562", "T1562.001", "T1070.006"})
	e.Import(t, "attack", b)

	now := e.techniqueOfTests(t)
	for id, was := range tests {
		want := map[string]string{"T1562": "T1685", "T1562.001": "T1685.001", "T1070.006": "T1070.006"}[was]
		if now[id] != want {
			t.Errorf("test on %s is on %s, want %s", was, now[id], want)
		}
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM techniques WHERE external_id = 'T1685.001' AND known = TRUE AND name = 'Disable or Modify Tools'`); n != 1 {
		t.Error("T1685.001 did not become known with release B")
	}
	tacticOf := func(ext string) string {
		var names []string
		e.Store.DB().Select(&names, e.Store.DB().Rebind(`SELECT ta.shortname FROM technique_tactics tt JOIN tactics ta ON ta.id = tt.tactic_id
			JOIN techniques te ON te.id = tt.technique_id WHERE te.external_id = ? ORDER BY ta.shortname`), ext)
		return strings.Join(names, ",")
	}
	if got := tacticOf("T1070.006"); got != "stealth" {
		t.Errorf("T1070.006 tactics %q, want stealth", got)
	}
	if got := tacticOf("T1685"); got != "defense-impairment" {
		t.Errorf("T1685 tactics %q, want defense-impairment", got)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM tactics WHERE external_id = 'TA0005' AND shortname = 'stealth'`); n != 1 {
		t.Error("TA0005 was not renamed to stealth")
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM detection_rule_techniques l JOIN techniques te ON te.id = l.technique_id WHERE te.external_id = 'T1685.001'`); n != 1 {
		t.Error("the rule's link to T1685.001 was lost")
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM audit_logs WHERE action = 'attack.remap.test'`); n != 2 {
		t.Errorf("%d test moves audited, want 2", n)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM techniques WHERE external_id = 'T1070.006' AND last_seen_release = '19.0'`); n != 1 {
		t.Error("T1070.006 is not recorded as last seen in release 19.0")
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM techniques WHERE external_id = 'T1562' AND revoked = TRUE AND revoked_by = 'T1685'`); n != 1 {
		t.Error("T1562 is not recorded as revoked by T1685")
	}

	// Release A's matrix keeps its shape: T1562 in TA0005 (Stealth since, Defense Evasion in
	// A's column), marked revoked
	// by T1685, and no column of release B's new tactic.
	m, err := coverage.New(e.Store, nil).Matrix(ctx, coverage.MatrixQuery{Release: "18.0"})
	if err != nil {
		t.Fatal(err)
	}
	var cols, cells, names []string
	for _, col := range m.Tactics {
		cols = append(cols, col.ExternalID)
		names = append(names, col.Name+" ("+col.Shortname+")")
		for _, c := range col.Techniques {
			cell := c.ExternalID
			if c.Revoked {
				cell += " revoked by " + c.RevokedBy
			}
			for _, s := range c.Subtechniques {
				cell += " " + s.ExternalID
			}
			cells = append(cells, col.ExternalID+": "+cell)
		}
	}
	if strings.Join(m.Releases, ",") != "18.0,19.0" || strings.Join(cols, ",") != "TA0002,TA0005" {
		t.Errorf("release 18.0 of %v: columns %v, want TA0002,TA0005", m.Releases, cols)
	}
	// Release A's names: TA0005 was Defense Evasion then (issue 14: today's Stealth showed).
	if got := strings.Join(names, ", "); got != "Execution (execution), Defense Evasion (defense-evasion)" {
		t.Errorf("release 18.0's columns are named %s", got)
	}
	if got := strings.Join(cells, "; "); !strings.Contains(got, "TA0005: T1562 revoked by T1685 T1562.001") ||
		!strings.Contains(got, "TA0005: T1070 T1070.006") || strings.Contains(got, "T1685") && !strings.Contains(got, "by T1685") {
		t.Errorf("release 18.0 cells: %s", got)
	}
}
