package store_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

func TestPlanRemap(t *testing.T) {
	techs := map[string]*core.Technique{
		"T1059.001": {ID: "a", ExternalID: "T1059.001", Known: true},
		"T1000":     {ID: "b", ExternalID: "T1000", Known: true, Revoked: true, RevokedBy: "T1059.001"},
		"T2000":     {ID: "c", ExternalID: "T2000", Known: true, Revoked: true, RevokedBy: "T2001"},
		"T2001":     {ID: "d", ExternalID: "T2001", Known: true, Revoked: true, RevokedBy: "T2000"},
		"T3000":     {ID: "e", ExternalID: "T3000", Known: false},
		"T4000":     {ID: "f", ExternalID: "T4000", Known: true, Deprecated: true},
	}
	resolve := func(ext string) *core.Technique { return techs[ext] }
	retired := []core.RetiredTechnique{
		{ID: "1", ExternalID: "T1086", Revoked: true, RevokedBy: "T1059.001"},
		{ID: "2", ExternalID: "T1099", Revoked: true, RevokedBy: "T1000"}, // chain of two
		{ID: "3", ExternalID: "T1098", Revoked: true},                     // no replacement
		{ID: "4", ExternalID: "T1097", Revoked: true, RevokedBy: "T2000"}, // cycle
		{ID: "5", ExternalID: "T1096", Revoked: true, RevokedBy: "T3000"}, // not in a release
		{ID: "6", ExternalID: "T1095", Revoked: true, RevokedBy: "T9999"}, // missing
		{ID: "7", ExternalID: "T1094", Revoked: true, RevokedBy: "T4000"}, // deprecated target
		{ID: "8", ExternalID: "T1093", Deprecated: true},
	}
	want := []struct{ to, reason string }{
		{"T1059.001", ""}, {"T1059.001", ""}, {"", "without a replacement"}, {"", "cycle"},
		{"", "not part of an imported ATT&CK release"}, {"", "does not contain"}, {"", "deprecated"}, {"", "deprecated with no replacement"},
	}
	for i, d := range core.PlanRemap(retired, resolve) {
		if d.ToExternal != want[i].to || (want[i].reason != "" && !strings.Contains(d.Reason, want[i].reason)) || (want[i].reason == "" && d.Reason != "") {
			t.Errorf("%s: to %q reason %q, want to %q reason ~%q", d.From.ExternalID, d.ToExternal, d.Reason, want[i].to, want[i].reason)
		}
	}
}

