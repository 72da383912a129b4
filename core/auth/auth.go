// Package auth is who may sign in and how: passwords, browser sessions, personal API
// tokens, sign-in throttling, and the administration of user accounts. It is pure
// domain logic on core ports; the HTTP layer turns its results into cookies and headers.
//
// Every change it makes writes an audit entry in the same transaction, and no audit
// entry ever holds a secret (passwords, session cookies, token secrets, CSRF tokens).
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/password"
)

// Policy is the auth configuration (the `auth` block of aegis.hcl).
type Policy struct {
	SessionTTL        time.Duration
	TokenMaxTTL       time.Duration
	LoginMaxAttempts  int
	LoginWindow       time.Duration
	PasswordMinLength int
}

// The policy's defaults, for fields left at zero (the auth block of aegis.hcl documents
// the same values).
const (
	DefaultSessionTTL        = 12 * time.Hour
	DefaultTokenMaxTTL       = 8760 * time.Hour
	DefaultLoginMaxAttempts  = 10
	DefaultLoginWindow       = 15 * time.Minute
	DefaultPasswordMinLength = 12
)

// withDefaults fills the fields left at zero with the defaults.
func (p Policy) withDefaults() Policy {
	if p.SessionTTL <= 0 {
		p.SessionTTL = DefaultSessionTTL
	}
	if p.TokenMaxTTL <= 0 {
		p.TokenMaxTTL = DefaultTokenMaxTTL
	}
	if p.LoginMaxAttempts <= 0 {
		p.LoginMaxAttempts = DefaultLoginMaxAttempts
	}
	if p.LoginWindow <= 0 {
		p.LoginWindow = DefaultLoginWindow
	}
	if p.PasswordMinLength <= 0 {
		p.PasswordMinLength = DefaultPasswordMinLength
	}
	return p
}

// Method says how a request proved who it is.
type Method string

const (
	MethodSession Method = "session"
	MethodToken   Method = "token"
)

// TokenPrefix starts every API token secret, so secret scanners and people can tell
// an Aegis token at a glance.
const TokenPrefix = "aeg_"

// touchEvery is how stale last_seen_at / last_used_at may get before a request writes
// it again: sliding the session on every request would turn every read into a write,
// which SQLite's single writer would feel.
const touchEvery = time.Minute

// Principal is the caller of a request: the user and the credential they used.
type Principal struct {
	User    *core.User
	Method  Method
	Session *core.Session  // set for MethodSession
	Token   *core.APIToken // set for MethodToken
}

// CanWrite reports whether the credential allows unsafe requests (a read token does not).
func (p *Principal) CanWrite() bool {
	return p.Method != MethodToken || p.Token.Scope == core.ScopeReadWrite
}

// Service signs people in and manages accounts.
type Service struct {
	store   core.Store
	policy  Policy
	now     func() time.Time
	limiter *Throttle
}

// New returns a Service on store; policy fields left at zero get the defaults. now is
// the clock (nil for the real one); tests pass their own to move through session
// lifetimes and throttling windows.
func New(store core.Store, policy Policy, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	policy = policy.withDefaults()
	return &Service{store: store, policy: policy, now: now,
		limiter: NewThrottle(store, policy.LoginMaxAttempts, policy.LoginWindow)}
}

// Policy returns the configuration the service runs with.
func (s *Service) Policy() Policy { return s.policy }

// Now returns the service clock in the precision the databases keep.
func (s *Service) Now() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// HashSecret is how session cookies and API tokens are stored. A fast hash is enough:
// the secrets are long random strings, not passwords a person chose.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// dummyHash is checked against when the username is unknown, so an unknown account
// costs the same KDF time as a wrong password and timing does not tell them apart.
var dummyHash = sync.OnceValue(func() string {
	h, err := password.Hash(core.RandomToken(24))
	if err != nil {
		panic(fmt.Sprintf("auth: dummy password hash: %v", err))
	}
	return h
})

var errBadLogin = core.Errorf(core.EUNAUTHORIZED, "invalid username or password")

// LoginRequest is a sign-in attempt.
type LoginRequest struct {
	Username  string
	Password  string
	IP        string
	UserAgent string
}

// LoginResult is a started session. Secret is the cookie value: it is not stored
// anywhere and cannot be recovered later.
type LoginResult struct {
	User    *core.User
	Session *core.Session
	Secret  string
}

// accountKey is the throttle key of an account. It holds the username exactly as
// UserByUsername matches it: folding case here made "VICTIM1" and "victim1" (two
// accounts) share one counter, so signing in to one cleared the other's failures.
func accountKey(username string) string { return "user:" + username }
func addressKey(ip string) string       { return "ip:" + ip }

// tooMany is the error of a throttled attempt; Detail carries the wait for Retry-After.
func tooMany(wait time.Duration) error {
	secs := int((wait + time.Second - 1) / time.Second)
	return &core.Error{Code: core.ETOOMANY,
		Message: fmt.Sprintf("too many failed sign-in attempts; try again in %d seconds", secs),
		Detail:  map[string]any{"retry_after_seconds": secs}}
}

