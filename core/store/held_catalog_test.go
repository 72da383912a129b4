package store_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// catalogRound is one "import" of ATT&CK objects, D3FEND techniques and NIST controls:
// the writes an importer's transaction makes, in its order.
func catalogRound(round int) func(core.Tx) error {
	return func(tx core.Tx) error {
		// Fixed tactic ids, so that the release rows (which list tactic ids) compare.
		tactics := map[string]string{"TA0001": "00000000-0000-4000-8000-000000000001", "TA0002": "00000000-0000-4000-8000-000000000002"}
		for ext, id := range tactics {
			if err := tx.UpsertTactic(ctx, &core.Tactic{ID: id, ExternalID: ext, Name: ext, Shortname: strings.ToLower(ext)}); err != nil {
				return err
			}
		}
		name := fmt.Sprintf("round %d", round)
		for ext, id := range tactics {
			for _, n := range []string{"first", name} { // the later write wins
				if err := tx.PutReleaseTactic(ctx, &core.ReleaseTactic{Domain: "enterprise-attack", Release: "18.1", TacticID: id,
					ExternalID: ext, Name: n, Shortname: strings.ToLower(ext), MatrixOrder: round}); err != nil {
					return err
				}
			}
		}
		technique := func(ext string, tacticIDs ...string) error {
			te := &core.Technique{ExternalID: ext, Name: ext + " " + name, Known: true, LastSeenRelease: "18.1", Source: "attack"}
			if p := core.ParentTechniqueID(ext); p != "" {
				pid, err := tx.EnsureTechnique(ctx, p)
				if err != nil {
					return err
				}
				te.ParentID = &pid
			}
			if err := tx.UpsertTechnique(ctx, te); err != nil {
				return err
			}
			if err := tx.SetTechniqueTactics(ctx, te.ID, tacticIDs); err != nil {
				return err
			}
			for _, d := range []string{"enterprise-attack", "enterprise-attack"} { // the later write wins
				if err := tx.PutReleaseTechnique(ctx, &core.ReleaseTechnique{Domain: d, Release: "18.1", TechniqueID: te.ID,
					TacticIDs: tacticIDs, Deprecated: round == 2 && ext == "T1003"}); err != nil {
					return err
				}
			}
			return nil
		}
		// A sub-technique before its parent (a placeholder first), and in round 2 one
		// technique written twice (the second write flushes the first).
		steps := [][]string{{"T1059.001", tactics["TA0002"]}, {"T1059", tactics["TA0002"]}, {"T1003", tactics["TA0001"], tactics["TA0002"]}}
		if round == 2 {
			steps = append(steps, []string{"T1059", tactics["TA0001"]}, []string{"T1218"})
		}
		for _, s := range steps {
			if err := technique(s[0], s[1:]...); err != nil {
				return err
			}
		}
		links := []core.TechniqueLink{{TechniqueID: "T1059", Note: "one"}, {TechniqueID: "T1059", Note: "twice"}, {TechniqueID: "T9999"}}
		if round == 2 {
			links = links[:1]
		}
		for _, m := range []*core.Mitigation{{ExternalID: "M1036", Name: "m " + name, Techniques: links}, {ExternalID: "M1040", Name: "n"}} {
			m.Source = "attack"
			if err := tx.UpsertMitigation(ctx, m); err != nil {
				return err
			}
		}
		if err := tx.UpsertThreatActor(ctx, &core.ThreatActor{Source: "attack", ExternalID: "G0016", Name: "APT29 " + name,
			Techniques: []core.TechniqueLink{{TechniqueID: "T1003", Note: "p"}, {TechniqueID: "T1003", Note: "q"}, {TechniqueID: "T1059.001"}}}); err != nil {
			return err
		}
		mappings := []core.TechniqueLink{{TechniqueID: "T1059", Relation: "a", Via: "x"}, {TechniqueID: "T1059", Relation: "a", Via: "x"},
			{TechniqueID: "T1059", Relation: "a", Via: "y"}}
		if round == 2 {
			mappings = append(mappings[1:], core.TechniqueLink{TechniqueID: "T1218", Relation: "b"})
		}
		if err := tx.UpsertDefensiveTechnique(ctx, &core.DefensiveTechnique{ExternalID: "D3-MFA", Name: "MFA " + name, Source: "d3fend",
			Mappings: mappings}); err != nil {
			return err
		}
		if err := tx.UpsertComplianceFramework(ctx, &core.ComplianceFramework{Source: "nist", ExternalID: "nist-800-53", Name: "NIST"}); err != nil {
			return err
		}
		controls := []string{"AC-2"}
		if round == 2 {
			controls = append(controls, "AC-3")
		}
		for _, c := range controls {
			f, err := tx.ComplianceFrameworkByExternalID(ctx, "nist-800-53")
			if err != nil {
				return err
			}
			if err := tx.UpsertComplianceControl(ctx, &core.ComplianceControl{FrameworkID: f.ID, ExternalID: c, Title: c + " " + name, Source: "nist",
				Mappings: []core.TechniqueLink{{TechniqueID: "T1003", Note: "c1"}, {TechniqueID: "T1003", Note: "c2"},
					{TechniqueID: "T1003", Relation: "detects"}}}); err != nil {
				return err
			}
		}
		return nil
	}
}

