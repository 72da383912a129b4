package store_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// TestDerivedAssociationsMatchAFullAssociate changes random templates and rules
// (techniques, platforms, deprecation, new ones) and checks after each change that the
// links derived when read are exactly, reasons, order and totals included, what a full
// core.Associate over every template and rule gives.
func TestDerivedAssociationsMatchAFullAssociate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		rng := rand.New(rand.NewPCG(7, 11))
		techs := []string{"T1059", "T1059.001", "T1059.004", "T1003", "T1003.001", "T1566", "T1021.002"}
		plats := [][]string{nil, {"windows"}, {"linux"}, {"macos", "linux"}, {"azure-ad"}, {"windows", "iaas:aws"}}
		products := []string{"", "windows", "linux", "macos", "aws"}
		pick := func() []string {
			n := 1 + rng.IntN(2)
			out := []string{}
			for range n {
				out = append(out, techs[rng.IntN(len(techs))])
			}
			if rng.IntN(10) == 0 {
				return nil
			}
			return out
		}
		writeTemplate := func(tx core.Tx, i int) error {
			return tx.UpsertTestTemplate(ctx, &core.TestTemplate{Source: "atomic", ExternalID: fmt.Sprintf("t%d", i), Name: "t",
				Active: true, Deprecated: rng.IntN(8) == 0, Platforms: core.Strings(plats[rng.IntN(len(plats))]), TechniqueIDs: pick()})
		}
		writeRule := func(tx core.Tx, i int) error {
			ls := `{}`
			if p := products[rng.IntN(len(products))]; p != "" {
				ls = `{"product":"` + p + `"}`
			}
			return tx.UpsertDetectionRule(ctx, &core.DetectionRule{Source: "sigma", ExternalID: fmt.Sprintf("r%d", i), Title: "r",
				Active: true, Deprecated: rng.IntN(8) == 0, LogSource: core.JSON(ls), TechniqueIDs: pick()})
		}
		nT, nR := 30, 30
		mustUpdate(t, s, func(tx core.Tx) error {
			for i := range nT {
				if err := writeTemplate(tx, i); err != nil {
					return err
				}
			}
			for i := range nR {
				if err := writeRule(tx, i); err != nil {
					return err
				}
			}
			return nil
		})
		if storetest.CheckAssociations(t, s) == 0 {
			t.Fatal("no links to compare")
		}
		for round := range 8 {
			mustUpdate(t, s, func(tx core.Tx) error {
				for range 1 + rng.IntN(6) {
					if rng.IntN(2) == 0 {
						i := rng.IntN(nT + 2)
						nT = max(nT, i+1)
						if err := writeTemplate(tx, i); err != nil {
							return err
						}
					} else {
						i := rng.IntN(nR + 2)
						nR = max(nR, i+1)
						if err := writeRule(tx, i); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if storetest.CheckAssociations(t, s) == 0 {
				t.Fatalf("round %d: no links to compare", round)
			}
		}
	})
}
