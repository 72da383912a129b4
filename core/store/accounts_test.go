package store_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

func mkUser(t *testing.T, s *store.Store, name string, role core.Role, disabled bool) *core.User {
	t.Helper()
	u := &core.User{Username: name, Role: role, PasswordHash: "h", Disabled: disabled}
	mustUpdate(t, s, func(tx core.Tx) error { return tx.CreateUser(ctx, u) })
	return u
}

func TestSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		u := mkUser(t, s, "alice", core.RoleRedTech, false)
		now := core.Now()
		a := &core.Session{UserID: u.ID, TokenHash: "hash-a", CSRFToken: "csrf-a", IP: "192.0.2.1", UserAgent: "ua",
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
		b := &core.Session{UserID: u.ID, TokenHash: "hash-b", CSRFToken: "csrf-b",
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(-time.Minute)}
		mustUpdate(t, s, func(tx core.Tx) error {
			if err := tx.CreateSession(ctx, a); err != nil {
				return err
			}
			return tx.CreateSession(ctx, b)
		})
		var got *core.Session
		s.View(ctx, func(tx core.Tx) error {
			var err error
			got, err = tx.SessionByTokenHash(ctx, "hash-a")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.SessionByTokenHash(ctx, "nope"); core.ErrorCode(err) != core.ENOTFOUND {
				t.Errorf("unknown session: %v, want not found", err)
			}
			return nil
		})
		if got.ID != a.ID || got.CSRFToken != "csrf-a" || got.IP != "192.0.2.1" || !got.ExpiresAt.Equal(a.ExpiresAt) {
			t.Fatalf("read back %+v, want %+v", got, a)
		}
		// The session with its user in one query reads what the two lookups read, and
		// sees a change of the user at once; it runs as the server runs it, outside a
		// transaction (Store.Read).
		withUser := func() (*core.Session, *core.User, error) {
			var gs *core.Session
			var gu *core.User
			err := s.Read(ctx, func(tx core.Tx) (err error) { gs, gu, err = tx.SessionWithUser(ctx, "hash-a"); return })
			return gs, gu, err
		}
		gs, gu, err := withUser()
		if err != nil || *gs != *got || gu.ID != u.ID || gu.Username != "alice" || gu.Role != core.RoleRedTech || gu.Disabled ||
			!gu.CreatedAt.Equal(u.CreatedAt) {
			t.Fatalf("session with user: %v\n%+v\n%+v", err, gs, gu)
		}
		u.Role, u.Disabled = core.RoleViewer, true
		mustUpdate(t, s, func(tx core.Tx) error { return tx.UpdateUser(ctx, u) })
		if _, gu, err = withUser(); err != nil || gu.Role != core.RoleViewer || !gu.Disabled {
			t.Fatalf("after the user changed: %v %+v", err, gu)
		}
		u.Role, u.Disabled = core.RoleRedTech, false
		mustUpdate(t, s, func(tx core.Tx) error { return tx.UpdateUser(ctx, u) })
		if err := s.Read(ctx, func(tx core.Tx) error { _, _, err := tx.SessionWithUser(ctx, "nope"); return err }); core.ErrorCode(err) != core.ENOTFOUND {
			t.Errorf("unknown session with user: %v, want not found", err)
		}
		// Read has no transaction to commit a write in: a write through it is refused
		// and changes nothing.
		err = s.Read(ctx, func(tx core.Tx) error { return tx.TouchSession(ctx, a.ID, now.Add(time.Hour), now.Add(2*time.Hour)) })
		if err == nil || !strings.Contains(err.Error(), "outside a transaction") {
			t.Errorf("a write through Read: %v, want it refused", err)
		}
		// The same for a write that returns rows (an upsert's INSERT … RETURNING id).
		err = s.Read(ctx, func(tx core.Tx) error {
			return tx.UpsertDetectionRule(ctx, &core.DetectionRule{Source: "sigma", ExternalID: "via-read", Title: "Written through Read"})
		})
		if err == nil || !strings.Contains(err.Error(), "outside a transaction") {
			t.Errorf("an upsert through Read: %v, want it refused", err)
		}
		var rules int
		if err := s.DB().Get(&rules, `SELECT COUNT(*) FROM detection_rules WHERE external_id = 'via-read'`); err != nil || rules != 0 {
			t.Errorf("after a refused upsert through Read: %d rules stored (%v), want 0", rules, err)
		}
		if gs, _, err := withUser(); err != nil || !gs.LastSeenAt.Equal(got.LastSeenAt) {
			t.Fatalf("after a refused write through Read: %v, last seen %v, want %v", err, gs.LastSeenAt, got.LastSeenAt)
		}

		later := now.Add(30 * time.Minute)
		mustUpdate(t, s, func(tx core.Tx) error { return tx.TouchSession(ctx, a.ID, later, later.Add(time.Hour)) })
		s.View(ctx, func(tx core.Tx) error {
			got, _ = tx.SessionByTokenHash(ctx, "hash-a")
			return nil
		})
		if !got.LastSeenAt.Equal(later) || !got.ExpiresAt.Equal(later.Add(time.Hour)) {
			t.Fatalf("touch: last seen %v expires %v", got.LastSeenAt, got.ExpiresAt)
		}

		var n int
		mustUpdate(t, s, func(tx core.Tx) (err error) { n, err = tx.DeleteExpiredSessions(ctx, now); return })
		if n != 1 {
			t.Fatalf("expired sessions deleted: %d, want 1 (b)", n)
		}
		c := &core.Session{UserID: u.ID, TokenHash: "hash-c", CSRFToken: "c", CreatedAt: now, LastSeenAt: now, ExpiresAt: later}
		mustUpdate(t, s, func(tx core.Tx) error { return tx.CreateSession(ctx, c) })
		mustUpdate(t, s, func(tx core.Tx) (err error) { n, err = tx.DeleteUserSessions(ctx, u.ID, c.ID); return })
		if n != 1 {
			t.Fatalf("sessions ended except c: %d, want 1", n)
		}
		mustUpdate(t, s, func(tx core.Tx) error {
			if _, err := tx.SessionByTokenHash(ctx, "hash-c"); err != nil {
				t.Errorf("the kept session is gone: %v", err)
			}
			if err := tx.DeleteSession(ctx, c.ID); err != nil {
				return err
			}
			if _, err := tx.SessionByTokenHash(ctx, "hash-c"); core.ErrorCode(err) != core.ENOTFOUND {
				t.Errorf("deleted session still found: %v", err)
			}
			return nil
		})
	})
}

func TestAPITokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		u := mkUser(t, s, "bot", core.RoleViewer, false)
		other := mkUser(t, s, "other", core.RoleViewer, false)
		now := core.Now()
		exp := now.Add(24 * time.Hour)
		var toks []*core.APIToken
		for i, name := range []string{"ci", "grafana", "jupyter"} {
			tok := &core.APIToken{UserID: u.ID, Name: name, Prefix: "aeg_x", TokenHash: "th-" + name, Scope: core.ScopeRead,
				CreatedAt: now.Add(time.Duration(i) * time.Second), ExpiresAt: &exp}
			mustUpdate(t, s, func(tx core.Tx) error { return tx.CreateAPIToken(ctx, tok) })
			toks = append(toks, tok)
		}
		mustUpdate(t, s, func(tx core.Tx) error {
			return tx.CreateAPIToken(ctx, &core.APIToken{UserID: other.ID, Name: "theirs", TokenHash: "th-o", Scope: core.ScopeReadWrite, CreatedAt: now})
		})
		err := s.Update(ctx, func(tx core.Tx) error {
			return tx.CreateAPIToken(ctx, &core.APIToken{UserID: u.ID, Name: "x", TokenHash: "th-x", Scope: "admin", CreatedAt: now})
		})
		if core.ErrorCode(err) != core.EINVALID {
			t.Fatalf("bad scope: %v, want invalid", err)
		}

		s.View(ctx, func(tx core.Tx) error {
			list, total, err := tx.ListAPITokens(ctx, u.ID, core.Page{Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			if total != 3 || len(list) != 2 || list[0].Name != "jupyter" || list[1].Name != "grafana" {
				t.Errorf("page 1: total %d, %d items, first %q", total, len(list), list[0].Name)
			}
			got, err := tx.APITokenByHash(ctx, "th-ci")
			if err != nil || got.ID != toks[0].ID || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) || got.Scope != core.ScopeRead {
				t.Errorf("by hash: %+v %v", got, err)
			}
			if !got.Usable(now) || got.Usable(exp) {
				t.Errorf("usable before expiry %t, at expiry %t", got.Usable(now), got.Usable(exp))
			}
			return nil
		})

		mustUpdate(t, s, func(tx core.Tx) error { return tx.RevokeAPIToken(ctx, toks[0].ID, now) })
		mustUpdate(t, s, func(tx core.Tx) error { return tx.RevokeAPIToken(ctx, toks[0].ID, now.Add(time.Hour)) })
		mustUpdate(t, s, func(tx core.Tx) error { return tx.TouchAPIToken(ctx, toks[1].ID, now) })
		s.View(ctx, func(tx core.Tx) error {
			got, _ := tx.APITokenByID(ctx, toks[0].ID)
			if got.RevokedAt == nil || !got.RevokedAt.Equal(now) || got.Usable(now) {
				t.Errorf("revoked twice: revoked at %v, want the first time %v", got.RevokedAt, now)
			}
			got, _ = tx.APITokenByID(ctx, toks[1].ID)
			if got.LastUsedAt == nil || !got.LastUsedAt.Equal(now) {
				t.Errorf("last used %v", got.LastUsedAt)
			}
			return nil
		})
		if err := s.Update(ctx, func(tx core.Tx) error { return tx.RevokeAPIToken(ctx, core.NewID(), now) }); core.ErrorCode(err) != core.ENOTFOUND {
			t.Fatalf("revoke unknown: %v", err)
		}
	})
}

