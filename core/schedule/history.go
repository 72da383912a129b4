package schedule

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aegis-sec/aegis/core"
)

// History records job runs in the database (the job_runs table) and lists them.
type History struct {
	Store core.Store
	// Instance names this process in the records (host name and pid by default).
	Instance string
}

// NewHistory returns a History for this process.
func NewHistory(st core.Store) *History {
	host, _ := os.Hostname()
	return &History{Store: st, Instance: fmt.Sprintf("%s:%d", host, os.Getpid())}
}

// ClaimRun records a run for the tick unless one exists.
func (h *History) ClaimRun(ctx context.Context, job string, tick time.Time) (string, bool, error) {
	r := &core.JobRun{Job: job, Tick: tick.UTC().Truncate(time.Microsecond), Instance: h.Instance, StartedAt: core.Now()}
	var ok bool
	err := h.Store.Update(ctx, func(tx core.Tx) error {
		var err error
		ok, err = tx.ClaimJobRun(ctx, r)
		return err
	})
	return r.ID, ok, err
}

// FinishRun records the outcome.
func (h *History) FinishRun(ctx context.Context, id string, runErr error) error {
	now := core.Now()
	r := &core.JobRun{ID: id, FinishedAt: &now, Outcome: "succeeded"}
	if runErr != nil {
		r.Outcome, r.Error = "failed", runErr.Error()
	}
	return h.Store.Update(ctx, func(tx core.Tx) error { return tx.FinishJobRun(ctx, r) })
}

// List lists recorded runs, newest first.
func (h *History) List(ctx context.Context, f core.JobRunFilter) ([]*core.JobRun, int, error) {
	var out []*core.JobRun
	var total int
	err := h.Store.View(ctx, func(tx core.Tx) error {
		var err error
		out, total, err = tx.ListJobRuns(ctx, f)
		return err
	})
	return out, total, err
}
