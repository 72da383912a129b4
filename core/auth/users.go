package auth

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/password"
)

// NewUser is an account an administrator creates. An empty Password asks for a random
// one, returned once.
type NewUser struct {
	Username    string
	DisplayName string
	Email       string
	Role        core.Role
	Password    string
}

// UserPatch changes some of a user's profile; nil fields stay as they are.
type UserPatch struct {
	Role        *core.Role
	DisplayName *string
	Email       *string
}

func checkProfile(displayName, email string) error {
	if utf8.RuneCountInString(displayName) > 200 {
		return core.FieldError("display_name", "must be at most 200 characters")
	}
	if email != "" && (len(email) > 254 || !strings.Contains(email, "@") || strings.ContainsAny(email, " \t\r\n")) {
		return core.FieldError("email", "%q is not an email address", email)
	}
	return nil
}

// CreateUser creates an account. Whoever gets the password from the administrator
// must change it at first sign-in, whether the administrator chose it or not: the
// administrator knows it.
func (s *Service) CreateUser(ctx context.Context, actor *core.User, in NewUser) (*core.User, string, error) {
	if err := checkProfile(in.DisplayName, in.Email); err != nil {
		return nil, "", err
	}
	generated := ""
	if in.Password == "" {
		generated = core.RandomToken(20)
		in.Password = generated
	} else if err := s.checkNewPassword("password", in.Password); err != nil {
		return nil, "", err
	}
	if !in.Role.Valid() {
		return nil, "", core.FieldError("role", "unknown role %q (one of admin, red_lead, red_tech, blue_lead, blue_tech, viewer)", in.Role)
	}
	hash, err := password.Hash(in.Password)
	if err != nil {
		return nil, "", err
	}
	u := &core.User{Username: in.Username, DisplayName: in.DisplayName, Email: in.Email, Role: in.Role,
		PasswordHash: hash, MustChangePassword: true}
	err = s.store.Update(ctx, func(tx core.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, core.NewAudit(actor, "user.create", "user", u.ID,
			map[string]any{"username": u.Username, "role": u.Role, "display_name": u.DisplayName, "email": u.Email,
				"password_generated": generated != ""}))
	})
	if err != nil {
		return nil, "", fmt.Errorf("create user %q: %w", in.Username, err)
	}
	return u, generated, nil
}

// UpdateUser changes a user's role, display name or e-mail. A change that would leave
// no enabled administrator is refused.
func (s *Service) UpdateUser(ctx context.Context, actor *core.User, id string, patch UserPatch) (*core.User, error) {
	var u *core.User
	err := s.store.Update(ctx, func(tx core.Tx) error {
		var err error
		if u, err = tx.UserByID(ctx, id); err != nil {
			return err
		}
		before := *u
		changes := map[string]any{}
		if patch.Role != nil && *patch.Role != u.Role {
			if !patch.Role.Valid() {
				return core.FieldError("role", "unknown role %q", *patch.Role)
			}
			changes["role"] = map[string]any{"from": u.Role, "to": *patch.Role}
			u.Role = *patch.Role
		}
		if patch.DisplayName != nil && *patch.DisplayName != u.DisplayName {
			changes["display_name"] = map[string]any{"from": u.DisplayName, "to": *patch.DisplayName}
			u.DisplayName = *patch.DisplayName
		}
		if patch.Email != nil && *patch.Email != u.Email {
			changes["email"] = map[string]any{"from": u.Email, "to": *patch.Email}
			u.Email = *patch.Email
		}
		if len(changes) == 0 {
			return nil
		}
		if err := checkProfile(u.DisplayName, u.Email); err != nil {
			return err
		}
		if err := guardLastAdmin(ctx, tx, &before, u); err != nil {
			return err
		}
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, core.NewAudit(actor, "user.update", "user", u.ID,
			map[string]any{"username": u.Username, "changes": changes}))
	})
	if err != nil {
		return nil, fmt.Errorf("update user %s: %w", id, err)
	}
	return u, nil
}

// SetDisabled disables or enables a user. Disabling ends the user's sessions at once;
// their API tokens stay (so enabling them again restores automation) but are refused
// while the account is disabled.
func (s *Service) SetDisabled(ctx context.Context, actor *core.User, id string, disabled bool) (*core.User, error) {
	var u *core.User
	err := s.store.Update(ctx, func(tx core.Tx) error {
		var err error
		if u, err = tx.UserByID(ctx, id); err != nil {
			return err
		}
		if u.Disabled == disabled {
			return nil
		}
		before := *u
		u.Disabled = disabled
		if err := guardLastAdmin(ctx, tx, &before, u); err != nil {
			return err
		}
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		action, details := "user.enable", map[string]any{"username": u.Username}
		if disabled {
			action = "user.disable"
			n, err := tx.DeleteUserSessions(ctx, u.ID, "")
			if err != nil {
				return err
			}
			details["sessions_ended"] = n
		}
		return tx.AppendAudit(ctx, core.NewAudit(actor, action, "user", u.ID, details))
	})
	if err != nil {
		return nil, fmt.Errorf("set user %s disabled=%t: %w", id, disabled, err)
	}
	return u, nil
}

