package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/auth"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

var pathParam = regexp.MustCompile(`:[A-Za-z0-9_]+|\*$`)

// TestRouteRoleTable calls every route of the route table as every role, and as
// nobody, with a real session (cookie and CSRF header) and with a read_write API
// token, and checks that exactly the declared roles get through. It walks s.routes(),
// so routes added later are covered without touching this test.
//
// "Gets through" means any answer but 401 and 403: requests carry made-up ids and an
// empty JSON object, so handlers answer 400 or 404 more often than 200. A route's
// handler must therefore not answer 403 to a role the table allows, or this test
// reports it: fine-grained refusals belong in the table or in a 404.
func TestRouteRoleTable(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	srv := New(ServicesFor(st, Deps{}))
	ctx := context.Background()
	users := map[core.Role]*core.User{}
	tokens := map[core.Role]string{}
	for _, role := range core.Roles {
		u := apitest.CreateUser(t, st, "rbac-"+strings.ReplaceAll(string(role), "_", "-"), role, "")
		users[role] = u
		p := &auth.Principal{User: u, Method: auth.MethodSession}
		_, secret, err := srv.auth.CreateToken(ctx, p, auth.NewToken{Name: "rbac", Scope: core.ScopeReadWrite})
		if err != nil {
			t.Fatal(err)
		}
		tokens[role] = secret
	}
	// A fresh session per request: a route such as logout may end the one it is called with.
	session := func(u *core.User) (string, string) {
		secret, csrf := core.RandomToken(43), core.RandomToken(43)
		now := core.Now()
		err := st.Update(ctx, func(tx core.Tx) error {
			return tx.CreateSession(ctx, &core.Session{UserID: u.ID, TokenHash: auth.HashSecret(secret), CSRFToken: csrf,
				CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)})
		})
		if err != nil {
			t.Fatal(err)
		}
		return secret, csrf
	}

	routes := srv.routes()
	denials := 0
	for _, r := range routes {
		path := pathParam.ReplaceAllStringFunc(r.Path, func(string) string { return core.NewID() })
		var body any
		if !safeMethod(r.Method) {
			body = []byte("{}")
		}
		for _, role := range append([]core.Role{""}, core.Roles...) {
			for _, cred := range []string{"session", "token"} {
				if role == "" && cred == "token" {
					continue
				}
				c := &apitest.Client{T: t, H: srv.Handler()}
				who := "anonymous"
				if role != "" {
					who = string(role) + " with a " + cred
					if cred == "session" {
						c.Cookie, c.CSRF = session(users[role])
					} else {
						c.Bearer = tokens[role]
					}
				}
				listed := slices.Contains(r.Roles, role)
				allowed := r.Public || (role != "" && listed && !(r.SessionOnly && cred == "token"))
				rec := c.Do(r.Method, path, body)
				switch {
				case allowed && (rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden):
					t.Errorf("%s %s as %s: %d, but the table allows it: %s", r.Method, r.Path, who, rec.Code, rec.Body)
				case !allowed && role == "":
					denials++
					if p := problemOf(rec); rec.Code != http.StatusUnauthorized || p.Code != core.EUNAUTHORIZED {
						t.Errorf("%s %s anonymously: %d %s, want 401", r.Method, r.Path, rec.Code, rec.Body)
					}
				case !allowed:
					denials++
					p := problemOf(rec)
					if rec.Code != http.StatusForbidden || p.Code != core.EFORBIDDEN {
						t.Errorf("%s %s as %s: %d %s, want 403", r.Method, r.Path, who, rec.Code, rec.Body)
					}
					if !listed && p.Extra["allowed_roles"] == nil {
						t.Errorf("%s %s as %s: refused, but not by the route table: %s", r.Method, r.Path, who, rec.Body)
					}
				}
			}
		}
	}
	// The test must be able to fail: the table has to refuse someone somewhere.
	if len(routes) < 20 || denials < 50 {
		t.Fatalf("only %d routes and %d denials checked; the walk is not reaching the table", len(routes), denials)
	}
}

// TestAuthorizeRefusesUnlistedRole proves the table test's premise on a route made for
// the purpose: a route that lists no role is refused to every signed-in user.
func TestAuthorizeRefusesUnlistedRole(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	srv := New(ServicesFor(st, Deps{}))
	called := false
	r := route{Method: http.MethodGet, Path: "/api/v1/nobody", Roles: nil,
		Handler: func(c echo.Context) error { called = true; return nil }}
	srv.echo.Add(r.Method, r.Path, r.Handler, srv.authorize(r))
	apitest.CreateUser(t, st, "root", core.RoleAdmin, "")
	c := apitest.Login(t, srv.Handler(), "root", "")
	if rec := c.Do(http.MethodGet, "/api/v1/nobody", nil); rec.Code != http.StatusForbidden || called {
		t.Fatalf("a route with no roles: %d, handler called %t", rec.Code, called)
	}
}

// problemOf decodes a problem answer without failing the test, so one walk reports
// every wrong route instead of stopping at the first.
func problemOf(rec *httptest.ResponseRecorder) apitest.Problem {
	var p apitest.Problem
	if rec.Header().Get("Content-Type") == "application/problem+json" {
		_ = json.Unmarshal(rec.Body.Bytes(), &p)
	}
	return p
}
