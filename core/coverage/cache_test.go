package coverage_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/coverage"
	"github.com/aegis-sec/aegis/core/coverage/coveragetest"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// The unfiltered matrix reuses the techniques, counts and cells it read while the
// store's coverage generation stands still, and after every kind of write to them
// answers exactly what a service that has never read anything answers.
func TestMatrixInputsKeptUntilAWriteMovesTheGeneration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := coveragetest.Seed(t, st)
		clock := func() time.Time { return coveragetest.Now }
		svc := coverage.New(st, clock)
		matrix := func(svc *coverage.Service) (string, int) {
			reads := 0
			st.ObserveQueries(func(q string, _ []any) {
				if strings.Contains(q, "FROM techniques te LEFT JOIN") {
					reads++
				}
			})
			defer st.ObserveQueries(nil)
			m, err := svc.Matrix(ctx, coverage.MatrixQuery{})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(m)
			return string(b), reads
		}
		if _, reads := matrix(svc); reads != 1 {
			t.Fatalf("first matrix read the techniques %d times", reads)
		}
		if _, reads := matrix(svc); reads != 0 {
			t.Fatalf("second matrix, nothing written, read the techniques %d times", reads)
		}
		// A write outside coverage inputs keeps the generation.
		mustUpdate(t, st, func(tx core.Tx) error {
			return tx.CreateCampaign(ctx, &core.Campaign{Name: "c", Status: core.CampaignPlanned, Recurrence: core.RecurNone})
		})
		if _, reads := matrix(svc); reads != 0 {
			t.Fatalf("a campaign write made the matrix read the techniques again (%d)", reads)
		}
		yes := true
		writes := []struct {
			name string
			fn   func(tx core.Tx) error
		}{
			{"a new test", func(tx core.Tx) error {
				return tx.CreateTest(ctx, &core.Test{Title: "new", TechniqueID: f.Techniques["T1003"].ID, Platform: "windows"})
			}},
			{"a test validated", func(tx core.Tx) error {
				x, err := tx.TestByID(ctx, f.Tests["g"].ID)
				if err != nil {
					return err
				}
				at := coveragetest.Day("2026-06-29")
				x.State, x.ValidatedAt, x.Prevented = core.StateValidated, &at, &yes
				return tx.UpdateTest(ctx, x)
			}},
			{"a technique renamed", func(tx core.Tx) error {
				te, err := tx.TechniqueByExternalID(ctx, "T1566")
				if err != nil {
					return err
				}
				te.Name = "Phishing (renamed)"
				return tx.UpsertTechnique(ctx, te)
			}},
			{"a template for another technique", func(tx core.Tx) error {
				return tx.UpsertTestTemplate(ctx, &core.TestTemplate{Source: "atomic", ExternalID: "tpl-9", Name: "tpl-9",
					Platforms: []string{"windows"}, TechniqueIDs: []string{"T1003"}, Active: true, Command: "echo"})
			}},
			{"a technique moved to another tactic", func(tx core.Tx) error {
				return tx.SetTechniqueTactics(ctx, f.Techniques["T1566"].ID, []string{f.Tactics["TA0006"].ID})
			}},
		}
		for _, w := range writes {
			mustUpdate(t, st, w.fn)
			got, reads := matrix(svc)
			want, _ := matrix(coverage.New(st, clock))
			if reads != 1 || got != want {
				t.Errorf("after %s: read the techniques %d times; same as a fresh service: %v", w.name, reads, got == want)
			}
		}
		// A transaction that has written a coverage input reads its own writes.
		mustUpdate(t, st, func(tx core.Tx) error {
			if err := tx.CreateTest(ctx, &core.Test{Title: "inside", TechniqueID: f.Techniques["T1003"].ID, Platform: "linux"}); err != nil {
				return err
			}
			g, err := tx.CoverageGeneration(ctx)
			if err != nil || g >= 0 {
				t.Errorf("generation inside a writing transaction: %d %v", g, err)
			}
			return nil
		})
	})
}

func mustUpdate(t *testing.T, st core.Store, fn func(core.Tx) error) {
	t.Helper()
	if err := st.Update(ctx, fn); err != nil {
		t.Fatal(err)
	}
}