// ResetPassword gives a user a new random password, returned once, which they must
// change at their next sign-in; their sessions end.
func (s *Service) ResetPassword(ctx context.Context, actor *core.User, id string) (*core.User, string, error) {
	return s.SetPassword(ctx, actor, id, "")
}

// SetPassword gives a user a password an administrator chose (pw), or a random one
// when pw is empty, returned once. Either way the administrator knows it, so the user
// must change it at their next sign-in; their sessions end. pw must meet the policy's
// minimum length. The API's reset and the command line's set-password both come here.
func (s *Service) SetPassword(ctx context.Context, actor *core.User, id, pw string) (*core.User, string, error) {
	generated := ""
	if pw == "" {
		generated = core.RandomToken(20)
		pw = generated
	} else if err := s.checkNewPassword("password", pw); err != nil {
		return nil, "", err
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return nil, "", err
	}
	var u *core.User
	err = s.store.Update(ctx, func(tx core.Tx) error {
		var err error
		if u, err = tx.UserByID(ctx, id); err != nil {
			return err
		}
		u.PasswordHash, u.MustChangePassword = hash, true
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		n, err := tx.DeleteUserSessions(ctx, u.ID, "")
		if err != nil {
			return err
		}
		action := "user.password_reset"
		if generated == "" {
			action = "user.password_set"
		}
		return tx.AppendAudit(ctx, core.NewAudit(actor, action, "user", u.ID,
			map[string]any{"username": u.Username, "sessions_ended": n}))
	})
	if err != nil {
		return nil, "", fmt.Errorf("set password of user %s: %w", id, err)
	}
	return u, generated, nil
}

// Bootstrap is the first administrator BootstrapAdmin created.
type Bootstrap struct {
	User *core.User
	// Password is the generated password, to show once; empty when the caller gave one.
	Password string
}

// BootstrapAdmin creates the first administrator, "admin", when the database has no
// user at all, so a fresh installation can be signed in to; with users it does nothing
// and returns nil. pw is the operator's own choice (AEGIS_ADMIN_PASSWORD): it must meet
// the policy's minimum length, and need not be changed. Without it a random password
// is generated, returned once, and must be changed at the first sign-in.
func (s *Service) BootstrapAdmin(ctx context.Context, pw string) (*Bootstrap, error) {
	b := &Bootstrap{}
	if pw == "" {
		b.Password = core.RandomToken(20)
		pw = b.Password
	} else if err := s.checkNewPassword("AEGIS_ADMIN_PASSWORD", pw); err != nil {
		return nil, err
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return nil, err
	}
	created := false
	err = s.store.Update(ctx, func(tx core.Tx) error {
		n, err := tx.CountUsers(ctx)
		if err != nil || n > 0 {
			return err
		}
		b.User = &core.User{Username: "admin", DisplayName: "Administrator", Role: core.RoleAdmin,
			PasswordHash: hash, MustChangePassword: b.Password != ""}
		if err := tx.CreateUser(ctx, b.User); err != nil {
			return err
		}
		created = true
		return tx.AppendAudit(ctx, core.NewAudit(nil, "user.create", "user", b.User.ID,
			map[string]any{"username": b.User.Username, "role": b.User.Role, "first_admin": true,
				"password_generated": b.Password != ""}))
	})
	if err != nil {
		return nil, fmt.Errorf("create first admin: %w", err)
	}
	if !created {
		return nil, nil
	}
	return b, nil
}

// Users lists one page of users.
func (s *Service) Users(ctx context.Context, f core.UserFilter) ([]*core.User, int, error) {
	return core.ReadPage(ctx, s.store, func(tx core.Tx) ([]*core.User, int, error) { return tx.ListUsers(ctx, f) })
}

// User reads one user by id.
func (s *Service) User(ctx context.Context, id string) (*core.User, error) {
	return core.Read(ctx, s.store, func(tx core.Tx) (*core.User, error) { return tx.UserByID(ctx, id) })
}

// UserByName reads one user by username.
func (s *Service) UserByName(ctx context.Context, username string) (*core.User, error) {
	return core.Read(ctx, s.store, func(tx core.Tx) (*core.User, error) { return tx.UserByUsername(ctx, username) })
}

// Tokens lists one page of the user's API tokens, newest first, revoked ones included.
func (s *Service) Tokens(ctx context.Context, user *core.User, p core.Page) ([]*core.APIToken, int, error) {
	return core.ReadPage(ctx, s.store, func(tx core.Tx) ([]*core.APIToken, int, error) { return tx.ListAPITokens(ctx, user.ID, p) })
}

// guardLastAdmin refuses a change that takes away the last enabled administrator: with
// none left, nobody could manage users again short of editing the database.
func guardLastAdmin(ctx context.Context, tx core.Tx, before, after *core.User) error {
	wasAdmin := before.Role == core.RoleAdmin && !before.Disabled
	isAdmin := after.Role == core.RoleAdmin && !after.Disabled
	if !wasAdmin || isAdmin {
		return nil
	}
	n, err := tx.CountEnabledAdmins(ctx)
	if err != nil {
		return err
	}
	if n <= 1 {
		return core.Errorf(core.ECONFLICT, "%s is the last enabled administrator; make another user an administrator first", before.Username)
	}
	return nil
}
