package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// Attack (issue 16): session fixation. The attacker plants a session cookie in the
// victim's browser before the victim signs in: a value of their choosing, or their own
// valid session. Signing in must issue a new session id, and the planted one must not
// become the victim's: an invented one stays unauthenticated, the attacker's own still
// belongs to the attacker.
func TestSecuritySessionFixation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newAuthEnv(t, st, config.Auth{})
		e.user("alice", core.RoleAdmin)
		e.user("mallory", core.RoleViewer)
		mallory := e.login("mallory")

		invented := "fixated-" + core.NewID() + core.NewID()
		for name, planted := range map[string]string{"invented": invented, "the attacker's own": mallory.Cookie} {
			victim := &apitest.Client{T: t, H: e.h, Cookie: planted}
			rec := victim.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "alice", "password": apitest.Password})
			if rec.Code != http.StatusOK {
				t.Fatalf("%s cookie planted: sign-in answered %d %s", name, rec.Code, rec.Body)
			}
			issued := sessionCookie(t, rec)
			if issued.Value == "" || issued.Value == planted {
				t.Fatalf("%s cookie planted: sign-in kept the session id %q", name, issued.Value)
			}
			var me sessionInfo
			apitest.Decode(t, rec, &me)
			signedIn := &apitest.Client{T: t, H: e.h, Cookie: issued.Value, CSRF: me.CSRFToken}
			signedIn.Want(http.StatusOK, http.MethodGet, "/api/v1/users", nil, nil) // alice, an administrator

			// The planted id is not alice's session.
			attacker := &apitest.Client{T: t, H: e.h, Cookie: planted}
			rec = attacker.Do(http.MethodGet, "/api/v1/auth/me", nil)
			if planted == invented {
				if rec.Code != http.StatusUnauthorized {
					t.Fatalf("the invented cookie after the victim signed in: %d %s, want 401", rec.Code, rec.Body)
				}
				continue
			}
			var who sessionInfo
			apitest.Decode(t, rec, &who)
			if rec.Code != http.StatusOK || who.User == nil || who.User.Username != "mallory" {
				t.Fatalf("the attacker's own cookie after the victim signed in: %d %s, want mallory's session", rec.Code, rec.Body)
			}
			if rec := attacker.Do(http.MethodGet, "/api/v1/users", nil); rec.Code != http.StatusForbidden {
				t.Fatalf("the attacker's cookie reached an administrator's route: %d", rec.Code)
			}
		}
		// Only the hashes of the issued ids are stored, never a planted value.
		if n := e.dbStrings(`SELECT id FROM sessions WHERE token_hash = ? OR token_hash = ?`, invented, sha256Hex(invented)); len(n) != 0 {
			t.Fatalf("the invented session id was stored: %v", n)
		}
	})
}

// Issue 16: the security headers of the built web app (TestSecurityHeaders covers the
// API and the page of a binary without the app), the same as the API's:
// a strict CSP (scripts from this server only, no inline or eval'd script, no plugins,
// no framing), nosniff, no framing, HSTS exactly when the server speaks TLS, on the
// index, a client-side route, a hashed asset and a HEAD.
func TestSecurityHeadersOfTheWebApp(t *testing.T) {
	web := fstest.MapFS{
		"index.html":      {Data: []byte("<!doctype html><script type=module src=/assets/app-1.js></script>")},
		"assets/app-1.js": {Data: []byte("console.log(1)")},
		"favicon.svg":     {Data: []byte("<svg/>")},
	}
	st := storetest.Open(t, store.SQLite)
	for _, tls := range []bool{false, true} {
		h := New(ServicesFor(st, Deps{TLS: tls, Web: web, WebBuilt: true})).Handler()
		for _, req := range []*http.Request{
			httptest.NewRequest(http.MethodGet, "/", nil),
			httptest.NewRequest(http.MethodGet, "/tests/123", nil),
			httptest.NewRequest(http.MethodGet, "/assets/app-1.js", nil),
			httptest.NewRequest(http.MethodGet, "/favicon.svg", nil),
			httptest.NewRequest(http.MethodHead, "/catalog/rules", nil),
		} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			hd, what := rec.Header(), fmt.Sprintf("%s %s (tls %v)", req.Method, req.URL.Path, tls)
			if rec.Code != http.StatusOK {
				t.Fatalf("%s: %d", what, rec.Code)
			}
			csp := map[string]string{}
			for _, d := range strings.Split(hd.Get("Content-Security-Policy"), ";") {
				name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
				csp[name] = value
			}
			for name, want := range map[string]string{"default-src": "'self'", "script-src": "'self'", "object-src": "'none'",
				"frame-ancestors": "'none'", "base-uri": "'self'", "form-action": "'self'", "connect-src": "'self'"} {
				if csp[name] != want {
					t.Errorf("%s: CSP %s is %q, want %q (policy %q)", what, name, csp[name], want, hd.Get("Content-Security-Policy"))
				}
			}
			if p := hd.Get("Content-Security-Policy"); strings.Contains(p, "unsafe-eval") || strings.Contains(csp["script-src"], "unsafe-inline") {
				t.Errorf("%s: the CSP allows eval or inline script: %q", what, p)
			}
			if hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("X-Frame-Options") != "DENY" {
				t.Errorf("%s: nosniff %q, X-Frame-Options %q", what, hd.Get("X-Content-Type-Options"), hd.Get("X-Frame-Options"))
			}
			// The API's policy: nothing in the app needs a referrer (CSRF is checked by token,
			// not by Referer or Origin), and links out must not carry test or technique ids.
			if got := hd.Values("Referrer-Policy"); len(got) != 1 || got[0] != "no-referrer" {
				t.Errorf("%s: Referrer-Policy %q, want exactly no-referrer", what, got)
			}
			hsts := hd.Get("Strict-Transport-Security")
			if tls && !strings.HasPrefix(hsts, "max-age=31536000") || !tls && hsts != "" {
				t.Errorf("%s: Strict-Transport-Security %q", what, hsts)
			}
		}
	}
}
