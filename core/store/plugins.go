package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/aegis-sec/aegis/core"
)

var pluginFields = []string{"id", "name", "version", "description", "kinds", "record_kinds", "components",
	"protocol_version", "protocol_minor", "sdk_version", "path", "sha256", "enabled", "last_error", "last_seen_at", "created_at", "updated_at"}

// UpsertPlugin records what the host learnt about a plugin, keyed by name.
func (t *Tx) UpsertPlugin(ctx context.Context, p *core.PluginInfo) error {
	if p.Name == "" {
		return core.FieldError("name", "is required")
	}
	if p.ID == "" {
		p.ID = core.NewID()
	}
	emptyJSON(&p.Components, "[]")
	now := core.Now()
	p.CreatedAt, p.UpdatedAt = now, now
	var sets []string
	for _, f := range pluginFields {
		if f != "id" && f != "name" && f != "created_at" {
			sets = append(sets, f+" = excluded."+f)
		}
	}
	q := `INSERT INTO plugins (` + strings.Join(pluginFields, ", ") + `) VALUES (:` + strings.Join(pluginFields, ", :") +
		`) ON CONFLICT (name) DO UPDATE SET ` + strings.Join(sets, ", ") + ` RETURNING id`
	if err := t.namedGet(ctx, &p.ID, q, p); err != nil {
		return fmt.Errorf("store: upsert plugin %s: %w", p.Name, err)
	}
	return nil
}

// ListPlugins returns every plugin by name.
func (t *Tx) ListPlugins(ctx context.Context) ([]*core.PluginInfo, error) {
	out := []*core.PluginInfo{}
	if err := t.sel(ctx, &out, `SELECT `+strings.Join(pluginFields, ", ")+` FROM plugins ORDER BY name`); err != nil {
		return nil, fmt.Errorf("store: list plugins: %w", err)
	}
	return out, nil
}

var runFields = []string{"id", "plugin_name", "importer_type", "source_location", "dry_run", "outcome", "error",
	"added", "updated", "unchanged", "deprecated", "rejected", "warning_count", "warnings", "triggered_by",
	"started_at", "finished_at", "duration_ms", "files_read", "files_unchanged"}

// CreateImportRun stores a run as it starts.
func (t *Tx) CreateImportRun(ctx context.Context, r *core.ImportRun) error {
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
	_, err := t.tx.NamedExecContext(ctx, `INSERT INTO import_runs (`+strings.Join(runFields, ", ")+`) VALUES (:`+strings.Join(runFields, ", :")+`)`, r)
	if err != nil {
		return fmt.Errorf("store: create import run: %w", err)
	}
	return nil
}

// FinishImportRun writes a run's outcome, counts and warnings.
func (t *Tx) FinishImportRun(ctx context.Context, r *core.ImportRun) error {
	emptyJSON(&r.Warnings, "[]")
	res, err := t.tx.NamedExecContext(ctx, `UPDATE import_runs SET outcome = :outcome, error = :error, added = :added,
		updated = :updated, unchanged = :unchanged, deprecated = :deprecated, rejected = :rejected,
		warning_count = :warning_count, warnings = :warnings, importer_type = :importer_type,
		finished_at = :finished_at, duration_ms = :duration_ms, files_read = :files_read,
		files_unchanged = :files_unchanged WHERE id = :id`, r)
	if err != nil {
		return fmt.Errorf("store: finish import run %s: %w", r.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return core.Errorf(core.ENOTFOUND, "import run %s not found", r.ID)
	}
	return nil
}

// ImportRunByID finds one run.
func (t *Tx) ImportRunByID(ctx context.Context, id string) (*core.ImportRun, error) {
	var r core.ImportRun
	if err := t.get(ctx, &r, `SELECT `+strings.Join(runFields, ", ")+` FROM import_runs WHERE id = ?`, id); err != nil {
		return nil, notFound(err, "import run", id)
	}
	return &r, nil
}

// ListImportRuns returns one page of runs, newest first.
func (t *Tx) ListImportRuns(ctx context.Context, f core.ImportRunFilter) ([]*core.ImportRun, int, error) {
	w := where{}
	if f.Plugin != "" {
		w.add("plugin_name = ?", f.Plugin)
	}
	if f.Outcome != "" {
		w.add("outcome = ?", f.Outcome)
	}
	var total int
	if err := t.get(ctx, &total, `SELECT COUNT(*) FROM import_runs`+w.sql(), w.args...); err != nil {
		return nil, 0, fmt.Errorf("store: count import runs: %w", err)
	}
	p := f.Page.Normalize()
	out := []*core.ImportRun{}
	if err := t.sel(ctx, &out, `SELECT `+strings.Join(runFields, ", ")+` FROM import_runs`+w.sql()+` ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?`,
		append(w.args, p.Limit, p.Offset)...); err != nil {
		return nil, 0, fmt.Errorf("store: list import runs: %w", err)
	}
	return out, total, nil
}

// LastImportFiles returns the file states kept for a plugin's importer, or nil when
// there are none.
func (t *Tx) LastImportFiles(ctx context.Context, plugin, importerType string) (*core.ImportFiles, error) {
	var f core.ImportFiles
	err := t.get(ctx, &f, `SELECT plugin_name, importer_type, run_id, source_location, files_key, scope, file_count, states
		FROM import_files WHERE plugin_name = ? AND importer_type = ?`, plugin, importerType)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: file states of %s %s: %w", plugin, importerType, err)
	}
	return &f, nil
}

