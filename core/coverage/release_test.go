package coverage_test

import (
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/coverage"
	"github.com/aegis-sec/aegis/core/coverage/coveragetest"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// An older release's matrix shows what that release held, in its tactics, with
// today's coverage: the fixture's 18.1 plus a 17.1 that had T1059 without T1059.003,
// T1003 under Execution, a technique revoked since (T1086) and one it had itself
// deprecated (T1001, left out).
func TestMatrixOfAnOlderRelease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := coveragetest.Seed(t, st)
		exec := f.Tactics["TA0002"].ID
		err := st.Update(ctx, func(tx core.Tx) error {
			for _, x := range []*core.Technique{
				{ExternalID: "T1086", Name: "PowerShell (old)", Domains: []string{"enterprise-attack"}, Known: true, Revoked: true, RevokedBy: "T1059.001", LastSeenRelease: "18.1"},
				{ExternalID: "T1001", Name: "Data Obfuscation (old)", Domains: []string{"enterprise-attack"}, Known: true, Deprecated: true, LastSeenRelease: "18.1"},
			} {
				if err := tx.UpsertTechnique(ctx, x); err != nil {
					return err
				}
				f.Techniques[x.ExternalID] = x
			}
			for _, r := range []struct {
				ext        string
				deprecated bool
			}{{"T1059", false}, {"T1059.001", false}, {"T1566", false}, {"T1003", false}, {"T1086", false}, {"T1001", true}} {
				if err := tx.PutReleaseTechnique(ctx, &core.ReleaseTechnique{Domain: "enterprise-attack", Release: "17.1",
					TechniqueID: f.Techniques[r.ext].ID, TacticIDs: core.Strings{exec}, Deprecated: r.deprecated}); err != nil {
					return err
				}
			}
			// 17.1 named the tactic otherwise, in another column (as the import records it).
			return tx.PutReleaseTactic(ctx, &core.ReleaseTactic{Domain: "enterprise-attack", Release: "17.1", TacticID: exec,
				ExternalID: "TA0002", Name: "Execution (as 17.1 named it)", Shortname: "execution-17", MatrixOrder: 9})
		})
		if err != nil {
			t.Fatal(err)
		}
		svc := newService(t, st)
		m, err := svc.Matrix(ctx, coverage.MatrixQuery{Release: "17.1"})
		if err != nil {
			t.Fatal(err)
		}
		if m.Release != "17.1" || strings.Join(m.Releases, ",") != "17.1,18.1" {
			t.Fatalf("release %q of %v", m.Release, m.Releases)
		}
		// One column: 17.1 put everything under Execution, and Credential Access held nothing.
		if len(m.Tactics) != 1 || m.Tactics[0].ExternalID != "TA0002" {
			t.Fatalf("columns: %+v", m.Tactics)
		}
		// In the release's name, shortname and position, not today's.
		if c := m.Tactics[0]; c.Name != "Execution (as 17.1 named it)" || c.Shortname != "execution-17" || c.MatrixOrder != 9 {
			t.Errorf("the 17.1 column is %q (%s, %d), not as 17.1 had it", c.Name, c.Shortname, c.MatrixOrder)
		}
		// Today's matrix keeps today's.
		if now, err := svc.Matrix(ctx, coverage.MatrixQuery{}); err != nil {
			t.Fatal(err)
		} else if c := now.Tactics[0]; c.ExternalID != "TA0002" || c.Name != f.Tactics["TA0002"].Name || c.Shortname != f.Tactics["TA0002"].Shortname {
			t.Errorf("today's first column is %q (%s)", c.Name, c.Shortname)
		}
		var got []string
		cells := map[string]*coverage.MatrixTechnique{}
		for _, c := range m.Tactics[0].Techniques {
			got = append(got, c.ExternalID)
			cells[c.ExternalID] = c
			for _, s := range c.Subtechniques {
				got = append(got, s.ExternalID)
				cells[s.ExternalID] = s
			}
		}
		sortByName := []string{"T1059", "T1059.001", "T1003", "T1566", "T1086"} // by name, as every column
		if strings.Join(got, ",") != strings.Join(sortByName, ",") {
			t.Fatalf("cells %v, want %v", got, sortByName)
		}
		// T1059 rolls up over the sub-techniques 17.1 had: PowerShell only.
		if p := cells["T1059"]; !near(p.Score, sPowerShell) || p.Revoked || p.Deprecated {
			t.Errorf("T1059 in 17.1: score %v, %+v", show(p.Score), p)
		}
		if c := cells["T1086"]; !c.Revoked || c.RevokedBy != "T1059.001" || c.Status != core.StatusNotTested {
			t.Errorf("T1086 is not marked revoked by T1059.001: %+v", c)
		}
		if m.StatusCounts[core.StatusNotTested] != 2 || m.Score.Techniques != 4 {
			t.Errorf("status counts %v, score %+v", m.StatusCounts, m.Score)
		}

		// The newest stays the default, with today's roll-up.
		cur, err := svc.Matrix(ctx, coverage.MatrixQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if cur.Release != "18.1" || len(cur.Tactics) != 2 || !near(cur.Tactics[0].Techniques[0].Score, sParent) {
			t.Fatalf("default matrix: release %s, %d columns", cur.Release, len(cur.Tactics))
		}
		if _, err := svc.Matrix(ctx, coverage.MatrixQuery{Release: "16.1"}); core.ErrorCode(err) != core.EINVALID ||
			!strings.Contains(err.Error(), "17.1, 18.1") {
			t.Fatalf("a release not imported: %v", err)
		}
	})
}
