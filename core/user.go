package core

import (
	"regexp"
	"time"
)

// Role is what a user may do. The table of which role may call which route lives in api.
type Role string

const (
	RoleAdmin    Role = "admin"
	RoleRedTech  Role = "red_tech"
	RoleBlueTech Role = "blue_tech"
	RoleRedLead  Role = "red_lead"
	RoleBlueLead Role = "blue_lead"
	RoleViewer   Role = "viewer"
)

// Roles lists every role, in the order the UI shows them.
var Roles = []Role{RoleAdmin, RoleRedLead, RoleRedTech, RoleBlueLead, RoleBlueTech, RoleViewer}

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// User is a person (or automation account) who signs in to Aegis.
type User struct {
	ID                 string     `db:"id" json:"id"`
	Username           string     `db:"username" json:"username"`
	DisplayName        string     `db:"display_name" json:"display_name"`
	Email              string     `db:"email" json:"email"`
	PasswordHash       string     `db:"password_hash" json:"-"`
	Role               Role       `db:"role" json:"role"`
	Disabled           bool       `db:"disabled" json:"disabled"`
	MustChangePassword bool       `db:"must_change_password" json:"must_change_password"`
	LastLoginAt        *time.Time `db:"last_login_at" json:"last_login_at,omitempty"`
	CreatedAt          time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt          time.Time  `db:"updated_at" json:"updated_at"`
}

var usernameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._@-]{1,63}$`)

// Validate checks the fields a user must have before it is stored.
func (u *User) Validate() error {
	if !usernameRE.MatchString(u.Username) {
		return FieldError("username", "must be 2-64 characters of letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
	}
	if !u.Role.Valid() {
		return FieldError("role", "unknown role %q (one of admin, red_lead, red_tech, blue_lead, blue_tech, viewer)", u.Role)
	}
	if u.PasswordHash == "" {
		return FieldError("password", "is required")
	}
	return nil
}

// UserFilter selects users in a listing.
type UserFilter struct {
	Role     Role
	Disabled *bool
	Page
}

// Page is limit/offset pagination shared by every listing.
type Page struct {
	Limit  int
	Offset int
}

// Normalize bounds a page to sane values: a default of 50 and at most 500 rows.
func (p Page) Normalize() Page {
	if p.Limit <= 0 {
		p.Limit = 50
	}
	if p.Limit > 500 {
		p.Limit = 500
	}
	if p.Offset < 0 {
		p.Offset = 0
	}
	return p
}