// PutImportFiles replaces the file states kept for a plugin's importer.
func (t *Tx) PutImportFiles(ctx context.Context, f *core.ImportFiles) error {
	_, err := t.exec(ctx, `INSERT INTO import_files (plugin_name, importer_type, run_id, source_location, files_key, scope, file_count, states)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (plugin_name, importer_type) DO UPDATE SET run_id = excluded.run_id,
		source_location = excluded.source_location, files_key = excluded.files_key, scope = excluded.scope,
		file_count = excluded.file_count, states = excluded.states`,
		f.PluginName, f.ImporterType, f.RunID, f.SourceLocation, f.FilesKey, f.Scope, f.FileCount, f.States)
	if err != nil {
		return fmt.Errorf("store: keep file states of %s %s: %w", f.PluginName, f.ImporterType, err)
	}
	return nil
}

// DeleteImportFiles forgets the file states of a plugin's importer: the next run reads
// every file.
func (t *Tx) DeleteImportFiles(ctx context.Context, plugin, importerType string) error {
	if _, err := t.exec(ctx, `DELETE FROM import_files WHERE plugin_name = ? AND importer_type = ?`, plugin, importerType); err != nil {
		return fmt.Errorf("store: forget file states of %s %s: %w", plugin, importerType, err)
	}
	return nil
}

// ImportRecord and ImportRecordKey are the core's types; the names stay for the
// store's own code and tests.
type (
	ImportRecord    = core.ImportRecord
	ImportRecordKey = core.ImportRecordKey
)

// ImportRecords loads every bookkeeping row of a source, grouped by kind and id (one row
// per scope, in scope order), so a run compares hashes in memory instead of one query
// per record.
func (t *Tx) ImportRecords(ctx context.Context, source string) (map[ImportRecordKey][]*ImportRecord, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	var rows []*ImportRecord
	if err := t.sel(ctx, &rows, `SELECT id, source, importer_type, scope, source_ref, file, kind, external_id, entity_id,
		content_hash, data, deprecated, first_run_id, last_run_id FROM import_records WHERE source = ?
		ORDER BY kind, external_id, importer_type, scope`, source); err != nil {
		return nil, fmt.Errorf("store: import records of %s: %w", source, err)
	}
	m := make(map[ImportRecordKey][]*ImportRecord, len(rows))
	for _, r := range rows {
		k := ImportRecordKey{Kind: r.Kind, ExternalID: r.ExternalID}
		m[k] = append(m[k], r)
	}
	return m, nil
}

// importRecordCols are the columns of a new import_records row, in pendingRecords order.
var importRecordCols = []string{"id", "source", "importer_type", "scope", "source_ref", "file", "kind", "external_id",
	"entity_id", "content_hash", "data", "deprecated", "first_run_id", "last_run_id", "created_at", "updated_at"}

// recordBatch is how many new import records the transaction holds before writing
// them: one statement's worth, or on PostgreSQL, where they go through COPY, more (the
// rows hold the packed record, a few kB each).
func (t *Tx) recordBatch() int {
	if t.canCopy(copyRecordRows, copyMinRows) {
		return copyRecordRows
	}
	return batchRows(len(importRecordCols))
}

// copyRecordRows is recordBatch on PostgreSQL.
const copyRecordRows = 10000

