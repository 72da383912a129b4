package core

import (
	"context"
	"crypto/hmac"
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
	// MAC anchors the entry: HMAC-SHA256 over Seq and Hash with the audit key kept
	// outside the database (AuditMAC); "" when no key was configured.
	MAC string `db:"mac" json:"-"`
}

// AuditMAC is the anchor of an entry: HMAC-SHA256, keyed with the audit key, over its
// sequence number and chain hash. Whoever can write the database but lacks the key
// cannot renumber an entry or rewrite the chain from some entry onward (recomputing
// every hash) without the MACs giving it away.
func AuditMAC(key []byte, seq int64, hash string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("aegis-audit:" + strconv.FormatInt(seq, 10) + ":" + hash))
	return hex.EncodeToString(m.Sum(nil))
}

// AuditCheckpoint is a signed head of the chain, written where the database cannot
// rewrite it (the evidence store, the log): a later verification that finds the log
// ending before Seq, or a different entry at Seq, knows it was truncated or rewritten.
type AuditCheckpoint struct {
	Seq  int64     `json:"seq"`
	Hash string    `json:"hash"`
	At   time.Time `json:"at"`
	MAC  string    `json:"mac"`
}

// Sign sets c.MAC with key.
func (c *AuditCheckpoint) Sign(key []byte) { c.MAC = c.mac(key) }

// Valid reports whether c was signed with key.
func (c *AuditCheckpoint) Valid(key []byte) bool {
	return hmac.Equal([]byte(c.MAC), []byte(c.mac(key)))
}

func (c *AuditCheckpoint) mac(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("aegis-audit-checkpoint:" + strconv.FormatInt(c.Seq, 10) + ":" + c.Hash + ":" + c.At.UTC().Format(time.RFC3339Nano)))
	return hex.EncodeToString(m.Sum(nil))
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
	// VerifyAudit walks the chain; with an audit key it also checks each entry's MAC
	// and that anchored entries are numbered without gaps.
	VerifyAudit(ctx context.Context) (*AuditVerification, error)
	// AuditEntryBySeq returns the entry numbered seq (ENOTFOUND when there is none).
	AuditEntryBySeq(ctx context.Context, seq int64) (*AuditEntry, error)
	// AuditHead returns the last entry, nil when the log is empty.
	AuditHead(ctx context.Context) (*AuditEntry, error)
}
