package testflow_test

import (
	"slices"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/testflow"
)

// The route table takes its roles from RolesFor: a role RolesFor names must be able to
// take the action on some test, and a role it leaves out must be refused on every test
// it can own (creators and red operators own tests).
func TestRolesForMatchesCheck(t *testing.T) {
	owner := &core.User{ID: "00000000-0000-0000-0000-000000000001"}
	for _, a := range testflow.Actions {
		roles := testflow.RolesFor(a)
		for _, r := range core.Roles {
			u := &core.User{ID: owner.ID, Role: r}
			mayOnSome := false
			for _, tr := range testflow.Table {
				if tr.Action != a {
					continue
				}
				canOwn := slices.Contains(testflow.CreateRoles, r) || r == core.RoleRedTech || r == core.RoleRedLead
				for _, mine := range []bool{false, canOwn} {
					te := &core.Test{ID: "t", State: tr.From}
					if mine {
						te.CreatedBy = &owner.ID
					}
					if _, err := testflow.Check(te, a, u); err == nil {
						mayOnSome = true
					}
				}
			}
			if mayOnSome != slices.Contains(roles, r) {
				t.Errorf("%s: RolesFor says %v for %s, Check says %v", a, slices.Contains(roles, r), r, mayOnSome)
			}
		}
	}
	want := []core.Role{core.RoleAdmin, core.RoleRedLead, core.RoleRedTech, core.RoleBlueLead}
	if got := testflow.RolesFor(testflow.ActionReopen); !slices.Equal(got, want) {
		t.Errorf("reopen: %v, want %v (leads, and owners: creators and red operators)", got, want)
	}
	if got := testflow.RolesFor(testflow.ActionApprove, testflow.ActionReject); !slices.Equal(got, []core.Role{core.RoleAdmin, core.RoleRedLead, core.RoleBlueLead}) {
		t.Errorf("vote: %v", got)
	}
	if got := testflow.EditRoles(); slices.Contains(got, core.RoleViewer) || len(got) != 5 {
		t.Errorf("edit roles: %v", got)
	}
}
