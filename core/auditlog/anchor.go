package auditlog

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/aegis-sec/aegis/core"
)

// CheckpointKey is where the latest signed checkpoint is kept in the blob store.
const CheckpointKey = "audit/checkpoint.json"

// CheckpointEvery is how often a server writes a checkpoint.
const CheckpointEvery = time.Minute

// Anchor keeps the chain honest against whoever can write the database: the key
// (AEGIS_AUDIT_KEY) signs every entry (the store writes the MACs) and the checkpoints,
// and the checkpoints of the chain's head are written to the blob store (the evidence
// store) and the log, which the database cannot rewrite.
type Anchor struct {
	Key   []byte
	Blobs core.BlobStore
	Log   hclog.Logger
	Now   func() time.Time
}

// NewAnchored returns a service whose Verify also checks the latest checkpoint.
func NewAnchored(st core.Store, a Anchor) *Service {
	if a.Log == nil {
		a.Log = hclog.NewNullLogger()
	}
	if a.Now == nil {
		a.Now = core.Now
	}
	return &Service{store: st, anchor: &a}
}

// Checkpoint signs the chain's head and writes it to the blob store and the log; nil
// when the log is empty or the service is not anchored.
func (s *Service) Checkpoint(ctx context.Context) (*core.AuditCheckpoint, error) {
	if s.anchor == nil {
		return nil, nil
	}
	head, err := core.Read(ctx, s.store, func(tx core.Tx) (*core.AuditEntry, error) { return tx.AuditHead(ctx) })
	if err != nil || head == nil {
		return nil, err
	}
	cp := &core.AuditCheckpoint{Seq: head.Seq, Hash: head.Hash, At: s.anchor.Now().UTC()}
	cp.Sign(s.anchor.Key)
	b, err := json.Marshal(cp)
	if err != nil {
		return nil, err
	}
	if err := s.anchor.Blobs.Put(ctx, CheckpointKey, strings.NewReader(string(b))); err != nil {
		return nil, fmt.Errorf("audit checkpoint: %w", err)
	}
	s.anchor.Log.Info("audit checkpoint", "seq", cp.Seq, "hash", cp.Hash, "at", cp.At.Format(time.RFC3339Nano), "mac", cp.MAC)
	return cp, nil
}

// latestCheckpoint reads the checkpoint; nil when none was written yet.
func (s *Service) latestCheckpoint(ctx context.Context) (*core.AuditCheckpoint, error) {
	r, err := s.anchor.Blobs.Get(ctx, CheckpointKey)
	if core.ErrorCode(err) == core.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit checkpoint: %w", err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 1<<16))
	if err != nil {
		return nil, fmt.Errorf("audit checkpoint: %w", err)
	}
	var cp core.AuditCheckpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, fmt.Errorf("audit checkpoint %s is not valid: %w", CheckpointKey, err)
	}
	return &cp, nil
}

// checkCheckpoint compares the database with the latest checkpoint: the entry it saw
// must still be there, with the same hash. A log that ends before it was truncated; the
// first missing number is the one after its last entry.
func (s *Service) checkCheckpoint(ctx context.Context, tx core.Tx, v *core.AuditVerification) error {
	cp, err := s.latestCheckpoint(ctx)
	if err != nil || cp == nil {
		return err
	}
	at := cp.At.UTC().Format(time.RFC3339)
	if !cp.Valid(s.anchor.Key) {
		v.OK, v.Reason = false, fmt.Sprintf("the checkpoint in the evidence store (%s, entry %d) is not signed with this audit key: it was forged, or the key changed", at, cp.Seq)
		return nil
	}
	e, err := tx.AuditEntryBySeq(ctx, cp.Seq)
	if core.ErrorCode(err) == core.ENOTFOUND {
		head, err := tx.AuditHead(ctx)
		if err != nil {
			return err
		}
		v.OK = false
		switch {
		case head == nil:
			v.BrokenSeq = 1
			v.Reason = fmt.Sprintf("entries from 1 on are missing: the checkpoint of %s saw the log up to entry %d, and the log is empty (it was truncated)", at, cp.Seq)
		case head.Seq < cp.Seq:
			v.BrokenSeq = head.Seq + 1
			v.Reason = fmt.Sprintf("entries from %d on are missing: the checkpoint of %s saw the log up to entry %d, and it ends at entry %d (it was truncated)",
				head.Seq+1, at, cp.Seq, head.Seq)
		default:
			v.BrokenSeq = cp.Seq
			v.Reason = fmt.Sprintf("entry %d, which the checkpoint of %s saw, is missing (it was removed or renumbered)", cp.Seq, at)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if e.Hash != cp.Hash {
		v.OK, v.BrokenSeq, v.BrokenID = false, cp.Seq, e.ID
		v.Reason = fmt.Sprintf("entry %d is not the one the checkpoint of %s saw (the chain was rewritten)", cp.Seq, at)
	}
	return nil
}
