package store_test

import (
	"context"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// The file states of a plugin's importer: one row, replaced by each run, gone with
// DeleteImportFiles or with the run it belongs to; the run's file counts round-trip.
func TestImportFilesAreKeptPerImporter(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		var runs [2]*core.ImportRun
		err := s.Update(ctx, func(tx core.Tx) error {
			for i := range runs {
				runs[i] = &core.ImportRun{PluginName: "sigma", ImporterType: "sigma", SourceLocation: "/rules"}
				if err := tx.CreateImportRun(ctx, runs[i]); err != nil {
					return err
				}
			}
			runs[0].FilesRead, runs[0].FilesUnchanged, runs[0].Outcome = 3, 7, core.RunSucceeded
			return tx.FinishImportRun(ctx, runs[0])
		})
		if err != nil {
			t.Fatal(err)
		}
		fs := func(tx core.Tx) *store.Tx { return tx.(*store.Tx) }
		err = s.Update(ctx, func(tx core.Tx) error {
			got, err := fs(tx).LastImportFiles(ctx, "sigma", "sigma")
			if err != nil || got != nil {
				t.Errorf("before any: %+v, %v; want nil, nil", got, err)
			}
			for i, run := range runs {
				if err := fs(tx).PutImportFiles(ctx, &core.ImportFiles{PluginName: "sigma", ImporterType: "sigma", RunID: run.ID,
					SourceLocation: "/rules", FilesKey: "k", Scope: "/rules", FileCount: i + 1, States: []byte{0x1f, 0x8b, byte(i)}}); err != nil {
					return err
				}
			}
			got, err = fs(tx).LastImportFiles(ctx, "sigma", "sigma")
			if err != nil || got == nil || got.RunID != runs[1].ID || got.FileCount != 2 || string(got.States) != string([]byte{0x1f, 0x8b, 1}) {
				t.Errorf("after two runs: %+v, %v; want the second run's row", got, err)
			}
			if other, err := fs(tx).LastImportFiles(ctx, "sigma", "other"); err != nil || other != nil {
				t.Errorf("another importer: %+v, %v", other, err)
			}
			got0, err := tx.ImportRunByID(ctx, runs[0].ID)
			if err != nil || got0.FilesRead != 3 || got0.FilesUnchanged != 7 {
				t.Errorf("run counts: %+v, %v", got0, err)
			}
			if err := fs(tx).DeleteImportFiles(ctx, "sigma", "sigma"); err != nil {
				return err
			}
			if got, err := fs(tx).LastImportFiles(ctx, "sigma", "sigma"); err != nil || got != nil {
				t.Errorf("after delete: %+v, %v", got, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
