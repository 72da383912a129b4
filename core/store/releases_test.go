package store_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// A release's technique rows round-trip, a second write of a row replaces it (an import
// of the same release again), and releases are kept per domain.
func TestReleaseTechniquesRoundTrip(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		var exec, sub, tactic string
		err := s.Update(ctx, func(tx core.Tx) error {
			ta := &core.Tactic{ExternalID: "TA0002", Name: "Execution", Shortname: "execution", Domain: "enterprise-attack"}
			if err := tx.UpsertTactic(ctx, ta); err != nil {
				return err
			}
			tactic = ta.ID
			te := &core.Technique{ExternalID: "T1059", Name: "Command", Known: true, Domains: core.Strings{"enterprise-attack"}}
			if err := tx.UpsertTechnique(ctx, te); err != nil {
				return err
			}
			exec = te.ID
			st := &core.Technique{ExternalID: "T1059.001", Name: "PowerShell", Known: true, ParentID: &exec}
			if err := tx.UpsertTechnique(ctx, st); err != nil {
				return err
			}
			sub = st.ID
			for _, r := range []*core.ReleaseTechnique{
				{Domain: "enterprise-attack", Release: "17.1", TechniqueID: exec, TacticIDs: core.Strings{tactic}},
				{Domain: "enterprise-attack", Release: "17.1", TechniqueID: sub},
				{Domain: "enterprise-attack", Release: "18.1", TechniqueID: exec, TacticIDs: core.Strings{tactic}},
				// The same row again, now deprecated: replaced, not doubled.
				{Domain: "enterprise-attack", Release: "17.1", TechniqueID: sub, TacticIDs: core.Strings{tactic}, Deprecated: true},
				{Domain: "ics-attack", Release: "18.1", TechniqueID: exec},
			} {
				if err := tx.PutReleaseTechnique(ctx, r); err != nil {
					return err
				}
			}
			err := tx.PutReleaseTechnique(ctx, &core.ReleaseTechnique{Domain: "enterprise-attack", TechniqueID: exec})
			if err == nil || !strings.Contains(err.Error(), "release") {
				t.Errorf("a row without a release: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = s.View(ctx, func(tx core.Tx) error {
			rels, err := tx.AttackReleases(ctx, "enterprise-attack")
			if err != nil {
				return err
			}
			sort.Strings(rels)
			if strings.Join(rels, ",") != "17.1,18.1" {
				t.Errorf("enterprise releases %v", rels)
			}
			if rels, _ := tx.AttackReleases(ctx, "mobile-attack"); len(rels) != 0 {
				t.Errorf("mobile releases %v", rels)
			}
			rows, err := tx.ReleaseTechniques(ctx, "enterprise-attack", "17.1")
			if err != nil {
				return err
			}
			got := map[string]*core.ReleaseTechnique{}
			for _, r := range rows {
				got[r.TechniqueID] = r
			}
			if len(rows) != 2 || got[exec] == nil || !got[exec].Current() || got[sub] == nil || got[sub].Current() ||
				strings.Join(got[sub].TacticIDs, ",") != tactic {
				t.Errorf("17.1 rows: %d, %+v, %+v", len(rows), got[exec], got[sub])
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// A database imported before the table existed gets one release per technique, the one
// it was last seen in, with its tactics of the domain and its flags; techniques that no
// ATT&CK release brought (ids other sources used) and those without a release are left
// out.
func TestReleaseTechniquesBackfill(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ids := map[string]string{}
		var tactic string
		err := s.Update(ctx, func(tx core.Tx) error {
			ta := &core.Tactic{ExternalID: "TA0002", Name: "Execution", Shortname: "execution", Domain: "enterprise-attack"}
			if err := tx.UpsertTactic(ctx, ta); err != nil {
				return err
			}
			tactic = ta.ID
			ics := &core.Tactic{ExternalID: "TA0104", Name: "Execution", Shortname: "execution-ics", Domain: "ics-attack"}
			if err := tx.UpsertTactic(ctx, ics); err != nil {
				return err
			}
			for _, te := range []*core.Technique{
				{ExternalID: "T1059", Name: "Command", Known: true, LastSeenRelease: "18.1", Domains: core.Strings{"enterprise-attack", "ics-attack"}},
				{ExternalID: "T1086", Name: "PowerShell", Known: true, LastSeenRelease: "18.1", Revoked: true, Domains: core.Strings{"enterprise-attack"}},
				{ExternalID: "T1001", Name: "Old", Known: true, LastSeenRelease: "17.1", Deprecated: true, Domains: core.Strings{"enterprise-attack"}},
				{ExternalID: "T1002", Name: "No release", Known: true, Domains: core.Strings{"enterprise-attack"}},
				{ExternalID: "T1690", Known: false, LastSeenRelease: "18.1", Domains: core.Strings{"enterprise-attack"}},
			} {
				if err := tx.UpsertTechnique(ctx, te); err != nil {
					return err
				}
				ids[te.ExternalID] = te.ID
			}
			if err := tx.SetTechniqueTactics(ctx, ids["T1059"], []string{tactic, ics.ID}); err != nil {
				return err
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Back to before the table, then up again: the migration fills it.
		if err := s.MigrateDownBelow(240); err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(); err != nil {
			t.Fatal(err)
		}
		var rows []struct {
			Domain     string       `db:"domain"`
			Release    string       `db:"release_version"`
			Technique  string       `db:"external_id"`
			Tactics    core.Strings `db:"tactic_ids"`
			Revoked    bool         `db:"revoked"`
			Deprecated bool         `db:"deprecated"`
		}
		if err := s.DB().Select(&rows, `SELECT r.domain, r.release_version, te.external_id, r.tactic_ids, r.revoked, r.deprecated
			FROM attack_release_techniques r JOIN techniques te ON te.id = r.technique_id ORDER BY te.external_id, r.domain`); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rows {
			line := r.Domain + " " + r.Release + " " + r.Technique
			if r.Revoked {
				line += " revoked"
			}
			if r.Deprecated {
				line += " deprecated"
			}
			if len(r.Tactics) > 0 {
				line += " " + strings.Join(r.Tactics, ",")
			}
			got = append(got, line)
		}
		var icsTactic string
		s.DB().Get(&icsTactic, `SELECT id FROM tactics WHERE external_id = 'TA0104'`)
		want := []string{
			"enterprise-attack 17.1 T1001 deprecated",
			"enterprise-attack 18.1 T1059 " + tactic,
			"ics-attack 18.1 T1059 " + icsTactic,
			"enterprise-attack 18.1 T1086 revoked",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("backfilled rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// A release's tactic rows round-trip in the release's matrix order, a second write
// replaces a row (a re-import), releases keep their own names, and a row needs its
// names.
func TestReleaseTacticsRoundTrip(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		var exec, recon string
		err := s.Update(ctx, func(tx core.Tx) error {
			for _, ta := range []*core.Tactic{
				{ExternalID: "TA0002", Name: "Execution", Shortname: "execution", Domain: "enterprise-attack", MatrixOrder: 4},
				{ExternalID: "TA0043", Name: "Reconnaissance", Shortname: "reconnaissance", Domain: "enterprise-attack", MatrixOrder: 1},
			} {
				if err := tx.UpsertTactic(ctx, ta); err != nil {
					return err
				}
				if ta.ExternalID == "TA0002" {
					exec = ta.ID
				} else {
					recon = ta.ID
				}
			}
			for _, r := range []*core.ReleaseTactic{
				{Domain: "enterprise-attack", Release: "6.3", TacticID: exec, ExternalID: "TA0002", Name: "Old name", Shortname: "execution", MatrixOrder: 2},
				// The same row again: replaced, not doubled.
				{Domain: "enterprise-attack", Release: "6.3", TacticID: exec, ExternalID: "TA0002", Name: "Execution (6.3)", Shortname: "execution", MatrixOrder: 2},
				{Domain: "enterprise-attack", Release: "18.1", TacticID: exec, ExternalID: "TA0002", Name: "Execution", Shortname: "execution", MatrixOrder: 4},
				{Domain: "enterprise-attack", Release: "18.1", TacticID: recon, ExternalID: "TA0043", Name: "Reconnaissance", Shortname: "reconnaissance", MatrixOrder: 1},
			} {
				if err := tx.PutReleaseTactic(ctx, r); err != nil {
					return err
				}
			}
			err := tx.PutReleaseTactic(ctx, &core.ReleaseTactic{Domain: "enterprise-attack", Release: "18.1", TacticID: exec, Shortname: "execution"})
			if err == nil || !strings.Contains(err.Error(), "name") {
				t.Errorf("a row without a name: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = s.View(ctx, func(tx core.Tx) error {
			for rel, want := range map[string]string{"6.3": "TA0002 Execution (6.3) 2", "18.1": "TA0043 Reconnaissance 1; TA0002 Execution 4", "17.1": ""} {
				rows, err := tx.ReleaseTactics(ctx, "enterprise-attack", rel)
				if err != nil {
					return err
				}
				var got []string
				for _, r := range rows {
					got = append(got, fmt.Sprintf("%s %s %d", r.ExternalID, r.Name, r.MatrixOrder))
				}
				if strings.Join(got, "; ") != want {
					t.Errorf("%s tactics: %q, want %q", rel, strings.Join(got, "; "), want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// A database imported before migration 0280 gets, for each recorded release, the
// tactics its techniques are in, as the tactics table has them; a tactic no release's
// technique is in is left out.
func TestReleaseTacticsBackfill(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ids := map[string]string{}
		err := s.Update(ctx, func(tx core.Tx) error {
			for _, ta := range []*core.Tactic{
				{ExternalID: "TA0002", Name: "Execution", Shortname: "execution", Domain: "enterprise-attack", MatrixOrder: 4},
				{ExternalID: "TA0003", Name: "Persistence", Shortname: "persistence", Domain: "enterprise-attack", MatrixOrder: 5},
				{ExternalID: "TA0043", Name: "Reconnaissance", Shortname: "reconnaissance", Domain: "enterprise-attack", MatrixOrder: 1},
			} {
				if err := tx.UpsertTactic(ctx, ta); err != nil {
					return err
				}
				ids[ta.ExternalID] = ta.ID
			}
			te := &core.Technique{ExternalID: "T1059", Name: "Command", Known: true, Domains: core.Strings{"enterprise-attack"}}
			if err := tx.UpsertTechnique(ctx, te); err != nil {
				return err
			}
			for _, r := range []*core.ReleaseTechnique{
				{Domain: "enterprise-attack", Release: "17.1", TechniqueID: te.ID, TacticIDs: core.Strings{ids["TA0002"]}},
				{Domain: "enterprise-attack", Release: "18.1", TechniqueID: te.ID, TacticIDs: core.Strings{ids["TA0002"], ids["TA0003"]}},
			} {
				if err := tx.PutReleaseTechnique(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.MigrateDownBelow(280); err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(); err != nil {
			t.Fatal(err)
		}
		var got []string
		err = s.View(ctx, func(tx core.Tx) error {
			for _, rel := range []string{"17.1", "18.1"} {
				rows, err := tx.ReleaseTactics(ctx, "enterprise-attack", rel)
				if err != nil {
					return err
				}
				for _, r := range rows {
					got = append(got, fmt.Sprintf("%s %s %s %s %d", rel, r.ExternalID, r.Name, r.Shortname, r.MatrixOrder))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := "17.1 TA0002 Execution execution 4; 18.1 TA0002 Execution execution 4; 18.1 TA0003 Persistence persistence 5"
		if strings.Join(got, "; ") != want {
			t.Errorf("backfilled tactics:\n%s\nwant:\n%s", strings.Join(got, "; "), want)
		}
	})
}
