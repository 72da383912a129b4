package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/aegis-sec/aegis/core"
)

const sessionColumns = `id, user_id, token_hash, csrf_token, ip, user_agent, created_at, last_seen_at, expires_at`

// CreateSession stores s, filling its id when empty.
func (t *Tx) CreateSession(ctx context.Context, s *core.Session) error {
	if s.ID == "" {
		s.ID = core.NewID()
	}
	_, err := t.exec(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES (?,?,?,?,?,?,?,?,?)`,
		s.ID, s.UserID, s.TokenHash, s.CSRFToken, s.IP, s.UserAgent, s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC())
	if err != nil {
		return fmt.Errorf("store: create session for user %s: %w", s.UserID, err)
	}
	return nil
}

// SessionByTokenHash finds the session of a cookie.
func (t *Tx) SessionByTokenHash(ctx context.Context, tokenHash string) (*core.Session, error) {
	var s core.Session
	if err := t.get(ctx, &s, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash=?`, tokenHash); err != nil {
		return nil, notFound(err, "session", "(by token)")
	}
	return &s, nil
}

// SessionWithUser finds the session of a cookie and its user in one query.
func (t *Tx) SessionWithUser(ctx context.Context, tokenHash string) (*core.Session, *core.User, error) {
	q := sessionWithUser
	if t.dialect == SQLite {
		q = sqliteSessionWithUser
	}
	rows, err := selectRows(ctx, t, len(sessionUserFields), sessionUserOfRow, q, tokenHash)
	if err == nil && len(rows) == 0 {
		err = sql.ErrNoRows
	}
	if err != nil {
		return nil, nil, notFound(err, "session", "(by token)")
	}
	return &rows[0].s, &rows[0].u, nil
}

// The session of every request is read column by column (selectRows), as tests are:
// sqlx's mapping of the two nested structs and the driver's time layouts were half of
// the lookup's cost, which every request pays. TestSessionWithUserMatchesReflection
// holds it to sqlx's read.
var (
	sessionUserFields = append(qualifiedNames("s", sessionColumns), qualifiedNames("u", userColumns)...)
	sessionWithUser   = `SELECT ` + strings.Join(sessionUserFields, ", ") + `
	FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`
	// On SQLite the time columns are read as their text (see testSelect).
	sqliteSessionWithUser = strings.NewReplacer("s.created_at", "CAST(s.created_at AS TEXT)",
		"s.last_seen_at", "CAST(s.last_seen_at AS TEXT)", "s.expires_at", "CAST(s.expires_at AS TEXT)",
		"u.last_login_at", "CAST(u.last_login_at AS TEXT)", "u.created_at", "CAST(u.created_at AS TEXT)",
		"u.updated_at", "CAST(u.updated_at AS TEXT)").Replace(sessionWithUser)
)

type sessionUser struct {
	s core.Session
	u core.User
}

// sessionUserOfRow converts a row of sessionUserFields.
func sessionUserOfRow(v []any) (*sessionUser, error) {
	var r sessionUser
	c := colReader{vals: v, table: "sessions/users", names: sessionUserFields}
	r.s.ID, r.s.UserID, r.s.TokenHash, r.s.CSRFToken = c.str(0), c.str(1), c.str(2), c.str(3)
	r.s.IP, r.s.UserAgent = c.str(4), c.str(5)
	r.s.CreatedAt, r.s.LastSeenAt, r.s.ExpiresAt = c.time(6), c.time(7), c.time(8)
	r.u.ID, r.u.Username, r.u.DisplayName, r.u.Email, r.u.PasswordHash = c.str(9), c.str(10), c.str(11), c.str(12), c.str(13)
	r.u.Role, r.u.Disabled, r.u.MustChangePassword = core.Role(c.str(14)), c.bool(15), c.bool(16)
	r.u.LastLoginAt, r.u.CreatedAt, r.u.UpdatedAt = c.timePtr(17), c.time(18), c.time(19)
	if c.err != nil {
		return nil, c.err
	}
	return &r, nil
}

