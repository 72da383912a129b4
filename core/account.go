package core

import (
	"context"
	"time"
)

// Session is a signed-in browser. Only the SHA-256 of the cookie value is stored, so a
// copy of the table does not let anyone sign in. The CSRF token is not a credential on
// its own (it is useless without the cookie), so it is kept as it is and handed back to
// the SPA after a reload.
type Session struct {
	ID         string    `db:"id" json:"id"`
	UserID     string    `db:"user_id" json:"user_id"`
	TokenHash  string    `db:"token_hash" json:"-"`
	CSRFToken  string    `db:"csrf_token" json:"-"`
	IP         string    `db:"ip" json:"ip"`
	UserAgent  string    `db:"user_agent" json:"user_agent"`
	CreatedAt  time.Time `db:"created_at" json:"created_at"`
	LastSeenAt time.Time `db:"last_seen_at" json:"last_seen_at"`
	ExpiresAt  time.Time `db:"expires_at" json:"expires_at"`
}

// TokenScope limits what a personal API token may do.
type TokenScope string

const (
	// ScopeRead allows only safe (GET, HEAD) requests.
	ScopeRead TokenScope = "read"
	// ScopeReadWrite allows everything the owner's role allows.
	ScopeReadWrite TokenScope = "read_write"
)

// Valid reports whether s is a known scope.
func (s TokenScope) Valid() bool { return s == ScopeRead || s == ScopeReadWrite }

// APIToken is a personal token for automation, sent as `Authorization: Bearer aeg_...`.
// The secret is shown once when it is made; only its SHA-256 is stored. Prefix is the
// start of the secret, enough for a person to tell their tokens apart.
type APIToken struct {
	ID         string     `db:"id" json:"id"`
	UserID     string     `db:"user_id" json:"user_id"`
	Name       string     `db:"name" json:"name"`
	Prefix     string     `db:"prefix" json:"prefix"`
	TokenHash  string     `db:"token_hash" json:"-"`
	Scope      TokenScope `db:"scope" json:"scope"`
	CreatedAt  time.Time  `db:"created_at" json:"created_at"`
	ExpiresAt  *time.Time `db:"expires_at" json:"expires_at,omitempty"`
	LastUsedAt *time.Time `db:"last_used_at" json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `db:"revoked_at" json:"revoked_at,omitempty"`
}

// Usable reports whether the token may authenticate a request at now.
func (t *APIToken) Usable(now time.Time) bool {
	if t.RevokedAt != nil {
		return false
	}
	return t.ExpiresAt == nil || now.Before(*t.ExpiresAt)
}

// AccountRepo stores what signing in needs beyond the users themselves: sessions, API
// tokens, and the user queries that access rules and notifications depend on.
type AccountRepo interface {
	CreateSession(ctx context.Context, s *Session) error
	SessionByTokenHash(ctx context.Context, tokenHash string) (*Session, error)
	// SessionWithUser is SessionByTokenHash with the session's user, in one query: every
	// request signed in with a cookie reads both.
	SessionWithUser(ctx context.Context, tokenHash string) (*Session, *User, error)
	// TouchSession slides a session: it records the last request and the new expiry.
	TouchSession(ctx context.Context, id string, lastSeen, expires time.Time) error
	DeleteSession(ctx context.Context, id string) error
	// DeleteUserSessions signs a user out everywhere except the session exceptID ("" for
	// none) and returns how many sessions ended.
	DeleteUserSessions(ctx context.Context, userID, exceptID string) (int, error)
	// DeleteExpiredSessions removes sessions that expired before t.
	DeleteExpiredSessions(ctx context.Context, t time.Time) (int, error)

	CreateAPIToken(ctx context.Context, t *APIToken) error
	APITokenByHash(ctx context.Context, tokenHash string) (*APIToken, error)
	APITokenByID(ctx context.Context, id string) (*APIToken, error)
	// ListAPITokens returns one page of a user's tokens, newest first, revoked ones included.
	ListAPITokens(ctx context.Context, userID string, p Page) ([]*APIToken, int, error)
	RevokeAPIToken(ctx context.Context, id string, at time.Time) error
	TouchAPIToken(ctx context.Context, id string, at time.Time) error

	// CountEnabledAdmins counts the administrators who can still sign in. On PostgreSQL
	// it locks their rows until the transaction ends, so two admins demoting each other
	// at the same moment cannot both see "there is another admin left".
	CountEnabledAdmins(ctx context.Context) (int, error)
	// UserIDsByRole returns the ids of the enabled users holding any of roles.
	UserIDsByRole(ctx context.Context, roles ...Role) ([]string, error)
}

// ThrottleRepo keeps failed sign-ins for throttling.
type ThrottleRepo interface {
	// RecentLoginFailures returns the times of key's failures after since, newest
	// first, at most limit of them.
	RecentLoginFailures(ctx context.Context, key string, since time.Time, limit int) ([]time.Time, error)
	AddLoginFailures(ctx context.Context, at time.Time, keys ...string) error
	ClearLoginFailures(ctx context.Context, key string) error
	DeleteLoginFailuresBefore(ctx context.Context, t time.Time) (int, error)
}
