package api

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/auth"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

func sessionCookie(t *testing.T, rec *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == SessionCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", SessionCookie, rec.Header()["Set-Cookie"])
	return nil
}

func TestLogin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newAuthEnv(t, st, config.Auth{})
		alice := e.user("alice", core.RoleRedTech)
		bob := e.user("bob", core.RoleViewer)
		anon := e.anon()

		wrong := anon.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "alice", "password": "nope"})
		unknown := anon.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "zed", "password": "nope"})
		for name, rec := range map[string]*httptest.ResponseRecorder{"wrong password": wrong, "unknown user": unknown} {
			p := apitest.ProblemOf(t, rec)
			if rec.Code != http.StatusUnauthorized || p.Detail != "invalid username or password" {
				t.Errorf("%s: %d %q, want 401 with the generic message", name, rec.Code, p.Detail)
			}
			if len(rec.Result().Cookies()) != 0 {
				t.Errorf("%s set a cookie", name)
			}
		}

		mustDisable(t, st, bob.ID)
		rec := anon.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "bob", "password": apitest.Password})
		if p := apitest.ProblemOf(t, rec); rec.Code != http.StatusUnauthorized || p.Detail != "invalid username or password" {
			t.Errorf("disabled user with the right password: %d %q", rec.Code, p.Detail)
		}

		// A form post (what a cross-site page can send without CORS) is refused.
		req := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login", strings.NewReader("username=alice&password="+apitest.Password))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		form := httptest.NewRecorder()
		e.h.ServeHTTP(form, req)
		if form.Code != http.StatusBadRequest {
			t.Errorf("form-encoded login: %d, want 400", form.Code)
		}

		rec = anon.Want(http.StatusOK, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "alice", "password": apitest.Password}, nil)
		var info sessionInfo
		apitest.Decode(t, rec, &info)
		if info.User == nil || info.User.ID != alice.ID || info.AuthMethod != "session" || len(info.CSRFToken) < 32 {
			t.Fatalf("login answer: %s", rec.Body)
		}
		if strings.Contains(rec.Body.String(), "argon2") || strings.Contains(rec.Body.String(), "password_hash") {
			t.Fatalf("login answer leaks the password hash: %s", rec.Body)
		}
		ck := sessionCookie(t, rec)
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure || ck.MaxAge != 0 || len(ck.Value) < 40 {
			t.Fatalf("cookie attributes: %+v", ck)
		}
		// Only the hash of the cookie is stored.
		hashes := e.dbStrings(`SELECT token_hash FROM sessions WHERE user_id = ?`, alice.ID)
		if len(hashes) != 1 || hashes[0] != sha256Hex(ck.Value) {
			t.Fatalf("stored session hashes %v, want the SHA-256 of the cookie", hashes)
		}
		if n := e.dbStrings(`SELECT id FROM sessions WHERE token_hash = ? OR csrf_token = ?`, ck.Value, ck.Value); len(n) != 0 {
			t.Fatal("the cookie value is stored in clear")
		}

		c := &apitest.Client{T: t, H: e.h, Cookie: ck.Value, CSRF: info.CSRFToken}
		var me sessionInfo
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/auth/me", nil, &me)
		if me.User.Username != "alice" || me.CSRFToken != info.CSRFToken || me.SessionExpiresAt == nil {
			t.Fatalf("me: %+v", me)
		}
		if u := mustUser(t, st, alice.ID); u.LastLoginAt == nil {
			t.Fatal("last_login_at not recorded")
		}
		acts := e.auditActions()
		if acts["auth.login"] != 1 || acts["auth.login_failed"] != 2 {
			t.Fatalf("audit: %v, want 1 login and 2 failures (wrong password, disabled; not the unknown user)", acts)
		}
		e.assertNoSecretInAudit(ck.Value, info.CSRFToken, apitest.Password)
	})
}

