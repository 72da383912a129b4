package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
)

// AuditEntry is one line of the append-only audit log. Hash covers the entry's content
// and the previous entry's hash, so changing or removing any stored entry breaks the
// chain from there on.
type AuditEntry struct {
	Seq        int64     `db:"seq" json:"seq"`
	ID         string    `db:"id" json:"id"`
	At         time.Time `db:"at" json:"at"`
	ActorID    *string   `db:"actor_id" json:"actor_id,omitempty"`
	ActorName  string    `db:"actor_name" json:"actor_name"`
	Action     string    `db:"action" json:"action"`
	EntityType string    `db:"entity_type" json:"entity_type"`
	EntityID   string    `db:"entity_id" json:"entity_id"`
	Details    JSON      `db:"details" json:"details"`
	PrevHash   string    `db:"prev_hash" json:"prev_hash"`
	Hash       string    `db:"hash" json:"hash"`
}

// ComputeHash returns the chain hash of e given its PrevHash. Every field that carries
// meaning is included, each length-prefixed so no two entries can collide by moving text
// between fields. Details are canonicalised (re-encoded) so the key order the database
// returns does not matter.
func (e *AuditEntry) ComputeHash() string {
	h := sha256.New()
	actor := ""
	if e.ActorID != nil {
		actor = *e.ActorID
	}
	details := canonicalJSON(e.Details)
	for _, f := range []string{e.PrevHash, e.ID, e.At.UTC().Format(time.RFC3339Nano), actor, e.ActorName,
		e.Action, e.EntityType, e.EntityID, details} {
		h.Write([]byte(strconv.Itoa(len(f))))
		h.Write([]byte{':'})
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func canonicalJSON(j JSON) string {
	if len(j) == 0 {
		return "{}"
	}
	var v any
	if err := json.Unmarshal(j, &v); err != nil {
		return string(j)
	}
	b, _ := json.Marshal(v) // maps marshal with sorted keys
	return string(b)
}

// NewAudit builds an entry for an action by actor (nil for the system) on an entity.
func NewAudit(actor *User, action, entityType, entityID string, details any) *AuditEntry {
	e := &AuditEntry{Action: action, EntityType: entityType, EntityID: entityID, ActorName: "system"}
	if actor != nil {
		id := actor.ID
		e.ActorID, e.ActorName = &id, actor.Username
	}
	if details != nil {
		if b, err := json.Marshal(details); err == nil {
			e.Details = b
		}
	}
	return e
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	ActorID    string
	Action     string
	EntityType string
	EntityID   string
	Since      *time.Time
	Until      *time.Time
	Page
}

// AuditVerification is the result of walking the chain.
type AuditVerification struct {
	OK      bool `json:"ok"`
	Checked int  `json:"checked"`
	// BrokenAt names the first entry whose hash does not match (its seq and id).
	BrokenSeq int64  `json:"broken_seq,omitempty"`
	BrokenID  string `json:"broken_id,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// AuditRepo appends to and reads the audit log. There is deliberately no way to update
// or delete an entry.
type AuditRepo interface {
	// AppendAudit sets e's id, time, PrevHash and Hash and stores it, in the caller's
	// transaction, so the entry commits with the change it records.
	AppendAudit(ctx context.Context, e *AuditEntry) error
	ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEntry, int, error)
	VerifyAudit(ctx context.Context) (*AuditVerification, error)
}
