package store_test

// Issue 16, defect 3: an import whose process was killed stayed "running" for ever
// (PostgreSQL: 10 runs stuck after CLI kills). A run whose process is gone is marked
// failed as interrupted at the next sweep (server start, every minute, the next import
// of the plugin); a run whose process lives is left alone.

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/exporter"
	"github.com/aegis-sec/aegis/core/importer"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

const envHolder = "AEGIS_TEST_IMPORT_HOLDER" // driver|dsn|plugin, or driver|dsn|export:plugin for an export run

// TestImportHolderProcess is not a test: it is the process that runs an import for
// TestInterruptedImports. It takes the plugin's import lock and writes a running run,
// as `aegis import` does, says so, and waits to be killed.
func TestImportHolderProcess(t *testing.T) {
	arg := os.Getenv(envHolder)
	if arg == "" {
		// The import-holding process of TestInterruptedImports, which runs it as a
		// child; run on its own it has nothing to do (not a skip: CI counts skips).
		return
	}
	parts := strings.SplitN(arg, "|", 3)
	s, err := store.Open(context.Background(), store.Options{Driver: parts[0], DSN: parts[1]})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	if plugin, ok := strings.CutPrefix(parts[2], "export:"); ok {
		// An export run, as exporter.Runner writes it: its lock first, then its row.
		run := &core.ExportRun{ID: core.NewID(), PluginName: plugin, TriggeredBy: "cli", Outcome: core.RunRunning, StartedAt: core.Now()}
		if _, ok, err := s.TryExportRunLock(context.Background(), run.ID); err != nil || !ok {
			fmt.Println("error: lock", ok, err)
			os.Exit(1)
		}
		if err := s.Update(context.Background(), func(tx core.Tx) error { return tx.CreateExportRun(context.Background(), run) }); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("running", run.ID)
		time.Sleep(5 * time.Minute)
		os.Exit(0)
	}
	_, _, ok, err := s.TryImportLock(context.Background(), parts[2])
	if err != nil || !ok {
		fmt.Println("error: lock", ok, err)
		os.Exit(1)
	}
	run := &core.ImportRun{PluginName: parts[2], SourceLocation: "/src", TriggeredBy: "cli", Outcome: core.RunRunning, StartedAt: core.Now()}
	if err := s.Update(context.Background(), func(tx core.Tx) error { return tx.CreateImportRun(context.Background(), run) }); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("running", run.ID)
	time.Sleep(5 * time.Minute)
	os.Exit(0)
}

// holder starts TestImportHolderProcess for plugin and returns it with its run's id.
func holder(t *testing.T, driver, dsn, plugin string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestImportHolderProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envHolder+"="+driver+"|"+dsn+"|"+plugin)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "running "); ok {
			return cmd, id
		}
		if strings.HasPrefix(sc.Text(), "error") {
			t.Fatalf("holder of %s: %s", plugin, sc.Text())
		}
	}
	t.Fatalf("holder of %s ended without a run: %v", plugin, sc.Err())
	return nil, ""
}

