package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/aegis-sec/aegis/core"
)

var exportRunFields = []string{"id", "plugin_name", "exporter_type", "scope", "outcome", "error", "records", "artifacts",
	"size_bytes", "sha256", "warning_count", "warnings", "triggered_by", "user_id", "started_at", "finished_at", "duration_ms"}

// CreateExportRun stores a run as it starts.
func (t *Tx) CreateExportRun(ctx context.Context, r *core.ExportRun) error {
	if r.ID == "" {
		r.ID = core.NewID()
	}
	if r.Outcome == "" {
		r.Outcome = core.RunRunning
	}
	if r.StartedAt.IsZero() {
		r.StartedAt = core.Now()
	}
	emptyJSON(&r.Warnings, "[]")
	emptyJSON(&r.Scope, "{}")
	_, err := t.tx.NamedExecContext(ctx, `INSERT INTO export_runs (`+strings.Join(exportRunFields, ", ")+`) VALUES (:`+
		strings.Join(exportRunFields, ", :")+`)`, r)
	if err != nil {
		return fmt.Errorf("store: create export run: %w", err)
	}
	return nil
}

// FinishExportRun writes a run's outcome and stores its artifacts.
func (t *Tx) FinishExportRun(ctx context.Context, r *core.ExportRun, artifacts []*core.ExportArtifact) error {
	emptyJSON(&r.Warnings, "[]")
	emptyJSON(&r.Scope, "{}")
	res, err := t.tx.NamedExecContext(ctx, `UPDATE export_runs SET outcome = :outcome, error = :error, records = :records,
		artifacts = :artifacts, size_bytes = :size_bytes, sha256 = :sha256, warning_count = :warning_count,
		warnings = :warnings, exporter_type = :exporter_type, scope = :scope, finished_at = :finished_at,
		duration_ms = :duration_ms WHERE id = :id`, r)
	if err != nil {
		return fmt.Errorf("store: finish export run %s: %w", r.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return core.Errorf(core.ENOTFOUND, "export run %s not found", r.ID)
	}
	for i, a := range artifacts {
		if a.ID == "" {
			a.ID = core.NewID()
		}
		a.RunID, a.Seq = r.ID, i
		if _, err := t.exec(ctx, `INSERT INTO export_artifacts (id, run_id, seq, name, media_type, size_bytes, sha256, data)
			VALUES (?,?,?,?,?,?,?,?)`, a.ID, a.RunID, a.Seq, a.Name, a.MediaType, a.SizeBytes, a.SHA256, a.Data); err != nil {
			return fmt.Errorf("store: store artifact %q of export run %s: %w", a.Name, r.ID, err)
		}
	}
	return nil
}

// ExportRunByID finds one run.
func (t *Tx) ExportRunByID(ctx context.Context, id string) (*core.ExportRun, error) {
	var r core.ExportRun
	if err := t.get(ctx, &r, `SELECT `+strings.Join(exportRunFields, ", ")+` FROM export_runs WHERE id = ?`, id); err != nil {
		return nil, notFound(err, "export run", id)
	}
	return &r, nil
}

// ListExportRuns returns one page of runs, newest first.
func (t *Tx) ListExportRuns(ctx context.Context, f core.ExportRunFilter) ([]*core.ExportRun, int, error) {
	w := where{}
	if f.Plugin != "" {
		w.add("plugin_name = ?", f.Plugin)
	}
	if f.Outcome != "" {
		w.add("outcome = ?", f.Outcome)
	}
	var total int
	if err := t.get(ctx, &total, `SELECT COUNT(*) FROM export_runs`+w.sql(), w.args...); err != nil {
		return nil, 0, fmt.Errorf("store: count export runs: %w", err)
	}
	p := f.Page.Normalize()
	out := []*core.ExportRun{}
	if err := t.sel(ctx, &out, `SELECT `+strings.Join(exportRunFields, ", ")+` FROM export_runs`+w.sql()+
		` ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?`, append(w.args, p.Limit, p.Offset)...); err != nil {
		return nil, 0, fmt.Errorf("store: list export runs: %w", err)
	}
	return out, total, nil
}

// ExportArtifacts lists a run's artifacts in production order.
func (t *Tx) ExportArtifacts(ctx context.Context, runID string, withData bool) ([]*core.ExportArtifact, error) {
	cols := "id, run_id, seq, name, media_type, size_bytes, sha256"
	if withData {
		cols += ", data"
	}
	out := []*core.ExportArtifact{}
	if err := t.sel(ctx, &out, `SELECT `+cols+` FROM export_artifacts WHERE run_id = ? ORDER BY seq`, runID); err != nil {
		return nil, fmt.Errorf("store: artifacts of export run %s: %w", runID, err)
	}
	return out, nil
}
