package main

import (
	"context"
	"fmt"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/auth"
	"github.com/aegis-sec/aegis/core/campaign"
	"github.com/aegis-sec/aegis/core/coverage"
	"github.com/aegis-sec/aegis/core/evidence"
	"github.com/aegis-sec/aegis/core/importer"
	"github.com/aegis-sec/aegis/core/schedule"
	"github.com/aegis-sec/aegis/core/store"
)

// jobs lists the background jobs of this configuration: the built-in ones of the
// scheduler block, and an import per plugin that has a schedule of its own.
func (a *app) jobs(st *store.Store, imports *importer.Service, blobs core.BlobStore) []schedule.Job {
	sc := a.cfg.Scheduler
	sweeper := evidence.NewService(st, blobs, evidence.Limits{}, a.log.Named("evidence"))
	jobs := []schedule.Job{{
		Name: "notification_cleanup", Spec: sc.NotificationCleanup,
		Run: func(ctx context.Context) error {
			n, err := core.CleanupNotifications(ctx, st, time.Now(), sc.NotificationRetention)
			if err != nil {
				return err
			}
			var s int
			err = st.Update(ctx, func(tx core.Tx) error {
				s, err = tx.DeleteExpiredSessions(ctx, time.Now())
				return err
			})
			if err != nil {
				return err
			}
			f, err := auth.NewThrottle(st, a.cfg.Auth.LoginMaxAttempts, a.cfg.Auth.LoginWindow).Forget(ctx, time.Now())
			if err != nil {
				return err
			}
			// Blobs of uploads interrupted between blob and row; a day is far longer
			// than any upload takes.
			o, err := sweeper.SweepOrphans(ctx, 24*time.Hour)
			a.log.Info("cleanup", "notifications", n, "sessions", s, "login_failures", f, "orphan_blobs", o)
			return err
		},
	}}
	cov, camps := coverage.New(st, nil), campaign.New(st, nil)
	jobs = append(jobs, schedule.Job{
		Name: "coverage_snapshot", Spec: sc.CoverageSnapshot,
		Run: func(ctx context.Context) error {
			snap, err := cov.CreateSnapshot(ctx, nil, "Weekly snapshot "+time.Now().UTC().Format("2006-01-02"))
			if err != nil {
				return err
			}
			pruned, err := cov.PruneSnapshots(ctx, sc.SnapshotRetention)
			a.log.Info("coverage snapshot", "id", snap.ID, "techniques", snap.TechniqueCount, "pruned", pruned)
			return err
		},
	}, schedule.Job{
		Name: "recurring_campaigns", Spec: sc.RecurringCampaigns,
		Run: func(ctx context.Context) error {
			clones, err := camps.RunRecurring(ctx)
			if err != nil {
				return err
			}
			a.log.Info("recurring campaigns", "cloned", len(clones))
			return nil
		},
	})
	scheduled := map[string]bool{}
	importJob := func(name, spec, plugin string) schedule.Job {
		return schedule.Job{Name: name, Spec: spec, Run: func(ctx context.Context) error {
			run, err := imports.RunImport(ctx, core.ImportRequest{Plugin: plugin}, "scheduler")
			if err != nil {
				return err
			}
			a.log.Info("scheduled import", "plugin", plugin, "added", run.Added, "updated", run.Updated, "deprecated", run.Deprecated)
			return nil
		}}
	}
	for _, p := range a.cfg.Plugins {
		if p.Enabled && p.Schedule != "" {
			jobs = append(jobs, importJob("import:"+p.Name, p.Schedule, p.Name))
			scheduled[p.Name] = true
		}
	}
	// The ATT&CK sync and the intel scan are the imports of the plugins named attack and
	// intel, when they are configured and carry no schedule of their own.
	for _, d := range []struct{ job, spec, plugin string }{{"attack_sync", sc.AttackSync, "attack"}, {"intel_scan", sc.IntelScan, "intel"}} {
		if p, ok := a.cfg.Plugin(d.plugin); ok && p.Enabled && !scheduled[d.plugin] && p.Source != "" {
			jobs = append(jobs, importJob(d.job, d.spec, d.plugin))
		}
	}
	return jobs
}

// startScheduler registers the jobs and starts them; the caller stops it.
func (a *app) startScheduler(st *store.Store, imports *importer.Service, blobs core.BlobStore) (*schedule.Scheduler, error) {
	s := schedule.New(st, a.log.Named("scheduler"))
	s.Recorder = schedule.NewHistory(st)
	for _, j := range a.jobs(st, imports, blobs) {
		if err := s.Add(j); err != nil {
			return nil, fmt.Errorf("scheduler: %w", err)
		}
		a.log.Debug("job scheduled", "job", j.Name, "spec", j.Spec)
	}
	s.Start()
	return s, nil
}