func TestAdminCountAndRoleLookup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		a1 := mkUser(t, s, "a1", core.RoleAdmin, false)
		mkUser(t, s, "a2", core.RoleAdmin, true)
		rl := mkUser(t, s, "rl", core.RoleRedLead, false)
		bl := mkUser(t, s, "bl", core.RoleBlueLead, false)
		mkUser(t, s, "bl-off", core.RoleBlueLead, true)
		mkUser(t, s, "vw", core.RoleViewer, false)
		mustUpdate(t, s, func(tx core.Tx) error {
			n, err := tx.CountEnabledAdmins(ctx)
			if err != nil || n != 1 {
				t.Errorf("enabled admins: %d %v, want 1", n, err)
			}
			ids, err := tx.UserIDsByRole(ctx, core.RoleRedLead, core.RoleBlueLead)
			want := []string{rl.ID, bl.ID}
			slices.Sort(want)
			if err != nil || !slices.Equal(ids, want) {
				t.Errorf("leads: %v %v, want %v (enabled only)", ids, err, want)
			}
			ids, _ = tx.UserIDsByRole(ctx)
			if len(ids) != 0 {
				t.Errorf("no roles: %v", ids)
			}
			ids, _ = tx.UserIDsByRole(ctx, core.RoleAdmin)
			if !slices.Equal(ids, []string{a1.ID}) {
				t.Errorf("admins: %v", ids)
			}
			return nil
		})
	})
}

