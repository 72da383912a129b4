package auditlog_test

// Issue 16, defect 4: deleting the last audit entries, renumbering the last one, or
// rewriting the chain from some entry onward (recomputing every hash) still verified
// "ok". With an audit key outside the database every entry carries an HMAC and the
// head is checkpointed to the blob store: verification names the first missing or
// altered sequence number.

import (
	"context"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/auditlog"
	"github.com/aegis-sec/aegis/core/blobstore"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

var ctx = context.Background()

var key = []byte("an audit key the database never sees")

// anchored opens a store of driver with the audit key, appends n entries, writes a
// checkpoint, and returns the store and the service.
func anchored(t *testing.T, driver string, n int) (*store.Store, *auditlog.Service, core.BlobStore) {
	t.Helper()
	s, err := store.Open(ctx, store.Options{Driver: driver, DSN: storetest.DSN(t, driver), AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(); err != nil {
		t.Fatal(err)
	}
	blobs, err := blobstore.NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	svc := auditlog.NewAnchored(s, auditlog.Anchor{Key: key, Blobs: blobs})
	for i := 0; i < n; i++ {
		if err := s.Update(ctx, func(tx core.Tx) error {
			return tx.AppendAudit(ctx, core.NewAudit(nil, "test.update", "test", "t-1", map[string]any{"n": i}))
		}); err != nil {
			t.Fatal(err)
		}
	}
	if cp, err := svc.Checkpoint(ctx); err != nil || cp == nil || cp.Seq != int64(n) {
		t.Fatalf("checkpoint: %+v %v", cp, err)
	}
	return s, svc, blobs
}

func exec(t *testing.T, s *store.Store, q string, args ...any) {
	t.Helper()
	if _, err := s.DB().Exec(s.DB().Rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func verify(t *testing.T, svc *auditlog.Service) *core.AuditVerification {
	t.Helper()
	v, err := svc.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func wantBroken(t *testing.T, v *core.AuditVerification, seq int64, reason string) {
	t.Helper()
	if v.OK || v.BrokenSeq != seq || !strings.Contains(v.Reason, reason) {
		t.Fatalf("verification %+v, want broken at %d with %q", v, seq, reason)
	}
}

// rewrite recomputes the chain from entry from onward with new details, as someone
// who knows the hash but not the key would; keepMAC leaves the old MACs in place,
// otherwise they are blanked.
func rewrite(t *testing.T, s *store.Store, from int64, keepMAC bool) {
	t.Helper()
	var entries []*core.AuditEntry
	if err := s.DB().Select(&entries, `SELECT seq, id, at, actor_id, actor_name, action, entity_type, entity_id, details, prev_hash, hash, mac
		FROM audit_logs ORDER BY seq`); err != nil {
		t.Fatal(err)
	}
	prev := ""
	for _, e := range entries {
		if e.Seq >= from {
			e.PrevHash = prev
			e.Details = core.JSON(`{"n": -1}`)
			e.Hash = e.ComputeHash()
			mac := e.MAC
			if !keepMAC {
				mac = ""
			}
			exec(t, s, `UPDATE audit_logs SET details = ?, prev_hash = ?, hash = ?, mac = ? WHERE seq = ?`, string(e.Details), e.PrevHash, e.Hash, mac, e.Seq)
		}
		prev = e.Hash
	}
}

func TestAnchoredAuditChain(t *testing.T) {
	for _, driver := range []string{store.SQLite, store.Postgres} {
		t.Run(driver, func(t *testing.T) {
			t.Run("intact", func(t *testing.T) {
				_, svc, _ := anchored(t, driver, 5)
				if v := verify(t, svc); !v.OK || v.Checked != 5 {
					t.Fatalf("intact chain: %+v", v)
				}
			})
			t.Run("truncated", func(t *testing.T) {
				s, svc, _ := anchored(t, driver, 5)
				exec(t, s, `DELETE FROM audit_logs WHERE seq >= 4`)
				wantBroken(t, verify(t, svc), 4, "entries from 4 on are missing")
			})
			t.Run("everything deleted", func(t *testing.T) {
				s, svc, _ := anchored(t, driver, 3)
				exec(t, s, `DELETE FROM audit_logs`)
				wantBroken(t, verify(t, svc), 1, "the log is empty")
			})
			t.Run("last renumbered", func(t *testing.T) {
				s, svc, _ := anchored(t, driver, 5)
				exec(t, s, `UPDATE audit_logs SET seq = 9 WHERE seq = 5`)
				wantBroken(t, verify(t, svc), 5, "entry 5 is missing")
			})
			t.Run("middle removed", func(t *testing.T) {
				s, svc, _ := anchored(t, driver, 5)
				exec(t, s, `DELETE FROM audit_logs WHERE seq = 2`)
				wantBroken(t, verify(t, svc), 2, "entry 2 is missing")
			})
			t.Run("rewritten from 3 with the old MACs", func(t *testing.T) {
				s, svc, _ := anchored(t, driver, 5)
				rewrite(t, s, 3, true)
				wantBroken(t, verify(t, svc), 3, "MAC does not match")
			})
			t.Run("rewritten from 3 without MACs", func(t *testing.T) {
				s, svc, _ := anchored(t, driver, 5)
				rewrite(t, s, 3, false)
				wantBroken(t, verify(t, svc), 3, "has no MAC")
			})
			t.Run("rewritten whole without MACs", func(t *testing.T) {
				// Every MAC gone looks like a log from before the key: the checkpoint,
				// kept where the database cannot reach, still tells.
				s, svc, _ := anchored(t, driver, 5)
				rewrite(t, s, 1, false)
				wantBroken(t, verify(t, svc), 5, "was rewritten")
			})
			t.Run("appended after the checkpoint", func(t *testing.T) {
				s, svc, _ := anchored(t, driver, 2)
				if err := s.Update(ctx, func(tx core.Tx) error {
					return tx.AppendAudit(ctx, core.NewAudit(nil, "later", "", "", nil))
				}); err != nil {
					t.Fatal(err)
				}
				if v := verify(t, svc); !v.OK || v.Checked != 3 {
					t.Fatalf("a log that grew since the checkpoint: %+v", v)
				}
			})
			t.Run("forged checkpoint", func(t *testing.T) {
				s, svc, blobs := anchored(t, driver, 2)
				forger := auditlog.NewAnchored(s, auditlog.Anchor{Key: []byte("not the key"), Blobs: blobs})
				if _, err := forger.Checkpoint(ctx); err != nil {
					t.Fatal(err)
				}
				if v := verify(t, svc); v.OK || !strings.Contains(v.Reason, "not signed with this audit key") {
					t.Fatalf("a checkpoint signed with another key: %+v", v)
				}
			})
		})
	}
}
