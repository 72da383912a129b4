package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// A snapshot of 450 techniques writes their states in three statements (200 a
// statement), and reads back every state as given, unscored ones unscored.
func TestSnapshotTechniqueStatesInBatches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		var states []core.SnapshotTechniqueState
		mustUpdate(t, s, func(tx core.Tx) error {
			for i := 0; i < 450; i++ {
				te := &core.Technique{ExternalID: fmt.Sprintf("T%04d", 1000+i), Name: fmt.Sprint("T ", i), Domains: []string{"enterprise-attack"}, Known: true}
				if err := tx.UpsertTechnique(ctx, te); err != nil {
					return err
				}
				st := core.SnapshotTechniqueState{TechniqueID: te.ID, ExternalID: te.ExternalID, Name: te.Name, Status: core.StatusNotTested,
					TestCount: i % 7, ValidatedCount: i % 3}
				if i%2 == 0 {
					sc := float64(i) / 10
					st.Score, st.Status = &sc, core.StatusPartial
				}
				states = append(states, st)
			}
			return nil
		})
		inserts := 0
		s.ObserveQueries(func(q string, _ []any) {
			if strings.Contains(q, "INSERT INTO snapshot_technique_states") {
				inserts++
			}
		})
		snap := &core.Snapshot{Name: "s", TakenAt: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC), FormulaVersion: 1, TechniqueCount: len(states)}
		mustUpdate(t, s, func(tx core.Tx) error { return tx.CreateSnapshot(ctx, snap, states) })
		s.ObserveQueries(nil)
		if inserts != 3 {
			t.Errorf("%d statements for 450 technique states, want 3", inserts)
		}
		var got []core.SnapshotTechniqueState
		mustUpdate(t, s, func(tx core.Tx) error {
			var err error
			got, err = tx.SnapshotTechniqueStates(ctx, snap.ID)
			return err
		})
		if len(got) != len(states) {
			t.Fatalf("read %d states, wrote %d", len(got), len(states))
		}
		for i, w := range states {
			g := got[i]
			if g.ExternalID != w.ExternalID || g.Status != w.Status || g.TestCount != w.TestCount || g.ValidatedCount != w.ValidatedCount ||
				(g.Score == nil) != (w.Score == nil) || (w.Score != nil && *g.Score != *w.Score) {
				t.Fatalf("state %d: got %+v, wrote %+v", i, g, w)
			}
		}
	})
}