// Login checks a username and password and starts a session. Unknown users, wrong
// passwords and disabled accounts get the same answer; once an account or an address
// has failed too often in the window, attempts are refused before any password check.
func (s *Service) Login(ctx context.Context, req LoginRequest) (*LoginResult, error) {
	now := s.Now()
	// Bounded before anything is counted or stored: each failure writes its keys, and
	// an unbounded username made every failed sign-in a free write of any size.
	if err := core.CheckTexts(core.TextField{Name: "username", Value: req.Username, Max: core.MaxUsernameBytes},
		core.TextField{Name: "password", Value: req.Password, Max: core.MaxPasswordBytes},
		core.TextField{Name: "ip", Value: req.IP, Max: 64}); err != nil {
		return nil, err
	}
	req.UserAgent = core.CleanText(req.UserAgent, 512)
	keys := []string{accountKey(req.Username), addressKey(req.IP)}
	if wait, blocked, err := s.limiter.Blocked(ctx, now, keys...); err != nil {
		return nil, fmt.Errorf("login: throttle: %w", err)
	} else if blocked {
		return nil, tooMany(wait)
	}
	var u *core.User
	err := s.store.View(ctx, func(tx core.Tx) error {
		var err error
		u, err = tx.UserByUsername(ctx, req.Username)
		return err
	})
	if err != nil && core.ErrorCode(err) != core.ENOTFOUND {
		return nil, fmt.Errorf("login %q: %w", req.Username, err)
	}
	if u == nil {
		_ = password.Check(dummyHash(), req.Password)
		s.fail(ctx, now, keys...)
		return nil, errBadLogin
	}
	reason := ""
	switch err := password.Check(u.PasswordHash, req.Password); {
	case errors.Is(err, password.ErrMismatch):
		reason = "wrong_password"
	case err != nil:
		return nil, fmt.Errorf("login %q: %w", req.Username, err)
	case u.Disabled:
		reason = "disabled"
	}
	if reason != "" {
		s.fail(ctx, now, keys...)
		err := s.store.Update(ctx, func(tx core.Tx) error {
			return tx.AppendAudit(ctx, core.NewAudit(nil, "auth.login_failed", "user", u.ID,
				map[string]any{"username": u.Username, "reason": reason, "ip": req.IP}))
		})
		if err != nil {
			return nil, fmt.Errorf("login %q: audit failure: %w", req.Username, err)
		}
		return nil, errBadLogin
	}
	// Only the account that just proved its password is forgiven; the address keeps
	// its count, or an attacker could clear it by signing in to their own account.
	if err := s.limiter.Reset(ctx, accountKey(u.Username)); err != nil {
		return nil, fmt.Errorf("login %q: throttle: %w", req.Username, err)
	}

	res := &LoginResult{Secret: core.RandomToken(43)}
	err = s.store.Update(ctx, func(tx core.Tx) error {
		// The password was checked outside the transaction (the KDF is slow and must not
		// hold the write lock); make sure the account did not change in between.
		cur, err := tx.UserByID(ctx, u.ID)
		if err != nil {
			return err
		}
		if cur.Disabled || cur.PasswordHash != u.PasswordHash {
			return errBadLogin
		}
		if _, err := tx.DeleteExpiredSessions(ctx, now); err != nil {
			return err
		}
		sess := &core.Session{UserID: cur.ID, TokenHash: HashSecret(res.Secret), CSRFToken: core.RandomToken(43),
			IP: req.IP, UserAgent: req.UserAgent, CreatedAt: now, LastSeenAt: now,
			ExpiresAt: now.Add(s.policy.SessionTTL)}
		if err := tx.CreateSession(ctx, sess); err != nil {
			return err
		}
		cur.LastLoginAt = &now
		if err := tx.UpdateUser(ctx, cur); err != nil {
			return err
		}
		res.User, res.Session = cur, sess
		return tx.AppendAudit(ctx, core.NewAudit(cur, "auth.login", "user", cur.ID,
			map[string]any{"session_id": sess.ID, "ip": req.IP}))
	})
	if err != nil {
		return nil, fmt.Errorf("login %q: %w", req.Username, err)
	}
	return res, nil
}

