package coverage_test

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/coverage"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// seedScale writes a deterministic synthetic organisation: 14 tactics, 200 techniques
// with 3 sub-techniques each (800 in all), and tests spread over them in every state
// with outcomes. AEGIS_BENCH_TESTS sets the number of tests (default 10,000; the
// issue's scale 1 is 100,000).
func seedScale(b *testing.B, st core.Store) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("AEGIS_BENCH_TESTS")); err == nil && v > 0 {
		n = v
	}
	rng := rand.New(rand.NewSource(1))
	var techs []string
	err := st.Update(ctx, func(tx core.Tx) error {
		var tactics []string
		for i := 0; i < 14; i++ {
			ta := &core.Tactic{ExternalID: fmt.Sprintf("TA%04d", i+1), Name: fmt.Sprintf("Tactic %d", i), Shortname: fmt.Sprintf("tactic-%d", i),
				Domain: "enterprise-attack", MatrixOrder: i}
			if err := tx.UpsertTactic(ctx, ta); err != nil {
				return err
			}
			tactics = append(tactics, ta.ID)
		}
		for i := 0; i < 200; i++ {
			ext := fmt.Sprintf("T%04d", 1000+i)
			p := &core.Technique{ExternalID: ext, Name: "Technique " + ext, Platforms: []string{"Windows", "Linux"}, Domains: []string{"enterprise-attack"},
				Known: true, LastSeenRelease: "18.1"}
			if err := tx.UpsertTechnique(ctx, p); err != nil {
				return err
			}
			if err := tx.SetTechniqueTactics(ctx, p.ID, []string{tactics[i%14]}); err != nil {
				return err
			}
			if err := tx.PutReleaseTechnique(ctx, &core.ReleaseTechnique{Domain: "enterprise-attack", Release: "18.1", TechniqueID: p.ID,
				TacticIDs: core.Strings{tactics[i%14]}}); err != nil {
				return err
			}
			techs = append(techs, p.ID)
			for j := 1; j <= 3; j++ {
				s := &core.Technique{ExternalID: fmt.Sprintf("%s.%03d", ext, j), Name: "Sub", Platforms: []string{"Windows"}, Domains: []string{"enterprise-attack"},
					Known: true, LastSeenRelease: "18.1", ParentID: &p.ID}
				if err := tx.UpsertTechnique(ctx, s); err != nil {
					return err
				}
				if err := tx.SetTechniqueTactics(ctx, s.ID, []string{tactics[i%14]}); err != nil {
					return err
				}
				if err := tx.PutReleaseTechnique(ctx, &core.ReleaseTechnique{Domain: "enterprise-attack", Release: "18.1", TechniqueID: s.ID,
					TacticIDs: core.Strings{tactics[i%14]}}); err != nil {
					return err
				}
				techs = append(techs, s.ID)
			}
		}
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < n; i++ {
			te := &core.Test{Title: fmt.Sprintf("test %d", i), TechniqueID: techs[rng.Intn(len(techs))], Platform: []string{"windows", "linux"}[rng.Intn(2)],
				Procedure: fmt.Sprintf("procedure %d", rng.Intn(5)), State: core.TestStates[rng.Intn(len(core.TestStates))]}
			if te.State == core.StateValidated {
				at := base.Add(time.Duration(rng.Intn(180*24)) * time.Hour)
				p, a, l := rng.Intn(2) == 0, rng.Intn(2) == 0, rng.Intn(2) == 0
				te.ValidatedAt, te.Prevented, te.Alerted, te.Logged = &at, &p, &a, &l
			}
			if err := tx.CreateTest(ctx, te); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkMatrix measures the matrix with organisation scores, computed live.
func BenchmarkMatrix(b *testing.B) {
	for _, driver := range []string{store.SQLite, store.Postgres} {
		b.Run(driver, func(b *testing.B) {
			st := storetest.Open(b, driver)
			seedScale(b, st)
			svc := coverage.New(st, nil)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if m, err := svc.Matrix(ctx, coverage.MatrixQuery{}); err != nil || m.Score.Techniques != 200 {
					b.Fatalf("%v %+v", err, m.Score)
				}
			}
		})
	}
}

// BenchmarkSnapshot measures taking a snapshot (technique states and every test's state).
func BenchmarkSnapshot(b *testing.B) {
	st := storetest.Open(b, store.SQLite)
	seedScale(b, st)
	svc := coverage.New(st, nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := svc.CreateSnapshot(ctx, nil, ""); err != nil {
			b.Fatal(err)
		}
	}
}
