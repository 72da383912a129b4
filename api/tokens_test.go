package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

func TestAPITokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newAuthEnv(t, st, config.Auth{TokenMaxTTL: 30 * 24 * time.Hour})
		e.user("alice", core.RoleRedTech)
		e.user("bob", core.RoleRedTech)
		alice, bob := e.login("alice"), e.login("bob")

		var ro, rw createdToken
		alice.Want(http.StatusCreated, http.MethodPost, "/api/v1/tokens",
			map[string]string{"name": "grafana", "scope": "read", "expires_in": "2h"}, &ro)
		alice.Want(http.StatusCreated, http.MethodPost, "/api/v1/tokens",
			map[string]any{"name": "ci", "scope": "read_write", "expires_at": e.clock.Now().Add(24 * time.Hour)}, &rw)
		if !strings.HasPrefix(ro.Token, "aeg_") || len(ro.Token) < 40 || ro.Prefix != ro.Token[:10] {
			t.Fatalf("token %q prefix %q", ro.Token, ro.Prefix)
		}
		if ro.ExpiresAt == nil || ro.ExpiresAt.Sub(e.clock.Now()).Round(time.Second) != 2*time.Hour {
			t.Fatalf("expires_in 2h gave expires_at %v (now %v)", ro.ExpiresAt, e.clock.Now())
		}
		// Stored hashed, never in clear, and never shown again.
		if got := e.dbStrings(`SELECT token_hash FROM api_tokens WHERE id = ?`, ro.ID); len(got) != 1 || got[0] != sha256Hex(ro.Token) {
			t.Fatalf("stored hash %v", got)
		}
		if n := e.dbStrings(`SELECT id FROM api_tokens WHERE token_hash = ? OR prefix = ?`, ro.Token, ro.Token); len(n) != 0 {
			t.Fatal("a token secret is stored in clear")
		}
		var page Paged[*core.APIToken]
		rec := alice.Want(http.StatusOK, http.MethodGet, "/api/v1/tokens", nil, &page)
		if page.Total != 2 || len(page.Items) != 2 || strings.Contains(rec.Body.String(), ro.Token) || strings.Contains(rec.Body.String(), rw.Token) {
			t.Fatalf("listing: %s", rec.Body)
		}
		bob.Want(http.StatusOK, http.MethodGet, "/api/v1/tokens", nil, &page)
		if page.Total != 0 {
			t.Fatalf("bob sees %d of alice's tokens", page.Total)
		}

		for _, bad := range []map[string]any{
			{"name": "x", "scope": "admin"},
			{"name": "", "scope": "read"},
			{"name": "x", "scope": "read", "expires_in": "31d"},
			{"name": "x", "scope": "read", "expires_in": "whenever"},
			{"name": "x", "scope": "read", "expires_at": e.clock.Now().Add(-time.Minute)},
			{"name": "x", "scope": "read", "expires_in": "1h", "expires_at": e.clock.Now().Add(time.Hour)},
			{"name": "x", "scope": "read", "owner": "bob"},
		} {
			if rec := alice.Do(http.MethodPost, "/api/v1/tokens", bad); rec.Code != http.StatusBadRequest {
				t.Errorf("token request %v: %d, want 400: %s", bad, rec.Code, rec.Body)
			}
		}

		roC, rwC := apitest.WithToken(t, e.h, ro.Token), apitest.WithToken(t, e.h, rw.Token)
		var me sessionInfo
		roC.Want(http.StatusOK, http.MethodGet, "/api/v1/auth/me", nil, &me)
		if me.User.Username != "alice" || me.AuthMethod != "token" || me.TokenScope != core.ScopeRead || me.CSRFToken != "" {
			t.Fatalf("me with a read token: %+v", me)
		}
		rec = roC.Do(http.MethodPost, "/api/v1/notifications/read-all", nil)
		if p := apitest.ProblemOf(t, rec); rec.Code != http.StatusForbidden || !strings.Contains(p.Detail, "read-only") {
			t.Fatalf("write with a read token: %d %q", rec.Code, p.Detail)
		}
		// A read_write token writes without any CSRF header: CSRF is a cookie problem.
		rwC.Want(http.StatusOK, http.MethodPost, "/api/v1/notifications/read-all", nil, nil)
		if rec := rwC.Do(http.MethodPost, "/api/v1/tokens", map[string]string{"name": "child", "scope": "read_write"}); rec.Code != http.StatusForbidden {
			t.Fatalf("a token minted a token: %d", rec.Code)
		}
		// A bearer header wins over a cookie, so a read token cannot borrow a session's rights.
		mixed := *alice
		mixed.Header = http.Header{"Authorization": {"Bearer " + ro.Token}}
		if rec := mixed.Do(http.MethodPost, "/api/v1/notifications/read-all", nil); rec.Code != http.StatusForbidden {
			t.Fatalf("read token with a session cookie beside it: %d", rec.Code)
		}

		// Revocation: someone else's token is "not found"; one's own is revoked at once.
		if rec := bob.Do(http.MethodDelete, "/api/v1/tokens/"+rw.ID, nil); rec.Code != http.StatusNotFound {
			t.Fatalf("bob revoking alice's token: %d", rec.Code)
		}
		rwC.Want(http.StatusOK, http.MethodGet, "/api/v1/auth/me", nil, nil)
		alice.Want(http.StatusNoContent, http.MethodDelete, "/api/v1/tokens/"+rw.ID, nil, nil)
		alice.Want(http.StatusNoContent, http.MethodDelete, "/api/v1/tokens/"+rw.ID, nil, nil) // idempotent
		rec = rwC.Do(http.MethodGet, "/api/v1/auth/me", nil)
		if p := apitest.ProblemOf(t, rec); rec.Code != http.StatusUnauthorized || !strings.Contains(p.Detail, "revoked") {
			t.Fatalf("revoked token: %d %q", rec.Code, p.Detail)
		}

		// Expiry.
		e.clock.Advance(2*time.Hour + time.Second)
		rec = roC.Do(http.MethodGet, "/api/v1/auth/me", nil)
		if p := apitest.ProblemOf(t, rec); rec.Code != http.StatusUnauthorized || !strings.Contains(p.Detail, "expired") {
			t.Fatalf("expired token: %d %q", rec.Code, p.Detail)
		}

		// Unknown tokens are 401 on protected routes and ignored on public ones.
		bogus := apitest.WithToken(t, e.h, "aeg_"+strings.Repeat("x", 40))
		if rec := bogus.Do(http.MethodGet, "/api/v1/auth/me", nil); rec.Code != http.StatusUnauthorized {
			t.Fatalf("unknown token: %d", rec.Code)
		}
		bogus.Want(http.StatusOK, http.MethodGet, "/api/v1/version", nil, nil)

		// A disabled user's tokens stop working.
		var fresh createdToken
		bob.Want(http.StatusCreated, http.MethodPost, "/api/v1/tokens", map[string]string{"name": "b", "scope": "read"}, &fresh)
		if fresh.ExpiresAt == nil || fresh.ExpiresAt.Sub(e.clock.Now()).Round(time.Hour) != 30*24*time.Hour {
			t.Fatalf("default expiry %v, want auth.token_max_ttl", fresh.ExpiresAt)
		}
		bobTok := apitest.WithToken(t, e.h, fresh.Token)
		bobTok.Want(http.StatusOK, http.MethodGet, "/api/v1/auth/me", nil, nil)
		mustDisable(t, st, mustUserByName(t, st, "bob").ID)
		if rec := bobTok.Do(http.MethodGet, "/api/v1/auth/me", nil); rec.Code != http.StatusUnauthorized {
			t.Fatalf("disabled user's token: %d", rec.Code)
		}

		acts := e.auditActions()
		if acts["token.create"] != 3 || acts["token.revoke"] != 1 {
			t.Fatalf("audit: %v, want 3 token.create and 1 token.revoke", acts)
		}
		e.assertNoSecretInAudit(ro.Token, rw.Token, fresh.Token)
	})
}