// PutImportRecord inserts or updates a bookkeeping row. New rows are held back and
// inserted many per statement (see Tx.flush): a run adds one per record.
func (t *Tx) PutImportRecord(ctx context.Context, r *ImportRecord) error {
	now := core.Now()
	if r.ID == "" {
		r.ID = core.NewID()
		t.pendingRecords = append(t.pendingRecords, []any{r.ID, r.Source, r.ImporterType, r.Scope, r.SourceRef, r.File, r.Kind,
			r.ExternalID, r.EntityID, r.ContentHash, r.Data, r.Deprecated, r.FirstRunID, r.LastRunID, now, now})
		if len(t.pendingRecords) >= t.recordBatch() {
			return t.flush(ctx)
		}
		return nil
	}
	row := []any{r.ID, r.ImporterType, r.Scope, r.SourceRef, r.File, r.EntityID, r.ContentHash, r.Data, r.Deprecated, r.LastRunID, now}
	if t.holding {
		// Held like new rows (an update flushed the held upserts before it, one row at
		// a time, in every re-import that changed records); a second update of the
		// same row writes the first one before it.
		if t.pendingUpdated[r.ID] {
			if err := t.flush(ctx); err != nil {
				return err
			}
		}
		if t.pendingUpdated == nil {
			t.pendingUpdated = map[string]bool{}
		}
		t.pendingUpdated[r.ID] = true
		t.pendingUpdates = append(t.pendingUpdates, row)
		if len(t.pendingUpdates) >= t.recordBatch() {
			return t.flush(ctx)
		}
		return nil
	}
	if err := t.flush(ctx); err != nil {
		return err
	}
	return t.updateImportRecords(ctx, [][]any{row})
}

// importRecordUpdateCols are the columns an update of an import_records row writes,
// the id first, in pendingUpdates order.
var importRecordUpdateCols = []string{"id", "importer_type", "scope", "source_ref", "file", "entity_id", "content_hash", "data",
	"deprecated", "last_run_id", "updated_at"}

// updateImportRecords writes updates of import_records rows (importRecordUpdateCols):
// many at once through a staging table on PostgreSQL, one statement each otherwise.
func (t *Tx) updateImportRecords(ctx context.Context, rows [][]any) error {
	if t.canCopy(len(rows), stageMinRows) {
		sets := make([]string, 0, len(importRecordUpdateCols)-1)
		for _, c := range importRecordUpdateCols[1:] {
			sets = append(sets, c+" = s."+c)
		}
		if err := t.stagedExec(ctx, "import_records", importRecordUpdateCols, rows,
			`UPDATE import_records SET `+strings.Join(sets, ", ")+` FROM `+stageTable+` s WHERE import_records.id = s.id`); err != nil {
			return fmt.Errorf("store: update %d import record(s): %w", len(rows), err)
		}
		return nil
	}
	for _, r := range rows {
		if _, err := t.exec(ctx, `UPDATE import_records SET importer_type = ?, scope = ?, source_ref = ?, file = ?, entity_id = ?,
			content_hash = ?, data = ?, deprecated = ?, last_run_id = ?, updated_at = ? WHERE id = ?`, append(r[1:len(r):len(r)], r[0])...); err != nil {
			return fmt.Errorf("store: update import record %s: %w", r[0], err)
		}
	}
	return nil
}

// deprecatableTables maps record kinds to the table whose rows carry their deprecated flag.
var deprecatableTables = map[string]string{
	"tactic":              "tactics",
	"technique":           "techniques",
	"mitigation":          "mitigations",
	"threat_actor":        "threat_actors",
	"test_template":       "test_templates",
	"detection_rule":      "detection_rules",
	"defensive_technique": "defensive_techniques",
	"compliance_control":  "compliance_controls",
	"campaign":            "campaign_profiles",
}

// DeprecateEntities flags the given entities of a record kind as deprecated. Kinds
// without a deprecated flag (intel items, frameworks) are left as they are: they are
// kept, only their bookkeeping row says they vanished.
func (t *Tx) DeprecateEntities(ctx context.Context, kind string, ids []string) error {
	table, ok := deprecatableTables[kind]
	if !ok || len(ids) == 0 {
		return nil
	}
	for start := 0; start < len(ids); start += 500 {
		end := min(start+500, len(ids))
		args := make([]any, 0, end-start+1)
		args = append(args, core.Now())
		for _, id := range ids[start:end] {
			args = append(args, id)
		}
		q := `UPDATE ` + table + ` SET deprecated = TRUE, updated_at = ? WHERE id IN (?` + strings.Repeat(",?", end-start-1) + `)`
		if _, err := t.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("store: deprecate %s: %w", table, err)
		}
	}
	return nil
}
