package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Worklog is time someone spent on a test. Entries form one hash chain across all
// tests, like the audit log: each Hash covers the entry and the previous entry's hash,
// so an edited, removed or reordered entry is detected by VerifyWorklogs.
type Worklog struct {
	Seq         int64     `db:"seq" json:"seq"`
	ID          string    `db:"id" json:"id"`
	TestID      string    `db:"test_id" json:"test_id"`
	UserID      string    `db:"user_id" json:"user_id"`
	Minutes     int       `db:"minutes" json:"minutes"`
	Activity    string    `db:"activity" json:"activity"`
	Note        string    `db:"note" json:"note"`
	PerformedAt time.Time `db:"performed_at" json:"performed_at"`
	CreatedAt   time.Time `db:"created_at" json:"created_at"`
	PrevHash    string    `db:"prev_hash" json:"prev_hash"`
	Hash        string    `db:"hash" json:"hash"`
}

// MaxWorklogMinutes bounds one entry: a day. Longer work is several entries.
const MaxWorklogMinutes = 24 * 60

// Validate checks what every stored worklog must have.
func (w *Worklog) Validate() error {
	switch {
	case w.TestID == "":
		return FieldError("test_id", "is required")
	case w.UserID == "":
		return FieldError("user_id", "is required")
	case w.Minutes <= 0 || w.Minutes > MaxWorklogMinutes:
		return FieldError("minutes", "must be between 1 and %d, got %d", MaxWorklogMinutes, w.Minutes)
	case len(w.Activity) > 200:
		return FieldError("activity", "is longer than 200 characters")
	case len(w.Note) > 10000:
		return FieldError("note", "is longer than 10000 characters")
	case w.PerformedAt.IsZero():
		return FieldError("performed_at", "is required")
	}
	return nil
}

// ComputeHash returns the chain hash of w given its PrevHash and Seq. Fields are
// length-prefixed so text cannot move between fields without changing the hash; the
// sequence number is included so entries cannot be swapped.
func (w *Worklog) ComputeHash() string {
	h := sha256.New()
	for _, f := range []string{w.PrevHash, strconv.FormatInt(w.Seq, 10), w.ID, w.TestID, w.UserID,
		strconv.Itoa(w.Minutes), w.Activity, w.Note, w.PerformedAt.UTC().Format(time.RFC3339Nano),
		w.CreatedAt.UTC().Format(time.RFC3339Nano)} {
		h.Write([]byte(strconv.Itoa(len(f))))
		h.Write([]byte{':'})
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// WorklogFilter selects worklogs in a listing.
type WorklogFilter struct {
	TestID string
	UserID string
	Page
}

// WorklogVerification is the result of walking the worklog chain.
type WorklogVerification struct {
	OK        bool   `json:"ok"`
	Checked   int    `json:"checked"`
	BrokenSeq int64  `json:"broken_seq,omitempty"`
	BrokenID  string `json:"broken_id,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// WorklogRepo appends to and reads the worklog chain. Like the audit log it has no
// update or delete.
type WorklogRepo interface {
	// AppendWorklog sets w's seq, id, creation time and hashes and stores it.
	AppendWorklog(ctx context.Context, w *Worklog) error
	ListWorklogs(ctx context.Context, f WorklogFilter) ([]*Worklog, int, error)
	VerifyWorklogs(ctx context.Context) (*WorklogVerification, error)
}
