package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/aegis-sec/aegis/core"
)

// TryImportLock takes the lock that lets one import of a plugin run at a time, whoever
// starts it (CLI, API, scheduler) and on whichever instance. When another holds it,
// ok is false and running is that import's run (nil when its row is not written yet).
//
// PostgreSQL: a session advisory lock (released if the instance dies). SQLite: a row
// of import_locks naming this process, so an `aegis import` beside `aegis serve` on
// the same file is refused too; a row left by a process that no longer runs on this
// host is taken over.
func (s *Store) TryImportLock(ctx context.Context, plugin string) (unlock func(), running *core.ImportRun, ok bool, err error) {
	unlock, ok, err = s.tryOwnerLock(ctx, "import:"+plugin, plugin)
	if err != nil || ok {
		return unlock, nil, ok, err
	}
	run, err := s.runningImport(ctx, plugin)
	return nil, run, false, err
}

// tryOwnerLock takes a lock that says this process owns something (an import of a
// plugin, an export run) for as long as it holds it, and that ends with the process:
// on PostgreSQL the session advisory lock name; on SQLite the import_locks row key
// (its column is named plugin: imports came first), naming this host and process.
func (s *Store) tryOwnerLock(ctx context.Context, name, key string) (func(), bool, error) {
	if s.dialect == Postgres {
		return s.TryJobLock(ctx, name)
	}
	return s.sqliteOwnerLock(ctx, name, key)
}