// An upgrade in miniature: tests and links on a revoked technique follow revoked-by; a
// technique revoked without a replacement waits for review; the review moves it.
func TestApplyRemapAndReview(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		lead := &core.User{Username: "lead", Role: core.RoleRedLead, PasswordHash: "h"}
		var oldT, newT, lostT, otherT *core.Technique
		var test1, test2, test3 *core.Test
		mustUpdate(t, s, func(tx core.Tx) error {
			if err := tx.CreateUser(ctx, lead); err != nil {
				return err
			}
			newT = &core.Technique{ExternalID: "T1059.001", Name: "PowerShell", Known: true}
			otherT = &core.Technique{ExternalID: "T1562", Name: "Impair Defenses", Known: true}
			oldT = &core.Technique{ExternalID: "T1086", Name: "PowerShell (old)", Known: true}
			lostT = &core.Technique{ExternalID: "T1099", Name: "Timestomp (old)", Known: true}
			for _, te := range []*core.Technique{newT, otherT, oldT, lostT} {
				if err := tx.UpsertTechnique(ctx, te); err != nil {
					return err
				}
			}
			test1 = &core.Test{Title: "old powershell", TechniqueID: oldT.ID}
			test2 = &core.Test{Title: "lost", TechniqueID: lostT.ID}
			test3 = &core.Test{Title: "untouched", TechniqueID: otherT.ID}
			for _, te := range []*core.Test{test1, test2, test3} {
				if err := tx.CreateTest(ctx, te); err != nil {
					return err
				}
			}
			// A rule linked to both the old and the new id: the move merges the links.
			r := &core.DetectionRule{Source: "sigma", ExternalID: "r1", Title: "ps", TechniqueIDs: []string{"T1086", "T1059.001"}}
			if err := tx.UpsertDetectionRule(ctx, r); err != nil {
				return err
			}
			a := &core.ThreatActor{Source: "cti", ExternalID: "G0001", Name: "A", Techniques: []core.TechniqueLink{{TechniqueID: "T1086", Note: "ran PS"}}}
			return tx.UpsertThreatActor(ctx, a)
		})
		// The new release revokes both.
		mustUpdate(t, s, func(tx core.Tx) error {
			oldT.Revoked, oldT.RevokedBy, oldT.LastSeenRelease = true, "T1059.001", "18.1"
			lostT.Revoked = true
			if err := tx.UpsertTechnique(ctx, oldT); err != nil {
				return err
			}
			return tx.UpsertTechnique(ctx, lostT)
		})
		var rep *core.RemapReport
		mustUpdate(t, s, func(tx core.Tx) error {
			var err error
			rep, err = core.ApplyRemap(ctx, tx, nil)
			return err
		})
		if len(rep.Moves) != 1 || rep.Moves[0].From != "T1086" || rep.Moves[0].To != "T1059.001" || rep.Moves[0].Moved["tests"] != 1 ||
			rep.Moves[0].Moved["detection_rule_techniques"] != 1 || rep.Moves[0].Moved["threat_actor_techniques"] != 1 {
			t.Fatalf("moves: %+v", rep.Moves)
		}
		if len(rep.Queued) != 1 || rep.Queued[0] != "T1099" {
			t.Fatalf("queued: %v", rep.Queued)
		}
		var reviewID string
		s.View(ctx, func(tx core.Tx) error {
			got, _ := tx.TestByID(ctx, test1.ID)
			if got.TechniqueID != newT.ID || got.Version != 2 {
				t.Errorf("test1 not moved: %+v", got)
			}
			if got, _ := tx.TestByID(ctx, test3.ID); got.TechniqueID != otherT.ID || got.Version != 1 {
				t.Errorf("an unrelated test changed: %+v", got)
			}
			if got, _ := tx.TestByID(ctx, test2.ID); got.TechniqueID != lostT.ID {
				t.Errorf("an ambiguous test moved: %+v", got)
			}
			reviews, total, err := tx.ListTechniqueReviews(ctx, core.ReviewFilter{Status: core.ReviewOpen})
			var deps map[string]int
			if err == nil && total == 1 {
				json.Unmarshal(reviews[0].Dependents, &deps)
			}
			if err != nil || total != 1 || reviews[0].ExternalID != "T1099" || deps["tests"] != 1 {
				t.Fatalf("reviews: %+v %v", reviews, err)
			}
			reviewID = reviews[0].ID
			list, _, _ := tx.ListAudit(ctx, core.AuditFilter{Action: "attack.remap.test"})
			if len(list) != 1 || list[0].EntityID != test1.ID {
				t.Errorf("test move not audited: %+v", list)
			}
			return nil
		})
		var n int
		s.DB().Get(&n, s.DB().Rebind(`SELECT COUNT(*) FROM detection_rule_techniques`))
		if n != 1 {
			t.Errorf("rule links after merge: %d, want 1", n)
		}

		// A second pass changes nothing and does not queue twice.
		mustUpdate(t, s, func(tx core.Tx) error {
			rep2, err := core.ApplyRemap(ctx, tx, nil)
			if err == nil && (len(rep2.Moves) != 0 || len(rep2.Queued) != 1) {
				t.Errorf("second pass: %+v", rep2)
			}
			return err
		})

		// Resolving the review: bad targets are refused, a good one moves the test.
		for _, bad := range []string{"T1086", "T9999", ""} {
			err := s.Update(ctx, func(tx core.Tx) error {
				_, _, err := core.ResolveTechniqueReview(ctx, tx, lead, reviewID, bad, false, "")
				return err
			})
			if core.ErrorCode(err) != core.EINVALID {
				t.Errorf("target %q: %v", bad, err)
			}
		}
		mustUpdate(t, s, func(tx core.Tx) error {
			r, rep, err := core.ResolveTechniqueReview(ctx, tx, lead, reviewID, "T1562", false, "timestomping belongs under impair defenses here")
			if err == nil && (r.Status != core.ReviewResolved || rep.Moves[0].Moved["tests"] != 1) {
				t.Errorf("resolve: %+v %+v", r, rep)
			}
			return err
		})
		s.View(ctx, func(tx core.Tx) error {
			if got, _ := tx.TestByID(ctx, test2.ID); got.TechniqueID != otherT.ID {
				t.Errorf("resolved test not moved: %+v", got)
			}
			v, _ := tx.VerifyAudit(ctx)
			if !v.OK {
				t.Errorf("audit chain: %+v", v)
			}
			return nil
		})
		err := s.Update(ctx, func(tx core.Tx) error {
			_, _, err := core.ResolveTechniqueReview(ctx, tx, lead, reviewID, "T1562", false, "")
			return err
		})
		if core.ErrorCode(err) != core.ECONFLICT {
			t.Errorf("resolving twice: %v", err)
		}
	})
}

// The links are derived when read: a rule appears on a template, with its reason, and
// leaves it when deprecated, with nothing to recompute in between.
func TestDerivedAssociations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		mustUpdate(t, s, func(tx core.Tx) error {
			if err := tx.UpsertTestTemplate(ctx, &core.TestTemplate{Source: "atomic", ExternalID: "a1", Name: "ps", Active: true,
				Platforms: core.Strings{"windows"}, TechniqueIDs: []string{"T1059.001"}}); err != nil {
				return err
			}
			if err := tx.UpsertDetectionRule(ctx, &core.DetectionRule{Source: "sigma", ExternalID: "s1", Title: "ps", Active: true,
				LogSource: core.JSON(`{"product":"windows","category":"process_creation"}`), TechniqueIDs: []string{"T1059.001"}}); err != nil {
				return err
			}
			return tx.UpsertDetectionRule(ctx, &core.DetectionRule{Source: "elastic", ExternalID: "e1", Title: "bash", Active: true,
				Tags: core.Strings{"OS: Linux"}, TechniqueIDs: []string{"T1059.001"}})
		})
		rulesOf := func() []*core.LinkedRule {
			var out []*core.LinkedRule
			err := s.Read(ctx, func(tx core.Tx) error {
				var tpl []string
				if err := s.DB().Select(&tpl, `SELECT id FROM test_templates WHERE external_id = 'a1'`); err != nil || len(tpl) != 1 {
					return fmt.Errorf("template a1: %v %v", tpl, err)
				}
				var n int
				var err error
				out, n, err = tx.RulesForTemplate(ctx, tpl[0], core.Page{})
				if err == nil && n != len(out) {
					err = fmt.Errorf("total %d for %d rules", n, len(out))
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		// The Linux rule is not linked: the template runs on Windows.
		if rules := rulesOf(); len(rules) != 1 || rules[0].ExternalID != "s1" || rules[0].Reason != "shares T1059.001; both on windows" {
			t.Fatalf("rules of the template: %+v", rules)
		}
		// Deprecating the rule removes its link.
		s.DB().Exec(`UPDATE detection_rules SET deprecated = TRUE WHERE external_id = 's1'`)
		if rules := rulesOf(); len(rules) != 0 {
			t.Fatalf("after deprecation: %+v", rules)
		}
	})
}
