package auth_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/auth"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// Two administrators demoting (or disabling) each other at the same instant must not
// leave the organisation without one: exactly one of the two changes wins.
func TestLastAdminGuardUnderConcurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := auth.New(st, auth.Policy{PasswordMinLength: 12, LoginMaxAttempts: 5}, nil)
		viewer := core.RoleViewer
		for round := 0; round < 10; round++ {
			a := &core.User{Username: fmt.Sprintf("a%d", round), Role: core.RoleAdmin, PasswordHash: "h"}
			b := &core.User{Username: fmt.Sprintf("b%d", round), Role: core.RoleAdmin, PasswordHash: "h"}
			if err := st.Update(ctx, func(tx core.Tx) error {
				if err := tx.CreateUser(ctx, a); err != nil {
					return err
				}
				return tx.CreateUser(ctx, b)
			}); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, errs[0] = svc.UpdateUser(ctx, a, b.ID, auth.UserPatch{Role: &viewer})
			}()
			go func() {
				defer wg.Done()
				if round%2 == 0 {
					_, errs[1] = svc.UpdateUser(ctx, b, a.ID, auth.UserPatch{Role: &viewer})
				} else {
					_, errs[1] = svc.SetDisabled(ctx, b, a.ID, true)
				}
			}()
			wg.Wait()
			ok, conflicts := 0, 0
			for _, err := range errs {
				switch core.ErrorCode(err) {
				case "":
					ok++
				case core.ECONFLICT:
					conflicts++
				default:
					t.Fatalf("round %d: %v", round, err)
				}
			}
			if ok != 1 || conflicts != 1 {
				t.Fatalf("round %d: %d changes succeeded, %d refused; want exactly one of each (%v)", round, ok, conflicts, errs)
			}
			// Demote whoever is left so the next round starts from its own two admins.
			var left int
			st.Update(ctx, func(tx core.Tx) (err error) {
				left, err = tx.CountEnabledAdmins(ctx)
				for _, u := range []*core.User{a, b} {
					cur, _ := tx.UserByID(ctx, u.ID)
					if cur.Role == core.RoleAdmin && !cur.Disabled {
						cur.Role = core.RoleViewer
						tx.UpdateUser(ctx, cur)
					}
				}
				return err
			})
			if left != 1 {
				t.Fatalf("round %d: %d enabled admins after the race, want 1", round, left)
			}
		}
	})
}