func TestNotifications(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		a := mkUser(t, s, "ann", core.RoleBlueTech, false)
		b := mkUser(t, s, "bob", core.RoleBlueTech, false)
		n := core.Notification{Kind: "test.blue_evaluating", Title: "T1 waits for blue", EntityType: "test", EntityID: "t1"}
		mustUpdate(t, s, func(tx core.Tx) error { return tx.Notify(ctx, []string{a.ID, b.ID, a.ID}, n) })
		for i := 0; i < 3; i++ {
			mustUpdate(t, s, func(tx core.Tx) error {
				return tx.CreateNotification(ctx, &core.Notification{UserID: a.ID, Kind: "k", Title: "more",
					CreatedAt: core.Now().Add(time.Duration(i+1) * time.Second)})
			})
		}
		if err := s.Update(ctx, func(tx core.Tx) error {
			return tx.CreateNotification(ctx, &core.Notification{UserID: a.ID, Kind: "k"})
		}); core.ErrorCode(err) != core.EINVALID {
			t.Fatalf("notification without a title: %v", err)
		}

		list := func(f core.NotificationFilter) ([]*core.Notification, int) {
			var l []*core.Notification
			var total int
			if err := s.View(ctx, func(tx core.Tx) (err error) { l, total, err = tx.ListNotifications(ctx, f); return }); err != nil {
				t.Fatal(err)
			}
			return l, total
		}
		la, total := list(core.NotificationFilter{UserID: a.ID})
		if total != 4 || len(la) != 4 || la[3].Title != "T1 waits for blue" || la[0].Title != "more" {
			t.Fatalf("a's notifications (duplicate id notified once, newest first): %d %v", total, la)
		}
		if _, tb := list(core.NotificationFilter{UserID: b.ID}); tb != 1 {
			t.Fatalf("b has %d notifications, want 1", tb)
		}
		if page, total := list(core.NotificationFilter{UserID: a.ID, Page: core.Page{Limit: 2, Offset: 3}}); total != 4 || len(page) != 1 {
			t.Fatalf("last page: total %d, %d items", total, len(page))
		}

		now := core.Now()
		bl, _ := list(core.NotificationFilter{UserID: b.ID})
		if err := s.Update(ctx, func(tx core.Tx) error { return tx.MarkNotificationRead(ctx, a.ID, bl[0].ID, now) }); core.ErrorCode(err) != core.ENOTFOUND {
			t.Fatalf("a marked b's notification: %v, want not found", err)
		}
		mustUpdate(t, s, func(tx core.Tx) error { return tx.MarkNotificationRead(ctx, a.ID, la[3].ID, now) })
		mustUpdate(t, s, func(tx core.Tx) error { return tx.MarkNotificationRead(ctx, a.ID, la[3].ID, now.Add(time.Hour)) })
		unread, tu := list(core.NotificationFilter{UserID: a.ID, UnreadOnly: true})
		if tu != 3 || len(unread) != 3 {
			t.Fatalf("unread after one read: %d", tu)
		}
		all, _ := list(core.NotificationFilter{UserID: a.ID})
		if r := all[3].ReadAt; r == nil || !r.Equal(now) {
			t.Fatalf("read twice keeps the first time: %v, want %v", r, now)
		}
		var marked int
		mustUpdate(t, s, func(tx core.Tx) (err error) { marked, err = tx.MarkAllNotificationsRead(ctx, a.ID, now); return })
		if marked != 3 {
			t.Fatalf("marked %d, want 3", marked)
		}
		if _, tu := list(core.NotificationFilter{UserID: b.ID, UnreadOnly: true}); tu != 1 {
			t.Fatalf("marking a's notifications touched b's: b has %d unread", tu)
		}

		// Cleanup removes only read ones created before the cutoff: a's four are read,
		// b's one is not, and it is kept however old it is.
		deleted, err := core.CleanupNotifications(ctx, s, core.Now().Add(time.Hour), 0)
		if err != nil || deleted != 4 {
			t.Fatalf("cleanup: %d %v, want 4", deleted, err)
		}
		if _, tb := list(core.NotificationFilter{UserID: b.ID}); tb != 1 {
			t.Fatalf("cleanup removed an unread notification")
		}
		mustUpdate(t, s, func(tx core.Tx) (err error) { _, err = tx.MarkAllNotificationsRead(ctx, b.ID, now); return })
		if deleted, _ := core.CleanupNotifications(ctx, s, core.Now(), 24*time.Hour); deleted != 0 {
			t.Fatalf("cleanup removed a read notification younger than the retention")
		}
	})
}

func TestNotifyRoles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		actor := mkUser(t, s, "bl1", core.RoleBlueLead, false)
		other := mkUser(t, s, "bl2", core.RoleBlueLead, false)
		rl := mkUser(t, s, "rl", core.RoleRedLead, false)
		mkUser(t, s, "bl3", core.RoleBlueLead, true)
		bt := mkUser(t, s, "bt", core.RoleBlueTech, false)
		mustUpdate(t, s, func(tx core.Tx) error {
			return core.NotifyRoles(ctx, tx, core.Notification{Kind: "test.in_review", Title: "review"}, actor.ID,
				core.RoleRedLead, core.RoleBlueLead)
		})
		got := map[string]int{}
		for _, u := range []*core.User{actor, other, rl, bt} {
			s.View(ctx, func(tx core.Tx) error {
				_, n, err := tx.ListNotifications(ctx, core.NotificationFilter{UserID: u.ID})
				got[u.Username] = n
				return err
			})
		}
		if got["bl1"] != 0 || got["bl2"] != 1 || got["rl"] != 1 || got["bt"] != 0 {
			t.Fatalf("notified: %v; want the leads except the actor", got)
		}
	})
}
