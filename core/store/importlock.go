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
	if s.dialect == Postgres {
		unlock, ok, err = s.TryJobLock(ctx, "import:"+plugin)
	} else {
		unlock, ok, err = s.sqliteImportLock(ctx, plugin)
	}
	if err != nil || ok {
		return unlock, nil, ok, err
	}
	run, err := s.runningImport(ctx, plugin)
	return nil, run, false, err
}

func (s *Store) sqliteImportLock(ctx context.Context, plugin string) (func(), bool, error) {
	local, ok, err := s.TryJobLock(ctx, "import:"+plugin) // this process's other goroutines
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
			return nil, false, fmt.Errorf("store: import lock %s: %w", plugin, err)
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
			return nil, false, fmt.Errorf("store: import lock %s: %w", plugin, err)
		}
		if !deadHolder(holder, host) {
			break
		}
		// The process that took it ended without releasing it (killed, crashed).
		if _, err := s.write.ExecContext(ctx, `DELETE FROM import_locks WHERE plugin = ? AND holder = ?`, plugin, holder); err != nil {
			local()
			return nil, false, fmt.Errorf("store: import lock %s: %w", plugin, err)
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