// migrated opens a fresh migrated database of driver and returns it with its DSN.
func migrated(t *testing.T, driver string) (*store.Store, string) {
	t.Helper()
	dsn := storetest.DSN(t, driver)
	s, err := store.Open(ctx, store.Options{Driver: driver, DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(); err != nil {
		t.Fatal(err)
	}
	return s, dsn
}

// killThenSweep SIGKILLs a holder (no deferred unlock, no outcome written) and runs
// sweep until it finds something, for 10 s at most: PostgreSQL ends the killed
// session's locks once it sees the socket close.
func killThenSweep(t *testing.T, holder *exec.Cmd, sweep func() (int, error)) {
	t.Helper()
	if err := holder.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	holder.Wait()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		n, err := sweep()
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
	}
}

func runOf(t *testing.T, s *store.Store, id string) *core.ImportRun {
	t.Helper()
	var r *core.ImportRun
	if err := s.View(ctx, func(tx core.Tx) error {
		var err error
		r, err = tx.ImportRunByID(ctx, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestInterruptedImports(t *testing.T) {
	for _, driver := range []string{store.SQLite, store.Postgres} {
		t.Run(driver, func(t *testing.T) {
			s, dsn := migrated(t, driver)
			killed, killedRun := holder(t, driver, dsn, "sigma")
			_, liveRun := holder(t, driver, dsn, "atomic")
			// An import running in this process (a server's own) is alive too.
			unlock, _, ok, err := s.TryImportLock(ctx, "lolbas")
			if err != nil || !ok {
				t.Fatalf("lock: %v %v", ok, err)
			}
			defer unlock()
			own := &core.ImportRun{PluginName: "lolbas", Outcome: core.RunRunning, StartedAt: core.Now()}
			mustUpdate(t, s, func(tx core.Tx) error { return tx.CreateImportRun(ctx, own) })

			runner := &importer.Runner{Store: s}
			if gone, err := runner.SweepInterrupted(ctx); err != nil || len(gone) != 0 {
				t.Fatalf("with every holder alive the sweep interrupted %d runs: %v", len(gone), err)
			}

			var gone []*core.ImportRun
			killThenSweep(t, killed, func() (n int, err error) {
				gone, err = runner.SweepInterrupted(ctx)
				return len(gone), err
			})
			if len(gone) != 1 || gone[0].ID != killedRun {
				t.Fatalf("the sweep interrupted %+v, want only the killed process's run %s", gone, killedRun)
			}
			r := runOf(t, s, killedRun)
			if r.Outcome != core.RunFailed || !strings.HasPrefix(r.Error, "interrupted:") || !strings.Contains(r.Error, "not stored") ||
				r.FinishedAt == nil {
				t.Fatalf("killed run: %+v", r)
			}
			for _, id := range []string{liveRun, own.ID} {
				if r := runOf(t, s, id); r.Outcome != core.RunRunning {
					t.Fatalf("a live run was marked %s: %s", r.Outcome, r.Error)
				}
			}
			var audited []*core.AuditEntry
			s.View(ctx, func(tx core.Tx) error {
				audited, _, err = tx.ListAudit(ctx, core.AuditFilter{Action: "import.interrupted", Page: core.Page{Limit: 10}})
				return err
			})
			if len(audited) != 1 || audited[0].EntityID != killedRun {
				t.Fatalf("audit of the interruption: %+v", audited)
			}
			// A second sweep finds nothing more; the next import of the plugin starts.
			if gone, err := runner.SweepInterrupted(ctx); err != nil || len(gone) != 0 {
				t.Fatalf("second sweep: %d, %v", len(gone), err)
			}
			next, _, ok, err := s.TryImportLock(ctx, "sigma")
			if err != nil || !ok {
				t.Fatalf("the killed import's plugin is still locked: %v %v", ok, err)
			}
			next()
		})
	}
}

// An import run left running is also marked interrupted by the next import of its
// plugin, which holds the lock and so knows nobody else runs it; the run row says
// whether the records had been stored (they are written with their import.run audit
// entry in one transaction).
func TestInterruptedAfterItsRecordsWereStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		stored := &core.ImportRun{PluginName: "cti", Outcome: core.RunRunning, StartedAt: core.Now()}
		mustUpdate(t, s, func(tx core.Tx) error {
			if err := tx.CreateImportRun(ctx, stored); err != nil {
				return err
			}
			return tx.AppendAudit(ctx, core.NewAudit(nil, "import.run", "import_run", stored.ID, map[string]any{"added": 3}))
		})
		unlock, _, ok, err := s.TryImportLock(ctx, "cti")
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		gone, err := s.InterruptImportRuns(ctx, "cti")
		unlock()
		if err != nil || len(gone) != 1 {
			t.Fatalf("%d runs, %v", len(gone), err)
		}
		if r := runOf(t, s, stored.ID); r.Outcome != core.RunFailed || !strings.Contains(r.Error, "had been stored") {
			t.Fatalf("run: %+v", r)
		}
	})
}

// Issue 16: export runs had the orphan problem imports had. An export run whose process
// was killed is marked failed as interrupted at the next sweep (server start, every
// minute) and audited; a run whose process lives, in another process or this one, is
// left alone.
func TestInterruptedExports(t *testing.T) {
	for _, driver := range []string{store.SQLite, store.Postgres} {
		t.Run(driver, func(t *testing.T) {
			s, dsn := migrated(t, driver)
			killed, killedRun := holder(t, driver, dsn, "export:navigator")
			_, liveRun := holder(t, driver, dsn, "export:navigator")
			own := &core.ExportRun{ID: core.NewID(), PluginName: "report", Outcome: core.RunRunning, StartedAt: core.Now()}
			unlock, ok, err := s.TryExportRunLock(ctx, own.ID)
			if err != nil || !ok {
				t.Fatalf("lock: %v %v", ok, err)
			}
			defer unlock()
			mustUpdate(t, s, func(tx core.Tx) error { return tx.CreateExportRun(ctx, own) })

			runner := &exporter.Runner{Store: s}
			if gone, err := runner.SweepInterrupted(ctx); err != nil || len(gone) != 0 {
				t.Fatalf("with every run alive the sweep interrupted %d runs: %v", len(gone), err)
			}
			var gone []*core.ExportRun
			killThenSweep(t, killed, func() (n int, err error) {
				gone, err = runner.SweepInterrupted(ctx)
				return len(gone), err
			})
			if len(gone) != 1 || gone[0].ID != killedRun {
				t.Fatalf("the sweep interrupted %+v, want only the killed process's run %s", gone, killedRun)
			}
			exportRun := func(id string) *core.ExportRun {
				var r *core.ExportRun
				if err := s.View(ctx, func(tx core.Tx) error {
					var err error
					r, err = tx.ExportRunByID(ctx, id)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return r
			}
			if r := exportRun(killedRun); r.Outcome != core.RunFailed || r.Error != store.InterruptedExportError || r.FinishedAt == nil {
				t.Fatalf("killed run: %+v", r)
			}
			for _, id := range []string{liveRun, own.ID} {
				if r := exportRun(id); r.Outcome != core.RunRunning {
					t.Fatalf("a live run was marked %s: %s", r.Outcome, r.Error)
				}
			}
			var audited []*core.AuditEntry
			s.View(ctx, func(tx core.Tx) error {
				audited, _, err = tx.ListAudit(ctx, core.AuditFilter{Action: "export.interrupted", Page: core.Page{Limit: 10}})
				return err
			})
			if len(audited) != 1 || audited[0].EntityID != killedRun {
				t.Fatalf("audit of the interruption: %+v", audited)
			}
			if gone, err := runner.SweepInterrupted(ctx); err != nil || len(gone) != 0 {
				t.Fatalf("second sweep: %d, %v", len(gone), err)
			}
		})
	}
}
