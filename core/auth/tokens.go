package auth

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aegis-sec/aegis/core"
)

// Token resolves a Bearer secret. Revoked and expired tokens, and tokens of disabled
// users, are refused with a message that says which.
func (s *Service) Token(ctx context.Context, secret string) (*Principal, error) {
	if !strings.HasPrefix(secret, TokenPrefix) {
		return nil, core.Errorf(core.EUNAUTHORIZED, "not an Aegis API token (they start with %s)", TokenPrefix)
	}
	now := s.Now()
	p := &Principal{Method: MethodToken}
	err := s.store.View(ctx, func(tx core.Tx) error {
		var err error
		if p.Token, err = tx.APITokenByHash(ctx, HashSecret(secret)); err != nil {
			return err
		}
		p.User, err = tx.UserByID(ctx, p.Token.UserID)
		return err
	})
	switch {
	case core.ErrorCode(err) == core.ENOTFOUND:
		return nil, core.Errorf(core.EUNAUTHORIZED, "unknown API token")
	case err != nil:
		return nil, fmt.Errorf("resolve api token: %w", err)
	case p.Token.RevokedAt != nil:
		return nil, core.Errorf(core.EUNAUTHORIZED, "the API token %q was revoked", p.Token.Name)
	case !p.Token.Usable(now):
		return nil, core.Errorf(core.EUNAUTHORIZED, "the API token %q expired at %s", p.Token.Name, p.Token.ExpiresAt.Format(time.RFC3339))
	case p.User.Disabled:
		return nil, core.Errorf(core.EUNAUTHORIZED, "the account is disabled")
	}
	if p.Token.LastUsedAt == nil || now.Sub(*p.Token.LastUsedAt) >= touchEvery {
		if err := s.store.Update(ctx, func(tx core.Tx) error { return tx.TouchAPIToken(ctx, p.Token.ID, now) }); err != nil {
			return nil, fmt.Errorf("record use of api token %s: %w", p.Token.ID, err)
		}
		p.Token.LastUsedAt = &now
	}
	return p, nil
}

// NewToken asks for a personal API token. Give at most one of ExpiresIn and ExpiresAt;
// with neither, the token lives as long as the policy allows. ExpiresIn is a pointer so
// that "0s" is told apart from "not given": a zero lifetime is refused, never taken as
// the longest one.
type NewToken struct {
	Name      string
	Scope     core.TokenScope
	ExpiresIn *time.Duration
	ExpiresAt *time.Time
}

// CreateToken makes a token for the caller and returns it with its secret, which is
// shown this once and stored only as a hash.
func (s *Service) CreateToken(ctx context.Context, p *Principal, in NewToken) (*core.APIToken, string, error) {
	now := s.Now()
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 100 {
		return nil, "", core.FieldError("name", "is required, at most 100 characters")
	}
	if !in.Scope.Valid() {
		return nil, "", core.FieldError("scope", "must be read or read_write, not %q", in.Scope)
	}
	max := s.policy.TokenMaxTTL
	var exp time.Time
	switch {
	case in.ExpiresIn != nil && in.ExpiresAt != nil:
		return nil, "", core.FieldError("expires_in", "give expires_in or expires_at, not both")
	case in.ExpiresIn != nil && *in.ExpiresIn <= 0:
		return nil, "", core.FieldError("expires_in", "must be more than zero, not %s", *in.ExpiresIn)
	case in.ExpiresIn != nil:
		exp = now.Add(*in.ExpiresIn)
	case in.ExpiresAt != nil:
		exp = in.ExpiresAt.UTC().Truncate(time.Microsecond)
		if !exp.After(now) {
			return nil, "", core.FieldError("expires_at", "is in the past")
		}
	default:
		exp = now.Add(max)
	}
	if exp.Sub(now) > max {
		return nil, "", core.FieldError("expires_at", "is more than %s away (auth.token_max_ttl)", max)
	}
	secret := TokenPrefix + core.RandomToken(40)
	tok := &core.APIToken{UserID: p.User.ID, Name: in.Name, Prefix: secret[:len(TokenPrefix)+6],
		TokenHash: HashSecret(secret), Scope: in.Scope, CreatedAt: now, ExpiresAt: &exp}
	err := s.store.Update(ctx, func(tx core.Tx) error {
		if err := tx.CreateAPIToken(ctx, tok); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, core.NewAudit(p.User, "token.create", "api_token", tok.ID,
			map[string]any{"name": tok.Name, "scope": tok.Scope, "prefix": tok.Prefix, "expires_at": exp}))
	})
	if err != nil {
		return nil, "", fmt.Errorf("create api token %q for %s: %w", in.Name, p.User.Username, err)
	}
	return tok, secret, nil
}

// RevokeToken revokes one of the caller's tokens. Someone else's token is "not found",
// so ids cannot be probed; revoking a revoked token is a no-op.
func (s *Service) RevokeToken(ctx context.Context, p *Principal, id string) (*core.APIToken, error) {
	now := s.Now()
	var tok *core.APIToken
	err := s.store.Update(ctx, func(tx core.Tx) error {
		var err error
		tok, err = tx.APITokenByID(ctx, id)
		if err != nil {
			return err
		}
		if tok.UserID != p.User.ID {
			return core.Errorf(core.ENOTFOUND, "api token %s not found", id)
		}
		if tok.RevokedAt != nil {
			return nil
		}
		if err := tx.RevokeAPIToken(ctx, id, now); err != nil {
			return err
		}
		tok.RevokedAt = &now
		return tx.AppendAudit(ctx, core.NewAudit(p.User, "token.revoke", "api_token", tok.ID,
			map[string]any{"name": tok.Name, "prefix": tok.Prefix}))
	})
	if err != nil {
		return nil, fmt.Errorf("revoke api token %s: %w", id, err)
	}
	return tok, nil
}

// ParseTTL reads a lifetime such as "90d", "12h" or "1h30m": Go durations, plus days,
// which Go's syntax lacks and people ask tokens for.
func ParseTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 || n > 100_000 {
			return 0, core.FieldError("expires_in", "%q is not a number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, core.FieldError("expires_in", "%q is not a duration (like 720h or 30d)", s)
	}
	return v, nil
}
