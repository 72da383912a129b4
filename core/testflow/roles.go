package testflow

import (
	"slices"

	"github.com/aegis-sec/aegis/core"
)

// ownerRoles are the roles a test's owner can have: whoever may create a test, and
// whoever may be its red operator.
func ownerRoles() []core.Role { return union(CreateRoles, userFields["assigned_red"]) }

// RolesFor lists the roles that may ever take any of the actions, in core.Roles order.
// The HTTP route table takes its roles from here, so the routes and the state machine
// cannot drift apart; which of them may act on one test in its state is Check's answer.
func RolesFor(actions ...Action) []core.Role {
	var roles []core.Role
	for _, tr := range Table {
		if !slices.Contains(actions, tr.Action) {
			continue
		}
		roles = union(roles, tr.Roles)
		if tr.Owner {
			roles = union(roles, ownerRoles())
		}
	}
	return roles
}

// EditRoles lists the roles that may edit some field of a test in some state (admins
// edit everything).
func EditRoles() []core.Role {
	roles := []core.Role{core.RoleAdmin}
	for _, r := range EditRules {
		roles = union(roles, r.Roles)
	}
	return roles
}

// DetectionRoles may record and remove detection results: those who may edit the blue
// field group they belong to, and admins.
func DetectionRoles() []core.Role {
	r, _ := ruleOf("detection_results")
	return union([]core.Role{core.RoleAdmin}, r.Roles)
}

// RemediationEditors may call the remediation change at all: the roles that may change
// any remediation field, and whoever can own a remediation (who may change its status
// and notes).
func RemediationEditors() []core.Role { return union(RemediationRoles, userFields["owner"]) }

// union returns the roles of a and b, each once, in core.Roles order.
func union(a, b []core.Role) []core.Role {
	var out []core.Role
	for _, r := range core.Roles {
		if slices.Contains(a, r) || slices.Contains(b, r) {
			out = append(out, r)
		}
	}
	return out
}
