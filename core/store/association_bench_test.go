package store_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// fullRecompute is how links were kept before issue 11: every template against every
// rule, every stored link read and compared.
func fullRecompute(tx core.Tx) (int, int, error) {
	tpls, rules, err := tx.AssociationInputs(ctx)
	if err != nil {
		return 0, 0, err
	}
	ids := make([]string, len(tpls))
	for i, t := range tpls {
		ids[i] = t.ID
	}
	current, err := tx.AssociationLinks(ctx, ids, nil)
	if err != nil {
		return 0, 0, err
	}
	want := core.Associate(tpls, rules)
	have := map[string]string{}
	for _, l := range current {
		have[l.TemplateID+"|"+l.RuleID] = l.Reason
	}
	var add, remove []core.AssocLink
	seen := map[string]bool{}
	for _, l := range want {
		k := l.TemplateID + "|" + l.RuleID
		seen[k] = true
		if r, ok := have[k]; !ok || r != l.Reason {
			if ok {
				remove = append(remove, core.AssocLink{TemplateID: l.TemplateID, RuleID: l.RuleID, Reason: r})
			}
			add = append(add, l)
		}
	}
	for _, l := range current {
		if !seen[l.TemplateID+"|"+l.RuleID] {
			remove = append(remove, l)
		}
	}
	// One statement per link, as ReplaceAssociations wrote them then.
	for _, l := range remove {
		if err := tx.ReplaceAssociations(ctx, nil, []core.AssocLink{l}); err != nil {
			return 0, 0, err
		}
	}
	for _, l := range add {
		if err := tx.ReplaceAssociations(ctx, []core.AssocLink{l}, nil); err != nil {
			return 0, 0, err
		}
	}
	return len(add), len(remove), nil
}

var errRollback = errors.New("rollback")

// BenchmarkRecomputeAssociations: links after a change to 5% of the templates, on a
// catalog of 2,000 templates and 3,000 rules over 100 techniques; "full" revisits
// every pair (before issue 11), "incremental" only the changed templates. Each
// iteration changes the templates and recomputes in a transaction that is rolled back;
// only the recompute is timed.
func BenchmarkRecomputeAssociations(b *testing.B) {
	for _, driver := range []string{store.SQLite, store.Postgres} {
		b.Run(driver, func(b *testing.B) {
			s := storetest.Open(b, driver)
			rng := rand.New(rand.NewPCG(1, 2))
			tech := func() []string {
				out := []string{fmt.Sprintf("T%04d", 1000+rng.IntN(100))}
				if rng.IntN(2) == 0 {
					out = append(out, fmt.Sprintf("T%04d.%03d", 1000+rng.IntN(100), 1+rng.IntN(3)))
				}
				return out
			}
			plats := [][]string{nil, {"windows"}, {"linux"}, {"macos"}, {"windows", "linux"}}
			products := []string{`{}`, `{"product":"windows"}`, `{"product":"linux"}`, `{"product":"macos"}`}
			const nT, nR = 2000, 3000
			if err := s.Update(ctx, func(tx core.Tx) error {
				for i := range nT {
					if err := tx.UpsertTestTemplate(ctx, &core.TestTemplate{Source: "atomic", ExternalID: fmt.Sprintf("t%d", i), Name: "t",
						Active: true, Platforms: core.Strings(plats[rng.IntN(len(plats))]), TechniqueIDs: tech()}); err != nil {
						return err
					}
				}
				for i := range nR {
					if err := tx.UpsertDetectionRule(ctx, &core.DetectionRule{Source: "sigma", ExternalID: fmt.Sprintf("r%d", i), Title: "r",
						Active: true, LogSource: core.JSON(products[rng.IntN(len(products))]), TechniqueIDs: tech()}); err != nil {
						return err
					}
				}
				_, _, err := core.RecomputeAssociations(ctx, tx)
				return err
			}); err != nil {
				b.Fatal(err)
			}
			var links int
			s.DB().Get(&links, `SELECT COUNT(*) FROM test_template_detection_rules`)
			b.Logf("%d links", links)
			for _, mode := range []string{"full", "incremental"} {
				b.Run(mode, func(b *testing.B) {
					var spent time.Duration
					for range b.N {
						err := s.Update(ctx, func(tx core.Tx) error {
							for range nT / 20 {
								if err := tx.UpsertTestTemplate(ctx, &core.TestTemplate{Source: "atomic", ExternalID: fmt.Sprintf("t%d", rng.IntN(nT)),
									Name: "t", Active: true, Platforms: core.Strings(plats[rng.IntN(len(plats))]), TechniqueIDs: tech()}); err != nil {
									return err
								}
							}
							t0 := time.Now()
							var err error
							if mode == "full" {
								_, _, err = fullRecompute(tx)
							} else {
								_, _, err = core.RecomputeAssociations(ctx, tx)
							}
							spent += time.Since(t0)
							if err != nil {
								return err
							}
							return errRollback
						})
						if !errors.Is(err, errRollback) {
							b.Fatal(err)
						}
					}
					b.ReportMetric(spent.Seconds()*1000/float64(b.N), "recompute-ms/op")
				})
			}
		})
	}
}
