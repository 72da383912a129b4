package store

import (
	"context"
	"fmt"

	"github.com/aegis-sec/aegis/core"
)

const userColumns = `id, username, display_name, email, password_hash, role, disabled,
	must_change_password, last_login_at, created_at, updated_at`

// CreateUser inserts u, filling its id and times when they are empty.
func (t *Tx) CreateUser(ctx context.Context, u *core.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	if u.ID == "" {
		u.ID = core.NewID()
	}
	now := core.Now()
	u.CreatedAt, u.UpdatedAt = now, now
	_, err := t.exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		u.ID, u.Username, u.DisplayName, u.Email, u.PasswordHash, u.Role, u.Disabled,
		u.MustChangePassword, u.LastLoginAt, u.CreatedAt, u.UpdatedAt)
	if isUniqueViolation(err) {
		return core.Errorf(core.ECONFLICT, "username %q is taken", u.Username)
	}
	if err != nil {
		return fmt.Errorf("store: create user %s: %w", u.Username, err)
	}
	return nil
}

// UpdateUser writes every mutable field of u.
func (t *Tx) UpdateUser(ctx context.Context, u *core.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	u.UpdatedAt = core.Now()
	res, err := t.exec(ctx, `UPDATE users SET display_name=?, email=?, password_hash=?, role=?,
		disabled=?, must_change_password=?, last_login_at=?, updated_at=? WHERE id=?`,
		u.DisplayName, u.Email, u.PasswordHash, u.Role, u.Disabled, u.MustChangePassword,
		u.LastLoginAt, u.UpdatedAt, u.ID)
	if err != nil {
		return fmt.Errorf("store: update user %s: %w", u.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return core.Errorf(core.ENOTFOUND, "user %s not found", u.ID)
	}
	return nil
}

// UserByID finds one user.
func (t *Tx) UserByID(ctx context.Context, id string) (*core.User, error) {
	var u core.User
	if err := t.get(ctx, &u, `SELECT `+userColumns+` FROM users WHERE id=?`, id); err != nil {
		return nil, notFound(err, "user", id)
	}
	return &u, nil
}

// UserByUsername finds one user by login name.
func (t *Tx) UserByUsername(ctx context.Context, username string) (*core.User, error) {
	var u core.User
	if err := t.get(ctx, &u, `SELECT `+userColumns+` FROM users WHERE username=?`, username); err != nil {
		return nil, notFound(err, "user", username)
	}
	return &u, nil
}

// ListUsers returns one page of users and the total that match f.
func (t *Tx) ListUsers(ctx context.Context, f core.UserFilter) ([]*core.User, int, error) {
	w := where{}
	if f.Role != "" {
		w.add("role = ?", f.Role)
	}
	if f.Disabled != nil {
		w.add("disabled = ?", *f.Disabled)
	}
	var total int
	if err := t.get(ctx, &total, `SELECT COUNT(*) FROM users`+w.sql(), w.args...); err != nil {
		return nil, 0, fmt.Errorf("store: count users: %w", err)
	}
	p := f.Page.Normalize()
	users := []*core.User{}
	err := t.sel(ctx, &users, `SELECT `+userColumns+` FROM users`+w.sql()+` ORDER BY username LIMIT ? OFFSET ?`,
		append(w.args, p.Limit, p.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list users: %w", err)
	}
	return users, total, nil
}

// CountUsers counts every user (the server creates the first admin when there is none).
func (t *Tx) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := t.get(ctx, &n, `SELECT COUNT(*) FROM users`); err != nil {
		return 0, fmt.Errorf("store: count users: %w", err)
	}
	return n, nil
}