// Session resolves a session cookie. A session unused for the whole TTL has expired; a
// used one slides forward.
func (s *Service) Session(ctx context.Context, secret string) (*Principal, error) {
	now := s.Now()
	p := &Principal{Method: MethodSession}
	// One statement: no transaction around it (Store.Read), a round trip instead of
	// three on PostgreSQL, on every request.
	err := s.store.Read(ctx, func(tx core.Tx) error {
		var err error
		p.Session, p.User, err = tx.SessionWithUser(ctx, HashSecret(secret))
		return err
	})
	switch {
	case core.ErrorCode(err) == core.ENOTFOUND:
		return nil, core.Errorf(core.EUNAUTHORIZED, "the session has ended; sign in again")
	case err != nil:
		return nil, fmt.Errorf("resolve session: %w", err)
	case !now.Before(p.Session.ExpiresAt):
		return nil, core.Errorf(core.EUNAUTHORIZED, "the session has expired; sign in again")
	case p.User.Disabled:
		return nil, core.Errorf(core.EUNAUTHORIZED, "the account is disabled")
	}
	if now.Sub(p.Session.LastSeenAt) >= touchEvery {
		exp := now.Add(s.policy.SessionTTL)
		if err := s.store.Update(ctx, func(tx core.Tx) error { return tx.TouchSession(ctx, p.Session.ID, now, exp) }); err != nil {
			return nil, fmt.Errorf("slide session %s: %w", p.Session.ID, err)
		}
		p.Session.LastSeenAt, p.Session.ExpiresAt = now, exp
	}
	return p, nil
}

// CheckCSRF compares the token a request sent with its session's, in constant time.
func CheckCSRF(sess *core.Session, sent string) bool {
	return sent != "" && subtle.ConstantTimeCompare([]byte(sess.CSRFToken), []byte(sent)) == 1
}

// Logout ends the caller's session.
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	if p.Method != MethodSession {
		return core.Errorf(core.EINVALID, "only a browser session can sign out; revoke the API token instead")
	}
	err := s.store.Update(ctx, func(tx core.Tx) error {
		if err := tx.DeleteSession(ctx, p.Session.ID); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, core.NewAudit(p.User, "auth.logout", "user", p.User.ID,
			map[string]any{"session_id": p.Session.ID}))
	})
	if err != nil {
		return fmt.Errorf("logout %s: %w", p.User.Username, err)
	}
	return nil
}

// ChangePassword replaces the caller's password after checking the current one, clears
// must_change_password, and ends every other session of the user: whoever may have
// learned the old password loses what they opened with it. Wrong current passwords
// count against the account's sign-in budget, so a stolen session cannot be used to
// guess the password at leisure.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string) error {
	now := s.Now()
	key := accountKey(p.User.Username)
	if wait, blocked, err := s.limiter.Blocked(ctx, now, key); err != nil {
		return fmt.Errorf("change password: throttle: %w", err)
	} else if blocked {
		return tooMany(wait)
	}
	if err := core.CheckText("current_password", current, core.MaxPasswordBytes); err != nil {
		return err
	}
	if err := s.checkNewPassword("new_password", next); err != nil {
		return err
	}
	if next == current {
		return core.FieldError("new_password", "must differ from the current password")
	}
	var u *core.User
	if err := s.store.View(ctx, func(tx core.Tx) error {
		var err error
		u, err = tx.UserByID(ctx, p.User.ID)
		return err
	}); err != nil {
		return fmt.Errorf("change password of %s: %w", p.User.Username, err)
	}
	switch err := password.Check(u.PasswordHash, current); {
	case errors.Is(err, password.ErrMismatch):
		s.fail(ctx, now, key)
		return core.FieldError("current_password", "is wrong")
	case err != nil:
		return fmt.Errorf("change password of %s: %w", u.Username, err)
	}
	hash, err := password.Hash(next)
	if err != nil {
		return err
	}
	exceptID := ""
	if p.Session != nil {
		exceptID = p.Session.ID
	}
	err = s.store.Update(ctx, func(tx core.Tx) error {
		cur, err := tx.UserByID(ctx, u.ID)
		if err != nil {
			return err
		}
		if cur.PasswordHash != u.PasswordHash {
			return core.Errorf(core.ECONFLICT, "the password was changed meanwhile; try again")
		}
		cur.PasswordHash, cur.MustChangePassword = hash, false
		if err := tx.UpdateUser(ctx, cur); err != nil {
			return err
		}
		ended, err := tx.DeleteUserSessions(ctx, cur.ID, exceptID)
		if err != nil {
			return err
		}
		*p.User = *cur
		return tx.AppendAudit(ctx, core.NewAudit(cur, "auth.password_change", "user", cur.ID,
			map[string]any{"other_sessions_ended": ended}))
	})
	if err != nil {
		return fmt.Errorf("change password of %s: %w", u.Username, err)
	}
	return nil
}

func (s *Service) checkNewPassword(field, pw string) error {
	if n := len([]rune(pw)); n < s.policy.PasswordMinLength {
		return core.FieldError(field, "must be at least %d characters", s.policy.PasswordMinLength)
	}
	return core.CheckText(field, pw, core.MaxPasswordBytes)
}

// fail records a failed attempt. An error recording it is not passed on: the attempt
// is refused either way.
func (s *Service) fail(ctx context.Context, now time.Time, keys ...string) {
	_ = s.limiter.Fail(ctx, now, keys...)
}

// Throttle returns the sign-in throttle (for the cleanup job).
func (s *Service) Throttle() *Throttle { return s.limiter }