// qualifiedNames turns a column list into alias.column for each.
func qualifiedNames(alias, cols string) []string {
	var out []string
	for _, c := range strings.Split(cols, ",") {
		out = append(out, alias+"."+strings.TrimSpace(c))
	}
	return out
}

// TouchSession records activity on a session and moves its expiry.
func (t *Tx) TouchSession(ctx context.Context, id string, lastSeen, expires time.Time) error {
	if _, err := t.exec(ctx, `UPDATE sessions SET last_seen_at=?, expires_at=? WHERE id=?`, lastSeen.UTC(), expires.UTC(), id); err != nil {
		return fmt.Errorf("store: touch session %s: %w", id, err)
	}
	return nil
}

// DeleteSession ends one session; ending one that is already gone is not an error.
func (t *Tx) DeleteSession(ctx context.Context, id string) error {
	if _, err := t.exec(ctx, `DELETE FROM sessions WHERE id=?`, id); err != nil {
		return fmt.Errorf("store: delete session %s: %w", id, err)
	}
	return nil
}

// DeleteUserSessions ends every session of userID but exceptID.
func (t *Tx) DeleteUserSessions(ctx context.Context, userID, exceptID string) (int, error) {
	q, args := `DELETE FROM sessions WHERE user_id=?`, []any{userID}
	if exceptID != "" {
		q, args = q+` AND id<>?`, append(args, exceptID)
	}
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("store: delete sessions of user %s: %w", userID, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DeleteExpiredSessions removes the sessions that expired before at.
func (t *Tx) DeleteExpiredSessions(ctx context.Context, at time.Time) (int, error) {
	res, err := t.exec(ctx, `DELETE FROM sessions WHERE expires_at < ?`, at.UTC())
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

const apiTokenColumns = `id, user_id, name, prefix, token_hash, scope, created_at, expires_at, last_used_at, revoked_at`

// CreateAPIToken stores tok, filling its id when empty.
func (t *Tx) CreateAPIToken(ctx context.Context, tok *core.APIToken) error {
	if !tok.Scope.Valid() {
		return core.FieldError("scope", "unknown scope %q (read or read_write)", tok.Scope)
	}
	if tok.ID == "" {
		tok.ID = core.NewID()
	}
	_, err := t.exec(ctx, `INSERT INTO api_tokens (`+apiTokenColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		tok.ID, tok.UserID, tok.Name, tok.Prefix, tok.TokenHash, tok.Scope, tok.CreatedAt.UTC(),
		utcPtr(tok.ExpiresAt), utcPtr(tok.LastUsedAt), utcPtr(tok.RevokedAt))
	if err != nil {
		return fmt.Errorf("store: create api token %q for user %s: %w", tok.Name, tok.UserID, err)
	}
	return nil
}

// APITokenByHash finds the token a Bearer header carries.
func (t *Tx) APITokenByHash(ctx context.Context, tokenHash string) (*core.APIToken, error) {
	var tok core.APIToken
	if err := t.get(ctx, &tok, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE token_hash=?`, tokenHash); err != nil {
		return nil, notFound(err, "api token", "(by secret)")
	}
	return &tok, nil
}

// APITokenByID finds one token.
func (t *Tx) APITokenByID(ctx context.Context, id string) (*core.APIToken, error) {
	var tok core.APIToken
	if err := t.get(ctx, &tok, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE id=?`, id); err != nil {
		return nil, notFound(err, "api token", id)
	}
	return &tok, nil
}

// ListAPITokens returns one page of a user's tokens, newest first.
func (t *Tx) ListAPITokens(ctx context.Context, userID string, p core.Page) ([]*core.APIToken, int, error) {
	var total int
	if err := t.get(ctx, &total, `SELECT COUNT(*) FROM api_tokens WHERE user_id=?`, userID); err != nil {
		return nil, 0, fmt.Errorf("store: count api tokens of user %s: %w", userID, err)
	}
	p = p.Normalize()
	out := []*core.APIToken{}
	if err := t.sel(ctx, &out, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE user_id=? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
		userID, p.Limit, p.Offset); err != nil {
		return nil, 0, fmt.Errorf("store: list api tokens of user %s: %w", userID, err)
	}
	return out, total, nil
}

// RevokeAPIToken marks a token revoked at at; a token revoked before keeps its first time.
func (t *Tx) RevokeAPIToken(ctx context.Context, id string, at time.Time) error {
	res, err := t.exec(ctx, `UPDATE api_tokens SET revoked_at=COALESCE(revoked_at, ?) WHERE id=?`, at.UTC(), id)
	if err != nil {
		return fmt.Errorf("store: revoke api token %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return core.Errorf(core.ENOTFOUND, "api token %s not found", id)
	}
	return nil
}

// TouchAPIToken records the last use of a token.
func (t *Tx) TouchAPIToken(ctx context.Context, id string, at time.Time) error {
	if _, err := t.exec(ctx, `UPDATE api_tokens SET last_used_at=? WHERE id=?`, at.UTC(), id); err != nil {
		return fmt.Errorf("store: touch api token %s: %w", id, err)
	}
	return nil
}

// CountEnabledAdmins counts the admins who can sign in. Dialects differ: PostgreSQL
// locks the rows (FOR UPDATE) so concurrent demotions queue and the second one re-reads
// the rows after the first commits; SQLite has one writer, which serialises them already
// (and has no FOR UPDATE).
func (t *Tx) CountEnabledAdmins(ctx context.Context) (int, error) {
	q := `SELECT id FROM users WHERE role=? AND disabled=?`
	if t.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var ids []string
	if err := t.sel(ctx, &ids, q, core.RoleAdmin, false); err != nil {
		return 0, fmt.Errorf("store: count enabled admins: %w", err)
	}
	return len(ids), nil
}

// UserIDsByRole returns the enabled users holding any of roles, in id order.
func (t *Tx) UserIDsByRole(ctx context.Context, roles ...core.Role) ([]string, error) {
	ids := []string{}
	if len(roles) == 0 {
		return ids, nil
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(roles)), ",")
	args := []any{false}
	for _, r := range roles {
		args = append(args, r)
	}
	if err := t.sel(ctx, &ids, `SELECT id FROM users WHERE disabled=? AND role IN (`+marks+`) ORDER BY id`, args...); err != nil {
		return nil, fmt.Errorf("store: users with roles %v: %w", roles, err)
	}
	return ids, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// RecentLoginFailures returns the times of key's failures after since, newest first.
func (t *Tx) RecentLoginFailures(ctx context.Context, key string, since time.Time, limit int) ([]time.Time, error) {
	var at []time.Time
	if err := t.sel(ctx, &at, `SELECT at FROM login_failures WHERE throttle_key = ? AND at > ? ORDER BY at DESC LIMIT ?`, key, since.UTC(), limit); err != nil {
		return nil, fmt.Errorf("store: login failures of %s: %w", key, err)
	}
	return at, nil
}

// AddLoginFailures records one failure for each key.
func (t *Tx) AddLoginFailures(ctx context.Context, at time.Time, keys ...string) error {
	for _, k := range keys {
		if _, err := t.exec(ctx, `INSERT INTO login_failures (id, throttle_key, at) VALUES (?, ?, ?)`, core.NewID(), k, at.UTC()); err != nil {
			return fmt.Errorf("store: record login failure of %s: %w", k, err)
		}
	}
	return nil
}

// ClearLoginFailures forgets a key's failures (an account after a successful sign-in).
func (t *Tx) ClearLoginFailures(ctx context.Context, key string) error {
	if _, err := t.exec(ctx, `DELETE FROM login_failures WHERE throttle_key = ?`, key); err != nil {
		return fmt.Errorf("store: clear login failures of %s: %w", key, err)
	}
	return nil
}

// DeleteLoginFailuresBefore drops failures older than t (a cleanup job).
func (t *Tx) DeleteLoginFailuresBefore(ctx context.Context, at time.Time) (int, error) {
	res, err := t.exec(ctx, `DELETE FROM login_failures WHERE at < ?`, at.UTC())
	if err != nil {
		return 0, fmt.Errorf("store: delete old login failures: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
