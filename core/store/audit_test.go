package store_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

func appendAudit(t *testing.T, s *store.Store, e *core.AuditEntry) {
	t.Helper()
	mustUpdate(t, s, func(tx core.Tx) error { return tx.AppendAudit(ctx, e) })
}

func verify(t *testing.T, s *store.Store) *core.AuditVerification {
	t.Helper()
	var v *core.AuditVerification
	err := s.View(ctx, func(tx core.Tx) error {
		var err error
		v, err = tx.VerifyAudit(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAuditChain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		admin := &core.User{Username: "root", Role: core.RoleAdmin, PasswordHash: "h"}
		mustUpdate(t, s, func(tx core.Tx) error { return tx.CreateUser(ctx, admin) })
		var entries []*core.AuditEntry
		for i, action := range []string{"user.create", "test.start", "test.vote", "evidence.upload", "import.run"} {
			e := core.NewAudit(admin, action, "test", "t-1", map[string]any{"n": i, "zeta": "z", "alpha": []int{1, 2}})
			appendAudit(t, s, e)
			entries = append(entries, e)
		}
		appendAudit(t, s, core.NewAudit(nil, "scheduler.run", "job", "snapshot", nil))

		if entries[1].PrevHash != entries[0].Hash || entries[0].PrevHash != "" {
			t.Fatal("entries are not chained")
		}
		if v := verify(t, s); !v.OK || v.Checked != 6 {
			t.Fatalf("intact chain: %+v", v)
		}
		s.View(ctx, func(tx core.Tx) error {
			list, total, err := tx.ListAudit(ctx, core.AuditFilter{Action: "test.vote"})
			if err != nil || total != 1 || list[0].ID != entries[2].ID || list[0].ActorName != "root" {
				t.Errorf("filter by action: %v %d %v", list, total, err)
			}
			_, total, _ = tx.ListAudit(ctx, core.AuditFilter{ActorID: admin.ID})
			if total != 5 {
				t.Errorf("filter by actor: %d", total)
			}
			return nil
		})

		// Altering one stored entry breaks verification at exactly that entry.
		if _, err := s.DB().Exec(s.DB().Rebind(`UPDATE audit_logs SET details = ? WHERE id = ?`), `{"n": 99}`, entries[2].ID); err != nil {
			t.Fatal(err)
		}
		v := verify(t, s)
		if v.OK || v.BrokenID != entries[2].ID || !strings.Contains(v.Reason, "altered") {
			t.Fatalf("tampered chain: %+v", v)
		}
	})
}

func TestAuditChainRemovedEntry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		var ids []string
		for i := 0; i < 4; i++ {
			e := core.NewAudit(nil, "x", "", "", nil)
			appendAudit(t, s, e)
			ids = append(ids, e.ID)
		}
		s.DB().Exec(s.DB().Rebind(`DELETE FROM audit_logs WHERE id = ?`), ids[1])
		v := verify(t, s)
		if v.OK || v.BrokenID != ids[2] || !strings.Contains(v.Reason, "removed") {
			t.Fatalf("removed entry: %+v", v)
		}
	})
}

func TestAuditConcurrentAppends(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		var wg sync.WaitGroup
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Update(ctx, func(tx core.Tx) error { return tx.AppendAudit(ctx, core.NewAudit(nil, "c", "", "", nil)) }); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if v := verify(t, s); !v.OK || v.Checked != 10 {
			t.Fatalf("concurrent appends forked the chain: %+v", v)
		}
	})
}
