package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aegis-sec/aegis/core"
)

const evidenceColumns = `id, test_id, team, file_name, content_type, size_bytes, sha256, storage_key,
	description, uploaded_by, uploaded_at, verified_at`

// CreateEvidence inserts the metadata of a stored blob.
func (t *Tx) CreateEvidence(ctx context.Context, e *core.Evidence) error {
	if e.ID == "" {
		e.ID = core.NewID()
	}
	if e.UploadedAt.IsZero() {
		e.UploadedAt = core.Now()
	}
	_, err := t.exec(ctx, `INSERT INTO evidences (`+evidenceColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		e.ID, e.TestID, e.Team, e.FileName, e.ContentType, e.SizeBytes, e.SHA256, e.StorageKey,
		e.Description, e.UploadedBy, e.UploadedAt, e.VerifiedAt)
	if err != nil {
		return fmt.Errorf("store: create evidence for test %s: %w", e.TestID, err)
	}
	return nil
}

// EvidenceByID finds one piece of evidence.
func (t *Tx) EvidenceByID(ctx context.Context, id string) (*core.Evidence, error) {
	var e core.Evidence
	if err := t.get(ctx, &e, `SELECT `+evidenceColumns+` FROM evidences WHERE id = ?`, id); err != nil {
		return nil, notFound(err, "evidence", id)
	}
	return &e, nil
}

// ListEvidence returns one page of evidence, oldest first, and the total.
func (t *Tx) ListEvidence(ctx context.Context, f core.EvidenceFilter) ([]*core.Evidence, int, error) {
	w := where{}
	if f.TestID != "" {
		w.add("test_id = ?", f.TestID)
	}
	if len(f.Teams) > 0 {
		args := make([]any, len(f.Teams))
		for i, team := range f.Teams {
			args[i] = team
		}
		w.add("team IN (?"+strings.Repeat(",?", len(args)-1)+")", args...)
	}
	var total int
	if err := t.get(ctx, &total, `SELECT COUNT(*) FROM evidences`+w.sql(), w.args...); err != nil {
		return nil, 0, fmt.Errorf("store: count evidence: %w", err)
	}
	p := f.Page.Normalize()
	out := []*core.Evidence{}
	if err := t.sel(ctx, &out, `SELECT `+evidenceColumns+` FROM evidences`+w.sql()+` ORDER BY uploaded_at, id LIMIT ? OFFSET ?`,
		append(w.args, p.Limit, p.Offset)...); err != nil {
		return nil, 0, fmt.Errorf("store: list evidence: %w", err)
	}
	return out, total, nil
}

// MarkEvidenceVerified records the time of the last successful integrity check.
func (t *Tx) MarkEvidenceVerified(ctx context.Context, id string, at time.Time) error {
	res, err := t.exec(ctx, `UPDATE evidences SET verified_at = ? WHERE id = ?`, at.UTC(), id)
	if err != nil {
		return fmt.Errorf("store: mark evidence %s verified: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return core.Errorf(core.ENOTFOUND, "evidence %s not found", id)
	}
	return nil
}

// DeleteEvidence removes the metadata row; detection results that cited it keep their
// verdict and lose the link (ON DELETE SET NULL).
func (t *Tx) DeleteEvidence(ctx context.Context, id string) error {
	res, err := t.exec(ctx, `DELETE FROM evidences WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: delete evidence %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return core.Errorf(core.ENOTFOUND, "evidence %s not found", id)
	}
	return nil
}

// EvidenceStorageKeys returns the blob key of every evidence row.
func (t *Tx) EvidenceStorageKeys(ctx context.Context) (map[string]bool, error) {
	var keys []string
	if err := t.sel(ctx, &keys, `SELECT storage_key FROM evidences`); err != nil {
		return nil, fmt.Errorf("store: evidence keys: %w", err)
	}
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m, nil
}
