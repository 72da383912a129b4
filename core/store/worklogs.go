package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/aegis-sec/aegis/core"
)

const worklogColumns = `seq, id, test_id, user_id, minutes, activity, note, performed_at, created_at, prev_hash, hash`

// worklogLock is the advisory lock key that makes PostgreSQL appenders take turns
// (the audit log uses catalogLock).
const worklogLock = 7300002

// AppendWorklog chains w to the last worklog and stores it. seq is taken as the last
// seq + 1 under the lock; its UNIQUE key would refuse a second entry with the same
// number should two appenders ever get past the lock together.
func (t *Tx) AppendWorklog(ctx context.Context, w *core.Worklog) error {
	w.PerformedAt = w.PerformedAt.UTC().Truncate(time.Microsecond)
	if err := w.Validate(); err != nil {
		return err
	}
	if t.dialect == Postgres {
		if _, err := t.exec(ctx, `SELECT pg_advisory_xact_lock(?)`, worklogLock); err != nil {
			return fmt.Errorf("store: worklog lock: %w", err)
		}
	}
	var last struct {
		Seq  int64  `db:"seq"`
		Hash string `db:"hash"`
	}
	err := t.get(ctx, &last, `SELECT seq, hash FROM worklogs ORDER BY seq DESC LIMIT 1`)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: last worklog: %w", err)
	}
	if w.ID == "" {
		w.ID = core.NewID()
	}
	w.Seq, w.PrevHash, w.CreatedAt = last.Seq+1, last.Hash, core.Now()
	w.Hash = w.ComputeHash()
	_, err = t.exec(ctx, `INSERT INTO worklogs (`+worklogColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		w.Seq, w.ID, w.TestID, w.UserID, w.Minutes, w.Activity, w.Note, w.PerformedAt, w.CreatedAt, w.PrevHash, w.Hash)
	if err != nil {
		return fmt.Errorf("store: append worklog to test %s: %w", w.TestID, err)
	}
	return nil
}

// ListWorklogs returns one page of worklogs, newest first, and the total.
func (t *Tx) ListWorklogs(ctx context.Context, f core.WorklogFilter) ([]*core.Worklog, int, error) {
	w := where{}
	if f.TestID != "" {
		w.add("test_id = ?", f.TestID)
	}
	if f.UserID != "" {
		w.add("user_id = ?", f.UserID)
	}
	var total int
	if err := t.get(ctx, &total, `SELECT COUNT(*) FROM worklogs`+w.sql(), w.args...); err != nil {
		return nil, 0, fmt.Errorf("store: count worklogs: %w", err)
	}
	p := f.Page.Normalize()
	out := []*core.Worklog{}
	if err := t.sel(ctx, &out, `SELECT `+worklogColumns+` FROM worklogs`+w.sql()+` ORDER BY seq DESC LIMIT ? OFFSET ?`,
		append(w.args, p.Limit, p.Offset)...); err != nil {
		return nil, 0, fmt.Errorf("store: list worklogs: %w", err)
	}
	return out, total, nil
}

// VerifyWorklogs walks the chain in order, in pages, and reports the first entry whose
// hash, link or sequence number does not match.
func (t *Tx) VerifyWorklogs(ctx context.Context) (*core.WorklogVerification, error) {
	v := &core.WorklogVerification{OK: true}
	prev := ""
	var last int64
	for {
		var page []*core.Worklog
		if err := t.sel(ctx, &page, `SELECT `+worklogColumns+` FROM worklogs WHERE seq > ? ORDER BY seq LIMIT 1000`, last); err != nil {
			return nil, fmt.Errorf("store: verify worklogs: %w", err)
		}
		if len(page) == 0 {
			return v, nil
		}
		for _, w := range page {
			v.Checked++
			switch {
			case w.Seq != last+1:
				v.OK, v.Reason = false, fmt.Sprintf("entry %d follows entry %d (an entry was removed)", w.Seq, last)
			case w.PrevHash != prev:
				v.OK, v.Reason = false, "the entry does not link to the one before it (an entry was removed or reordered)"
			case w.ComputeHash() != w.Hash:
				v.OK, v.Reason = false, "the entry's content does not match its hash (it was altered)"
			}
			if !v.OK {
				v.BrokenSeq, v.BrokenID = w.Seq, w.ID
				return v, nil
			}
			prev, last = w.Hash, w.Seq
		}
	}
}
