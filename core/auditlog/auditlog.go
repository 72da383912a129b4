// Package auditlog reads the append-only audit log and verifies its hash chain. Entries
// are written by the services that act, in the transaction of their action.
package auditlog

import (
	"context"

	"github.com/aegis-sec/aegis/core"
)

// Service reads the audit log.
type Service struct {
	store  core.Store
	anchor *Anchor // nil: the chain is not anchored
}

// New returns a service on st.
func New(st core.Store) *Service { return &Service{store: st} }

// List lists one page of entries, newest first. actor, when not empty, is a user id or
// a username; a username nobody has acted under yields an empty page.
func (s *Service) List(ctx context.Context, f core.AuditFilter, actor string) ([]*core.AuditEntry, int, error) {
	return core.ReadPage(ctx, s.store, func(tx core.Tx) ([]*core.AuditEntry, int, error) {
		if actor != "" {
			if core.ValidID(actor) {
				f.ActorID = actor
			} else {
				u, err := tx.UserByUsername(ctx, actor)
				if core.ErrorCode(err) == core.ENOTFOUND {
					return nil, 0, nil
				}
				if err != nil {
					return nil, 0, err
				}
				f.ActorID = u.ID
			}
		}
		return tx.ListAudit(ctx, f)
	})
}

// Verify walks the hash chain and names the first entry that does not match. With an
// anchor it also checks the entries' MACs (the store holds the key) and the latest
// checkpoint, so a truncated, renumbered or rewritten log names the first missing or
// altered sequence number.
func (s *Service) Verify(ctx context.Context) (*core.AuditVerification, error) {
	return core.Read(ctx, s.store, func(tx core.Tx) (*core.AuditVerification, error) {
		v, err := tx.VerifyAudit(ctx)
		if err != nil || !v.OK || s.anchor == nil {
			return v, err
		}
		return v, s.checkCheckpoint(ctx, tx, v)
	})
}
