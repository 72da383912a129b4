package store_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// TestSessionWithUserMatchesReflection: the session lookup of every request reads by
// hand what sqlx's reflection reads from the same row, for a user who never signed in
// and one who did (every column set), on both databases.
func TestSessionWithUserMatchesReflection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		now := core.Now()
		for i, signedIn := range []bool{false, true} {
			u := mkUser(t, s, []string{"never", "signed"}[i], core.RoleBlueLead, i == 1)
			if signedIn {
				at := now.Add(-time.Hour)
				u.LastLoginAt, u.Email, u.DisplayName = &at, "x@example.org", "Dïsplay \"name\""
				mustUpdate(t, s, func(tx core.Tx) error { return tx.UpdateUser(ctx, u) })
			}
			hash := "hash-" + u.Username
			se := &core.Session{UserID: u.ID, TokenHash: hash, CSRFToken: "csrf", IP: "192.0.2.7", UserAgent: "agent/1.0",
				CreatedAt: now, LastSeenAt: now.Add(time.Minute), ExpiresAt: now.Add(time.Hour)}
			mustUpdate(t, s, func(tx core.Tx) error { return tx.CreateSession(ctx, se) })
			var want struct {
				S core.Session `db:"s"`
				U core.User    `db:"u"`
			}
			var cols []string
			for alias, v := range map[string]any{"s": core.Session{}, "u": core.User{}} {
				ty := reflect.TypeOf(v)
				for k := 0; k < ty.NumField(); k++ {
					c := ty.Field(k).Tag.Get("db")
					cols = append(cols, alias+"."+c+` AS "`+alias+"."+c+`"`)
				}
			}
			if err := s.DB().Get(&want, s.DB().Rebind(`SELECT `+strings.Join(cols, ", ")+
				` FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`), hash); err != nil {
				t.Fatal(err)
			}
			if want.U.LastLoginAt == nil != !signedIn || want.S.UserAgent != "agent/1.0" {
				t.Fatalf("sqlx read %+v", want)
			}
			var gs *core.Session
			var gu *core.User
			if err := s.Read(ctx, func(tx core.Tx) (err error) { gs, gu, err = tx.SessionWithUser(ctx, hash); return }); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*gs, want.S) || !reflect.DeepEqual(*gu, want.U) {
				t.Errorf("SessionWithUser read\n%+v\n%+v\nsqlx read\n%+v\n%+v", *gs, *gu, want.S, want.U)
			}
		}
	})
}
