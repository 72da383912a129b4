package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/aegis-sec/aegis/core"
)

// TryExportRunLock takes the lock that says this process is running export run id,
// held until unlock is called or the process ends (see tryOwnerLock). An export takes
// it before it writes its row, so a run marked running whose lock is free was left by
// a process that died.
func (s *Store) TryExportRunLock(ctx context.Context, id string) (unlock func(), ok bool, err error) {
	return s.tryOwnerLock(ctx, "export-run:"+id, "export-run:"+id)
}

// InterruptedExportError is the error an export run is left with when the process
// running it ended without recording how it finished. An export stores its artifacts
// with its outcome in one transaction, so such a run has none.
const InterruptedExportError = "interrupted: the process running this export ended (killed or crashed) before it recorded an outcome; it stored no artifact"

// InterruptOrphanedExports marks failed, as interrupted, every export run still marked
// running whose lock this call can take (no process runs it any more), audits each as
// export.interrupted, and returns them. A run whose process lives is left alone.
func (s *Store) InterruptOrphanedExports(ctx context.Context) ([]*core.ExportRun, error) {
	var ids []string
	if err := s.View(ctx, func(tx core.Tx) error {
		return tx.(*Tx).sel(ctx, &ids, `SELECT id FROM export_runs WHERE outcome = ? ORDER BY started_at, id`, core.RunRunning)
	}); err != nil {
		return nil, fmt.Errorf("store: running exports: %w", err)
	}
	var out []*core.ExportRun
	for _, id := range ids {
		unlock, ok, err := s.TryExportRunLock(ctx, id)
		if err != nil {
			return out, err
		}
		if !ok {
			continue // its export is running
		}
		var r *core.ExportRun
		err = s.Update(ctx, func(ct core.Tx) error {
			tx := ct.(*Tx)
			r = nil // the transaction may run again
			var runs []*core.ExportRun
			if err := tx.sel(ctx, &runs, `SELECT `+strings.Join(exportRunFields, ", ")+` FROM export_runs WHERE id = ? AND outcome = ?`,
				id, core.RunRunning); err != nil || len(runs) == 0 {
				return err // finished meanwhile
			}
			r = runs[0]
			now := core.Now()
			r.Outcome, r.Error, r.FinishedAt = core.RunFailed, InterruptedExportError, &now
			r.DurationMS = now.Sub(r.StartedAt).Milliseconds()
			if err := tx.FinishExportRun(ctx, r, nil); err != nil {
				return err
			}
			return tx.AppendAudit(ctx, core.NewAudit(nil, "export.interrupted", "export_run", r.ID, map[string]any{
				"plugin": r.PluginName, "started_at": r.StartedAt}))
		})
		unlock()
		if err != nil {
			return out, err
		}
		if r != nil {
			out = append(out, r)
		}
	}
	return out, nil
}