// catalogRows is what catalogRound stores, by natural keys (ids differ between stores).
func catalogRows(t *testing.T, s *store.Store) map[string][]string {
	t.Helper()
	queries := map[string]string{
		"techniques": `SELECT te.external_id || '|' || te.name || '|' || COALESCE(p.external_id, '-') || '|' || CAST(te.is_subtechnique AS TEXT) || '|' ||
			CAST(te.known AS TEXT) || '|' || te.last_seen_release || '|' || te.coverage_status FROM techniques te LEFT JOIN techniques p ON p.id = te.parent_id`,
		"tactics":         `SELECT te.external_id || '|' || ta.external_id FROM technique_tactics x JOIN techniques te ON te.id = x.technique_id JOIN tactics ta ON ta.id = x.tactic_id`,
		"releases":        `SELECT r.domain || '|' || r.release_version || '|' || te.external_id || '|' || CAST(r.tactic_ids AS TEXT) || '|' || CAST(r.deprecated AS TEXT) FROM attack_release_techniques r JOIN techniques te ON te.id = r.technique_id`,
		"release tactics": `SELECT domain || '|' || release_version || '|' || external_id || '|' || name || '|' || shortname || '|' || CAST(matrix_order AS TEXT) FROM attack_release_tactics`,
		"mitigations": `SELECT m.external_id || '|' || m.name || '|' || COALESCE(te.external_id, '-') || '|' || COALESCE(x.description, '-') FROM mitigations m
			LEFT JOIN technique_mitigations x ON x.mitigation_id = m.id LEFT JOIN techniques te ON te.id = x.technique_id`,
		"actors": `SELECT a.external_id || '|' || a.name || '|' || te.external_id || '|' || x.procedure FROM threat_actors a
			JOIN threat_actor_techniques x ON x.threat_actor_id = a.id JOIN techniques te ON te.id = x.technique_id`,
		"defensive": `SELECT d.external_id || '|' || d.name || '|' || te.external_id || '|' || x.relation || '|' || x.via || '|' || x.source FROM defensive_techniques d
			JOIN defensive_technique_mappings x ON x.defensive_technique_id = d.id JOIN techniques te ON te.id = x.technique_id`,
		"controls": `SELECT f.external_id || '|' || c.external_id || '|' || c.title || '|' || te.external_id || '|' || x.mapping_type || '|' || x.comments
			FROM compliance_controls c JOIN compliance_frameworks f ON f.id = c.framework_id
			JOIN compliance_control_mappings x ON x.control_id = c.id JOIN techniques te ON te.id = x.technique_id`,
	}
	out := map[string][]string{}
	for name, q := range queries {
		var rows []string
		if err := s.DB().Select(&rows, q+` ORDER BY 1`); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(rows) == 0 {
			t.Fatalf("%s: no rows", name)
		}
		out[name] = rows
	}
	return out
}

// ATT&CK objects, D3FEND techniques and NIST controls written by a transaction that
// holds its writes (the importer's, many rows per statement) are stored exactly as by one
// that writes them at once: placeholders and parents, tactic links replaced, release
// rows of techniques and tactics (the later of two writes), links repeated in a record left out as ON CONFLICT DO
// NOTHING leaves them, updates, one row written twice in one transaction.
func TestHeldCatalogWritesStoreWhatImmediateOnesDo(t *testing.T) {
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			plain, held := storetest.Open(t, driver), storetest.Open(t, driver)
			for round := 1; round <= 2; round++ {
				mustUpdate(t, plain, catalogRound(round))
				mustUpdate(t, held, func(tx core.Tx) error {
					tx.(*store.Tx).HoldWrites()
					return catalogRound(round)(tx)
				})
				want, got := catalogRows(t, plain), catalogRows(t, held)
				for name := range want {
					if !reflect.DeepEqual(got[name], want[name]) {
						t.Errorf("round %d, %s:\nheld:  %q\nplain: %q", round, name, got[name], want[name])
					}
				}
			}
		})
	}
}

// A first import's new rows go straight into their table by COPY (PostgreSQL). A row
// another transaction adds meanwhile with the same natural key fails that COPY on the
// unique key; the transaction is run again on fresh data and updates the row instead.
func TestNewHeldRowsYieldToAConcurrentInsert(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	attempts := 0
	var ids []string
	mustUpdate(t, s, func(tx core.Tx) error {
		attempts++
		tx.(*store.Tx).HoldWrites()
		ids = ids[:0]
		for i := range 100 {
			r := heldRule(fmt.Sprintf("R%03d", i), "mine", "T1059")
			if err := tx.UpsertDetectionRule(ctx, r); err != nil {
				return err
			}
			ids = append(ids, r.ID)
		}
		if attempts == 1 {
			// Another writer takes R042 first and commits.
			mustUpdate(t, s, func(other core.Tx) error {
				return other.UpsertDetectionRule(ctx, heldRule("R042", "theirs", "T1003"))
			})
		}
		return nil
	})
	if attempts != 2 {
		t.Fatalf("%d attempts, want 2 (the COPY fails on the unique key, then the retry updates)", attempts)
	}
	var rows []struct {
		ID    string `db:"id"`
		Title string `db:"title"`
	}
	if err := s.DB().Select(&rows, `SELECT id, title FROM detection_rules WHERE source = 'held' ORDER BY external_id`); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 100 {
		t.Fatalf("%d rules, want 100", len(rows))
	}
	for i, r := range rows {
		if r.Title != "mine" || r.ID != ids[i] {
			t.Errorf("rule %d: %+v, want title mine and id %s", i, r, ids[i])
		}
	}
}