func TestLoginCookieSecure(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	body := `{"username":"alice","password":"` + apitest.Password + `"}`
	login := func(h http.Handler, overTLS bool) *http.Cookie {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if overTLS {
			req.TLS = &tls.ConnectionState{}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("login: %d %s", rec.Code, rec.Body)
		}
		return sessionCookie(t, rec)
	}
	apitest.CreateUser(t, st, "alice", core.RoleViewer, "")
	if ck := login(New(ServicesFor(st, Deps{})).Handler(), true); !ck.Secure {
		t.Error("cookie over TLS is not Secure")
	}
	if ck := login(New(ServicesFor(st, Deps{TLS: true})).Handler(), false); !ck.Secure {
		t.Error("cookie of a TLS server (seen in plain HTTP behind a proxy) is not Secure")
	}
	if ck := login(New(ServicesFor(st, Deps{CookieSecure: ptr(true)})).Handler(), false); !ck.Secure {
		t.Error("auth.cookie_secure = true did not make the cookie Secure")
	}
	if ck := login(New(ServicesFor(st, Deps{TLS: true, CookieSecure: ptr(false)})).Handler(), true); ck.Secure {
		t.Error("auth.cookie_secure = false was overridden")
	}
}

// Unknown users must cost the same KDF time as wrong passwords, or timing tells which
// usernames exist. Without the dummy hash the unknown user answers about a thousand
// times faster. The samples alternate (wrong password, unknown user, ...) so a burst of
// load elsewhere on the machine slows both alike, and medians of 9 drop the slowest
// outliers: measured in two runs one after the other, a loaded machine could make the
// second run look three times faster and fail the test.
func TestLoginTimingUnknownUser(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	e := newAuthEnv(t, st, config.Auth{LoginMaxAttempts: 1000})
	e.user("alice", core.RoleViewer)
	attempt := func(user string) time.Duration {
		start := time.Now()
		rec := e.anon().Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": user, "password": "wrong"})
		took := time.Since(start)
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("login %s: %d", user, rec.Code)
		}
		return took
	}
	var known, unknown []time.Duration
	for i := 0; i < 9; i++ {
		known = append(known, attempt("alice"))
		unknown = append(unknown, attempt("nobody"))
	}
	median := func(ds []time.Duration) time.Duration {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	if k, u := median(known), median(unknown); u < k/3 {
		t.Fatalf("unknown user answered in %v, wrong password in %v (medians of 9 alternating attempts): the difference reveals which users exist", u, k)
	}
}

func TestLoginRateLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newAuthEnv(t, st, config.Auth{LoginMaxAttempts: 3, LoginWindow: time.Minute})
		e.user("alice", core.RoleViewer)
		e.user("bob", core.RoleViewer)
		from := func(addr string) *apitest.Client {
			return &apitest.Client{T: t, H: e.h, RemoteAddr: addr}
		}
		try := func(c *apitest.Client, user, pw string) *httptest.ResponseRecorder {
			return c.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": user, "password": pw})
		}
		a := from("198.51.100.1:4000")

		// A success resets the account's count (not the address's, or an attacker could
		// clear their address by signing in to their own account between guesses):
		// 2 failures, success, 2 failures is fine.
		for i, pw := range []string{"x", "x", apitest.Password, "x", "x", apitest.Password} {
			want := http.StatusUnauthorized
			if pw == apitest.Password {
				want = http.StatusOK
			}
			if rec := try(from(fmt.Sprintf("198.51.100.%d:1", 50+i)), "bob", pw); rec.Code != want {
				t.Fatalf("bob with %q: %d, want %d", pw, rec.Code, want)
			}
		}

		// Per account: three failures from three addresses block the account everywhere.
		for i, addr := range []string{"198.51.100.2:1", "198.51.100.3:1", "198.51.100.4:1"} {
			if rec := try(from(addr), "alice", "wrong"); rec.Code != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d", i, rec.Code)
			}
		}
		rec := try(a, "alice", apitest.Password)
		p := apitest.ProblemOf(t, rec)
		if rec.Code != http.StatusTooManyRequests || p.Code != core.ETOOMANY || rec.Header().Get("Retry-After") != "60" {
			t.Fatalf("4th attempt: %d %q Retry-After %q, want 429 after 60s", rec.Code, p.Detail, rec.Header().Get("Retry-After"))
		}
		e.clock.Advance(30 * time.Second)
		if rec := try(a, "alice", apitest.Password); rec.Header().Get("Retry-After") != "30" {
			t.Fatalf("30s later: %d Retry-After %q, want 30", rec.Code, rec.Header().Get("Retry-After"))
		}
		e.clock.Advance(31 * time.Second)
		if rec := try(a, "alice", apitest.Password); rec.Code != http.StatusOK {
			t.Fatalf("after the window: %d %s", rec.Code, rec.Body)
		}

		// Per address: failures on three different (unknown) accounts block the address,
		// even for a right password; another address is unaffected.
		attacker := from("203.0.113.5:999")
		for _, u := range []string{"u1", "u2", "u3"} {
			try(attacker, u, "guess")
		}
		if rec := try(attacker, "bob", apitest.Password); rec.Code != http.StatusTooManyRequests {
			t.Fatalf("blocked address, right password: %d, want 429", rec.Code)
		}
		// A forged X-Forwarded-For from a public peer does not change the address counted.
		attacker.Header = http.Header{"X-Forwarded-For": {"192.0.2.77"}}
		if rec := try(attacker, "bob", apitest.Password); rec.Code != http.StatusTooManyRequests {
			t.Fatalf("X-Forwarded-For from a public peer dodged the limit: %d", rec.Code)
		}
		// Behind a proxy listed in server.trusted_proxies, the forwarded address is the
		// one counted (the same database, so the same failures).
		_, trusted, _ := net.ParseCIDR("10.0.0.0/8")
		behindProxy := New(ServicesFor(st, Deps{Auth: auth.New(st, auth.Policy{LoginMaxAttempts: 3, LoginWindow: time.Minute}, e.clock.Now),
			TrustedProxies: []*net.IPNet{trusted}})).Handler()
		proxied := &apitest.Client{T: t, H: behindProxy, RemoteAddr: "10.0.0.2:5555",
			Header: http.Header{"X-Forwarded-For": {"203.0.113.5"}}}
		if rec := try(proxied, "bob", apitest.Password); rec.Code != http.StatusTooManyRequests {
			t.Fatalf("the blocked client behind a proxy: %d, want 429", rec.Code)
		}
		if rec := try(from("203.0.113.6:999"), "bob", apitest.Password); rec.Code != http.StatusOK {
			t.Fatalf("another address: %d", rec.Code)
		}
		e.clock.Advance(61 * time.Second)
		if rec := try(attacker, "bob", apitest.Password); rec.Code != http.StatusOK {
			t.Fatalf("the address after the window: %d", rec.Code)
		}
	})
}

func TestSessionSlidingExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newAuthEnv(t, st, config.Auth{SessionTTL: time.Hour})
		e.user("alice", core.RoleViewer)
		c := e.login("alice")
		for i := 0; i < 3; i++ {
			e.clock.Advance(50 * time.Minute)
			c.Want(http.StatusOK, http.MethodGet, "/api/v1/auth/me", nil, nil)
		}
		// 150 minutes after sign-in on a one-hour TTL: alive only because it slid.
		e.clock.Advance(61 * time.Minute)
		rec := c.Do(http.MethodGet, "/api/v1/auth/me", nil)
		if p := apitest.ProblemOf(t, rec); rec.Code != http.StatusUnauthorized || !strings.Contains(p.Detail, "expired") {
			t.Fatalf("idle past the TTL: %d %q", rec.Code, p.Detail)
		}
	})
}

func TestCSRFAndLogout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newAuthEnv(t, st, config.Auth{})
		e.user("alice", core.RoleViewer)
		c := e.login("alice")

		for name, csrf := range map[string]string{"missing": "", "wrong": c.CSRF + "x"} {
			bad := *c
			bad.CSRF = csrf
			rec := bad.Do(http.MethodPost, "/api/v1/auth/logout", nil)
			if p := apitest.ProblemOf(t, rec); rec.Code != http.StatusForbidden || !strings.Contains(p.Detail, CSRFHeader) {
				t.Fatalf("%s CSRF token: %d %q, want 403 naming the header", name, rec.Code, p.Detail)
			}
		}
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/auth/me", nil, nil) // still signed in

		rec := c.Want(http.StatusNoContent, http.MethodPost, "/api/v1/auth/logout", nil, nil)
		if ck := sessionCookie(t, rec); ck.MaxAge >= 0 || ck.Value != "" {
			t.Fatalf("logout does not clear the cookie: %+v", ck)
		}
		rec = c.Do(http.MethodGet, "/api/v1/auth/me", nil)
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("the old cookie after logout: %d", rec.Code)
		}
		if n := e.dbStrings(`SELECT id FROM sessions`); len(n) != 0 {
			t.Fatalf("%d sessions left after logout", len(n))
		}
		if e.auditActions()["auth.logout"] != 1 {
			t.Fatal("logout not audited")
		}
	})
}

func TestPasswordChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newAuthEnv(t, st, config.Auth{})
		alice := e.user("alice", core.RoleRedLead)
		setMustChange(t, st, alice.ID)
		a, b := e.login("alice"), e.login("alice")
		const next = "a brand new passphrase"

		cases := []struct {
			body  map[string]string
			field string
		}{
			{map[string]string{"current_password": "wrong", "new_password": next}, "current_password"},
			{map[string]string{"current_password": apitest.Password, "new_password": "short"}, "new_password"},
			{map[string]string{"current_password": apitest.Password, "new_password": apitest.Password}, "new_password"},
		}
		for _, tc := range cases {
			rec := a.Do(http.MethodPost, "/api/v1/auth/password", tc.body)
			if p := apitest.ProblemOf(t, rec); rec.Code != http.StatusBadRequest || p.Field != tc.field {
				t.Fatalf("%v: %d field %q, want 400 on %s", tc.body, rec.Code, p.Field, tc.field)
			}
		}
		// Until the password an administrator set is replaced, the session gets nothing
		// else.
		if rec := a.Do(http.MethodGet, "/api/v1/tests", nil); rec.Code != http.StatusForbidden ||
			!strings.Contains(apitest.ProblemOf(t, rec).Detail, "change your password first") {
			t.Fatalf("a session with a password to change listed tests: %d", rec.Code)
		}
		a.Want(http.StatusOK, http.MethodGet, "/api/v1/auth/me", nil, nil)
		var info sessionInfo
		a.Want(http.StatusOK, http.MethodPost, "/api/v1/auth/password",
			map[string]string{"current_password": apitest.Password, "new_password": next}, &info)
		if info.User.MustChangePassword {
			t.Fatal("must_change_password not cleared")
		}
		a.Want(http.StatusOK, http.MethodGet, "/api/v1/tests", nil, nil)
		if rec := b.Do(http.MethodGet, "/api/v1/auth/me", nil); rec.Code != http.StatusUnauthorized {
			t.Fatalf("the other session survived the password change: %d", rec.Code)
		}
		if rec := e.anon().Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "alice", "password": apitest.Password}); rec.Code != http.StatusUnauthorized {
			t.Fatalf("old password still works: %d", rec.Code)
		}
		apitest.Login(t, e.h, "alice", next)

		// An API token cannot change the password (a stolen token must not take the account).
		var tok createdToken
		a.Want(http.StatusCreated, http.MethodPost, "/api/v1/tokens", map[string]string{"name": "x", "scope": "read_write"}, &tok)
		rec := apitest.WithToken(t, e.h, tok.Token).Do(http.MethodPost, "/api/v1/auth/password",
			map[string]string{"current_password": next, "new_password": "yet another passphrase"})
		if rec.Code != http.StatusForbidden {
			t.Fatalf("password change with a token: %d", rec.Code)
		}
		if got := e.auditActions()["auth.password_change"]; got != 1 {
			t.Fatalf("password changes audited: %d, want 1", got)
		}
		e.assertNoSecretInAudit(next, apitest.Password)
	})
}

func mustDisable(t *testing.T, st *store.Store, id string) {
	t.Helper()
	u := mustUser(t, st, id)
	u.Disabled = true
	mustUpdateUser(t, st, u)
}

func setMustChange(t *testing.T, st *store.Store, id string) {
	t.Helper()
	u := mustUser(t, st, id)
	u.MustChangePassword = true
	mustUpdateUser(t, st, u)
}
