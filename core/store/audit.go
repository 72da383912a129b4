package store

import (
	"context"
	"crypto/hmac"
	"database/sql"
	"errors"
	"fmt"

	"github.com/aegis-sec/aegis/core"
)

const auditColumns = `seq, id, at, actor_id, actor_name, action, entity_type, entity_id, details, prev_hash, hash, mac`

// catalogLock is the PostgreSQL advisory lock (transaction level) that makes writers
// take turns where they must: appending to the audit chain, and recomputing the
// template ↔ rule links. It is one lock for both, so no two transactions can take them
// in opposite orders and deadlock (an import remaps and audits, then recomputes; a
// template edit recomputes, then audits). Worklogs have their own (worklogLock).
const catalogLock = 7300001

// lockCatalog takes catalogLock until the transaction ends (PostgreSQL; SQLite has a
// single writer already). Taking it again in the same transaction is free.
func (t *Tx) lockCatalog(ctx context.Context) error {
	if t.dialect != Postgres {
		return nil
	}
	if _, err := t.exec(ctx, `SELECT pg_advisory_xact_lock(?)`, catalogLock); err != nil {
		return fmt.Errorf("store: catalog lock: %w", err)
	}
	return nil
}

// AppendAudit chains e to the last entry and stores it. On PostgreSQL catalogLock makes
// concurrent appenders take turns, so two of them never chain to the same predecessor;
// SQLite has a single writer already.
func (t *Tx) AppendAudit(ctx context.Context, e *core.AuditEntry) error {
	if e.Action == "" {
		return core.FieldError("action", "is required")
	}
	if err := t.lockCatalog(ctx); err != nil {
		return err
	}
	// The number is the last one plus one, taken under the lock: anchored entries are
	// numbered without gaps, so a missing one is seen by its number.
	var last struct {
		Seq  int64  `db:"seq"`
		Hash string `db:"hash"`
	}
	err := t.get(ctx, &last, `SELECT seq, hash FROM audit_logs ORDER BY seq DESC LIMIT 1`)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: last audit hash: %w", err)
	}
	if e.ID == "" {
		e.ID = core.NewID()
	}
	if e.At.IsZero() {
		e.At = core.Now()
	}
	if len(e.Details) == 0 {
		e.Details = core.JSON("{}")
	}
	e.Seq = last.Seq + 1
	e.PrevHash = last.Hash
	e.Hash = e.ComputeHash()
	e.MAC = ""
	if len(t.auditKey) > 0 {
		e.MAC = core.AuditMAC(t.auditKey, e.Seq, e.Hash)
	}
	_, err = t.exec(ctx, `INSERT INTO audit_logs (seq, id, at, actor_id, actor_name, action, entity_type, entity_id, details, prev_hash, hash, mac)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		e.Seq, e.ID, e.At, e.ActorID, e.ActorName, e.Action, e.EntityType, e.EntityID, e.Details, e.PrevHash, e.Hash, e.MAC)
	if err != nil {
		return fmt.Errorf("store: append audit %s: %w", e.Action, err)
	}
	return nil
}

// AuditEntryBySeq returns the entry numbered seq.
func (t *Tx) AuditEntryBySeq(ctx context.Context, seq int64) (*core.AuditEntry, error) {
	var e core.AuditEntry
	if err := t.get(ctx, &e, `SELECT `+auditColumns+` FROM audit_logs WHERE seq = ?`, seq); err != nil {
		return nil, notFound(err, "audit entry", seq)
	}
	return &e, nil
}

// AuditHead returns the last entry, nil when there is none.
func (t *Tx) AuditHead(ctx context.Context) (*core.AuditEntry, error) {
	var e core.AuditEntry
	err := t.get(ctx, &e, `SELECT `+auditColumns+` FROM audit_logs ORDER BY seq DESC LIMIT 1`)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: audit head: %w", err)
	}
	return &e, nil
}

// ListAudit returns one page of entries, newest first.
func (t *Tx) ListAudit(ctx context.Context, f core.AuditFilter) ([]*core.AuditEntry, int, error) {
	w := where{}
	if f.ActorID != "" {
		w.add("actor_id = ?", f.ActorID)
	}
	if f.Action != "" {
		w.add("action = ?", f.Action)
	}
	if f.EntityType != "" {
		w.add("entity_type = ?", f.EntityType)
	}
	if f.EntityID != "" {
		w.add("entity_id = ?", f.EntityID)
	}
	if f.Since != nil {
		w.add("at >= ?", f.Since.UTC())
	}
	if f.Until != nil {
		w.add("at < ?", f.Until.UTC())
	}
	var total int
	if err := t.get(ctx, &total, `SELECT COUNT(*) FROM audit_logs`+w.sql(), w.args...); err != nil {
		return nil, 0, fmt.Errorf("store: count audit: %w", err)
	}
	p := f.Page.Normalize()
	out := []*core.AuditEntry{}
	if err := t.sel(ctx, &out, `SELECT `+auditColumns+` FROM audit_logs`+w.sql()+` ORDER BY seq DESC LIMIT ? OFFSET ?`,
		append(w.args, p.Limit, p.Offset)...); err != nil {
		return nil, 0, fmt.Errorf("store: list audit: %w", err)
	}
	return out, total, nil
}

// VerifyAudit walks the whole chain in order, in pages, and reports the first entry whose
// stored hash or link does not match.
func (t *Tx) VerifyAudit(ctx context.Context) (*core.AuditVerification, error) {
	v := &core.AuditVerification{OK: true}
	prev := ""
	var last int64
	anchored := false // an entry with a MAC was seen: every later one needs one too
	key := t.auditKey
	for {
		var page []*core.AuditEntry
		if err := t.sel(ctx, &page, `SELECT `+auditColumns+` FROM audit_logs WHERE seq > ? ORDER BY seq LIMIT 1000`, last); err != nil {
			return nil, fmt.Errorf("store: verify audit: %w", err)
		}
		if len(page) == 0 {
			return v, nil
		}
		for _, e := range page {
			v.Checked++
			switch {
			case len(key) > 0 && anchored && e.Seq != last+1:
				// Anchored entries are numbered without gaps: one is missing (deleted, or
				// renumbered away).
				v.OK, v.BrokenSeq = false, last+1
				v.Reason = fmt.Sprintf("entry %d is missing: entry %d follows entry %d (an entry was removed or renumbered)", last+1, e.Seq, last)
				return v, nil
			case e.PrevHash != prev:
				v.OK, v.Reason = false, "the entry does not link to the one before it (an entry was removed or reordered)"
			case e.ComputeHash() != e.Hash:
				v.OK, v.Reason = false, "the entry's content does not match its hash (it was altered)"
			case len(key) > 0 && e.MAC == "" && anchored:
				v.OK, v.Reason = false, "the entry has no MAC although the entries before it have one (it was rewritten without the audit key)"
			case len(key) > 0 && e.MAC != "" && !hmac.Equal([]byte(e.MAC), []byte(core.AuditMAC(key, e.Seq, e.Hash))):
				v.OK, v.Reason = false, "the entry's MAC does not match its number and hash (it was renumbered or rewritten without the audit key, or the key changed)"
			}
			if !v.OK {
				v.BrokenSeq, v.BrokenID = e.Seq, e.ID
				return v, nil
			}
			anchored = anchored || e.MAC != ""
			prev, last = e.Hash, e.Seq
		}
	}
}