func (s *Store) sqliteOwnerLock(ctx context.Context, name, plugin string) (func(), bool, error) {
	local, ok, err := s.TryJobLock(ctx, name) // this process's other goroutines
	if err != nil || !ok {
		return nil, ok, err
	}
	host, _ := os.Hostname()
	me := host + ":" + strconv.Itoa(os.Getpid())
	for attempt := 0; attempt < 2; attempt++ {
		res, err := s.write.ExecContext(ctx, `INSERT INTO import_locks (plugin, holder, acquired_at) VALUES (?, ?, ?) ON CONFLICT (plugin) DO NOTHING`,
			plugin, me, core.Now())
		if err != nil {
			local()
			return nil, false, fmt.Errorf("store: lock %s: %w", plugin, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return func() {
				_, _ = s.write.ExecContext(context.Background(), `DELETE FROM import_locks WHERE plugin = ? AND holder = ?`, plugin, me)
				local()
			}, true, nil
		}
		var holder string
		err = s.write.GetContext(ctx, &holder, `SELECT holder FROM import_locks WHERE plugin = ?`, plugin)
		if errors.Is(err, sql.ErrNoRows) {
			continue // released meanwhile
		}
		if err != nil {
			local()
			return nil, false, fmt.Errorf("store: lock %s: %w", plugin, err)
		}
		if !deadHolder(holder, host) {
			break
		}
		// The process that took it ended without releasing it (killed, crashed).
		if _, err := s.write.ExecContext(ctx, `DELETE FROM import_locks WHERE plugin = ? AND holder = ?`, plugin, holder); err != nil {
			local()
			return nil, false, fmt.Errorf("store: lock %s: %w", plugin, err)
		}
	}
	local()
	return nil, false, nil
}

// deadHolder tells whether a holder "host:pid" is a process of this host that no
// longer runs. A holder on another host is taken as alive.
func deadHolder(holder, host string) bool {
	i := strings.LastIndexByte(holder, ':')
	if i < 0 || holder[:i] != host {
		return false
	}
	pid, err := strconv.Atoi(holder[i+1:])
	if err != nil || pid <= 0 {
		return true
	}
	if pid == os.Getpid() {
		return false
	}
	return syscall.Kill(pid, 0) == syscall.ESRCH
}

// runningImport is the newest run of the plugin still marked running.
func (s *Store) runningImport(ctx context.Context, plugin string) (*core.ImportRun, error) {
	var runs []*core.ImportRun
	err := s.View(ctx, func(tx core.Tx) error {
		var err error
		runs, _, err = tx.ListImportRuns(ctx, core.ImportRunFilter{Plugin: plugin, Outcome: core.RunRunning, Page: core.Page{Limit: 1}})
		return err
	})
	if err != nil || len(runs) == 0 {
		return nil, err
	}
	return runs[0], nil
}

// InterruptedImportError is the error an import run is left with when the process
// running it ended without recording how it finished.
const InterruptedImportError = "interrupted: the process running this import ended (killed or crashed) before it recorded an outcome"

// InterruptOrphanedImports finds import runs still marked running whose owner is gone
// and marks them failed as interrupted (see InterruptImportRuns). Owner liveness is
// the import lock: a plugin whose lock this call can take has no import running
// anywhere (PostgreSQL: the advisory lock ends with its session, so with a killed
// process; SQLite: the holder row names a process of this host that no longer runs),
// and every run of it still marked running was left by a process that died. A plugin
// whose lock is held is importing right now, and its runs are left alone.
func (s *Store) InterruptOrphanedImports(ctx context.Context) ([]*core.ImportRun, error) {
	var plugins []string
	if err := s.View(ctx, func(tx core.Tx) error {
		return tx.(*Tx).sel(ctx, &plugins, `SELECT DISTINCT plugin_name FROM import_runs WHERE outcome = ? ORDER BY plugin_name`, core.RunRunning)
	}); err != nil {
		return nil, fmt.Errorf("store: running imports: %w", err)
	}
	var out []*core.ImportRun
	for _, plugin := range plugins {
		unlock, _, ok, err := s.TryImportLock(ctx, plugin)
		if err != nil {
			return out, err
		}
		if !ok {
			continue // its import is running
		}
		runs, err := s.InterruptImportRuns(ctx, plugin)
		unlock()
		if err != nil {
			return out, err
		}
		out = append(out, runs...)
	}
	return out, nil
}

// InterruptImportRuns marks every run of plugin still marked running failed, with
// InterruptedImportError and what became of its records: an import writes them in one
// transaction together with its import.run audit entry, so that entry says whether
// they were stored (all of them) or not (none). Each is audited as
// import.interrupted. The caller holds the plugin's import lock, which proves no
// process is running those runs.
func (s *Store) InterruptImportRuns(ctx context.Context, plugin string) ([]*core.ImportRun, error) {
	var out []*core.ImportRun
	err := s.Update(ctx, func(ct core.Tx) error {
		tx := ct.(*Tx)
		out = nil // the transaction may run again
		if err := tx.sel(ctx, &out, `SELECT `+strings.Join(runFields, ", ")+` FROM import_runs
			WHERE plugin_name = ? AND outcome = ? ORDER BY started_at, id`, plugin, core.RunRunning); err != nil {
			return fmt.Errorf("store: running imports of %s: %w", plugin, err)
		}
		now := core.Now()
		for _, r := range out {
			var stored int
			if err := tx.get(ctx, &stored, `SELECT COUNT(*) FROM audit_logs WHERE entity_type = 'import_run' AND entity_id = ? AND action = 'import.run'`,
				r.ID); err != nil {
				return fmt.Errorf("store: audit of import run %s: %w", r.ID, err)
			}
			r.Outcome, r.Error = core.RunFailed, InterruptedImportError+"; its records were not stored"
			if stored > 0 {
				r.Error = InterruptedImportError + "; its records had been stored (audit entry import.run), only the run's counts are missing"
			}
			r.FinishedAt = &now
			r.DurationMS = now.Sub(r.StartedAt).Milliseconds()
			if err := tx.FinishImportRun(ctx, r); err != nil {
				return err
			}
			if err := tx.AppendAudit(ctx, core.NewAudit(nil, "import.interrupted", "import_run", r.ID, map[string]any{
				"plugin": r.PluginName, "source": r.SourceLocation, "started_at": r.StartedAt, "records_stored": stored > 0})); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}
